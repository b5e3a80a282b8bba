// chaos-controller: the central service. Serves chaos.v1.Controller (runs,
// agent registry, schedules; see docs/CONTROLLER.md) and the standard gRPC
// health-checking protocol, and with --http-listen its metrics and the
// game-day dashboard over HTTP (HTTPS with client certificates under TLS).
// History and schedules live in STATE_DIR/history.db, or with --store
// etcd://... in etcd, shared by several controllers of which one leads: a
// standby serves reads from the store and refuses writes until it leads
// (controller/store/leadership.h, service.h), and a leader that loses its
// lease exits.
// On start it completes the rollback of runs a killed predecessor left
// running; on SIGINT/SIGTERM it interrupts live runs, waits for their
// rollback and exits.
#include <signal.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/interrupts.h"
#include "base/mutex_mode.h"
#include "base/prometheus.h"
#include "base/status_macros.h"
#include "controller/server/clock.h"
#include "controller/dashboard/dashboard.h"
#include "controller/policy/command_policy.h"
#include "controller/metrics/metrics.h"
#include "controller/server/metrics_page.h"
#include "rpc/config_flag.h"
#include "rpc/http_server.h"
#include "rpc/limits.h"
#include "rpc/listen_policy.h"
#include "rpc/transport_flags.h"
#include "controller/store/etcd_history_store.h"
#include "controller/store/leadership.h"
#include "controller/store/sqlite_history_store.h"
#include "controller/store/store_target.h"
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
  double max_heartbeats = 50;
  int tick_ms = 1000;
  double lease_s = 15;
  size_t max_agents = 0;
  size_t fan_out = 64;
  std::string start_lead = "auto";
  std::string command_policy;
  std::string http_listen;
  chaos::rpc::TransportFlags transport;
  StoreFlags store;
  double etcd_lease_s = 3;
};

void DeclareFlags(CLI::App& app, Flags& f) {
  app.add_option("--listen", f.listen, "host:port to serve on (port 0: let the OS choose)")
      ->capture_default_str();
  app.add_option("--port-file", f.port_file,
                 "write the chosen port to this file once serving (on etcd: once leading)");
  app.add_option("--state-dir", f.state_dir, "where the history database lives")
      ->capture_default_str();
  app.add_option("--heartbeat-interval-ms", f.heartbeat_ms, "how often agents must heartbeat")
      ->capture_default_str()->check(CLI::Range(50, 3600000));
  app.add_option("--missed-heartbeats", f.missed, "an agent is lost after this many missed")
      ->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--max-heartbeats-per-second", f.max_heartbeats,
                 "tell agents a longer interval when the registered ones would heartbeat more "
                 "often than this together (0: never)")
      ->capture_default_str()->check(CLI::Range(0.0, 100000.0));
  app.add_option("--lease", f.lease_s, "lease in seconds the agents hold between keep-alives")
      ->capture_default_str()->check(CLI::Range(1.0, 3600.0));
  app.add_option("--schedule-tick-ms", f.tick_ms, "how often schedules are checked")
      ->capture_default_str()->check(CLI::Range(10, 60000));
  app.add_option("--max-agents-per-run", f.max_agents,
                 "refuse a run that would inject on more agents than this (0: no limit)")
      ->capture_default_str();
  app.add_option("--fan-out", f.fan_out, "how many agents are called at once: a run's preflight, injects, keep-alives, "
                 "reverts and checks, halt and resume all, crash recovery")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--start-lead", f.start_lead,
                 "how far ahead a fault step on several agents plans its one start, so that "
                 "they start together (auto, off, or a duration up to 5m)")
      ->capture_default_str();
  app.add_option("--command-policy", f.command_policy,
                 "YAML allow-list of the commands submitted experiments may run here "
                 "(default: none may run)");
  app.add_option("--http-listen", f.http_listen,
                 "host:port to serve HTTP on: GET /metrics and the dashboard at / (off when "
                 "empty; port 0: let the OS choose); HTTPS requiring a client certificate "
                 "when the TLS flags are given");
  chaos::rpc::AddTransportFlags(app, f.transport, chaos::rpc::Endpoint::kController);
  app.add_option("--store", f.store.store,
                 "where history and schedules live: sqlite (STATE_DIR/history.db) or "
                 "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (default prefix /chaos/), shared by "
                 "several controllers of which one leads")
      ->capture_default_str();
  app.add_option("--etcd-cert", f.store.etcd_tls.cert, "PEM certificate for mutual TLS to etcd");
  app.add_option("--etcd-key", f.store.etcd_tls.key, "its private key");
  app.add_option("--etcd-ca", f.store.etcd_tls.ca, "the CA etcd's certificate must chain to");
  app.add_option("--etcd-lease", f.etcd_lease_s,
                 "seconds the leader's etcd lease outlives its last renewal: how soon a standby "
                 "takes over from a leader that died")
      ->capture_default_str()->check(CLI::Range(1.0, 60.0));
}

