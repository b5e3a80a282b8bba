#include "controller/dashboard/dashboard.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controller/dashboard/assets.h"
#include "controller/dashboard/run_feed.h"
#include "controller/server/audit.h"
#include "nlohmann/json.hpp"

namespace chaos::controller {
namespace {

using rpc::HttpRequest;
using rpc::HttpResponse;
using nlohmann::json;

constexpr char kListRuns[] = "/chaos.v1.Controller/ListRuns";
constexpr char kGetRun[] = "/chaos.v1.Controller/GetRun";
constexpr char kWatchRun[] = "/chaos.v1.Controller/WatchRun";
constexpr char kListAgents[] = "/chaos.v1.Controller/ListAgents";
constexpr char kAbortRun[] = "/chaos.v1.Controller/AbortRun";
constexpr char kHaltAll[] = "/chaos.v1.Controller/HaltAll";
// How long /api/agents waits for each agent's Describe.
constexpr absl::Duration kDescribeTimeout = absl::Seconds(2);

HttpResponse ErrorResponse(const absl::Status& s) {
  HttpResponse res;
  res.status = HttpStatusOf(s);
  res.body = absl::StrCat(s.message(), "\n");
  res.headers = {{"Cache-Control", "no-store"}};
  return res;
}

HttpResponse JsonResponse(std::string body) {
  HttpResponse res;
  res.content_type = "application/json";
  res.body = std::move(body);
  res.headers = {{"Cache-Control", "no-store"}};
  return res;
}

std::string ContentTypeOf(const std::string& name) {
  if (absl::EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

// The page loads nothing from elsewhere and may not be framed (a framed
// HALT ALL button could be clicked through another site).
void AddPageHeaders(HttpResponse& res) {
  res.headers.push_back({"Content-Security-Policy",
                         "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                         "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"});
  res.headers.push_back({"X-Frame-Options", "DENY"});
  res.headers.push_back({"X-Content-Type-Options", "nosniff"});
  res.headers.push_back({"Referrer-Policy", "no-referrer"});
}

// Subscribes to nothing: Subscribe() is only asked for the journal so far.
class JournalReader final : public RunWatcher {
 public:
  void OnEvent(const chaos::v1::RunEvent&) override {}
  void OnEnd() override {}
};

json AgentJson(const chaos::v1::AgentInfo& info, const AgentDescription* described) {
  json agent = {{"info", json::parse(ProtoJson(info))}, {"faults", json::array()}};
  if (described == nullptr) {
    agent["error"] = "not described";
  } else if (!described->status.ok()) {
    agent["error"] = described->status.error_message();
  } else {
    agent["halted"] = described->description.halted();
    for (const chaos::v1::FaultStatus& f : described->description.active_faults()) {
      agent["faults"].push_back(json::parse(ProtoJson(f)));
    }
  }
  return agent;
}

}  // namespace

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition: return 409;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

Dashboard::Dashboard(RunManager* runs, AgentRegistry* registry, absl::Status history_status,
                     DashboardAccess access)
    : runs_(runs),
      registry_(registry),
      history_status_(std::move(history_status)),
      access_(std::move(access)) {}

absl::Status Dashboard::NeedHistory() const {
  if (runs_ != nullptr) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "the history is unavailable: ",
      history_status_.ok() ? "not opened" : std::string(history_status_.message())));
}

std::vector<rpc::HttpRoute> Dashboard::Routes() {
  std::vector<rpc::HttpRoute> routes = {
      {"GET", "/", [this](const HttpRequest& r) { return Asset(r, "index.html"); }},
      {"GET", "/api/runs", [this](const HttpRequest& r) { return Runs(r); }},
      {"GET", "/api/run", [this](const HttpRequest& r) { return Run(r); }},
      {"GET", "/api/agents", [this](const HttpRequest& r) { return Agents(r); }},
      {"GET", "/api/stream", [this](const HttpRequest& r) { return Stream(r); }},
      {"POST", "/api/abort", [this](const HttpRequest& r) { return Abort(r); }},
      {"POST", "/api/halt", [this](const HttpRequest& r) { return Halt(r); }},
  };
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.name == "index.html") continue;
    const std::string name(asset.name);
    routes.push_back({"GET", "/" + name,
                      [this, name](const HttpRequest& r) { return Asset(r, name); }});
  }
  return routes;
}

HttpResponse Dashboard::Asset(const HttpRequest& req, const std::string& name) {
  if (absl::Status s = access_.Page(req); !s.ok()) return ErrorResponse(s);
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.name != name) continue;
    HttpResponse res;
    res.content_type = ContentTypeOf(name);
    res.body = std::string(asset.data);
    AddPageHeaders(res);
    return res;
  }
  return ErrorResponse(absl::NotFoundError(name + ": not embedded"));
}

