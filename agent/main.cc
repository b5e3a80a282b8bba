// chaos-agent: injects and reverts faults on this host, served over gRPC.
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "base/files.h"
#include "base/interrupts.h"
#include "base/mutex_mode.h"
#include "base/prometheus.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "agent/fault_factory.h"
#include "agent/host.h"
#include "agent/observability.h"
#include "agent/registration.h"
#include "agent/server.h"
#include "faults/net_scope.h"
#include "rpc/config_flag.h"
#include "rpc/http_server.h"
#include "rpc/listen_policy.h"
#include "rpc/transport_flags.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {
namespace {

struct Flags {
  std::string listen = "127.0.0.1:7070";
  std::string state_dir = "/var/lib/chaos-agent";
  std::string port_file, policy_file, metrics_listen, log_format = "text";
  std::vector<std::string> labels;
  double lease_s = 15, max_duration_s = 0, retry_initial_s = 1, retry_max_s = 30;
  size_t max_active = 64, keep_ended = 1000;
  std::string controller, advertise;
  std::vector<std::string> control_cidrs;
  rpc::TransportFlags transport;
};

void AddFlags(CLI::App& app, Flags& f) {
  app.add_option("--listen", f.listen, "host:port to serve on (port 0: let the OS choose)")
      ->capture_default_str();
  app.add_option("--state-dir", f.state_dir, "where the fault ledger lives")
      ->capture_default_str();
  app.add_option("--port-file", f.port_file, "write the chosen port to this file once serving");
  app.add_option("--label", f.labels, "key=value label reported by Describe (repeatable)");
  app.add_option("--control-cidr", f.control_cidrs,
                 "controller address/CIDR that network faults never cut (repeatable); the "
                 "agent's own listening port is always excluded");
  app.add_option("--default-lease", f.lease_s, "lease in seconds when a request gives none")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-duration", f.max_duration_s,
                 "longest fault allowed, in seconds (overrides the policy's maxDuration)")
      ->check(CLI::PositiveNumber);
  app.add_option("--policy", f.policy_file, "policy file (YAML); default: built-in policy");
  app.add_option("--metrics-listen", f.metrics_listen,
                 "host:port for the Prometheus /metrics endpoint (off when empty)");
  app.add_option("--log-format", f.log_format, "text or json")->capture_default_str();
  app.add_option("--max-active-faults", f.max_active, "cap on concurrently active faults")
      ->capture_default_str();
  app.add_option("--keep-ended", f.keep_ended,
                 "ended faults remembered (so a late revert answers \"already reverted\")")
      ->capture_default_str();
  app.add_option("--revert-retry-initial", f.retry_initial_s,
                 "seconds before the first retry of a failed revert (then doubling)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--revert-retry-max", f.retry_max_s,
                 "longest wait, in seconds, between retries of a failed revert")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--controller", f.controller,
                 "controller host:port to register with and heartbeat (default: none); "
                 "several, comma-separated, for controllers sharing an etcd store: the "
                 "heartbeat goes to whichever accepts (the leader)");
  app.add_option("--advertise", f.advertise,
                 "host:port the controller reaches this agent at (default: the listen "
                 "host with the chosen port)");
  rpc::AddTransportFlags(app, f.transport, rpc::Endpoint::kAgent);
}

// The agent's options from the flags and the policy file.
absl::StatusOr<AgentOptions> LoadOptions(const Flags& f) {
  AgentOptions options;
  options.state_dir = f.state_dir;
  options.default_lease = absl::Seconds(f.lease_s);
  options.revert_retry.initial = absl::Seconds(f.retry_initial_s);
  options.revert_retry.cap = absl::Seconds(std::max(f.retry_max_s, f.retry_initial_s));
  if (!f.policy_file.empty()) {
    auto policy = Policy::Load(f.policy_file);
    if (!policy.ok()) return policy.status();
    options.policy = *std::move(policy);
  }
  if (f.max_duration_s > 0) options.policy.max_duration = absl::Seconds(f.max_duration_s);
  options.max_active_faults = f.max_active;
  options.max_ended_faults = f.keep_ended;
  for (const std::string& l : f.labels) {
    std::pair<std::string, std::string> kv = absl::StrSplit(l, absl::MaxSplits('=', 1));
    if (kv.first.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--label ", l, ": want key=value"));
    }
    options.labels[kv.first] = kv.second;
  }
  return options;
}

