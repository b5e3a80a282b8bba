#include "controller/server/run_manager.h"

#include <cctype>
#include <future>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "controller/report/report.h"
#include "experiments/variables.h"
#include "proto/fault_state.h"
#include "rpc/credentials.h"
#include "base/fan_out.h"
#include "base/subprocess.h"
#include "base/status_macros.h"
#include "spdlog/spdlog.h"
#include "rpc/status.h"

namespace chaos::controller {
namespace {

chaos::v1::RunEvent ToProto(const std::string& run_id, int seq, const JournalEvent& e) {
  chaos::v1::RunEvent out;
  out.set_run_id(run_id);
  out.set_seq(static_cast<uint32_t>(seq));
  out.set_at_unix_ms(absl::ToUnixMillis(e.at));
  out.set_type(e.type);
  out.set_message(e.message);
  if (!e.step.empty()) (*out.mutable_fields())["step"] = e.step;
  if (!e.agent.empty()) (*out.mutable_fields())["agent"] = e.agent;
  return out;
}

// Milliseconds, rounded up: a figure is within a whole-millisecond
// objective exactly when its rounded value is. -1 for nullopt.
int64_t CeilMillis(const std::optional<absl::Duration>& d) {
  if (!d) return -1;
  return absl::ToInt64Milliseconds(absl::Ceil(*d, absl::Milliseconds(1)));
}

// What the history keeps of a drill (DrillSummary in controller.proto).
chaos::v1::DrillSummary DrillSummaryOf(const DrillResult& d) {
  chaos::v1::DrillSummary out;
  out.set_rto_ms(CeilMillis(d.rto));
  out.set_rto_objective_ms(CeilMillis(d.rto_objective));
  out.set_rpo_ms(CeilMillis(d.rpo));
  out.set_rpo_objective_ms(CeilMillis(d.rpo_objective));
  out.set_integrity(d.IntegrityState());
  out.set_integrity_required(d.integrity_required);
  out.set_objectives_met(d.ObjectivesMet());
  return out;
}

// What the history keeps of an agent the run lost (LostAgent in
// controller.proto).
chaos::v1::LostAgent LostAgentOf(const LostAgent& l) {
  chaos::v1::LostAgent out;
  out.set_agent(l.agent);
  out.set_step(l.step);
  out.set_reason(l.reason);
  if (l.at != absl::InfinitePast()) out.set_at_unix_ms(absl::ToUnixMillis(l.at));
  return out;
}

}  // namespace

chaos::v1::RunState StateOf(RunOutcome outcome, bool operator_abort) {
  switch (outcome) {
    case RunOutcome::kPassed: return chaos::v1::RUN_STATE_PASSED;
    case RunOutcome::kFailed: return chaos::v1::RUN_STATE_FAILED;
    case RunOutcome::kRollbackIncomplete: return chaos::v1::RUN_STATE_ROLLBACK_INCOMPLETE;
    case RunOutcome::kUnavailable: return chaos::v1::RUN_STATE_FAILED;
    case RunOutcome::kInterrupted:
      return operator_abort ? chaos::v1::RUN_STATE_ABORTED : chaos::v1::RUN_STATE_INTERRUPTED;
  }
  return chaos::v1::RUN_STATE_FAILED;
}

// One run in progress in this process.
struct RunManager::LiveRun final : RunObserver {
  RunManager* manager = nullptr;
  chaos::v1::Run run;
  std::unique_ptr<Runner> runner;
  std::thread thread;
  // Guarded by manager->mu_:
  int seq = 0;
  std::vector<chaos::v1::RunEvent> events;
  std::set<RunWatcher*> watchers;
  bool operator_abort = false;
  bool done = false;

