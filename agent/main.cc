// chaos-agent: injects and reverts faults on this host, served over gRPC.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "agent/fault_factory.h"
#include "agent/observability.h"
#include "agent/registration.h"
#include "agent/server.h"
#include "absl/strings/numbers.h"
#include "faults/net_scope.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  CLI::App app{"chaos-agent: injects and reverts faults on this host"};
  std::string listen = "127.0.0.1:7070";
  std::string state_dir = "/var/lib/chaos-agent";
  std::string port_file, policy_file, metrics_listen, log_format = "text";
  std::vector<std::string> labels;
  double lease_s = 15, max_duration_s = 0;
  size_t max_active = 64, keep_ended = 1000;
  std::string controller, advertise;
  std::vector<std::string> control_cidrs;
  app.add_option("--listen", listen, "host:port to serve on (port 0: let the OS choose)")
      ->capture_default_str();
  app.add_option("--state-dir", state_dir, "where the fault ledger lives")->capture_default_str();
  app.add_option("--port-file", port_file, "write the chosen port to this file once serving");
  app.add_option("--label", labels, "key=value label reported by Describe (repeatable)");
  app.add_option("--control-cidr", control_cidrs,
                 "controller address/CIDR that network faults never cut (repeatable); the "
                 "agent's own listening port is always excluded");
  app.add_option("--default-lease", lease_s, "lease in seconds when a request gives none")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-duration", max_duration_s,
                 "longest fault allowed, in seconds (overrides the policy's maxDuration)")
      ->check(CLI::PositiveNumber);
  app.add_option("--policy", policy_file, "policy file (YAML); default: built-in policy");
  app.add_option("--metrics-listen", metrics_listen,
                 "host:port for the Prometheus /metrics endpoint (off when empty)");
  app.add_option("--log-format", log_format, "text or json")->capture_default_str();
  app.add_option("--max-active-faults", max_active, "cap on concurrently active faults")
      ->capture_default_str();
  app.add_option("--keep-ended", keep_ended,
                 "ended faults remembered (so a late revert answers \"already reverted\")")
      ->capture_default_str();
  app.add_option("--controller", controller,
                 "controller host:port to register with and heartbeat (default: none)");
  app.add_option("--advertise", advertise,
                 "host:port the controller reaches this agent at (default: the listen "
                 "host with the chosen port)");
  CLI11_PARSE(app, argc, argv);

  if (absl::Status s = chaos::agent::SetLogFormat(log_format); !s.ok()) {
    std::fprintf(stderr, "chaos-agent: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  chaos::agent::AgentOptions options;
  options.state_dir = state_dir;
  options.default_lease = absl::Seconds(lease_s);
  if (!policy_file.empty()) {
    auto policy = chaos::agent::Policy::Load(policy_file);
    if (!policy.ok()) {
      std::fprintf(stderr, "chaos-agent: %s\n", std::string(policy.status().message()).c_str());
      return 2;
    }
    options.policy = *std::move(policy);
  }
  if (max_duration_s > 0) options.policy.max_duration = absl::Seconds(max_duration_s);
  options.max_active_faults = max_active;
  options.max_ended_faults = keep_ended;
  for (const std::string& l : labels) {
    std::pair<std::string, std::string> kv = absl::StrSplit(l, absl::MaxSplits('=', 1));
    if (kv.first.empty()) {
      std::fprintf(stderr, "chaos-agent: --label %s: want key=value\n", l.c_str());
      return 2;
    }
    options.labels[kv.first] = kv.second;
  }
  const std::map<std::string, std::string> label_map = options.labels;

  // Signals are taken synchronously by this thread only.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Exclude the control channel before the first request can arrive; the
  // port is known for sure only once serving (port 0), so set it again then.
  if (auto bad = chaos::faults::ParseCidrs("--control-cidr", control_cidrs); !bad.ok()) {
    std::fprintf(stderr, "chaos-agent: %s\n", bad.status().ToString().c_str());
    return 2;
  }
  {
    uint32_t want_port = 0;
    const auto colon = listen.rfind(':');
    if (colon != std::string::npos && absl::SimpleAtoi(listen.substr(colon + 1), &want_port) &&
        want_port > 0 && want_port < 65536) {
      chaos::agent::SetControlChannel({control_cidrs, {want_port}});
    } else {
      chaos::agent::SetControlChannel({control_cidrs, {}});
    }
  }
  auto server = chaos::agent::AgentServer::Start(std::move(options), listen);
  if (!server.ok()) {
    std::fprintf(stderr, "chaos-agent: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<chaos::agent::MetricsServer> metrics;
  if (!metrics_listen.empty()) {
    auto m = chaos::agent::MetricsServer::Start(&(*server)->agent(), metrics_listen);
    if (!m.ok()) {
      std::fprintf(stderr, "chaos-agent: %s\n", std::string(m.status().message()).c_str());
      return 1;
    }
    metrics = *std::move(m);
    spdlog::info("metrics on {}", metrics->port());
  }
  chaos::agent::SetControlChannel(
      {control_cidrs, {static_cast<uint32_t>((*server)->port())}});
  spdlog::info("chaos-agent {} serving on port {} (state in {})", CHAOS_VERSION,
               (*server)->port(), state_dir);
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*server)->port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  std::unique_ptr<chaos::agent::Registration> registration;
  if (!controller.empty()) {
    chaos::agent::RegistrationOptions ro;
    ro.controller = controller;
    ro.advertise = advertise;
    if (ro.advertise.empty()) {
      const size_t colon = listen.rfind(':');
      std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
      if (host.empty() || host == "0.0.0.0" || host == "[::]") {
        char name[256] = {};
        gethostname(name, sizeof(name) - 1);
        host = name;
      }
      ro.advertise = host + ":" + std::to_string((*server)->port());
    }
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    ro.hostname = name;
    ro.labels = label_map;
    registration = std::make_unique<chaos::agent::Registration>(std::move(ro));
    registration->Start();
  }
  int sig = 0;
  sigwait(&set, &sig);
  registration.reset();
  spdlog::info("signal {}: reverting every fault and stopping", sig);
  metrics.reset();
  server->reset();
  return 0;
}