// Network faults never cut the control channel. Set before the first request
// can arrive, with the port from --listen; the port is known for sure only
// once serving (port 0), so main sets it again then.
absl::Status ExcludeControlChannel(const Flags& f) {
  if (auto bad = faults::ParseCidrs("--control-cidr", f.control_cidrs); !bad.ok()) {
    return bad.status();
  }
  uint32_t port = 0;
  const auto colon = f.listen.rfind(':');
  if (colon != std::string::npos && absl::SimpleAtoi(f.listen.substr(colon + 1), &port) &&
      port > 0 && port < 65536) {
    SetControlChannel({f.control_cidrs, {port}});
  } else {
    SetControlChannel({f.control_cidrs, {}});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<rpc::HttpServer>> StartMetrics(const Flags& f, Agent* agent) {
  if (f.metrics_listen.empty()) return nullptr;
  if (!rpc::IsLoopbackAddress(f.metrics_listen)) {
    spdlog::warn("insecure: serving /metrics over plaintext HTTP on {}: anyone who can reach it "
                 "reads the agent's fault counters",
                 f.metrics_listen);
  }
  auto metrics = rpc::HttpServer::Start(
      "--metrics-listen", f.metrics_listen,
      {{"/metrics", base::kPrometheusContentType, [agent] { return RenderMetrics(*agent); }}});
  if (metrics.ok()) spdlog::info("metrics on {}", (*metrics)->port());
  return metrics;
}

// --advertise, else the listen host (this host's name for a wildcard) with
// the chosen port.
std::string AdvertiseAddress(const Flags& f, int port) {
  if (!f.advertise.empty()) return f.advertise;
  return rpc::ReachableAddress(f.listen, port, HostName());
}

std::unique_ptr<Registration> StartRegistration(const Flags& f, const AgentOptions& options,
                                                const rpc::TransportOptions& transport, int port) {
  if (f.controller.empty()) return nullptr;
  RegistrationOptions ro;
  ro.controllers = absl::StrSplit(f.controller, ',', absl::SkipWhitespace());
  ro.advertise = AdvertiseAddress(f, port);
  ro.hostname = HostName();
  ro.labels = options.labels;
  ro.transport = transport;
  auto registration = std::make_unique<Registration>(std::move(ro));
  registration->Start();
  return registration;
}

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "chaos-agent: %s\n", std::string(message).c_str());
  return code;
}

// The transport from the flags, and the listen policy for both ports: one
// line and exit code 2 on any mistake, before the ledger is touched.
absl::StatusOr<rpc::TransportOptions> LoadTransport(const Flags& f) {
  auto transport = rpc::TransportFromFlags(f.transport, rpc::Endpoint::kAgent);
  if (!transport.ok()) return transport.status();
  if (absl::Status s = rpc::CheckListen(f.listen, *transport); !s.ok()) return s;
  if (!f.metrics_listen.empty()) {
    absl::Status s = rpc::CheckPlaintextListen("--metrics-listen", f.metrics_listen,
                                               transport->insecure(), /*tls_helps=*/false);
    if (!s.ok()) return s;
  }
  return transport;
}

// Serves until SIGINT or SIGTERM, then reverts every fault and stops.
int Serve(const Flags& f, AgentOptions options, const rpc::TransportOptions& transport) {
  // SIGINT and SIGTERM are taken by the main thread only; SIGPIPE is ignored.
  base::BlockInterrupts();
  signal(SIGPIPE, SIG_IGN);
  if (absl::Status s = ExcludeControlChannel(f); !s.ok()) return Fail(2, s.ToString());
  auto server = AgentServer::Start(options, f.listen, transport);
  if (!server.ok()) return Fail(1, server.status().ToString());
  auto metrics = StartMetrics(f, &(*server)->agent());
  if (!metrics.ok()) return Fail(1, metrics.status().message());
  const int port = (*server)->port();
  SetControlChannel({f.control_cidrs, {static_cast<uint32_t>(port)}});
  spdlog::info("chaos-agent {} serving on port {} ({}; state in {})", CHAOS_VERSION, port,
               transport.tls() ? "mutual TLS" : "plaintext", f.state_dir);
  if (!f.port_file.empty()) {
    absl::Status s = base::WriteFileAtomically(f.port_file, absl::StrCat(port, "\n"));
    if (!s.ok()) return Fail(1, s.ToString());
  }
  std::unique_ptr<Registration> registration = StartRegistration(f, options, transport, port);
  const int sig = base::WaitForInterrupt();
  registration.reset();
  spdlog::info("signal {}: reverting every fault and stopping", sig);
  metrics->reset();
  server->reset();
  return 0;
}

}  // namespace
}  // namespace chaos::agent

int main(int argc, char** argv) {
  chaos::base::UseReleaseMutexes();  // base/mutex_mode.h
  // Few threads allocate, and little: two malloc arenas rather than one per
  // thread keep the heap of an agent with 64 faults smaller
  // (docs/BENCHMARKS.md, "Agent footprint").
  mallopt(M_ARENA_MAX, 2);
  CLI::App app{"chaos-agent: injects and reverts faults on this host"};
  app.set_version_flag("--version", CHAOS_VERSION);
  chaos::agent::Flags flags;
  chaos::agent::AddFlags(app, flags);
  chaos::rpc::AddConfigFlag(app);
  if (auto code = chaos::rpc::ParseFlags(app, "chaos-agent", "listen = \"127.0.0.1:7070\"",
                                         argc, argv)) {
    return *code;
  }
  if (absl::Status s = chaos::agent::SetLogFormat(flags.log_format); !s.ok()) {
    return chaos::agent::Fail(2, s.message());
  }
  auto options = chaos::agent::LoadOptions(flags);
  if (!options.ok()) return chaos::agent::Fail(2, options.status().message());
  auto transport = chaos::agent::LoadTransport(flags);
  if (!transport.ok()) return chaos::agent::Fail(2, transport.status().message());
  return chaos::agent::Serve(flags, *std::move(options), *transport);
}