  // The runner calls AfterEvent on the thread that called OnEvent, right
  // after it: the ticket of the event that thread queued.
  static thread_local uint64_t queued;
  void OnEvent(const JournalEvent& event) override { queued = manager->QueueEvent(this, event); }
  void AfterEvent() override { manager->journal_.Wait(queued); }
};

thread_local uint64_t RunManager::LiveRun::queued = 0;

RunManager::RunManager(HistoryStore* history, AgentRegistry* registry, RunManagerOptions options)
    : history_(history),
      registry_(registry),
      options_(options),
      created_unix_ms_(absl::ToUnixMillis(absl::Now())),
      channels_(options_.transport),
      journal_(history, [this](const std::vector<chaos::v1::RunEvent>& events,
                               const absl::Status& written) { Publish(events, written); }) {
  // A forgotten agent's kept channel would go on reconnecting to it.
  registry_->OnForgotten([this](const std::string& address) { channels_.Forget(address); });
}

RunManager::~RunManager() {
  registry_->OnForgotten(nullptr);
  std::vector<std::shared_ptr<LiveRun>> live;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (auto& [id, l] : live_) live.push_back(l);
  }
  for (auto& l : live) l->runner->Interrupt("the controller is shutting down");
  for (auto& l : live) {
    if (l->thread.joinable()) l->thread.join();
  }
}

uint64_t RunManager::QueueEvent(LiveRun* live, const JournalEvent& event) {
  absl::MutexLock lock(&mu_);
  return journal_.Queue(ToProto(live->run.run_id(), ++live->seq, event));
}

void RunManager::Publish(const std::vector<chaos::v1::RunEvent>& events,
                         const absl::Status& written) {
  absl::MutexLock lock(&mu_);
  for (const chaos::v1::RunEvent& e : events) {
    if (!written.ok()) {
      spdlog::error("run {}: cannot journal event {} ({}): {}", e.run_id(), e.seq(), e.type(),
                    written.ToString());
    }
    // The run is live: the thread that queued this event waits for it.
    LiveRun* live = live_.at(e.run_id()).get();
    live->events.push_back(e);
    for (RunWatcher* w : live->watchers) w->OnEvent(e);
    for (RunsWatcher* w : all_watchers_) w->OnRunEvent(e);
  }
}

void RunManager::Journal(chaos::v1::Run* run, int* seq, const std::string& type,
                         const std::string& agent, const std::string& message) {
  absl::MutexLock lock(&journal_mu_);  // Recover's calls to several agents at once
  JournalEvent e;
  e.at = absl::Now();
  e.type = type;
  e.agent = agent;
  e.message = message;
  absl::Status s = history_->AppendEvent(ToProto(run->run_id(), ++*seq, e));
  if (!s.ok()) spdlog::error("run {}: cannot journal event: {}", run->run_id(), s.ToString());
}

void RunManager::Reap() {
  std::vector<std::shared_ptr<LiveRun>> done;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = live_.begin(); it != live_.end();) {
      if (it->second->done) {
        done.push_back(it->second);
        it = live_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& l : done) {
    if (l->thread.joinable()) l->thread.join();
  }
}

namespace {

// The experiment a submitted text holds. References the client left in it
// get their defaults; one without a default is an error naming it.
absl::StatusOr<experiments::Experiment> ParseSubmitted(
    const SubmitArgs& args, std::map<std::string, std::string>* variables) {
  experiments::Diagnostics diags;
  std::optional<experiments::ExpandedText> expanded =
      experiments::ExpandVariables(args.experiment_yaml, experiments::NoVariables(), &diags);
  std::optional<experiments::Experiment> exp;
  if (expanded) exp = experiments::ParseExperiment(expanded->text, &diags);
  if (!exp) {
    std::string text = diags.Format("experiment_yaml");
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return absl::InvalidArgumentError(text);
  }
  *variables = args.variables;
  variables->insert(expanded->variables.begin(), expanded->variables.end());
  return *std::move(exp);
}

// The history's events of a run as the runner's journal entries.
std::vector<JournalEvent> JournalOf(const std::vector<chaos::v1::RunEvent>& events) {
  std::vector<JournalEvent> out;
  for (const chaos::v1::RunEvent& e : events) {
    auto field = [&](const char* name) {
      auto it = e.fields().find(name);
      return it == e.fields().end() ? std::string() : it->second;
    };
    out.push_back({absl::FromUnixMillis(e.at_unix_ms()), e.type(), field("step"), field("agent"),
                   e.message()});
  }
  return out;
}

// The journal of a run an earlier controller left unfinished, from what the
// history holds: the run's record and its events (no step, fault or probe
// records: those lived in the process that died; the lost agents are
// named by their `lost` events).
RunReport RecoveredReport(const chaos::v1::Run& run,
                          const std::vector<chaos::v1::RunEvent>& events) {
  const bool reverted = run.state() == chaos::v1::RUN_STATE_INTERRUPTED;
  RunReport r;
  r.run_id = run.run_id();
  r.experiment = run.experiment_name();
  r.seed = run.seed();
  r.variables.insert(run.variables().begin(), run.variables().end());
  r.outcome = reverted ? RunOutcome::kInterrupted : RunOutcome::kRollbackIncomplete;
  r.rollback = reverted ? RollbackState::kComplete : RollbackState::kIncomplete;
  r.reason = run.reason();
  r.started_at = absl::FromUnixMillis(run.started_at_unix_ms());
  r.ended_at = absl::FromUnixMillis(run.ended_at_unix_ms());
  r.events = JournalOf(events);
  r.lost_agents = LostAgentsInJournal(r.events);
  return r;
}

}  // namespace

