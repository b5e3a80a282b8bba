#include "agent/agent.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/audit.h"
#include "agent/host.h"
#include "agent/recovery.h"
#include "agent/request_check.h"
#include "agent/sweep.h"
#include "base/status_macros.h"
#include "proto/duration.h"
#include "proto/fault_state.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {

using chaos::v1::FaultStatus;
using chaos::v1::LedgerRecord;

namespace {

bool IsActiveRecord(const LedgerRecord& r) { return IsActive(r.status().state()); }

bool Contains(const std::vector<std::string>& sorted, const std::string& s) {
  return std::binary_search(sorted.begin(), sorted.end(), s);
}

}  // namespace

FactoryOptions Agent::factory_options() const {
  return options_.policy.ToFactoryOptions(options_.state_dir);
}

Agent::Agent(AgentOptions options, std::unique_ptr<FaultLedger> ledger,
             std::unique_ptr<CommandJournal> journal)
    : options_(std::move(options)),
      ledger_(std::move(ledger)),
      journal_(std::move(journal)),
      faults_(ledger_.get(), options_.max_ended_faults, &counters_, options_.revert_retry),
      starts_(options_.max_ended_faults),
      capabilities_(options_.probe_capabilities),
      commands_(options_.max_running_commands),
      timer_([this](absl::Time now) { return Expire(now); }) {}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentOptions options) {
  ASSIGN_OR_RETURN(auto ledger, FaultLedger::Open(options.state_dir));
  ASSIGN_OR_RETURN(auto journal, CommandJournal::Open(options.state_dir));
  return std::unique_ptr<Agent>(
      new Agent(std::move(options), std::move(ledger), std::move(journal)));
}

Agent::~Agent() { timer_.Stop(); }

void Agent::Start() {
  (void)capabilities_.Refresh();
  timer_.Start();
  timer_.Schedule(NextDeadline());  // e.g. reverts recovery could not finish
}

size_t Agent::Recover() {
  Recovery recovery = RecoverFromLedger(*ledger_, factory_options());
  counters_.revert_failures += recovery.failed;
  for (RecoveredFault& f : recovery.faults) {
    faults_.Restore(std::move(f.record), std::move(f.fault));
  }
  faults_.PruneEnded();
  return recovery.reverted;
}

size_t Agent::Sweep() {
  std::vector<LedgerRecord> live;
  for (const FaultTable::Ref& fault : faults_.Select(IsLive)) {
    live.push_back(faults_.RecordOf(fault));
  }
  const SweepResult swept = SweepLeftovers(options_.policy.fill_roots, KeepFromRecords(live));
  counters_.sweeps += swept.removed;
  counters_.sweep_failures += swept.failed;
  return swept.removed;
}