// What the flags name, loaded and checked before anything starts: one
// line and exit code 2 on any mistake.
struct Config {
  chaos::rpc::TransportOptions transport;
  absl::Duration start_lead;
  CommandPolicy commands;  // none may run without --command-policy
  StoreTarget store;
};

absl::StatusOr<Config> LoadConfig(const Flags& f) {
  Config config;
  ASSIGN_OR_RETURN(config.transport, chaos::rpc::TransportFromFlags(f.transport, chaos::rpc::Endpoint::kController));
  ASSIGN_OR_RETURN(config.store, ParseStoreTarget(f.store));
  ASSIGN_OR_RETURN(config.start_lead, chaos::controller::ParseStartLead(f.start_lead));
  RETURN_IF_ERROR(chaos::rpc::CheckListen(f.listen, config.transport));
  if (!f.http_listen.empty() && !config.transport.tls()) {
    // Without TLS the dashboard has no identities: loopback only.
    RETURN_IF_ERROR(chaos::rpc::CheckPlaintextListen("--http-listen", f.http_listen,
                                                     config.transport.insecure(),
                                                     /*tls_helps=*/true));
  }
  if (!f.command_policy.empty()) {
    absl::StatusOr<CommandPolicy> commands = CommandPolicy::Load(f.command_policy);
    if (!commands.ok()) {
      return absl::Status(commands.status().code(),
                          absl::StrCat("--command-policy: ", commands.status().message()));
    }
    config.commands = *std::move(commands);
  }
  return config;
}

// The history and, on etcd, the client and this controller's leadership.
struct Store {
  absl::StatusOr<std::unique_ptr<HistoryStore>> history;
  std::string where;  // for the log
  std::shared_ptr<chaos::etcd::Client> client;
  EtcdHistoryStore* etcd = nullptr;  // history's, when on etcd
  std::unique_ptr<Leadership> leadership;
};

// A leader that lost its lease stops at once: whatever it still holds is
// the next leader's to finish, and its writes are fenced anyway.
void ExitDeposed(const std::string& why) {
  spdlog::critical("{}: no longer the leader; exiting so that nothing acts on runs the next "
                   "leader owns",
                   why);
  spdlog::default_logger()->flush();
  std::_Exit(1);
}

// SQLite errors are kept for the service to answer with; etcd's stop the
// start (one line, non-zero exit).
absl::StatusOr<Store> OpenStore(const Flags& f, const StoreTarget& target) {
  Store s;
  if (!target.etcd) {
    s.history = SqliteHistoryStore::Open(f.state_dir + "/history.db");
    s.where = f.state_dir + "/history.db";
    return s;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<chaos::etcd::Client> client,
                   chaos::etcd::Client::Connect(target.client));
  s.client = std::move(client);
  ASSIGN_OR_RETURN(std::unique_ptr<EtcdHistoryStore> etcd,
                   EtcdHistoryStore::Open(s.client, target.prefix));
  s.etcd = etcd.get();
  s.history = std::unique_ptr<HistoryStore>(std::move(etcd));
  s.where = absl::StrCat("etcd ", absl::StrJoin(target.client.endpoints, ","), " under ",
                         target.prefix);
  s.leadership = std::make_unique<Leadership>(s.client.get(), target.prefix,
                                              absl::Seconds(f.etcd_lease_s), ExitDeposed);
  return s;
}

