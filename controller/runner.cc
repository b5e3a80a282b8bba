#include "controller/runner.h"

#include <algorithm>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/credentials.h"

namespace chaos::controller {
namespace {

std::string MakeRunId(const std::string& name) {
  std::string slug;
  for (char c : name) {
    if (isalnum(static_cast<unsigned char>(c))) slug.push_back(static_cast<char>(tolower(c)));
    else if (!slug.empty() && slug.back() != '-') slug.push_back('-');
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "run";
  absl::BitGen gen;
  return absl::StrCat(slug, "-", absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::UTCTimeZone()),
                      "-", absl::StrFormat("%04x", absl::Uniform<uint32_t>(gen, 0, 0x10000)));
}

void SetDuration(google::protobuf::Duration* out, absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  out->set_seconds(s);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(s))));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string GrpcError(const grpc::Status& s) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                 "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  const int code = static_cast<int>(s.error_code());
  return absl::StrCat(code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN", ": ",
                      s.error_message());
}

RunEvent Event(std::string type, std::string step, std::string agent, std::string message) {
  RunEvent e;
  e.type = std::move(type);
  e.step = std::move(step);
  e.agent = std::move(agent);
  e.message = std::move(message);
  return e;
}

bool IsLive(chaos::v1::FaultState s) {
  return s == chaos::v1::FAULT_STATE_INJECTING || s == chaos::v1::FAULT_STATE_ACTIVE ||
         s == chaos::v1::FAULT_STATE_REVERTING || s == chaos::v1::FAULT_STATE_FAILED;
}

}  // namespace

int ExitCode(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kPassed: return 0;
    case RunOutcome::kFailed: return 1;
    case RunOutcome::kRollbackIncomplete: return 3;
    case RunOutcome::kUnavailable: return 4;
    case RunOutcome::kInterrupted: return 130;
  }
  return 1;
}

const char* OutcomeName(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kPassed: return "passed";
    case RunOutcome::kFailed: return "failed";
    case RunOutcome::kRollbackIncomplete: return "ROLLBACK INCOMPLETE";
    case RunOutcome::kUnavailable: return "not started";
    case RunOutcome::kInterrupted: return "interrupted";
  }
  return "?";
}

Runner::Runner(Experiment experiment, RunOptions options, RunObserver* observer)
    : experiment_(std::move(experiment)), options_(std::move(options)), observer_(observer) {
  if (options_.run_id.empty()) options_.run_id = MakeRunId(experiment_.name);
  for (const std::string& address : options_.agents) {
    agents_.push_back({address, chaos::v1::Agent::NewStub(OpenChannel(address))});
  }
  report_.run_id = options_.run_id;
  report_.experiment = experiment_.name;
  steps_.assign(experiment_.method.size(), StepState::kPending);
}

Runner::~Runner() = default;

std::unique_ptr<grpc::ClientContext> Runner::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  return ctx;
}

void Runner::Emit(RunEvent event) {
  event.at = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    report_.events.push_back(event);
  }
  absl::MutexLock lock(&emit_mu_);
  if (observer_ != nullptr) observer_->OnEvent(event);
}

void Runner::Interrupt(const std::string& reason) {
  Abort(RunOutcome::kInterrupted, reason);
}

void Runner::Abort(RunOutcome outcome, const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (aborted_ || finished_) return;
    aborted_ = true;
    report_.outcome = outcome;
    report_.reason = reason;
  }
  Emit(Event("abort", "", "", reason));
}

bool Runner::WaitFor(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return aborted_; };
  return !mu_.AwaitWithTimeout(absl::Condition(&stop), d);
}

bool Runner::Preflight() {
  bool ok = true;
  for (Agent& agent : agents_) {
    chaos::v1::DescribeResponse d;
    auto ctx = Context();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::Status s = agent.stub->Describe(ctx.get(), {}, &d);
    if (!s.ok()) {
      Abort(RunOutcome::kUnavailable,
            absl::StrCat("cannot reach agent ", agent.address, ": ", GrpcError(s)));
      return false;
    }
    if (d.halted()) {
      Abort(RunOutcome::kUnavailable,
            absl::StrCat("agent ", agent.address, " (", d.hostname(),
                         ") is halted; resume it first (chaosctl resume --agent ",
                         agent.address, ")"));
      return false;
    }
    Emit(Event("preflight", "", agent.address, absl::StrCat("reached ", d.hostname(), " (", d.kernel(), ", agent ",
                                  d.agent_version(), ")")));
    for (const Step& step : experiment_.method) {
      if (!step.fault) continue;
      const std::string kind = FaultKindKey(*step.fault);
      for (const auto& cap : d.capabilities()) {
        // The agent names kinds in snake_case, the file in camelCase.
        std::string camel;
        bool up = false;
        for (char c : cap.kind()) {
          if (c == '_') { up = true; continue; }
          camel.push_back(up ? static_cast<char>(toupper(c)) : c);
          up = false;
        }
        if (camel == kind && !cap.available()) {
          ok = false;
          Abort(RunOutcome::kUnavailable,
                absl::StrCat("agent ", agent.address, " cannot run step ", step.id, " (",
                             kind, "): ", cap.reason()));
        }
      }
    }
  }
  return ok;
}

