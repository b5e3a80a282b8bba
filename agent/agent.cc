#include "agent/agent.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/fault_factory.h"
#include "base/ids.h"
#include "base/status_macros.h"
#include "proto/duration.h"
#include "proto/fault_state.h"
#include "google/protobuf/util/message_differencer.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {

using chaos::v1::FaultState;
using chaos::v1::FaultStatus;
using chaos::v1::LedgerRecord;

namespace {

int64_t UnixMs(absl::Time t) { return absl::ToUnixMillis(t); }

void Audit(const std::string& action, const FaultStatus& s, const std::string& caller,
           const std::string& result) {
  spdlog::info("audit action={} fault={} experiment={} kind={} caller={} result=\"{}\"",
               action, s.spec().fault_id(), s.spec().experiment_id(), KindName(s.spec()),
               caller.empty() ? "-" : caller, result);
}

}  // namespace

FactoryOptions Agent::factory_options() const {
  FactoryOptions f;
  f.state_dir = options_.state_dir;
  f.fill_roots = options_.policy.fill_roots;
  f.protected_names = options_.policy.protected_processes;
  return f;
}

Agent::Agent(AgentOptions options, std::unique_ptr<FaultLedger> ledger)
    : options_(std::move(options)), ledger_(std::move(ledger)) {}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentOptions options) {
  ASSIGN_OR_RETURN(auto ledger, FaultLedger::Open(options.state_dir));
  return std::unique_ptr<Agent>(new Agent(std::move(options), std::move(ledger)));
}

Agent::~Agent() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (timer_.joinable()) timer_.join();
}

void Agent::Start() {
  timer_ = std::thread([this] { TimerLoop(); });
}

void Agent::TimerLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), options_.tick)) return;
    }
    Tick(absl::Now());
  }
}

size_t Agent::Recover() {
  auto loaded = ledger_->Load();
  if (!loaded.ok()) {
    spdlog::error("recovery: cannot read the ledger: {}", loaded.status().ToString());
    return 0;
  }
  for (const std::string& q : loaded->quarantined) {
    spdlog::error("recovery: quarantined corrupt ledger record {}", q);
  }
  size_t reverted = 0;
  for (LedgerRecord& record : loaded->records) {
    auto entry = std::make_shared<Entry>();
    const FaultStatus& status = record.status();
    const std::string id = status.spec().fault_id();
    entry->record = record;
    const bool live = IsActive(status.state()) ||
                      (status.state() == chaos::v1::FAULT_STATE_FAILED && !record.undo().empty());
    if (live) {
      absl::Status s;
      auto fault = MakeFault(status.spec(), factory_options());
      if (!fault.ok()) {
        s = fault.status();
      } else {
        faults::UndoState undo(record.undo().begin(), record.undo().end());
        s = (*fault)->Adopt(undo);
        if (s.ok()) s = (*fault)->Revert();
      }
      if (s.ok()) {
        const bool was_failed = status.state() == chaos::v1::FAULT_STATE_FAILED;
        entry->record.mutable_status()->set_state(
            was_failed ? chaos::v1::FAULT_STATE_FAILED : chaos::v1::FAULT_STATE_REVERTED);
        if (!was_failed) {
          entry->record.mutable_status()->set_reason("reverted at agent start-up (recovery)");
        }
        entry->record.mutable_status()->set_reverted_at_unix_ms(UnixMs(absl::Now()));
        entry->record.clear_undo();
        if (absl::Status p = ledger_->Put(entry->record); !p.ok()) {
          spdlog::error("recovery: fault {} reverted but ledger write failed: {}", id,
                        p.ToString());
        }
        ++reverted;
        Audit("recover", entry->record.status(), "agent", "reverted");
      } else {
        spdlog::error("recovery: fault {} could not be reverted: {}", id, s.ToString());
        entry->record.mutable_status()->set_state(chaos::v1::FAULT_STATE_FAILED);
        entry->record.mutable_status()->set_reason(
            absl::StrCat("recovery revert failed: ", s.message()));
        (void)ledger_->Put(entry->record);
        counters_.revert_failures++;
        if (fault.ok()) entry->fault = std::move(*fault);
      }
    }
    absl::MutexLock lock(&mu_);
    faults_[id] = std::move(entry);
  }
  {
    absl::MutexLock lock(&mu_);
    PruneEnded();
  }
  return reverted;
}