absl::Status Agent::CheckAdmission() {
  if (halted_) return absl::FailedPreconditionError("agent is halted: Resume before injecting");
  const size_t active =
      faults_.Count(IsActiveRecord) + starts_.CountPending([](const auto&) { return true; });
  if (active >= options_.max_active_faults) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the agent already runs or has scheduled ", active, " faults (max_active_faults)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<FaultStatus> Agent::Inject(const chaos::v1::InjectRequest& request,
                                          const std::string& caller) {
  const absl::Time received = absl::Now();  // ends_in and starts_in count from here
  const chaos::v1::FaultSpec& spec = request.spec();
  ASSIGN_OR_RETURN(const absl::Duration lease,
                   CheckInjectRequest(request, options_.default_lease));
  ASSIGN_OR_RETURN(std::optional<FaultStatus> existing, faults_.Find(spec));
  if (existing) return *std::move(existing);  // idempotent by fault id
  ASSIGN_OR_RETURN(existing, starts_.Find(spec));
  if (existing) return *std::move(existing);
  RETURN_IF_ERROR(CheckAdmission());
  ASSIGN_OR_RETURN(std::unique_ptr<faults::Fault> fault, BuildAllowed(spec, caller));
  const absl::Duration starts_in = FromProto(request.starts_in());
  const absl::Duration ends_in = FromProto(request.ends_in());
  if (starts_in > absl::ZeroDuration()) {
    const absl::Time start_at = received + starts_in;
    const absl::Time lease_deadline = leases_.Hold(spec.experiment_id(), lease, absl::Now());
    ASSIGN_OR_RETURN(FaultStatus status,
                     starts_.Add({request, caller, lease, start_at,
                                  start_at + (ends_in > absl::ZeroDuration()
                                                  ? ends_in
                                                  : FromProto(spec.duration()))}));
    timer_.Schedule(std::min(lease_deadline, start_at));
    AuditFault("schedule", status, caller, "ok: " + status.summary());
    return status;
  }
  std::optional<absl::Time> ends_at;
  if (ends_in > absl::ZeroDuration()) ends_at = received + ends_in;
  return InjectNow(spec, std::move(fault), caller, lease, ends_at);
}

absl::StatusOr<std::unique_ptr<faults::Fault>> Agent::BuildAllowed(
    const chaos::v1::FaultSpec& spec, const std::string& caller) {
  // The kind's parameters, then the host's policy, before anything is recorded.
  ASSIGN_OR_RETURN(std::unique_ptr<faults::Fault> fault, MakeFault(spec, factory_options()));
  absl::Status allowed = options_.policy.Check(spec);
  if (allowed.ok()) {
    // How many processes a kill/pause would hit on this host now: refused
    // here, before the ledger, when that is more than the policy allows.
    const auto preview = PreviewProcessSelection(spec, factory_options());
    if (preview) allowed = options_.policy.CheckProcessCount(preview->matched, preview->chosen);
  }
  if (!allowed.ok()) {
    AuditRefusal(spec, caller, allowed);
    return allowed;
  }
  return fault;
}

absl::StatusOr<FaultStatus> Agent::InjectNow(const chaos::v1::FaultSpec& spec,
                                             std::unique_ptr<faults::Fault> fault,
                                             const std::string& caller, absl::Duration lease,
                                             std::optional<absl::Time> ends_at) {
  // Held before the fault turns active, so a lapsed lease of the same
  // experiment cannot revert it the moment it does.
  const absl::Time lease_deadline = leases_.Hold(spec.experiment_id(), lease, absl::Now());
  ASSIGN_OR_RETURN(FaultStatus status, faults_.Inject(spec, std::move(fault), caller, lease, ends_at));
  timer_.Schedule(std::min(lease_deadline, absl::FromUnixMillis(status.expires_at_unix_ms())));
  // A halt that came while this fault was being injected did not see it
  // active, so it did not revert it: that is done here.
  if (halted_) {
    const std::string reason = "halt: the agent was halted while the fault was being injected";
    if (FaultTable::Ref ref = faults_.Get(spec.fault_id()); ref != nullptr) {
      RETURN_IF_ERROR(RevertOne(ref, caller, reason).status());
    }
    return absl::FailedPreconditionError(
        "agent was halted while the fault was being injected: the fault is reverted");
  }
  return status;
}

// A scheduled start, on the timer's thread: the checks again (the host may
// have changed since the request), then the inject, ending at the planned
// end whenever the timer woke. Its lease must still hold (a lapsed one
// cancelled the start in Tick); the inject holds it again, as on receipt.
absl::Status Agent::StartScheduled(const ScheduledStarts::Start& start, absl::Time now) {
  const chaos::v1::FaultSpec& spec = start.request.spec();
  const std::optional<absl::Time> lease = leases_.Deadline(spec.experiment_id());
  if (!lease || *lease <= now) {
    return absl::FailedPreconditionError(
        absl::StrCat("lease of experiment ", spec.experiment_id(), " lapsed before the start"));
  }
  if (start.ends_at <= now) {
    return absl::DeadlineExceededError("the planned end passed before the agent could start it");
  }
  // Its slot under max_active_faults was taken when it was scheduled.
  if (halted_) return absl::FailedPreconditionError("agent is halted");
  ASSIGN_OR_RETURN(std::unique_ptr<faults::Fault> fault, BuildAllowed(spec, start.caller));
  return InjectNow(spec, std::move(fault), start.caller, start.lease, start.ends_at).status();
}

void Agent::StartDue(absl::Time now) {
  for (const ScheduledStarts::Start& start : starts_.TakeDue(now)) {
    const absl::Status started = StartScheduled(start, now);
    // The fault table audits what it tried; a start refused before is audited here.
    if (!started.ok() && faults_.Get(start.request.spec().fault_id()) == nullptr) {
      FaultStatus refused;
      *refused.mutable_spec() = start.request.spec();
      AuditFault("inject", refused, start.caller, "not started: " + started.ToString());
    }
    starts_.Finish(start, started);
  }
}

std::vector<FaultStatus> Agent::CancelStarts(const ScheduledStarts::SpecPredicate& pred,
                                             const std::string& caller,
                                             const std::string& reason) {
  std::vector<FaultStatus> cancelled = starts_.Cancel(pred, reason);
  for (const FaultStatus& s : cancelled) AuditFault("cancel", s, caller, s.reason());
  return cancelled;
}

absl::StatusOr<FaultStatus> Agent::RevertOne(const FaultTable::Ref& fault,
                                             const std::string& caller,
                                             const std::string& reason) {
  auto result = faults_.Revert(fault, caller, reason);
  const int64_t retry = faults_.RecordOf(fault).status().next_retry_unix_ms();
  if (retry > 0) timer_.Schedule(absl::FromUnixMillis(retry));
  return result;
}

namespace {

absl::Status NotFound(const std::string& fault_id) {
  return absl::NotFoundError(
      absl::StrCat("fault ", fault_id, " is unknown to this agent (never injected here, "
                                       "or forgotten long after it ended)"));
}

}  // namespace

absl::StatusOr<FaultStatus> Agent::Revert(const std::string& fault_id,
                                          const std::string& caller) {
  std::vector<FaultStatus> cancelled = CancelStarts(
      [&](const chaos::v1::FaultSpec& spec) { return spec.fault_id() == fault_id; }, caller,
      absl::StrCat("reverted by ", caller));
  if (!cancelled.empty()) return std::move(cancelled.front());
  FaultTable::Ref fault = faults_.Get(fault_id);
  if (fault == nullptr) {
    // Cancelled or failed before its start: already ended, as for a fault
    // reverted before.
    std::vector<FaultStatus> ended = starts_.List(
        [&](const chaos::v1::FaultSpec& spec) { return spec.fault_id() == fault_id; }, true);
    if (!ended.empty()) return std::move(ended.front());
    return NotFound(fault_id);
  }
  return RevertOne(fault, caller, absl::StrCat("reverted by ", caller));
}

absl::StatusOr<FaultStatus> Agent::Abandon(const std::string& fault_id,
                                           const std::string& caller,
                                           const std::string& reason) {
  FaultTable::Ref fault = faults_.Get(fault_id);
  if (fault == nullptr) return NotFound(fault_id);
  return faults_.Abandon(fault, caller, reason);
}

absl::Status Agent::RevertAll(const FaultTable::Predicate& pred, const std::string& caller,
                              const std::string& reason, int attempts,
                              std::vector<FaultStatus>* outcome) {
  std::vector<std::string> failed;
  for (const FaultTable::Ref& fault : faults_.Select(pred)) {
    absl::Status s;
    for (int i = 0; i < attempts; ++i) {
      s = RevertOne(fault, caller, reason).status();
      if (s.ok()) break;
    }
    FaultStatus status = faults_.RecordOf(fault).status();
    if (!s.ok()) failed.push_back(absl::StrCat(status.spec().fault_id(), " (", s.message(), ")"));
    outcome->push_back(std::move(status));
  }
  if (failed.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(failed.size(), " fault(s) not reverted (the agent retries each unless it is "
                   "halted or the fault's state is unknown): ",
                   absl::StrJoin(failed, "; ")));
}

absl::Status Agent::RevertExperiment(const std::string& experiment_id,
                                     const std::string& caller,
                                     std::vector<FaultStatus>* outcome,
                                     std::vector<std::string>* stopped_commands) {
  std::vector<std::string> stopped = StopCommandsOf(
      [&](const RunningCommand& c) { return c.experiment_id == experiment_id; },
      absl::StrCat("experiment reverted by ", caller), kCommandStopWait);
  if (stopped_commands != nullptr) *stopped_commands = std::move(stopped);
  *outcome = CancelStarts(
      [&](const chaos::v1::FaultSpec& spec) { return spec.experiment_id() == experiment_id; },
      caller, absl::StrCat("experiment reverted by ", caller));
  return RevertAll(
      [&](const LedgerRecord& r) {
        return r.status().spec().experiment_id() == experiment_id && IsLive(r);
      },
      caller, absl::StrCat("experiment reverted by ", caller), 1, outcome);
}

std::vector<FaultStatus> Agent::List(const std::string& experiment_id, bool include_ended) {
  std::vector<FaultStatus> out;
  for (const FaultTable::Ref& fault : faults_.Select([&](const LedgerRecord& r) {
         return (experiment_id.empty() || r.status().spec().experiment_id() == experiment_id) &&
                (include_ended || IsLive(r));
       })) {
    out.push_back(faults_.RecordOf(fault).status());
  }
  // A start the fault table already holds (starting now, or failed there)
  // is listed once, as the table has it.
  absl::flat_hash_set<std::string> listed;
  for (const FaultStatus& s : out) listed.insert(s.spec().fault_id());
  for (FaultStatus& s : starts_.List(
           [&](const chaos::v1::FaultSpec& spec) {
             return (experiment_id.empty() || spec.experiment_id() == experiment_id) &&
                    !listed.contains(spec.fault_id());
           },
           include_ended)) {
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<chaos::v1::KeepAliveResponse> Agent::KeepAlive(
    const chaos::v1::KeepAliveRequest& request) {
  RETURN_IF_ERROR(CheckKeepAliveRequest(request));
  const std::string& experiment = request.experiment_id();
  const size_t active =
      faults_.Count([&](const LedgerRecord& r) {
        return r.status().spec().experiment_id() == experiment && IsActiveRecord(r);
      }) +
      starts_.CountPending(
          [&](const chaos::v1::FaultSpec& spec) { return spec.experiment_id() == experiment; });
  const size_t commands = commands_.Count(experiment);
  const auto no_fault = absl::NotFoundError(absl::StrCat(
      "experiment ", experiment, " has no active fault and runs no command on this agent"));
  if (active == 0 && commands == 0) return no_fault;
  auto deadline = leases_.Renew(experiment, FromProto(request.lease()), absl::Now());
  if (absl::IsFailedPrecondition(deadline.status())) {
    timer_.Schedule(absl::Now());  // the timer may not have woken yet
    return absl::NotFoundError(deadline.status().message());
  }
  if (!deadline.ok()) return no_fault;
  timer_.Schedule(*deadline);  // a shorter lease may end before the timer wakes
  chaos::v1::KeepAliveResponse response;
  response.set_lease_expires_at_unix_ms(absl::ToUnixMillis(*deadline));
  response.set_active_faults(static_cast<uint32_t>(active));
  response.set_running_commands(static_cast<uint32_t>(commands));
  return response;
}

chaos::v1::DescribeResponse Agent::Describe(bool refresh_capabilities) {
  chaos::v1::DescribeResponse d;
  d.set_hostname(HostName());
  d.mutable_labels()->insert(options_.labels.begin(), options_.labels.end());
  d.set_kernel(KernelName());
  d.set_agent_version(CHAOS_VERSION);
  auto capabilities = refresh_capabilities ? capabilities_.Refresh() : capabilities_.Get();
  for (auto& c : capabilities) *d.add_capabilities() = std::move(c);
  for (auto& f : List("", false)) *d.add_active_faults() = std::move(f);
  d.set_halted(halted_);
  return d;
}

absl::Status Agent::Halt(const std::string& caller, const std::string& reason,
                         std::vector<FaultStatus>* outcome,
                         std::vector<std::string>* stopped_commands) {
  halted_ = true;
  commands_.Close(absl::FailedPreconditionError(
      "agent is halted: Resume before running commands"));
  AuditHalt(caller, reason);
  std::vector<std::string> stopped =
      StopCommandsOf([](const RunningCommand&) { return true; },
                     absl::StrCat("halt by ", caller, ": ", reason), kCommandStopWait);
  if (stopped_commands != nullptr) *stopped_commands = std::move(stopped);
  *outcome = CancelStarts([](const auto&) { return true; }, caller, absl::StrCat("halt: ", reason));
  return RevertAll(IsLive, caller, absl::StrCat("halt: ", reason), 2, outcome);
}

void Agent::Resume(const std::string& caller) {
  halted_ = false;
  commands_.Reopen();
  AuditResume(caller);
  timer_.Schedule(NextDeadline());  // failed reverts are retried again
}

void Agent::Shutdown() {
  StopCommands("agent shutting down");
  timer_.Stop();
  std::vector<FaultStatus> outcome =
      CancelStarts([](const auto&) { return true; }, "agent", "agent shutting down");
  (void)RevertAll(IsLive, "agent", "agent shutting down", 1, &outcome);
}

void Agent::Tick(absl::Time now) {
  const std::vector<std::string> lapsed = leases_.Lapsed(now);
  // A lapsed lease kills the experiment's commands too; the timer does not
  // wait for them to end.
  for (const std::string& experiment : lapsed) {
    (void)StopCommandsOf(
        [&](const RunningCommand& c) { return c.experiment_id == experiment; },
        absl::StrCat("lease expired: no keep-alive for experiment ", experiment),
        absl::ZeroDuration());
    (void)CancelStarts(
        [&](const chaos::v1::FaultSpec& spec) { return spec.experiment_id() == experiment; },
        "agent", absl::StrCat("lease expired: no keep-alive for experiment ", experiment));
  }
  const auto due = faults_.Select([&](const LedgerRecord& r) {
    return r.status().state() == chaos::v1::FAULT_STATE_ACTIVE &&
           (Contains(lapsed, r.status().spec().experiment_id()) ||
            r.status().expires_at_unix_ms() <= absl::ToUnixMillis(now));
  });
  // Leases of experiments with nothing in flight go; an injecting fault
  // keeps its lapsed lease, so that it is reverted once it turns active.
  for (const std::string& experiment : lapsed) {
    const size_t in_flight = faults_.Count([&](const LedgerRecord& r) {
      return r.status().spec().experiment_id() == experiment &&
             r.status().state() == chaos::v1::FAULT_STATE_INJECTING;
    });
    if (in_flight == 0) leases_.DropIfLapsed(experiment, now);
  }
  for (const FaultTable::Ref& fault : due) {
    const chaos::v1::FaultSpec spec = faults_.RecordOf(fault).status().spec();
    std::string reason = "duration elapsed";
    if (Contains(lapsed, spec.experiment_id())) {
      reason = absl::StrCat("lease expired: no keep-alive for experiment ", spec.experiment_id());
      counters_.lease_expiries++;
      AuditLeaseExpiry(spec, reason);
    }
    (void)RevertOne(fault, "agent", reason);
  }
  StartDue(now);
  if (halted_) return;  // a halted agent retries nothing until Resume
  for (const FaultTable::Ref& fault :
       faults_.Select([&](const LedgerRecord& r) { return RetryDue(r, now); })) {
    (void)RevertOne(fault, "agent", "reverted by the agent (retry of a failed revert)");
  }
}

absl::Time Agent::NextDeadline() {
  absl::Time next = starts_.NextStart();
  std::vector<std::string> holders = commands_.Experiments();
  for (std::string& experiment : starts_.Experiments()) holders.push_back(std::move(experiment));
  for (const std::string& experiment : holders) {
    if (auto lease = leases_.Deadline(experiment)) next = std::min(next, *lease);
  }
  for (const FaultTable::Ref& fault : faults_.Select([](const LedgerRecord& r) {
         return r.status().state() == chaos::v1::FAULT_STATE_ACTIVE;
       })) {
    const FaultStatus status = faults_.RecordOf(fault).status();
    next = std::min(next, absl::FromUnixMillis(status.expires_at_unix_ms()));
    if (auto lease = leases_.Deadline(status.spec().experiment_id())) {
      next = std::min(next, *lease);
    }
  }
  if (halted_) return next;
  for (const FaultTable::Ref& fault : faults_.Select([](const LedgerRecord& r) {
         return r.status().next_retry_unix_ms() > 0;
       })) {
    const int64_t retry = faults_.RecordOf(fault).status().next_retry_unix_ms();
    next = std::min(next, absl::FromUnixMillis(retry));
  }
  return next;
}

absl::Time Agent::Expire(absl::Time now) {
  Tick(now);
  return NextDeadline();
}

bool Agent::halted() { return halted_; }

size_t Agent::active_faults() { return faults_.Count(IsActiveRecord); }

size_t Agent::running_commands() { return commands_.Count(); }

bool Agent::MayWait() { return faults_.injecting() > 0 || commands_.Count() > 0; }

size_t Agent::revert_retries_pending() {
  // Also while a retry runs (REVERTING): only a revert that holds clears it.
  return faults_.Count([](const LedgerRecord& r) { return r.status().next_retry_unix_ms() > 0; });
}

}  // namespace chaos::agent