void Runner::RunFaultStep(const Step& step) {
  std::vector<size_t> mine;
  for (Agent& agent : agents_) {
    if (!WaitFor(absl::ZeroDuration())) return;
    chaos::v1::InjectRequest req;
    *req.mutable_spec() = *step.fault;
    req.mutable_spec()->set_fault_id(absl::StrCat(options_.run_id, ".", step.id));
    req.mutable_spec()->set_experiment_id(options_.run_id);
    req.set_caller(options_.caller);
    absl::Duration lease = options_.lease;
    if (experiment_.rollback == RollbackPolicy::kNever) {
      // Nothing will renew it after the run: hold for the fault's duration.
      lease = std::max(lease, FromProto(step.fault->duration()));
    }
    SetDuration(req.mutable_lease(), lease);
    size_t index;
    {
      absl::MutexLock lock(&mu_);
      FaultRecord rec;
      rec.agent = agent.address;
      rec.step = step.id;
      rec.fault_id = req.spec().fault_id();
      rec.kind = FaultKindKey(*step.fault);
      report_.faults.push_back(rec);  // recorded before the call: a timeout may still inject
      index = report_.faults.size() - 1;
    }
    chaos::v1::InjectResponse resp;
    auto ctx = Context();
    grpc::Status s = agent.stub->Inject(ctx.get(), req, &resp);
    if (!s.ok()) {
      Emit(Event("inject", step.id, agent.address, absl::StrCat("FAILED: ", GrpcError(s))));
      Abort(RunOutcome::kFailed, absl::StrCat("step ", step.id, ": inject on ", agent.address,
                                              " failed: ", GrpcError(s)));
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      report_.faults[index].summary = resp.status().summary();
      report_.faults[index].injected_at = absl::FromUnixMillis(resp.status().injected_at_unix_ms());
    }
    mine.push_back(index);
    Emit(Event("inject", step.id, agent.address, resp.status().summary()));
  }
  WaitFor(FromProto(step.fault->duration()));
  // At the end of its duration a fault is reverted (its normal end). When
  // the run was stopped early, Rollback() handles what remains.
  bool aborted;
  {
    absl::MutexLock lock(&mu_);
    aborted = aborted_;
  }
  if (aborted) return;
  for (auto it = mine.rbegin(); it != mine.rend(); ++it) RevertFault(*it);
}

bool Runner::RevertFault(size_t index) {
  FaultRecord rec;
  {
    absl::MutexLock lock(&mu_);
    rec = report_.faults[index];
  }
  if (rec.reverted) return true;
  Agent* agent = nullptr;
  for (Agent& a : agents_) {
    if (a.address == rec.agent) agent = &a;
  }
  std::string error;
  for (int attempt = 1; attempt <= options_.revert_attempts; ++attempt) {
    chaos::v1::RevertRequest req;
    req.set_fault_id(rec.fault_id);
    req.set_caller(options_.caller);
    chaos::v1::RevertResponse resp;
    auto ctx = Context();
    grpc::Status s = agent->stub->Revert(ctx.get(), req, &resp);
    const bool unknown = s.error_code() == grpc::StatusCode::NOT_FOUND && rec.summary.empty();
    if (s.ok() || unknown) {
      // NOT_FOUND for a fault whose inject never answered means it never
      // reached the agent; for one that was injected it is an error.
      {
        absl::MutexLock lock(&mu_);
        report_.faults[index].reverted = true;
        report_.faults[index].reverted_at = absl::Now();
        report_.faults[index].error.clear();
      }
      Emit(Event("revert", rec.step, rec.agent, unknown ? "never reached the agent" : resp.status().reason()));
      return true;
    }
    error = GrpcError(s);
    Emit(Event("revert", rec.step, rec.agent, absl::StrCat("attempt ", attempt, " failed: ", error)));
    if (attempt < options_.revert_attempts) absl::SleepFor(absl::Milliseconds(200 * attempt));
  }
  absl::MutexLock lock(&mu_);
  report_.faults[index].error = error;
  return false;
}