absl::Status Agent::Persist(Entry& entry,
                            const std::function<void(LedgerRecord&)>& edit) {
  LedgerRecord copy;
  {
    absl::MutexLock lock(&mu_);
    edit(entry.record);
    copy = entry.record;
  }
  return ledger_->Put(copy);
}

absl::StatusOr<FaultStatus> Agent::Inject(const chaos::v1::InjectRequest& request,
                                          const std::string& peer) {
  const chaos::v1::FaultSpec& spec = request.spec();
  const std::string caller = request.caller().empty() ? peer : request.caller();
  RETURN_IF_ERROR(base::ValidateId("spec.fault_id", spec.fault_id()));
  RETURN_IF_ERROR(base::ValidateId("spec.experiment_id", spec.experiment_id()));
  const absl::Duration duration = FromProto(spec.duration());
  if (duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("spec.duration: required and must be > 0");
  }
  absl::Duration lease = FromProto(request.lease());
  if (lease < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease: must not be negative");
  }
  if (lease == absl::ZeroDuration()) lease = options_.default_lease;

  auto entry = std::make_shared<Entry>();
  absl::MutexLock op_lock(&entry->op_mu);
  {
    absl::MutexLock lock(&mu_);
    auto it = faults_.find(spec.fault_id());
    if (it != faults_.end()) {
      if (google::protobuf::util::MessageDifferencer::Equals(it->second->record.status().spec(),
                                                             spec)) {
        return it->second->record.status();
      }
      return absl::AlreadyExistsError(absl::StrCat(
          "fault id ", spec.fault_id(), " already names a fault with another spec"));
    }
    if (halted_) {
      return absl::FailedPreconditionError("agent is halted: Resume before injecting");
    }
    size_t active = 0;
    for (const auto& [id, e] : faults_) active += IsActive(e->record.status().state());
    if (active >= options_.max_active_faults) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the agent already runs ", active, " faults (max_active_faults)"));
    }
  }
  // Validate the kind's parameters, then the host's policy, before anything
  // is recorded.
  ASSIGN_OR_RETURN(entry->fault, MakeFault(spec, factory_options()));
  if (absl::Status allowed = options_.policy.Check(spec); !allowed.ok()) {
    spdlog::warn("audit action=refuse fault={} experiment={} kind={} caller={} result=\"{}\"",
                 spec.fault_id(), spec.experiment_id(), KindName(spec), caller,
                 std::string(allowed.message()));
    return allowed;
  }

  FaultStatus* status = entry->record.mutable_status();
  *status->mutable_spec() = spec;
  status->set_state(chaos::v1::FAULT_STATE_INJECTING);
  entry->record.set_lease_ms(absl::ToInt64Milliseconds(lease));
  entry->record.set_caller(caller);
  {
    absl::MutexLock lock(&mu_);
    if (faults_.contains(spec.fault_id())) {  // a concurrent twin got there first
      return absl::AbortedError(
          absl::StrCat("fault id ", spec.fault_id(), " is being injected concurrently"));
    }
    faults_[spec.fault_id()] = entry;
    auto [lease_it, inserted] = leases_.try_emplace(spec.experiment_id());
    if (inserted || lease_it->second.deadline < absl::Now() + lease) {
      lease_it->second = {absl::Now() + lease, lease};
    }
  }
  // Write-ahead: the intent is durable before the host is touched.
  if (absl::Status s = ledger_->Put(entry->record); !s.ok()) {
    absl::MutexLock lock(&mu_);
    faults_.erase(spec.fault_id());
    return absl::UnavailableError(
        absl::StrCat("cannot journal the fault, nothing injected: ", s.message()));
  }
  auto recorder = [&](const faults::UndoState& undo) {
    return Persist(*entry, [&](LedgerRecord& r) {
      r.mutable_undo()->clear();
      r.mutable_undo()->insert(undo.begin(), undo.end());
    });
  };
  absl::Status injected = entry->fault->Inject(recorder);
  const absl::Time now = absl::Now();
  const faults::FaultStatus what = entry->fault->Status();
  if (!injected.ok()) {
    counters_.inject_failures++;
    (void)entry->fault->Revert();  // idempotent; Inject already tried
    {
      absl::MutexLock lock(&mu_);
      entry->inject_failed = true;
    }
    (void)Persist(*entry, [&](LedgerRecord& r) {
      r.mutable_status()->set_state(chaos::v1::FAULT_STATE_FAILED);
      r.mutable_status()->set_reason(absl::StrCat("inject failed: ", injected.message()));
      r.clear_undo();
    });
    Audit("inject", entry->record.status(), caller, injected.ToString());
    return injected;
  }
  counters_.injections++;
  absl::Status persisted = Persist(*entry, [&](LedgerRecord& r) {
    FaultStatus* st = r.mutable_status();
    st->set_state(chaos::v1::FAULT_STATE_ACTIVE);
    st->set_summary(what.summary);
    st->mutable_details()->clear();
    st->mutable_details()->insert(what.details.begin(), what.details.end());
    st->set_injected_at_unix_ms(UnixMs(now));
    st->set_expires_at_unix_ms(UnixMs(now + duration));
  });
  FaultStatus result;
  {
    absl::MutexLock lock(&mu_);
    result = entry->record.status();
  }
  if (!persisted.ok()) {
    // The ledger holds the intent and undo state, so recovery still works;
    // but a ledger that fails now may fail the revert record too: undo.
    spdlog::error("fault {}: ledger write failed after inject: {}", spec.fault_id(),
                  persisted.ToString());
  }
  Audit("inject", result, caller, "ok: " + what.summary);
  return result;
}