absl::Status RunManager::CheckAccepting() {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return absl::UnavailableError("the controller is shutting down");
    if (halted_) {
      return absl::FailedPreconditionError(
          "the controller is halted (HaltAll); resume it first (chaosctl resume --controller ...)");
    }
  }
  absl::StatusOr<HistoryStore::HaltState> stored = history_->GetHaltState();
  if (!stored.ok()) {
    return absl::Status(stored.status().code(),
                        absl::StrCat("the halt flag: ", stored.status().message()));
  }
  if (stored->halted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the controller is halted (HaltAll by ", stored->caller, " at ",
        absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMillis(stored->at_unix_ms),
                         absl::UTCTimeZone()),
        ": ", stored->reason, "); resume it first (chaosctl resume --controller ...)"));
  }
  return absl::OkStatus();
}

chaos::v1::Run RunManager::NewRun(const experiments::Experiment& exp, const SubmitArgs& args,
                                  const std::vector<std::string>& agents,
                                  const std::map<std::string, std::string>& variables) {
  chaos::v1::Run run;
  run.set_run_id(NewRunId(exp.name));
  run.set_experiment_name(exp.name);
  run.set_state(chaos::v1::RUN_STATE_RUNNING);
  run.set_started_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  run.set_seed(args.seed != 0 ? args.seed : absl::Uniform<uint64_t>(absl::BitGen(), 1, UINT64_MAX));
  run.set_recovery_ms(-1);
  for (const std::string& a : agents) run.add_agents(a);
  run.set_schedule(args.schedule);
  run.set_caller(args.caller);
  run.mutable_variables()->insert(variables.begin(), variables.end());
  return run;
}

RunOptions RunManager::OptionsFor(const chaos::v1::Run& run) {
  RunOptions ro;
  ro.agents.assign(run.agents().begin(), run.agents().end());
  // The labels agents registered with are the inventory the experiment's
  // target selectors are resolved against (with those each agent reports).
  for (const chaos::v1::AgentInfo& info : registry_->List()) {
    ro.inventory_labels[info.address()] =
        std::map<std::string, std::string>(info.labels().begin(), info.labels().end());
  }
  ro.seed = run.seed();
  ro.run_id = run.run_id();
  ro.variables.insert(run.variables().begin(), run.variables().end());
  ro.lease = options_.lease;
  ro.rpc_timeout = options_.rpc_timeout;
  ro.max_agents_per_run = options_.max_agents_per_run;
  ro.fan_out = options_.fan_out;
  ro.start_lead = options_.start_lead;
  ro.transport = options_.transport;
  ro.channels = &channels_;
  ro.metrics = options_.metrics;
  ro.authority = options_.authority;
  ro.caller = run.caller().empty() ? "chaos-controller" : "chaos-controller for " + run.caller();
  return ro;
}

