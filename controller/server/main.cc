// chaos-controller: the central service. Serves chaos.v1.Controller (runs,
// agent registry, schedules; see docs/CONTROLLER.md) and the standard gRPC
// health-checking protocol. History lives in STATE_DIR/history.db.
// On start it completes the rollback of runs a killed predecessor left
// running; on SIGINT/SIGTERM it interrupts live runs, waits for their
// rollback and exits.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/interrupts.h"
#include "controller/server/clock.h"
#include "controller/policy/command_policy.h"
#include "rpc/credentials.h"
#include "rpc/limits.h"
#include "controller/server/history.h"
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "controller/server/scheduler.h"
#include "controller/server/service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

namespace {

using namespace chaos::controller;

struct Flags {
  std::string listen = "127.0.0.1:7071";
  std::string port_file;
  std::string state_dir = "/var/lib/chaos-controller";
  int heartbeat_ms = 5000;
  int missed = 3;
  int tick_ms = 1000;
  double lease_s = 15;
  size_t max_agents = 0;
  std::string command_policy;
};

void DeclareFlags(CLI::App& app, Flags& f) {
  app.add_option("--listen", f.listen, "host:port to serve on (port 0: let the OS choose)")
      ->capture_default_str();
  app.add_option("--port-file", f.port_file, "write the chosen port to this file once serving");
  app.add_option("--state-dir", f.state_dir, "where the history database lives")
      ->capture_default_str();
  app.add_option("--heartbeat-interval-ms", f.heartbeat_ms, "how often agents must heartbeat")
      ->capture_default_str()->check(CLI::Range(50, 3600000));
  app.add_option("--missed-heartbeats", f.missed, "an agent is lost after this many missed")
      ->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--lease", f.lease_s, "lease in seconds the agents hold between keep-alives")
      ->capture_default_str()->check(CLI::Range(1.0, 3600.0));
  app.add_option("--schedule-tick-ms", f.tick_ms, "how often schedules are checked")
      ->capture_default_str()->check(CLI::Range(10, 60000));
  app.add_option("--max-agents-per-run", f.max_agents,
                 "refuse a run that would inject on more agents than this (0: no limit)")
      ->capture_default_str();
  app.add_option("--command-policy", f.command_policy,
                 "YAML allow-list of the commands submitted experiments may run here "
                 "(default: none may run)");
}

// The daemon's parts. Without a history (a corrupt database) it still
// serves agent registration; runs and schedules answer with the error.
struct Controller {
  Controller(const Flags& f, const CommandPolicy& commands)
      : history(HistoryStore::Open(f.state_dir + "/history.db")),
        registry(RealClock::Get(), absl::Milliseconds(f.heartbeat_ms), f.missed) {
    if (!history.ok()) {
      spdlog::error("{}; serving agents only, runs and schedules answer with this error",
                    history.status().ToString());
      return;
    }
    RunManagerOptions ro;
    ro.lease = absl::Seconds(f.lease_s);
    ro.max_agents_per_run = f.max_agents;
    ro.command_policy = commands;
    runs = std::make_unique<RunManager>(history->get(), &registry, ro);
    launcher = std::make_unique<ManagerLauncher>(runs.get());
    scheduler = std::make_unique<Scheduler>(history->get(), launcher.get(), RealClock::Get());
  }

  absl::StatusOr<std::unique_ptr<HistoryStore>> history;
  AgentRegistry registry;
  std::unique_ptr<RunManager> runs;
  std::unique_ptr<ManagerLauncher> launcher;
  std::unique_ptr<Scheduler> scheduler;
};

// Recovery runs beside the server: agents may be slow to answer, and
// registration must work meanwhile.
std::thread StartRecoveryAndSchedules(Controller& c, const Flags& f) {
  if (!c.runs) return std::thread();
  c.scheduler->Start(absl::Milliseconds(f.tick_ms));
  return std::thread([&c] {
    absl::StatusOr<int> n = c.runs->Recover();
    if (!n.ok()) spdlog::error("recovery: {}", n.status().ToString());
    else if (*n > 0) spdlog::info("recovery: completed the rollback of {} run(s)", *n);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chaos-controller: runs experiments against chaos agents"};
  Flags f;
  DeclareFlags(app, f);
  CLI11_PARSE(app, argc, argv);
  absl::StatusOr<CommandPolicy> commands =
      f.command_policy.empty() ? CommandPolicy() : CommandPolicy::Load(f.command_policy);
  if (!commands.ok()) {
    std::fprintf(stderr, "chaos-controller: --command-policy: %s\n",
                 std::string(commands.status().message()).c_str());
    return 2;
  }
  spdlog::info("{}", commands->Summary());
  // SIGINT and SIGTERM are taken by the main thread only; SIGPIPE is ignored.
  chaos::base::BlockInterrupts();
  signal(SIGPIPE, SIG_IGN);
  ::mkdir(f.state_dir.c_str(), 0700);

  Controller c(f, *commands);
  ControllerService service(&c.registry, c.runs.get(), c.scheduler.get(),
                            c.history.ok() ? absl::OkStatus() : c.history.status());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(f.listen, chaos::rpc::ServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(chaos::rpc::kControllerMaxRequestBytes);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "chaos-controller: cannot listen on %s\n", f.listen.c_str());
    return 1;
  }
  spdlog::info("chaos-controller serving on port {} (history in {}/history.db)", port,
               f.state_dir);
  std::thread recovery = StartRecoveryAndSchedules(c, f);
  if (!f.port_file.empty()) {
    absl::Status s = chaos::base::WriteFileAtomically(f.port_file, absl::StrCat(port, "\n"));
    if (!s.ok()) spdlog::error("--port-file: {}", s.ToString());
  }
  const int sig = chaos::base::WaitForInterrupt();
  spdlog::info("signal {}: stopping; live runs are interrupted and rolled back", sig);
  if (c.scheduler) c.scheduler->Stop();
  if (recovery.joinable()) recovery.join();
  // Watch streams of live runs are cancelled after the deadline; then live
  // runs are interrupted and their rollback awaited.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  c.runs.reset();
  return 0;
}