absl::StatusOr<FaultStatus> Agent::RevertEntry(const std::shared_ptr<Entry>& entry,
                                               const std::string& caller,
                                               const std::string& reason) {
  absl::MutexLock op_lock(&entry->op_mu);
  {
    absl::MutexLock lock(&mu_);
    const FaultState state = entry->record.status().state();
    const bool done = state == chaos::v1::FAULT_STATE_REVERTED ||
                      (state == chaos::v1::FAULT_STATE_FAILED && entry->inject_failed);
    if (done || entry->fault == nullptr) return entry->record.status();
  }
  (void)Persist(*entry, [](LedgerRecord& r) {
    r.mutable_status()->set_state(chaos::v1::FAULT_STATE_REVERTING);
  });
  absl::Status s = entry->fault->Revert();
  FaultStatus result;
  if (s.ok()) {
    counters_.reverts++;
    const faults::FaultStatus what = entry->fault->Status();
    (void)Persist(*entry, [&](LedgerRecord& r) {
      FaultStatus* st = r.mutable_status();
      st->set_state(chaos::v1::FAULT_STATE_REVERTED);
      st->set_reason(reason);
      st->set_reverted_at_unix_ms(UnixMs(absl::Now()));
      r.clear_undo();
    });
  } else {
    counters_.revert_failures++;
    (void)Persist(*entry, [&](LedgerRecord& r) {
      r.mutable_status()->set_state(chaos::v1::FAULT_STATE_FAILED);
      r.mutable_status()->set_reason(absl::StrCat("revert failed: ", s.message()));
    });
  }
  {
    absl::MutexLock lock(&mu_);
    result = entry->record.status();
    PruneEnded();
  }
  Audit("revert", result, caller, s.ok() ? "ok: " + reason : s.ToString());
  if (!s.ok()) return s;
  return result;
}