absl::StatusOr<experiments::Experiment> RunManager::Admit(
    const SubmitArgs& args, std::map<std::string, std::string>* variables) {
  ASSIGN_OR_RETURN(experiments::Experiment exp, ParseSubmitted(args, variables));
  RETURN_IF_ERROR(options_.command_policy.Check(exp));
  return exp;
}

absl::Status RunManager::Check(const SubmitArgs& args) {
  std::map<std::string, std::string> variables;
  return Admit(args, &variables).status();
}

absl::StatusOr<chaos::v1::Run> RunManager::Submit(const SubmitArgs& args) {
  Reap();
  std::map<std::string, std::string> variables;
  // Before anything is recorded or injected, at every submit (a schedule's
  // firing too: the policy may have changed since the schedule was made).
  ASSIGN_OR_RETURN(experiments::Experiment exp, Admit(args, &variables));
  RETURN_IF_ERROR(CheckAccepting());
  ASSIGN_OR_RETURN(std::vector<std::string> agents,
                   ResolveTargets(exp, *registry_, options_.max_agents_per_run));
  chaos::v1::Run run = NewRun(exp, args, agents, variables);
  if (args.dry_run) {
    run.set_state(chaos::v1::RUN_STATE_UNSPECIFIED);
    return run;
  }
  // Recorded before anything is injected: a crash from here on is recovered.
  RETURN_IF_ERROR(history_->InsertRun(run, args.experiment_yaml));
  auto live = std::make_shared<LiveRun>();
  live->manager = this;
  live->run = run;
  live->runner = std::make_unique<Runner>(exp, OptionsFor(run), live.get());
  absl::MutexLock lock(&mu_);
  live_[run.run_id()] = live;
  for (RunsWatcher* w : all_watchers_) w->OnRunStarted(run);
  live->thread = std::thread([this, live] { Finish(live, live->runner->Run()); });
  return run;
}

void RunManager::Finish(const std::shared_ptr<LiveRun>& live, const RunReport& report) {
  absl::MutexLock lock(&mu_);
  chaos::v1::Run& run = live->run;
  run.set_state(StateOf(report.outcome, live->operator_abort));
  run.set_ended_at_unix_ms(absl::ToUnixMillis(report.ended_at));
  run.set_reason(report.reason);
  if (report.recovery.measured && report.recovery.recovered) {
    run.set_recovery_ms(absl::ToInt64Milliseconds(report.recovery.time));
  }
  if (report.drill.present) *run.mutable_drill() = DrillSummaryOf(report.drill);
  run.clear_lost_agents();
  for (const LostAgent& l : report.lost_agents) *run.add_lost_agents() = LostAgentOf(l);
  run.set_report_json(ReportJson(report));
  absl::Status s = history_->UpdateRun(run);
  if (!s.ok()) spdlog::error("run {}: cannot record its end: {}", run.run_id(), s.ToString());
  spdlog::info("run {} ended: {}", run.run_id(), chaos::v1::RunState_Name(run.state()));
  live->done = true;
  for (RunWatcher* w : live->watchers) w->OnEnd();
  live->watchers.clear();
  if (!all_watchers_.empty()) {
    chaos::v1::Run summary = run;
    summary.clear_report_json();
    for (RunsWatcher* w : all_watchers_) w->OnRunEnded(summary);
  }
}

std::shared_ptr<RunManager::LiveRun> RunManager::FindLive(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(run_id);
  return it == live_.end() || it->second->done ? nullptr : it->second;
}

absl::StatusOr<chaos::v1::Run> RunManager::Get(const std::string& run_id) {
  if (run_id.empty()) return absl::InvalidArgumentError("run_id: required");
  ASSIGN_OR_RETURN(chaos::v1::Run run, history_->GetRun(run_id));
  // A live run's journal so far; an ended run's is in the history.
  if (std::shared_ptr<LiveRun> live = FindLive(run_id); live && run.report_json().empty()) {
    run.set_report_json(ReportJson(live->runner->Snapshot()));
  }
  return run;
}