HttpResponse Dashboard::Runs(const HttpRequest& req) {
  if (absl::Status s = access_.Read(req, kListRuns); !s.ok()) return ErrorResponse(s);
  if (absl::Status s = NeedHistory(); !s.ok()) return ErrorResponse(s);
  RunFilter filter;
  filter.limit = 100;
  absl::StatusOr<std::vector<chaos::v1::Run>> runs = runs_->List(filter);
  if (!runs.ok()) return ErrorResponse(runs.status());
  chaos::v1::ListRunsResponse out;
  for (chaos::v1::Run& run : *runs) {
    run.clear_report_json();
    *out.add_runs() = std::move(run);
  }
  return JsonResponse(ProtoJson(out));
}

HttpResponse Dashboard::Run(const HttpRequest& req) {
  if (absl::Status s = access_.Read(req, kGetRun); !s.ok()) return ErrorResponse(s);
  if (absl::Status s = NeedHistory(); !s.ok()) return ErrorResponse(s);
  const std::string id = req.Param("id");
  absl::StatusOr<chaos::v1::Run> run = runs_->Get(id);
  if (!run.ok()) return ErrorResponse(run.status());
  run->clear_report_json();
  // The journal as WatchRun would replay it; a live run's later events
  // reach the page through its stream.
  JournalReader reader;
  std::vector<chaos::v1::RunEvent> past;
  absl::StatusOr<bool> live = runs_->Subscribe(id, &reader, &past);
  if (!live.ok()) return ErrorResponse(live.status());
  if (*live) runs_->Unsubscribe(id, &reader);
  json out = {{"run", json::parse(ProtoJson(*run))}, {"events", json::array()}};
  for (const chaos::v1::RunEvent& e : past) out["events"].push_back(json::parse(ProtoJson(e)));
  return JsonResponse(out.dump());
}

HttpResponse Dashboard::Agents(const HttpRequest& req) {
  if (absl::Status s = access_.Read(req, kListAgents); !s.ok()) return ErrorResponse(s);
  if (absl::Status s = NeedHistory(); !s.ok()) return ErrorResponse(s);
  const std::vector<AgentDescription> described = runs_->DescribeEveryAgent(kDescribeTimeout);
  json out = {{"agents", json::array()}};
  for (const chaos::v1::AgentInfo& info : registry_->List()) {
    const AgentDescription* found = nullptr;
    for (const AgentDescription& d : described) {
      if (d.address == info.address()) found = &d;
    }
    out["agents"].push_back(AgentJson(info, found));
  }
  return JsonResponse(out.dump());
}

HttpResponse Dashboard::Stream(const HttpRequest& req) {
  if (absl::Status s = access_.Read(req, kWatchRun); !s.ok()) return ErrorResponse(s);
  if (absl::Status s = NeedHistory(); !s.ok()) return ErrorResponse(s);
  if (streams_->fetch_add(1) >= kMaxStreams) {
    streams_->fetch_sub(1);
    return ErrorResponse(absl::UnavailableError(
        absl::StrCat("already ", kMaxStreams, " dashboard streams open; close one")));
  }
  auto feed = std::make_shared<RunFeed>(runs_, registry_);
  HttpResponse res;
  res.content_type = "text/event-stream";
  res.headers = {{"Cache-Control", "no-store"}, {"X-Accel-Buffering", "no"}};
  res.stream = [feed](const rpc::HttpWrite& write) { return feed->Next(write); };
  res.on_done = [streams = streams_] { streams->fetch_sub(1); };
  return res;
}

HttpResponse Dashboard::Abort(const HttpRequest& req) {
  const std::string caller = DashboardAccess::CallerOf(req);
  const std::string id = req.Param("id");
  absl::Status s = access_.Change(req, kAbortRun);
  if (s.ok()) s = NeedHistory();
  if (!s.ok()) {
    Audit("abort", caller, id, s);
    return ErrorResponse(s);
  }
  absl::StatusOr<chaos::v1::Run> run = runs_->Abort(id, caller, "from the dashboard");
  Audit("abort", caller, id, run.status());
  if (!run.ok()) return ErrorResponse(run.status());
  run->clear_report_json();
  return JsonResponse(ProtoJson(*run));
}

HttpResponse Dashboard::Halt(const HttpRequest& req) {
  const std::string caller = DashboardAccess::CallerOf(req);
  absl::Status s = access_.Change(req, kHaltAll);
  if (s.ok()) s = NeedHistory();
  if (!s.ok()) {
    Audit("halt_all", caller, "every agent", s);
    return ErrorResponse(s);
  }
  const chaos::v1::HaltAllResponse halted = runs_->HaltAll(caller, "HALT ALL from the dashboard");
  Audit("halt_all", caller, "every agent", absl::OkStatus());
  return JsonResponse(ProtoJson(halted));
}

}  // namespace chaos::controller