absl::StatusOr<FaultStatus> Agent::Revert(const std::string& fault_id,
                                          const std::string& caller) {
  std::shared_ptr<Entry> entry;
  {
    absl::MutexLock lock(&mu_);
    auto it = faults_.find(fault_id);
    if (it == faults_.end()) {
      return absl::NotFoundError(
          absl::StrCat("fault ", fault_id, " is unknown to this agent (never injected here, "
                                           "or forgotten long after it ended)"));
    }
    entry = it->second;
  }
  return RevertEntry(entry, caller, "reverted by caller");
}

std::vector<std::shared_ptr<Agent::Entry>> Agent::EntriesWhere(
    const std::function<bool(const LedgerRecord&)>& pred) {
  std::vector<std::shared_ptr<Entry>> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : faults_) {
    if (pred(e->record)) out.push_back(e);
  }
  // Newest first, so faults are undone in reverse order of injection.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a->record.status().injected_at_unix_ms() > b->record.status().injected_at_unix_ms();
  });
  return out;
}

std::vector<FaultStatus> Agent::RevertExperiment(const std::string& experiment_id,
                                                 const std::string& caller) {
  std::vector<FaultStatus> out;
  for (const auto& e : EntriesWhere([&](const LedgerRecord& r) {
         return r.status().spec().experiment_id() == experiment_id && IsActive(r.status().state());
       })) {
    auto s = RevertEntry(e, caller, "experiment reverted by caller");
    absl::MutexLock lock(&mu_);
    out.push_back(e->record.status());
  }
  return out;
}

std::vector<FaultStatus> Agent::List(const std::string& experiment_id, bool include_ended) {
  std::vector<FaultStatus> out;
  for (const auto& e : EntriesWhere([&](const LedgerRecord& r) {
         return (experiment_id.empty() || r.status().spec().experiment_id() == experiment_id) &&
                (include_ended || IsActive(r.status().state()) ||
                 (r.status().state() == chaos::v1::FAULT_STATE_FAILED && !r.undo().empty()));
       })) {
    absl::MutexLock lock(&mu_);
    out.push_back(e->record.status());
  }
  return out;
}

absl::StatusOr<chaos::v1::KeepAliveResponse> Agent::KeepAlive(
    const chaos::v1::KeepAliveRequest& request) {
  RETURN_IF_ERROR(base::ValidateId("experiment_id", request.experiment_id()));
  absl::MutexLock lock(&mu_);
  uint32_t active = 0;
  for (const auto& [id, e] : faults_) {
    active += e->record.status().spec().experiment_id() == request.experiment_id() &&
              IsActive(e->record.status().state());
  }
  auto it = leases_.find(request.experiment_id());
  if (active == 0 || it == leases_.end()) {
    return absl::NotFoundError(absl::StrCat("experiment ", request.experiment_id(),
                                            " has no active fault on this agent"));
  }
  absl::Duration length = FromProto(request.lease());
  if (length > absl::ZeroDuration()) it->second.length = length;
  it->second.deadline = absl::Now() + it->second.length;
  chaos::v1::KeepAliveResponse response;
  response.set_lease_expires_at_unix_ms(UnixMs(it->second.deadline));
  response.set_active_faults(active);
  return response;
}

chaos::v1::DescribeResponse Agent::Describe() {
  chaos::v1::DescribeResponse d;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  d.set_hostname(host);
  d.mutable_labels()->insert(options_.labels.begin(), options_.labels.end());
  utsname u;
  if (uname(&u) == 0) d.set_kernel(absl::StrCat(u.sysname, " ", u.release));
  d.set_agent_version(CHAOS_VERSION);
  for (auto& c : Capabilities()) *d.add_capabilities() = std::move(c);
  for (auto& f : List("", false)) *d.add_active_faults() = std::move(f);
  absl::MutexLock lock(&mu_);
  d.set_halted(halted_);
  return d;
}