absl::StatusOr<chaos::v1::Run> RunManager::AnswerGate(const std::string& run_id,
                                                      const std::string& step, bool confirm,
                                                      const std::string& caller,
                                                      const std::string& reason) {
  if (run_id.empty()) return absl::InvalidArgumentError("run_id: required");
  if (step.empty()) return absl::InvalidArgumentError("step: required");
  std::shared_ptr<LiveRun> live = FindLive(run_id);
  if (!live) {
    RETURN_IF_ERROR(history_->GetRun(run_id).status());  // NOT_FOUND for an unknown id
    return absl::FailedPreconditionError(
        absl::StrCat("run_id: run ", run_id, " has ended; its gates take no answer"));
  }
  RETURN_IF_ERROR(live->runner->AnswerGate(step, confirm, caller, reason));
  return Get(run_id);
}

absl::StatusOr<std::vector<chaos::v1::Run>> RunManager::List(const RunFilter& filter) {
  return history_->ListRuns(filter);
}

bool RunManager::IsActive(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(run_id);
  return it != live_.end() && !it->second->done;
}

absl::StatusOr<chaos::v1::Run> RunManager::Abort(const std::string& run_id,
                                                 const std::string& caller,
                                                 const std::string& reason) {
  if (run_id.empty()) return absl::InvalidArgumentError("run_id: required");
  std::shared_ptr<LiveRun> live;
  bool again = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(run_id);
    if (it != live_.end() && !it->second->done) {
      live = it->second;
      again = live->operator_abort;
      live->operator_abort = true;
    }
  }
  const std::string why = absl::StrCat("aborted by ", caller.empty() ? "an operator" : caller,
                                       reason.empty() ? "" : ": ", reason);
  if (live && again) {
    live->runner->CancelRollbackActions(absl::StrCat(why, " (second abort)"));
  } else if (live) {
    live->runner->Interrupt(why);
  }
  return history_->GetRun(run_id);  // NOT_FOUND for an unknown id
}

absl::StatusOr<bool> RunManager::Subscribe(const std::string& run_id, RunWatcher* watcher,
                                           std::vector<chaos::v1::RunEvent>* past) {
  if (run_id.empty()) return absl::InvalidArgumentError("run_id: required");
  {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(run_id);
    if (it != live_.end()) {
      *past = it->second->events;
      if (it->second->done) return false;
      it->second->watchers.insert(watcher);
      return true;
    }
  }
  RETURN_IF_ERROR(history_->GetRun(run_id).status());
  ASSIGN_OR_RETURN(*past, history_->ListEvents(run_id));
  return false;
}

void RunManager::Unsubscribe(const std::string& run_id, RunWatcher* watcher) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(run_id);
  if (it != live_.end()) it->second->watchers.erase(watcher);
}

void RunManager::WatchAll(RunsWatcher* watcher) {
  absl::MutexLock lock(&mu_);
  all_watchers_.insert(watcher);
}

void RunManager::UnwatchAll(RunsWatcher* watcher) {
  absl::MutexLock lock(&mu_);
  all_watchers_.erase(watcher);
}

std::vector<AgentDescription> RunManager::DescribeEveryAgent(absl::Duration timeout) {
  absl::Mutex mu;
  std::map<size_t, chaos::v1::DescribeResponse> described;
  const chaos::v1::DescribeRequest req;
  std::vector<AgentDescription> out;
  for (auto& [address, s] : CallEveryAgent(timeout, [&](chaos::v1::Agent::Stub& stub, size_t i,
                                                      grpc::ClientContext* ctx) {
         chaos::v1::DescribeResponse r;
         grpc::Status s = stub.Describe(ctx, req, &r);
         absl::MutexLock lock(&mu);
         described[i] = std::move(r);
         return s;
       })) {
    out.push_back({address, s, std::move(described[out.size()])});
  }
  return out;
}

