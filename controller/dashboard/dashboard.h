// Dashboard: the controller's game-day page and its API, served on
// --http-listen beside /metrics (rpc::HttpServer). What it shows and does
// goes through the controller's own code paths, never a second copy:
//   GET  /                  the page (index.html, dashboard.js, .css)
//   GET  /api/runs          the history, newest first (RunManager::List),
//                           with each drill's RTO and RPO
//   GET  /api/run?id=RUN    one run and its journal so far (Get, Subscribe)
//   GET  /api/agents        the registry and, from each agent's Describe,
//                           its active faults and whether it is halted
//   GET  /api/stream        server-sent events (run_feed.h)
//   POST /api/abort?id=RUN  RunManager::Abort: the run rolls back
//   POST /api/halt          RunManager::HaltAll: HALT ALL
// Answers are JSON (proto field names); errors are text with the HTTP
// status of their canonical code (403 for PERMISSION_DENIED, 404 for
// NOT_FOUND, ...). Who may call what: access.h. State changes are audited
// like the gRPC API's (audit.h). Without a history (a corrupt database)
// the API answers 503 with the reason, and the page says so.
// Thread safety: safe for concurrent use; the RunManager and registry must
// outlive the HTTP server that serves the routes.
#ifndef CHAOS_CONTROLLER_DASHBOARD_DASHBOARD_H_
#define CHAOS_CONTROLLER_DASHBOARD_DASHBOARD_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "controller/dashboard/access.h"
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "rpc/http_server.h"

namespace chaos::controller {

class Dashboard {
 public:
  // Streams open at once; more are answered 503.
  static constexpr int kMaxStreams = 8;

  // `runs` is null when the history is unavailable; `history_status` says why.
  Dashboard(RunManager* runs, AgentRegistry* registry, absl::Status history_status,
            DashboardAccess access);

  // The routes above; `this` must outlive the server.
  std::vector<rpc::HttpRoute> Routes();

 private:
  rpc::HttpResponse Asset(const rpc::HttpRequest& req, const std::string& name);
  rpc::HttpResponse Runs(const rpc::HttpRequest& req);
  rpc::HttpResponse Run(const rpc::HttpRequest& req);
  rpc::HttpResponse Agents(const rpc::HttpRequest& req);
  rpc::HttpResponse Stream(const rpc::HttpRequest& req);
  rpc::HttpResponse Abort(const rpc::HttpRequest& req);
  rpc::HttpResponse Halt(const rpc::HttpRequest& req);
  absl::Status NeedHistory() const;

  RunManager* const runs_;
  AgentRegistry* const registry_;
  const absl::Status history_status_;
  const DashboardAccess access_;
  std::shared_ptr<std::atomic<int>> streams_ = std::make_shared<std::atomic<int>>(0);
};

// The HTTP status of a canonical code: 400, 403, 404, 409, 503, 500, ...
int HttpStatusOf(const absl::Status& status);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_DASHBOARD_DASHBOARD_H_
