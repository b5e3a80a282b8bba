#include "controller/server/service.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "controller/server/audit.h"
#include "controller/server/request_limits.h"
#include "controller/server/run_event_writer.h"
#include "controller/server/stored_run_watch.h"
#include "rpc/authz.h"
#include "rpc/status.h"

namespace chaos::controller {
namespace {

// How often a standby's WatchRun reads the store for new events.
constexpr absl::Duration kStandbyWatchInterval = absl::Milliseconds(500);

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(rpc::ToGrpc(s));
  return reactor;
}

// Answers a state-changing call, after one audit line naming who made it
// (rpc::CallerOf: the certificate's identity, never only the request's
// `caller`), what, on what, and how it went.
grpc::ServerUnaryReactor* Audited(grpc::CallbackServerContext* ctx, const std::string& claimed,
                                  const char* action, const std::string& target,
                                  const absl::Status& s) {
  Audit(action, rpc::CallerOf(*ctx, claimed), target, s);
  return Done(ctx, s);
}

// Streams one run's journal: what is recorded, then live events until the
// run ends. Lock order: the manager's lock, then the writer's (OnEvent and
// OnEnd are called under the manager's lock).
class WatchReactor final : public RunEventWriter, public RunWatcher {
 public:
  WatchReactor(RunManager* runs, const std::string& run_id) : runs_(runs), run_id_(run_id) {
    std::vector<chaos::v1::RunEvent> past;
    absl::StatusOr<bool> live = runs_->Subscribe(run_id, this, &past);
    if (!live.ok()) {
      Fail(rpc::ToGrpc(live.status()));
      return;
    }
    // Live events that arrived since Subscribe are already queued: the
    // journal so far goes before them.
    Write(std::move(past), !*live, /*before_queued=*/true);
  }

  void OnEvent(const chaos::v1::RunEvent& event) override { Write({event}, false); }
  void OnEnd() override { Write({}, true); }
  void OnDone() override {
    runs_->Unsubscribe(run_id_, this);  // after this no more OnEvent calls
    delete this;
  }