chaos::v1::HaltAllResponse RunManager::HaltAll(const std::string& caller,
                                               const std::string& reason) {
  chaos::v1::HaltAllResponse resp;
  // The flag is written while the agents are called: a store that is slow
  // to answer (etcd losing its quorum) never delays a halt, nor refuses one.
  const HistoryStore::HaltState state{true, caller, reason, absl::ToUnixMillis(absl::Now())};
  std::future<absl::Status> kept =
      std::async(std::launch::async, [this, state] { return history_->SetHaltState(state); });
  std::vector<std::shared_ptr<LiveRun>> live;
  {
    absl::MutexLock lock(&mu_);
    halted_ = true;
    for (auto& [id, l] : live_) {
      if (!l->done) {
        l->operator_abort = true;
        live.push_back(l);
      }
    }
  }
  for (auto& l : live) l->runner->Interrupt(absl::StrCat("halt all by ", caller, ": ", reason));
  chaos::v1::HaltRequest req;
  req.set_caller(absl::StrCat("chaos-controller halt all for ", caller));
  req.set_reason(reason);
  for (const auto& [address, s] : CallEveryAgent(absl::Seconds(5), [&](chaos::v1::Agent::Stub& stub, size_t,
                                                               grpc::ClientContext* ctx) {
         chaos::v1::HaltResponse r;
         return stub.Halt(ctx, req, &r);
       })) {
    if (s.ok()) resp.add_halted(address);
    else resp.add_failed(absl::StrCat(address, ": ", s.error_message()));
  }
  if (const absl::Status s = kept.get(); !s.ok()) {
    spdlog::error("halt all: the store did not keep the halt flag: {}", s.ToString());
    resp.add_failed(absl::StrCat("the controller's store did not keep the halt flag (a restarted "
                                 "controller or the next leader will not know of this halt; "
                                 "this one refuses runs): ",
                                 s.ToString()));
  }
  return resp;
}

absl::StatusOr<chaos::v1::ResumeAllResponse> RunManager::ResumeAll(const std::string& caller) {
  const absl::Status cleared =
      history_->SetHaltState({false, caller, "", absl::ToUnixMillis(absl::Now())});
  if (!cleared.ok()) {
    return absl::Status(cleared.code(), absl::StrCat("the halt flag was not cleared, nothing was "
                                                     "resumed: ", cleared.message()));
  }
  {
    absl::MutexLock lock(&mu_);
    halted_ = false;
  }
  chaos::v1::ResumeRequest req;
  req.set_caller(absl::StrCat("chaos-controller resume all for ", caller));
  chaos::v1::ResumeAllResponse resp;
  for (const auto& [address, s] : CallEveryAgent(absl::Seconds(5), [&](chaos::v1::Agent::Stub& stub, size_t,
                                                               grpc::ClientContext* ctx) {
         chaos::v1::ResumeResponse r;
         return stub.Resume(ctx, req, &r);
       })) {
    if (s.ok()) resp.add_resumed(address);
    else resp.add_failed(absl::StrCat(address, ": ", s.error_message()));
  }
  return resp;
}

std::vector<std::pair<std::string, grpc::Status>> RunManager::CallEveryAgent(
    absl::Duration timeout, const AgentCall& call) {
  const std::vector<chaos::v1::AgentInfo> agents = registry_->List();
  std::vector<std::pair<std::string, grpc::Status>> out(agents.size());
  base::FanOut(agents.size(), options_.fan_out, [&](size_t i) {
    auto stub = chaos::v1::Agent::NewStub(channels_.Get(agents[i].address()));
    out[i] = {agents[i].address(),
              rpc::CallReconnecting(timeout, [&](grpc::ClientContext* ctx) {
                return call(*stub, i, ctx);
              })};
  });
  return out;
}