void Runner::Rollback() {
  std::vector<size_t> order;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = report_.faults.size(); i-- > 0;) {
      if (!report_.faults[i].reverted) order.push_back(i);
    }
  }
  if (order.empty()) return;
  Emit(Event("rollback", "", "", absl::StrCat("reverting ", order.size(), " fault(s)")));
  for (size_t i : order) RevertFault(i);
}

void Runner::Verify() {
  for (Agent& agent : agents_) {
    chaos::v1::ListFaultsRequest req;
    req.set_experiment_id(options_.run_id);
    chaos::v1::ListFaultsResponse resp;
    auto ctx = Context();
    grpc::Status s = agent.stub->ListFaults(ctx.get(), req, &resp);
    absl::MutexLock lock(&mu_);
    if (!s.ok()) {
      report_.manual_undo.push_back(absl::StrCat(
          "# could not verify ", agent.address, " (", GrpcError(s), "); check with: chaosctl faults --agent ",
          agent.address, " --experiment ", options_.run_id));
      continue;
    }
    for (const auto& f : resp.faults()) {
      if (!IsLive(f.state())) continue;
      report_.manual_undo.push_back(absl::StrCat("chaosctl revert --agent ", agent.address, " ",
                                                 f.spec().fault_id(), "    # ", f.summary(),
                                                 f.reason().empty() ? "" : " -- " + f.reason()));
    }
  }
}

void Runner::KeepAliveLoop() {
  const absl::Duration every = std::max(options_.lease / 3, absl::Milliseconds(100));
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finished_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&done), every)) return;
    }
    for (Agent& agent : agents_) {
      chaos::v1::KeepAliveRequest req;
      req.set_experiment_id(options_.run_id);
      SetDuration(req.mutable_lease(), options_.lease);
      chaos::v1::KeepAliveResponse resp;
      auto ctx = Context();
      (void)agent.stub->KeepAlive(ctx.get(), req, &resp);  // NOT_FOUND: nothing active
    }
  }
}

void Runner::RunStep(size_t index) {
  const Step& step = experiment_.method[index];
  {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (aborted_) return true;
      for (const std::string& a : step.after) {
        for (size_t j = 0; j < experiment_.method.size(); ++j) {
          if (experiment_.method[j].id == a && steps_[j] != StepState::kDone) return false;
        }
      }
      return true;
    };
    mu_.Await(absl::Condition(&ready));
    if (aborted_) return;
    steps_[index] = StepState::kRunning;
  }
  Emit(Event("step", step.id, "", "started"));
  if (step.fault) {
    RunFaultStep(step);
  } else {
    WaitFor(step.wait);
  }
  {
    absl::MutexLock lock(&mu_);
    steps_[index] = StepState::kDone;
  }
  Emit(Event("step", step.id, "", "ended"));
}

RunReport Runner::Run() {
  {
    absl::MutexLock lock(&mu_);
    report_.started_at = absl::Now();
  }
  Emit(Event("run", "", "", absl::StrCat("run ", options_.run_id, " of ", experiment_.name,
                                               " on ", agents_.size(), " agent(s)")));
  if (agents_.empty()) {
    Abort(RunOutcome::kUnavailable, "no agent given (use --agent HOST:PORT)");
  } else if (Preflight()) {
    std::thread keepalive([this] { KeepAliveLoop(); });
    std::vector<std::thread> threads;
    for (size_t i = 0; i < experiment_.method.size(); ++i) {
      threads.emplace_back([this, i] { RunStep(i); });
    }
    for (auto& t : threads) t.join();
    bool aborted;
    {
      absl::MutexLock lock(&mu_);
      aborted = aborted_;
    }
    if (!aborted || experiment_.rollback != RollbackPolicy::kNever) {
      Rollback();
      Verify();
    }
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    keepalive.join();
  }
  absl::MutexLock lock(&mu_);
  finished_ = true;
  report_.ended_at = absl::Now();
  for (const FaultRecord& f : report_.faults) {
    if (!f.reverted && experiment_.rollback != RollbackPolicy::kNever) {
      report_.manual_undo.push_back(
          absl::StrCat("chaosctl revert --agent ", f.agent, " ", f.fault_id, "    # ", f.error));
    }
  }
  std::sort(report_.manual_undo.begin(), report_.manual_undo.end());
  report_.manual_undo.erase(std::unique(report_.manual_undo.begin(), report_.manual_undo.end()),
                            report_.manual_undo.end());
  if (!report_.manual_undo.empty()) {
    report_.outcome = RunOutcome::kRollbackIncomplete;
    if (report_.reason.empty()) report_.reason = "some faults could not be reverted";
  }
  return report_;
}

}  // namespace chaos::controller
