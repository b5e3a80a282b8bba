// Observability for chaos-agent: its /metrics page in the Prometheus text
// format (base/prometheus.h; served by rpc/http_server.h) and the log
// format switch.
//
// Metrics: chaos_agent_active_faults (gauge), chaos_agent_injections_total,
// chaos_agent_inject_failures_total, chaos_agent_reverts_total,
// chaos_agent_revert_failures_total, chaos_agent_lease_expiries_total,
// chaos_agent_halted (gauge, 0 or 1).
#ifndef CHAOS_AGENT_OBSERVABILITY_H_
#define CHAOS_AGENT_OBSERVABILITY_H_

#include <string>

#include "absl/status/status.h"
#include "agent/agent.h"

namespace chaos::agent {

// Renders the agent's metrics in the Prometheus text exposition format.
std::string RenderMetrics(Agent& agent);

// "text" (default) or "json": one JSON object per line with time, level
// and msg (a JSON string; bytes that are not UTF-8 become U+FFFD).
// INVALID_ARGUMENT for anything else.
absl::Status SetLogFormat(const std::string& format);

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_OBSERVABILITY_H_