std::string RunManager::RecoverRevert(chaos::v1::Run* run, int* seq, const std::string& agent) {
  auto stub = chaos::v1::Agent::NewStub(channels_.Get(agent));
  grpc::Status s;
  chaos::v1::RevertExperimentResponse resp;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    chaos::v1::RevertExperimentRequest req;
    req.set_experiment_id(run->run_id());
    req.set_caller("chaos-controller recovery");
    resp.Clear();
    s = stub->RevertExperiment(rpc::ContextWithTimeout(options_.rpc_timeout).get(), req, &resp);
    if (s.ok()) break;
    absl::SleepFor(absl::Milliseconds(200 * attempt));
  }
  if (!s.ok()) {
    if (options_.metrics) options_.metrics->RollbackFailed(RollbackPart::kRevert);
    Journal(run, seq, "revert", agent, absl::StrCat("recovery FAILED: ", s.error_message()));
    return absl::StrCat(agent, " (revert: ", s.error_message(), ")");
  }
  Journal(run, seq, "revert", agent,
          absl::StrCat("recovery reverted ", resp.reverted_size(), " fault(s)"));
  return "";
}

std::vector<std::string> RunManager::RecoverVerify(chaos::v1::Run* run, int* seq,
                                                   const std::string& agent) {
  auto stub = chaos::v1::Agent::NewStub(channels_.Get(agent));
  chaos::v1::ListFaultsResponse resp;
  grpc::Status s = ListRunFaults(*stub, run->run_id(),
                                 rpc::ContextWithTimeout(options_.rpc_timeout).get(), &resp);
  if (!s.ok()) {
    Journal(run, seq, "verify", agent, absl::StrCat("cannot list faults: ", s.error_message()));
    return {absl::StrCat(agent, " (verify: ", s.error_message(), ")")};
  }
  std::vector<std::string> left;
  for (const chaos::v1::FaultStatus& f : resp.faults()) {
    if (MayAffectHost(f.state())) {
      left.push_back(absl::StrCat(agent, " fault ", f.spec().fault_id(), " ",
                                  chaos::v1::FaultState_Name(f.state()), ": ", f.reason()));
    }
  }
  Journal(run, seq, "verify", agent,
          left.empty() ? absl::StrCat("ListFaults: none of ", resp.faults_size(),
                                      " fault(s) of the run affects the host")
                       : absl::StrCat("ListFaults: still on the host: ", absl::StrJoin(left, "; ")));
  return left;
}

std::vector<std::string> RunManager::RecoverRollbackActions(chaos::v1::Run* run, int* seq) {
  SubmitArgs args;
  auto yaml = history_->GetExperimentYaml(run->run_id());
  if (yaml.ok()) args.experiment_yaml = *std::move(yaml);
  std::map<std::string, std::string> variables;
  auto exp = yaml.ok() ? ParseSubmitted(args, &variables)
                       : absl::StatusOr<experiments::Experiment>(yaml.status());
  if (!exp.ok()) {
    Journal(run, seq, "rollback", "",
            absl::StrCat("actions: cannot read the experiment: ", exp.status().message()));
    return {absl::StrCat("rollback actions (", exp.status().message(), ")")};
  }
  std::vector<std::string> failed;
  for (size_t i = 0; i < exp->rollback_actions.size(); ++i) {
    const experiments::CommandSpec& cmd = exp->rollback_actions[i];
    const std::string line = absl::StrJoin(cmd.argv, " ");
    if (!cmd.target.empty()) {
      // Its group was resolved by the run that died (labels, count, seed);
      // running it on a guess could hit hosts the run never touched.
      const std::string why = absl::StrCat("runs on target group ", cmd.target,
                                           ", which a restarted controller does not resolve "
                                           "again: run it on that group's agents by hand");
      Journal(run, seq, "rollback", "", absl::StrCat("action NOT RUN: ", line, ": ", why));
      failed.push_back(absl::StrCat("rollback action `", line, "` (", why, ")"));
      continue;
    }
    // The policy of this process decides, not the one the run started under.
    absl::Status allowed =
        options_.command_policy.CheckCommand(cmd.argv, absl::StrCat("rollbackActions[", i, "]"));
    if (!allowed.ok()) {
      if (options_.metrics) options_.metrics->RollbackFailed(RollbackPart::kAction);
      Journal(run, seq, "rollback", "", absl::StrCat("action REFUSED: ", allowed.message()));
      failed.push_back(absl::StrCat("rollback action `", line, "` (refused: ", allowed.message(),
                                    ")"));
      continue;
    }
    const base::CommandOutcome out = base::RunCommand(cmd.argv, cmd.timeout);
    Journal(run, seq, "rollback", "",
            absl::StrCat("action ", out.ok() ? "done" : "FAILED", ": ", line, ": ", out.Summary()));
    if (!out.ok()) {
      if (options_.metrics) options_.metrics->RollbackFailed(RollbackPart::kAction);
      failed.push_back(absl::StrCat("rollback action `", line, "` (", out.Summary(), ")"));
    }
  }
  return failed;
}

