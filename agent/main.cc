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
#include "agent/server.h"
#include "absl/strings/numbers.h"
#include "faults/net_scope.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  CLI::App app{"chaos-agent: injects and reverts faults on this host"};
  std::string listen = "127.0.0.1:7070";
  std::string state_dir = "/var/lib/chaos-agent";
  std::string port_file;
  std::vector<std::string> labels;
  std::vector<std::string> control_cidrs;
  double lease_s = 15, max_duration_s = 3600;
  size_t max_active = 64;
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
  app.add_option("--max-duration", max_duration_s, "longest fault allowed, in seconds")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-active-faults", max_active, "cap on concurrently active faults")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  chaos::agent::AgentOptions options;
  options.state_dir = state_dir;
  options.default_lease = absl::Seconds(lease_s);
  options.max_duration = absl::Seconds(max_duration_s);
  options.max_active_faults = max_active;
  for (const std::string& l : labels) {
    std::pair<std::string, std::string> kv = absl::StrSplit(l, absl::MaxSplits('=', 1));
    if (kv.first.empty()) {
      std::fprintf(stderr, "chaos-agent: --label %s: want key=value\n", l.c_str());
      return 2;
    }
    options.labels[kv.first] = kv.second;
  }

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
  chaos::agent::SetControlChannel(
      {control_cidrs, {static_cast<uint32_t>((*server)->port())}});
  spdlog::info("chaos-agent {} serving on port {} (state in {})", CHAOS_VERSION,
               (*server)->port(), state_dir);
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*server)->port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {}: reverting every fault and stopping", sig);
  server->reset();
  return 0;
}
