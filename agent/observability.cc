#include "agent/observability.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "spdlog/pattern_formatter.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {
namespace {

void Metric(std::string* out, const char* name, const char* type, const char* help,
            uint64_t value) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ",
                  value, "\n");
}

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
  std::string out;
  Metric(&out, "chaos_agent_active_faults", "gauge", "Faults currently affecting the host.",
         agent.active_faults());
  Metric(&out, "chaos_agent_injections_total", "counter", "Faults injected.", c.injections);
  Metric(&out, "chaos_agent_inject_failures_total", "counter",
         "Injects that failed and were undone.", c.inject_failures);
  Metric(&out, "chaos_agent_reverts_total", "counter", "Faults reverted.", c.reverts);
  Metric(&out, "chaos_agent_revert_failures_total", "counter", "Reverts that failed.",
         c.revert_failures);
  Metric(&out, "chaos_agent_lease_expiries_total", "counter",
         "Faults reverted because their experiment's lease lapsed.", c.lease_expiries);
  Metric(&out, "chaos_agent_revert_retries_pending", "gauge",
         "Failed reverts the agent will retry on its own.", agent.revert_retries_pending());
  Metric(&out, "chaos_agent_sweeps_total", "counter",
         "Leftovers no ledger record named, removed by the start-up sweep.", c.sweeps);
  Metric(&out, "chaos_agent_sweep_failures_total", "counter",
         "Leftovers the start-up sweep found but could not remove.", c.sweep_failures);
  Metric(&out, "chaos_agent_halted", "gauge", "1 while the agent is halted.",
         agent.halted() ? 1 : 0);
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(Agent* agent,
                                                                    const std::string& listen) {
  std::pair<std::string, std::string> hp = absl::StrSplit(listen, absl::MaxSplits(':', 1));
  int port = 0;
  if (hp.first.empty() || !absl::SimpleAtoi(hp.second, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-listen: \"", listen, "\" is not host:port"));
  }
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->server_ = std::make_unique<httplib::Server>();
  m->server_->Get("/metrics", [agent](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderMetrics(*agent), "text/plain; version=0.0.4");
  });
  if (port == 0) {
    m->port_ = m->server_->bind_to_any_port(hp.first);
  } else if (m->server_->bind_to_port(hp.first, port)) {
    m->port_ = port;
  }
  if (m->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen));
  }
  m->thread_ = std::thread([s = m->server_.get()] { s->listen_after_bind(); });
  return m;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
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