absl::Status RunManager::RecoverRun(chaos::v1::Run& run) {
  ASSIGN_OR_RETURN(std::vector<chaos::v1::RunEvent> events, history_->ListEvents(run.run_id()));
  int seq = events.empty() ? 0 : static_cast<int>(events.back().seq());
  // The agents the run lost stay listed; one lost in preflight was sent
  // nothing, so there is nothing to revert or verify there.
  const std::vector<LostAgent> lost = LostAgentsInJournal(JournalOf(events));
  std::set<std::string> sent_nothing;
  run.clear_lost_agents();
  for (const LostAgent& l : lost) {
    *run.add_lost_agents() = LostAgentOf(l);
    if (l.step.empty()) sent_nothing.insert(l.agent);
  }
  const size_t asked = run.agents_size() - sent_nothing.size();
  spdlog::warn("run {} was left {} by an earlier controller; reverting it on {} agent(s)",
               run.run_id(), chaos::v1::RunState_Name(run.state()), asked);
  Journal(&run, &seq, "recover", "",
          absl::StrCat("the controller restarted mid-run; reverting on ", asked,
                       " agent(s), then verifying and running the rollback actions"));
  // Revert, verify with ListFaults, then the rollback actions: the run is
  // INTERRUPTED only when all three leave nothing behind.
  // The agents at once (--fan-out), each reverted then verified; what is
  // left is listed in the run's agent order.
  std::vector<std::vector<std::string>> left_on(run.agents_size());
  base::FanOut(left_on.size(), options_.fan_out, [&](size_t i) {
    const std::string& agent = run.agents(static_cast<int>(i));
    if (sent_nothing.contains(agent)) return;
    if (std::string failed = RecoverRevert(&run, &seq, agent); !failed.empty()) {
      left_on[i].push_back(std::move(failed));
    }
    for (std::string& f : RecoverVerify(&run, &seq, agent)) left_on[i].push_back(std::move(f));
  });
  std::vector<std::string> left;
  for (auto& l : left_on) left.insert(left.end(), l.begin(), l.end());
  for (std::string& f : RecoverRollbackActions(&run, &seq)) left.push_back(std::move(f));
  run.set_ended_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  if (left.empty()) {
    run.set_state(chaos::v1::RUN_STATE_INTERRUPTED);
    run.set_reason(
        "the controller stopped mid-run; its faults were reverted on restart, verified gone "
        "(ListFaults), and its rollback actions ran");
  } else {
    run.set_state(chaos::v1::RUN_STATE_ROLLBACK_INCOMPLETE);
    run.set_reason(absl::StrCat(
        "the controller stopped mid-run; on restart this was left (the agents retry failed "
        "reverts, and their leases revert faults they could not be told about): ",
        absl::StrJoin(left, ", ")));
  }
  Journal(&run, &seq, "run", "", run.reason());
  ASSIGN_OR_RETURN(events, history_->ListEvents(run.run_id()));
  run.set_report_json(ReportJson(RecoveredReport(run, events)));
  return history_->UpdateRun(run);
}

absl::StatusOr<int> RunManager::Recover() {
  ASSIGN_OR_RETURN(std::vector<chaos::v1::Run> runs, history_->ListUnfinishedRuns());
  int handled = 0;
  for (chaos::v1::Run& run : runs) {
    if (run.started_at_unix_ms() >= created_unix_ms_) continue;  // ours: not left behind
    ++handled;
    RETURN_IF_ERROR(RecoverRun(run));
  }
  return handled;
}

}  // namespace chaos::controller