 private:
  RunManager* const runs_;
  const std::string run_id_;
};

class FailedWatch final : public grpc::ServerWriteReactor<chaos::v1::RunEvent> {
 public:
  explicit FailedWatch(const absl::Status& s) { Finish(rpc::ToGrpc(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

namespace {

SubmitArgs ScheduledRun(const chaos::v1::Schedule& schedule) {
  SubmitArgs args;
  args.experiment_yaml = schedule.experiment_yaml();
  args.variables.insert(schedule.variables().begin(), schedule.variables().end());
  args.caller = absl::StrCat("schedule ", schedule.name());
  args.schedule = schedule.name();
  return args;
}

}  // namespace

absl::Status ManagerLauncher::Check(const chaos::v1::Schedule& schedule) {
  return runs_->Check(ScheduledRun(schedule));
}

absl::StatusOr<std::string> ManagerLauncher::Launch(const chaos::v1::Schedule& schedule) {
  ASSIGN_OR_RETURN(chaos::v1::Run run, runs_->Submit(ScheduledRun(schedule)));
  return run.run_id();
}

ControllerService::ControllerService(AgentRegistry* registry, HistoryStore* history,
                                     absl::Status history_status,
                                     std::function<std::string()> leader)
    : registry_(registry),
      history_(history),
      history_status_(std::move(history_status)),
      leader_(std::move(leader)),
      stored_watches_(history, kStandbyWatchInterval) {}

void ControllerService::Lead(RunManager* runs, Scheduler* scheduler) {
  runs_ = runs;
  scheduler_ = scheduler;
  leading_.store(true, std::memory_order_release);
}

absl::Status ControllerService::NeedLeader() const {
  if (leading()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("this controller is a standby and serves reads only; the leader is ",
                   leader_(), ": send this to it"));
}

absl::Status ControllerService::NeedHistory() const {
  if (runs_ != nullptr && scheduler_ != nullptr) return absl::OkStatus();
  return history_status_.ok() ? absl::FailedPreconditionError("history unavailable")
                              : history_status_;
}

grpc::ServerUnaryReactor* ControllerService::SubmitRun(grpc::CallbackServerContext* ctx,
                                                       const chaos::v1::SubmitRunRequest* req,
                                                       chaos::v1::Run* resp) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckRequest(*req));
    RETURN_IF_ERROR(NeedLeader());
    RETURN_IF_ERROR(NeedHistory());
    if (req->experiment_yaml().empty()) {
      return absl::InvalidArgumentError("experiment_yaml: required");
    }
    SubmitArgs args;
    args.experiment_yaml = req->experiment_yaml();
    args.seed = req->seed();
    args.dry_run = req->dry_run();
    args.caller = rpc::CallerOf(*ctx, req->caller());
    args.variables.insert(req->variables().begin(), req->variables().end());
    ASSIGN_OR_RETURN(*resp, runs_->Submit(args));
    return absl::OkStatus();
  }();
  return Audited(ctx, req->caller(), "submit", resp->run_id(), s);
}

grpc::ServerUnaryReactor* ControllerService::GetRun(grpc::CallbackServerContext* ctx,
                                                    const chaos::v1::GetRunRequest* req,
                                                    chaos::v1::Run* resp) {
  return Done(ctx, [&]() -> absl::Status {
    if (!leading()) {
      if (req->run_id().empty()) return absl::InvalidArgumentError("run_id: required");
      ASSIGN_OR_RETURN(*resp, history_->GetRun(req->run_id()));
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(NeedHistory());
    ASSIGN_OR_RETURN(*resp, runs_->Get(req->run_id()));
    return absl::OkStatus();
  }());
}

grpc::ServerUnaryReactor* ControllerService::ListRuns(grpc::CallbackServerContext* ctx,
                                                      const chaos::v1::ListRunsRequest* req,
                                                      chaos::v1::ListRunsResponse* resp) {
  return Done(ctx, [&]() -> absl::Status {
    if (leading()) {
      RETURN_IF_ERROR(NeedHistory());
    }
    if (req->limit() > 10000) return absl::InvalidArgumentError("limit: at most 10000");
    RunFilter f;
    f.experiment = req->experiment_name();
    f.state = req->state();
    f.schedule = req->schedule();
    f.limit = static_cast<int>(req->limit());
    ASSIGN_OR_RETURN(std::vector<chaos::v1::Run> runs, history_->ListRuns(f));
    for (auto& r : runs) *resp->add_runs() = std::move(r);
    return absl::OkStatus();
  }());
}

grpc::ServerWriteReactor<chaos::v1::RunEvent>* ControllerService::WatchRun(
    grpc::CallbackServerContext*, const chaos::v1::WatchRunRequest* req) {
  if (!leading()) return stored_watches_.Watch(req->run_id());
  absl::Status s = NeedHistory();
  if (!s.ok()) return new FailedWatch(s);
  return new WatchReactor(runs_, req->run_id());
}

grpc::ServerUnaryReactor* ControllerService::AbortRun(grpc::CallbackServerContext* ctx,
                                                      const chaos::v1::AbortRunRequest* req,
                                                      chaos::v1::Run* resp) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckRequest(*req));
    RETURN_IF_ERROR(NeedLeader());
    RETURN_IF_ERROR(NeedHistory());
    ASSIGN_OR_RETURN(
        *resp, runs_->Abort(req->run_id(), rpc::CallerOf(*ctx, req->caller()), req->reason()));
    return absl::OkStatus();
  }();
  return Audited(ctx, req->caller(), "abort", req->run_id(), s);
}

grpc::ServerUnaryReactor* ControllerService::AnswerGate(grpc::CallbackServerContext* ctx,
                                                        const chaos::v1::AnswerGateRequest* req,
                                                        chaos::v1::Run* resp) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckRequest(*req));
    RETURN_IF_ERROR(NeedLeader());
    RETURN_IF_ERROR(NeedHistory());
    ASSIGN_OR_RETURN(*resp, runs_->AnswerGate(req->run_id(), req->step(), req->confirm(),
                                              rpc::CallerOf(*ctx, req->caller()), req->reason()));
    return absl::OkStatus();
  }();
  return Audited(
      ctx, req->caller(), "gate",
      absl::StrCat(req->run_id(), " ", req->step(), req->confirm() ? " confirm" : " fail"), s);
}

grpc::ServerUnaryReactor* ControllerService::RegisterAgent(
    grpc::CallbackServerContext* ctx, const chaos::v1::RegisterAgentRequest* req,
    chaos::v1::RegisterAgentResponse* resp) {
  return Done(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckRequest(*req));
    RETURN_IF_ERROR(NeedLeader());
    ASSIGN_OR_RETURN(const absl::Duration next, registry_->Register(*req));
    resp->set_heartbeat_interval_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(next)));
    return absl::OkStatus();
  }());
}