// Called once this controller leads: nothing else writes now (the previous
// leader is fenced, and this one does not serve yet). A failure is logged:
// the chunks wait for the next leader.
void CollectOrphans(EtcdHistoryStore& store) {
  absl::StatusOr<int> orphans = store.CollectOrphanChunks();
  if (!orphans.ok()) {
    spdlog::warn("orphaned report and experiment chunks not collected: {}",
                 orphans.status().ToString());
  } else if (*orphans > 0) {
    spdlog::info("deleted {} orphaned generation(s) of report or experiment chunks", *orphans);
  }
}

// The leader's identity (Leadership::Leader), for a standby's refusals.
std::string LeaderName(Store& s) {
  if (!s.leadership) return "this controller";
  absl::StatusOr<std::string> leader = s.leadership->Leader();
  if (leader.ok()) return absl::StrCat("\"", *leader, "\"");
  if (absl::IsNotFound(leader.status())) return "none now (an election is under way)";
  return absl::StrCat("unknown (", leader.status().message(), ")");
}

// The standard health service's status for the API: SERVING on the
// leader, NOT_SERVING on a standby (a load balancer's health check then
// sends clients to the leader).
void SetLeading(grpc::Server& server, bool leading) {
  server.GetHealthCheckService()->SetServingStatus(chaos::v1::Controller::service_full_name(),
                                                   leading);
}

// What the leader is known as (Leadership::Leader): "HOST pid N at
// ADDRESS", ADDRESS where it serves (a wildcard --listen gives the host
// name).
std::string Identity(const Flags& f, int port) {
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, " pid ", getpid(), " at ",
                      chaos::rpc::ReachableAddress(f.listen, port, host));
}

// On etcd, waits until this controller leads (a standby waits here,
// serving reads; SIGINT or SIGTERM end the wait: CANCELLED), then fences
// the store with the leader key and collects orphaned chunks.
absl::Status AwaitLeadership(Store& s, const std::string& identity) {
  absl::StatusOr<std::string> leader = s.leadership->Leader();
  spdlog::info("campaigning to lead the controllers on {}; leader now: {}", s.where,
               leader.ok() ? *leader : leader.status().ToString());
  absl::StatusOr<chaos::etcd::LeaderKey> key;
  {
    chaos::base::InterruptWatcher stop([&s](int, int) { s.leadership->Cancel(); });
    key = s.leadership->Lead(identity);
  }
  if (!key.ok()) return key.status();
  s.etcd->SetFence(*key);
  spdlog::info("leading the controllers on {} (leader key {}, revision {})", s.where,
               key->key(), key->rev());
  CollectOrphans(*s.etcd);
  return absl::OkStatus();
}

// The daemon's parts. Without a history (a corrupt database) it still
// serves agent registration; runs and schedules answer with the error.
// The runs and schedules exist once it leads (Lead()): the run manager's
// recovery takes the runs started before it as another controller's.
struct Controller {
  Controller(const Flags& f, absl::StatusOr<std::unique_ptr<HistoryStore>> store)
      : history(std::move(store)),
        registry(RealClock::Get(), absl::Milliseconds(f.heartbeat_ms), f.missed, kMaxAgents,
                 history.ok() ? history->get() : nullptr, f.max_heartbeats) {
    if (!history.ok()) {
      spdlog::error("{}; serving agents only, runs and schedules answer with this error",
                    history.status().ToString());
    }
  }

