// chaos-controller: the central service. Serves chaos.v1.Controller (runs,
// agent registry, schedules; see docs/CONTROLLER.md) and the standard gRPC
// health-checking protocol. History lives in STATE_DIR/history.db.
// On start it completes the rollback of runs a killed predecessor left
// running; on SIGINT/SIGTERM it interrupts live runs, waits for their
// rollback and exits.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "controller/server/clock.h"
#include "rpc/credentials.h"
#include "controller/server/history.h"
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "controller/server/scheduler.h"
#include "controller/server/service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  CLI::App app{"chaos-controller: runs experiments against chaos agents"};
  std::string listen = "127.0.0.1:7071", port_file, state_dir = "/var/lib/chaos-controller";
  int heartbeat_ms = 5000, missed = 3, tick_ms = 1000;
  double lease_s = 15;
  app.add_option("--listen", listen, "host:port to serve on (port 0: let the OS choose)")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "write the chosen port to this file once serving");
  app.add_option("--state-dir", state_dir, "where the history database lives")
      ->capture_default_str();
  app.add_option("--heartbeat-interval-ms", heartbeat_ms, "how often agents must heartbeat")
      ->capture_default_str()->check(CLI::Range(50, 3600000));
  app.add_option("--missed-heartbeats", missed, "an agent is lost after this many missed")
      ->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--lease", lease_s, "lease in seconds the agents hold between keep-alives")
      ->capture_default_str()->check(CLI::Range(1.0, 3600.0));
  app.add_option("--schedule-tick-ms", tick_ms, "how often schedules are checked")
      ->capture_default_str()->check(CLI::Range(10, 60000));
  CLI11_PARSE(app, argc, argv);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  using namespace chaos::controller;
  ::mkdir(state_dir.c_str(), 0700);
  const std::string db_path = state_dir + "/history.db";
  absl::StatusOr<std::unique_ptr<HistoryStore>> history = HistoryStore::Open(db_path);
  if (!history.ok()) {
    spdlog::error("{}; serving agents only, runs and schedules answer with this error",
                  history.status().ToString());
  }
  AgentRegistry registry(RealClock::Get(), absl::Milliseconds(heartbeat_ms), missed);
  std::unique_ptr<RunManager> runs;
  std::unique_ptr<ManagerLauncher> launcher;
  std::unique_ptr<Scheduler> scheduler;
  if (history.ok()) {
    RunManagerOptions ro;
    ro.lease = absl::Seconds(lease_s);
    runs = std::make_unique<RunManager>(history->get(), &registry, ro);
    launcher = std::make_unique<ManagerLauncher>(runs.get());
    scheduler = std::make_unique<Scheduler>(history->get(), launcher.get(), RealClock::Get());
  }
  ControllerService service(&registry, runs.get(), scheduler.get(),
                            history.ok() ? absl::OkStatus() : history.status());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, chaos::rpc::ServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "chaos-controller: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  spdlog::info("chaos-controller serving on port {} (history in {})", port, db_path);
  // Recovery runs beside the server: agents may be slow to answer, and
  // registration must work meanwhile.
  std::thread recovery;
  if (runs) {
    recovery = std::thread([&] {
      absl::StatusOr<int> n = runs->Recover();
      if (!n.ok()) spdlog::error("recovery: {}", n.status().ToString());
      else if (*n > 0) spdlog::info("recovery: completed the rollback of {} run(s)", *n);
    });
    scheduler->Start(absl::Milliseconds(tick_ms));
  }
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {}: stopping; live runs are interrupted and rolled back", sig);
  if (scheduler) scheduler->Stop();
  if (recovery.joinable()) recovery.join();
  // Watch streams of live runs are cancelled after the deadline; then live
  // runs are interrupted and their rollback awaited.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  runs.reset();
  return 0;
}
