// Observability for chaos-agent: a Prometheus text-format /metrics endpoint
// (served by cpp-httplib on its own thread) and the log format switch.
//
// Metrics: chaos_agent_active_faults (gauge), chaos_agent_injections_total,
// chaos_agent_inject_failures_total, chaos_agent_reverts_total,
// chaos_agent_revert_failures_total, chaos_agent_lease_expiries_total,
// chaos_agent_halted (gauge, 0 or 1).
#ifndef CHAOS_AGENT_OBSERVABILITY_H_
#define CHAOS_AGENT_OBSERVABILITY_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "agent/agent.h"

namespace httplib {
class Server;
}

namespace chaos::agent {

// Renders the agent's metrics in the Prometheus text exposition format.
std::string RenderMetrics(Agent& agent);

class MetricsServer {
 public:
  // Serves GET /metrics on `listen` (host:port; port 0 lets the OS choose).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(Agent* agent,
                                                              const std::string& listen);
  ~MetricsServer();
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// "text" (default) or "json": one JSON object per line with time, level
// and msg (a JSON string; bytes that are not UTF-8 become U+FFFD).
// INVALID_ARGUMENT for anything else.
absl::Status SetLogFormat(const std::string& format);

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_OBSERVABILITY_H_