  // `leadership` (on etcd; null on SQLite) outlives this: every inject
  // first asks its CheckLeading().
  void Lead(const Flags& f, const Config& config, Leadership* leadership) {
    if (!history.ok()) return;
    absl::Status loaded = registry.Load();
    if (!loaded.ok()) spdlog::error("the stored agent registry: {}", loaded.ToString());
    RunManagerOptions ro;
    ro.lease = absl::Seconds(f.lease_s);
    ro.max_agents_per_run = f.max_agents;
    ro.fan_out = f.fan_out;
    ro.start_lead = config.start_lead;
    ro.command_policy = config.commands;
    ro.transport = config.transport;
    ro.metrics = &metrics;
    if (leadership) ro.authority = [leadership] { return leadership->CheckLeading(); };
    runs = std::make_unique<RunManager>(history->get(), &registry, ro);
    launcher = std::make_unique<ManagerLauncher>(runs.get());
    scheduler = std::make_unique<Scheduler>(history->get(), launcher.get(), RealClock::Get(),
                                            &metrics);
  }

  HistoryStore* store() { return history.ok() ? history->get() : nullptr; }
  absl::Status history_status() const { return history.status(); }

  absl::StatusOr<std::unique_ptr<HistoryStore>> history;
  AgentRegistry registry;
  ControllerMetrics metrics;
  std::unique_ptr<RunManager> runs;
  std::unique_ptr<ManagerLauncher> launcher;
  std::unique_ptr<Scheduler> scheduler;
};

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "chaos-controller: %s\n", std::string(message).c_str());
  return code;
}

// 2 for what the operator must fix in the settings, 1 otherwise.
int ExitCodeOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
      return 2;
    default:
      return 1;
  }
}

// The gRPC server: the API and the standard health service on --listen.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(
    const Flags& f, const chaos::rpc::TransportOptions& transport, ControllerService* service,
    int* port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  if (absl::Status s = chaos::rpc::AddListeningPort(builder, f.listen, transport, port); !s.ok()) {
    return s;
  }
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(chaos::rpc::kControllerMaxRequestBytes);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || *port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", f.listen));
  }
  return server;
}

// Who may use the dashboard: under TLS the roles of the gRPC API (none
// configured: every request is refused, as on the gRPC port).
DashboardAccess AccessFor(const chaos::rpc::TransportOptions& transport) {
  if (!transport.tls()) return DashboardAccess(nullptr);
  std::shared_ptr<const chaos::rpc::Roles> roles = transport.roles();
  return DashboardAccess(roles ? roles : std::make_shared<const chaos::rpc::Roles>());
}