grpc::ServerUnaryReactor* ControllerService::ListAgents(grpc::CallbackServerContext* ctx,
                                                        const chaos::v1::ListAgentsRequest*,
                                                        chaos::v1::ListAgentsResponse* resp) {
  return Done(ctx, [&]() -> absl::Status {
    std::vector<chaos::v1::AgentInfo> agents;
    if (leading()) {
      agents = registry_->List();
    } else {
      ASSIGN_OR_RETURN(agents, history_->ListAgents());
    }
    for (auto& a : agents) *resp->add_agents() = std::move(a);
    return absl::OkStatus();
  }());
}

grpc::ServerUnaryReactor* ControllerService::ForgetAgent(
    grpc::CallbackServerContext* ctx, const chaos::v1::ForgetAgentRequest* req,
    chaos::v1::ForgetAgentResponse*) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckRequest(*req));
    RETURN_IF_ERROR(NeedLeader());
    return registry_->ForgetLost(req->address());
  }();
  return Audited(ctx, req->caller(), "forget_agent", req->address(), s);
}

grpc::ServerUnaryReactor* ControllerService::HaltAll(grpc::CallbackServerContext* ctx,
                                                     const chaos::v1::HaltAllRequest* req,
                                                     chaos::v1::HaltAllResponse* resp) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckRequest(*req));
    RETURN_IF_ERROR(NeedLeader());
    RETURN_IF_ERROR(NeedHistory());
    *resp = runs_->HaltAll(rpc::CallerOf(*ctx, req->caller()), req->reason());
    return absl::OkStatus();
  }();
  return Audited(ctx, req->caller(), "halt_all", "every agent", s);
}

grpc::ServerUnaryReactor* ControllerService::ResumeAll(grpc::CallbackServerContext* ctx,
                                                       const chaos::v1::ResumeAllRequest* req,
                                                       chaos::v1::ResumeAllResponse* resp) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckRequest(*req));
    RETURN_IF_ERROR(NeedLeader());
    RETURN_IF_ERROR(NeedHistory());
    ASSIGN_OR_RETURN(*resp, runs_->ResumeAll(rpc::CallerOf(*ctx, req->caller())));
    return absl::OkStatus();
  }();
  return Audited(ctx, req->caller(), "resume_all", "every agent", s);
}

grpc::ServerUnaryReactor* ControllerService::CreateSchedule(
    grpc::CallbackServerContext* ctx, const chaos::v1::CreateScheduleRequest* req,
    chaos::v1::Schedule* resp) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckRequest(*req));
    RETURN_IF_ERROR(NeedLeader());
    RETURN_IF_ERROR(NeedHistory());
    ASSIGN_OR_RETURN(*resp, scheduler_->Create(req->schedule()));
    return absl::OkStatus();
  }();
  return Audited(ctx, "", "schedule_create", req->schedule().name(), s);
}

grpc::ServerUnaryReactor* ControllerService::ListSchedules(grpc::CallbackServerContext* ctx,
                                                           const chaos::v1::ListSchedulesRequest*,
                                                           chaos::v1::ListSchedulesResponse* resp) {
  return Done(ctx, [&]() -> absl::Status {
    std::vector<chaos::v1::Schedule> all;
    if (leading()) {
      RETURN_IF_ERROR(NeedHistory());
      ASSIGN_OR_RETURN(all, scheduler_->List());
    } else {
      ASSIGN_OR_RETURN(all, controller::ListSchedules(*history_, absl::Now()));
    }
    for (auto& s : all) *resp->add_schedules() = std::move(s);
    return absl::OkStatus();
  }());
}

grpc::ServerUnaryReactor* ControllerService::SetSchedulePaused(
    grpc::CallbackServerContext* ctx, const chaos::v1::SetSchedulePausedRequest* req,
    chaos::v1::Schedule* resp) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(NeedLeader());
    RETURN_IF_ERROR(NeedHistory());
    ASSIGN_OR_RETURN(*resp, scheduler_->SetPaused(req->name(), req->paused()));
    return absl::OkStatus();
  }();
  return Audited(ctx, "", "schedule_pause",
                 absl::StrCat(req->name(), req->paused() ? " paused" : " resumed"), s);
}

grpc::ServerUnaryReactor* ControllerService::DeleteSchedule(
    grpc::CallbackServerContext* ctx, const chaos::v1::DeleteScheduleRequest* req,
    chaos::v1::DeleteScheduleResponse*) {
  const absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(NeedLeader());
    RETURN_IF_ERROR(NeedHistory());
    return scheduler_->Delete(req->name());
  }();
  return Audited(ctx, "", "schedule_delete", req->name(), s);
}

}  // namespace chaos::controller
