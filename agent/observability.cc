#include "agent/observability.h"

#include "absl/strings/str_cat.h"
#include "base/prometheus.h"
#include "nlohmann/json.hpp"
#include "spdlog/pattern_formatter.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {
namespace {

// %* : the log message as a JSON string (quoted and escaped by nlohmann::json;
// bytes that are not UTF-8 become U+FFFD rather than breaking the line).
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string quoted =
        nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

}  // namespace

std::string RenderMetrics(Agent& agent) {
  const AgentCounters& c = agent.counters();
  base::PrometheusText out;
  out.Single("chaos_agent_active_faults", "gauge", "Faults currently affecting the host.",
             agent.active_faults());
  out.Single("chaos_agent_injections_total", "counter", "Faults injected.", c.injections);
  out.Single("chaos_agent_inject_failures_total", "counter",
             "Injects that failed and were undone.", c.inject_failures);
  out.Single("chaos_agent_reverts_total", "counter", "Faults reverted.", c.reverts);
  out.Single("chaos_agent_revert_failures_total", "counter", "Reverts that failed.",
             c.revert_failures);
  out.Single("chaos_agent_lease_expiries_total", "counter",
             "Faults reverted because their experiment's lease lapsed.", c.lease_expiries);
  out.Single("chaos_agent_revert_retries_pending", "gauge",
             "Failed reverts the agent will retry on its own.", agent.revert_retries_pending());
  out.Single("chaos_agent_sweeps_total", "counter",
             "Leftovers no ledger record named, removed by the start-up sweep.", c.sweeps);
  out.Single("chaos_agent_sweep_failures_total", "counter",
             "Leftovers the start-up sweep found but could not remove.", c.sweep_failures);
  out.Single("chaos_agent_halted", "gauge", "1 while the agent is halted.",
             agent.halted() ? 1 : 0);
  return out.text();
}

absl::Status SetLogFormat(const std::string& format) {
  if (format == "text") return absl::OkStatus();
  if (format != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("--log-format: \"", format, "\" is not text or json"));
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<JsonMessage>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":%*})");
  spdlog::set_formatter(std::move(formatter));
  return absl::OkStatus();
}

}  // namespace chaos::agent