// --http-listen: GET /metrics and the dashboard, or nothing when the flag
// is empty. `dashboard` must outlive the server.
absl::StatusOr<std::unique_ptr<chaos::rpc::HttpServer>> StartHttp(
    const Flags& f, const chaos::rpc::TransportOptions& transport, Controller& c,
    Dashboard& dashboard) {
  if (f.http_listen.empty()) return nullptr;
  const bool tls = transport.tls();
  if (!tls && !chaos::rpc::IsLoopbackAddress(f.http_listen)) {
    spdlog::warn("insecure: serving HTTP without authentication on {}: anyone who can reach it "
                 "reads the controller's metrics, runs and agents (state changes stay loopback "
                 "only)",
                 f.http_listen);
  }
  HistoryStore* history = c.store();
  chaos::rpc::HttpServerOptions options;
  options.routes = dashboard.Routes();
  const DashboardAccess access = AccessFor(transport);
  options.routes.push_back(
      {"GET", "/metrics", [&c, history, access](const chaos::rpc::HttpRequest& req) {
         chaos::rpc::HttpResponse res;
         if (absl::Status s = access.Page(req); !s.ok()) {
           res.status = 403;
           res.body = absl::StrCat(s.message(), "\n");
           return res;
         }
         res.content_type = chaos::base::kPrometheusContentType;
         res.body = RenderMetricsPage(c.metrics, history, c.registry);
         return res;
       }});
  if (tls) options.tls = transport.files();
  // A stream each for the dashboards open at once, and some to spare.
  options.threads = Dashboard::kMaxStreams + 8;
  auto http = chaos::rpc::HttpServer::Serve("--http-listen", f.http_listen, std::move(options));
  if (http.ok()) {
    spdlog::info("chaos-controller serving {} (/metrics, dashboard at /) on port {}",
                 tls ? "HTTPS" : "HTTP", (*http)->port());
  }
  return http;
}

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
  chaos::base::UseReleaseMutexes();  // base/mutex_mode.h
  CLI::App app{"chaos-controller: runs experiments against chaos agents"};
  app.set_version_flag("--version", CHAOS_VERSION);
  Flags f;
  DeclareFlags(app, f);
  chaos::rpc::AddConfigFlag(app);
  if (auto code = chaos::rpc::ParseFlags(app, "chaos-controller", "listen = \"127.0.0.1:7071\"",
                                         argc, argv)) {
    return *code;
  }
  auto config = LoadConfig(f);
  if (!config.ok()) return Fail(2, config.status().message());
  spdlog::info("{}", config->commands.Summary());
  // SIGINT and SIGTERM are taken by the main thread only; SIGPIPE is ignored.
  chaos::base::BlockInterrupts();
  signal(SIGPIPE, SIG_IGN);
  ::mkdir(f.state_dir.c_str(), 0700);
  absl::StatusOr<Store> store = OpenStore(f, config->store);
  if (!store.ok()) return Fail(ExitCodeOf(store.status()), store.status().message());

  Controller c(f, std::move(store->history));
  ControllerService service(&c.registry, c.store(), c.history_status(),
                            [&s = *store] { return LeaderName(s); });
  const auto lead = [&] {
    c.Lead(f, *config, store->leadership.get());
    service.Lead(c.runs.get(), c.scheduler.get());
  };
  // On SQLite this controller leads from the start; on etcd it serves
  // reads as a standby until it leads.
  const bool standby = store->leadership != nullptr;
  if (!standby) lead();
  int port = 0;
  auto server = StartServer(f, config->transport, &service, &port);
  if (!server.ok()) return Fail(1, server.status().message());
  SetLeading(**server, !standby);
  if (standby) {
    spdlog::info("chaos-controller serving reads as a standby on port {}", port);
    if (absl::Status s = AwaitLeadership(*store, Identity(f, port)); !s.ok()) {
      (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      return absl::IsCancelled(s) ? 0 : Fail(1, s.message());
    }
    lead();
    SetLeading(**server, true);
  }
  Dashboard dashboard(c.runs.get(), &c.registry, c.history_status(),
                      AccessFor(config->transport));
  auto http = StartHttp(f, config->transport, c, dashboard);
  if (!http.ok()) {
    // A malformed --http-listen is the operator's to fix (2); a port in use, not (1).
    const bool invalid = http.status().code() == absl::StatusCode::kInvalidArgument;
    return Fail(invalid ? 2 : 1, http.status().message());
  }
  spdlog::info("chaos-controller serving on port {} ({}; history in {})", port,
               config->transport.tls() ? "mutual TLS" : "plaintext", store->where);
  std::thread recovery = StartRecoveryAndSchedules(c, f);
  if (!f.port_file.empty()) {
    absl::Status s = chaos::base::WriteFileAtomically(f.port_file, absl::StrCat(port, "\n"));
    if (!s.ok()) spdlog::error("--port-file: {}", s.ToString());
  }
  const int sig = chaos::base::WaitForInterrupt();
  spdlog::info("signal {}: stopping; live runs are interrupted and rolled back", sig);
  if (c.scheduler) c.scheduler->Stop();
  if (recovery.joinable()) recovery.join();
  // Watch streams of live runs are cancelled after the deadline, the
  // dashboard's streams end with its server; then live runs are
  // interrupted and their rollback awaited.
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  http->reset();
  c.runs.reset();
  return 0;
}