std::vector<FaultStatus> Agent::Halt(const std::string& caller, const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    halted_ = true;
  }
  spdlog::warn("audit action=halt caller={} reason=\"{}\"", caller.empty() ? "-" : caller,
               reason);
  std::vector<FaultStatus> out;
  for (const auto& e : EntriesWhere([](const LedgerRecord& r) {
         return IsActive(r.status().state()) ||
                (r.status().state() == chaos::v1::FAULT_STATE_FAILED && !r.undo().empty());
       })) {
    (void)RevertEntry(e, caller, absl::StrCat("halt: ", reason));
    absl::MutexLock lock(&mu_);
    out.push_back(e->record.status());
  }
  return out;
}

void Agent::Resume(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  halted_ = false;
  spdlog::warn("audit action=resume caller={}", caller.empty() ? "-" : caller);
}

void Agent::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (timer_.joinable()) timer_.join();
  for (const auto& e : EntriesWhere([](const LedgerRecord& r) {
         return IsActive(r.status().state());
       })) {
    (void)RevertEntry(e, "agent", "agent shutting down");
  }
}

void Agent::Tick(absl::Time now) {
  std::vector<std::pair<std::shared_ptr<Entry>, std::string>> due;
  {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> lapsed;
    for (const auto& [exp, lease] : leases_) {
      if (lease.deadline <= now) lapsed.push_back(exp);
    }
    for (const auto& [id, e] : faults_) {
      const FaultStatus& st = e->record.status();
      if (st.state() != chaos::v1::FAULT_STATE_ACTIVE) continue;
      if (std::find(lapsed.begin(), lapsed.end(), st.spec().experiment_id()) != lapsed.end()) {
        due.emplace_back(e, absl::StrCat("lease expired: no keep-alive for experiment ",
                                         st.spec().experiment_id()));
      } else if (st.expires_at_unix_ms() <= UnixMs(now)) {
        due.emplace_back(e, "duration elapsed");
      }
    }
    // Drop leases of experiments with nothing left in flight.
    for (const std::string& exp : lapsed) {
      bool in_flight = false;
      for (const auto& [id, e] : faults_) {
        in_flight |= e->record.status().spec().experiment_id() == exp &&
                     e->record.status().state() == chaos::v1::FAULT_STATE_INJECTING;
      }
      if (!in_flight) leases_.erase(exp);
    }
  }
  for (const auto& [entry, reason] : due) {
    if (absl::StartsWith(reason, "lease")) {
      counters_.lease_expiries++;
      std::string fault_id, experiment_id;
      {
        absl::MutexLock lock(&mu_);
        fault_id = entry->record.status().spec().fault_id();
        experiment_id = entry->record.status().spec().experiment_id();
      }
      spdlog::warn("audit action=lease-expiry fault={} experiment={} reason=\"{}\"", fault_id,
                   experiment_id, reason);
    }
    (void)RevertEntry(entry, "agent", reason);
  }
}

void Agent::PruneEnded() {
  std::vector<std::pair<int64_t, std::string>> ended;
  for (const auto& [id, e] : faults_) {
    const FaultStatus& st = e->record.status();
    if (!IsActive(st.state()) && e->record.undo().empty()) {
      ended.emplace_back(st.reverted_at_unix_ms(), id);
    }
  }
  if (ended.size() <= options_.max_ended_faults) return;
  std::sort(ended.begin(), ended.end());
  for (size_t i = 0; i + options_.max_ended_faults < ended.size(); ++i) {
    (void)ledger_->Remove(ended[i].second);
    faults_.erase(ended[i].second);
  }
}

bool Agent::halted() {
  absl::MutexLock lock(&mu_);
  return halted_;
}

size_t Agent::active_faults() {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [id, e] : faults_) n += IsActive(e->record.status().state());
  return n;
}

}  // namespace chaos::agent
