#include "agent/fault_table.h"

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "agent/audit.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/duration.h"
#include "proto/fault_state.h"

namespace chaos::agent {

using chaos::v1::FaultState;
using chaos::v1::FaultStatus;
using chaos::v1::LedgerRecord;

class FaultTable::Entry {
 public:
  absl::Mutex op_mu;                     // serializes this fault's inject and revert
  std::unique_ptr<faults::Fault> fault;  // guarded by op_mu
  LedgerRecord record;                   // guarded by FaultTable::mu_
  bool inject_failed = false;            // guarded by FaultTable::mu_
};

bool IsLive(const LedgerRecord& record) {
  const FaultState state = record.status().state();
  return IsActive(state) || (state == chaos::v1::FAULT_STATE_FAILED && !record.undo().empty());
}

bool RetryDue(const LedgerRecord& record, absl::Time now) {
  const FaultStatus& st = record.status();
  return st.state() == chaos::v1::FAULT_STATE_FAILED && st.next_retry_unix_ms() > 0 &&
         st.next_retry_unix_ms() <= absl::ToUnixMillis(now);
}

absl::Duration RetryBackoff::After(uint32_t failures) const {
  absl::Duration wait = initial;
  for (uint32_t i = 1; i < failures && wait < cap; ++i) wait *= 2;
  return std::min(wait, cap);
}

FaultTable::FaultTable(FaultLedger* ledger, size_t max_ended, AgentCounters* counters,
                       RetryBackoff backoff)
    : ledger_(ledger), max_ended_(max_ended), counters_(counters), backoff_(backoff) {}

FaultTable::~FaultTable() = default;

void FaultTable::Restore(LedgerRecord record, std::unique_ptr<faults::Fault> fault) {
  auto entry = std::make_shared<Entry>();
  entry->record = std::move(record);
  entry->fault = std::move(fault);
  absl::MutexLock lock(&mu_);
  faults_[entry->record.status().spec().fault_id()] = std::move(entry);
}

absl::StatusOr<std::optional<FaultStatus>> FaultTable::Find(const chaos::v1::FaultSpec& spec) {
  absl::MutexLock lock(&mu_);
  auto it = faults_.find(spec.fault_id());
  if (it == faults_.end()) return std::nullopt;
  const FaultStatus& status = it->second->record.status();
  if (!google::protobuf::util::MessageDifferencer::Equals(status.spec(), spec)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "fault id ", spec.fault_id(), " already names a fault with another spec"));
  }
  return status;
}

absl::Status FaultTable::Persist(Entry& entry, const std::function<void(LedgerRecord&)>& edit,
                                 base::Sync sync) {
  LedgerRecord copy;
  {
    absl::MutexLock lock(&mu_);
    edit(entry.record);
    copy = entry.record;
  }
  return ledger_->Put(copy, sync);
}

void FaultTable::Update(Entry& entry, const std::function<void(LedgerRecord&)>& edit) {
  absl::MutexLock lock(&mu_);
  edit(entry.record);
}

absl::Status FaultTable::Admit(const Ref& entry) {
  const std::string& id = entry->record.status().spec().fault_id();
  {
    absl::MutexLock lock(&mu_);
    if (faults_.contains(id)) {  // a concurrent twin got there first
      return absl::AbortedError(absl::StrCat("fault id ", id, " is being injected concurrently"));
    }
    faults_[id] = entry;
  }
  // Write-ahead: the intent is durable before the host is touched.
  if (absl::Status s = ledger_->Put(entry->record); !s.ok()) {
    absl::MutexLock lock(&mu_);
    faults_.erase(id);
    return absl::UnavailableError(
        absl::StrCat("cannot journal the fault, nothing injected: ", s.message()));
  }
  return absl::OkStatus();
}

void FaultTable::MarkInjectFailed(Entry& entry, const absl::Status& why) {
  counters_->inject_failures++;
  (void)entry.fault->Revert();  // idempotent; Inject already tried
  {
    absl::MutexLock lock(&mu_);
    entry.inject_failed = true;
  }
  (void)Persist(entry, [&](LedgerRecord& r) {
    r.mutable_status()->set_state(chaos::v1::FAULT_STATE_FAILED);
    r.mutable_status()->set_reason(absl::StrCat("inject failed: ", why.message()));
    r.clear_undo();
  });
}

void FaultTable::MarkActive(Entry& entry, std::optional<absl::Time> ends_at,
                            absl::Duration duration) {
  counters_->injections++;
  const absl::Time now = absl::Now();
  const faults::FaultStatus what = entry.fault->Status();
  Update(entry, [&](LedgerRecord& r) {
    FaultStatus* st = r.mutable_status();
    st->set_state(chaos::v1::FAULT_STATE_ACTIVE);
    st->set_summary(what.summary);
    st->mutable_details()->clear();
    st->mutable_details()->insert(what.details.begin(), what.details.end());
    st->set_injected_at_unix_ms(absl::ToUnixMillis(now));
    st->set_expires_at_unix_ms(absl::ToUnixMillis(ends_at.value_or(now + duration)));
  });
}

absl::StatusOr<FaultStatus> FaultTable::Inject(const chaos::v1::FaultSpec& spec,
                                               std::unique_ptr<faults::Fault> fault,
                                               const std::string& caller, absl::Duration lease,
                                               std::optional<absl::Time> ends_at) {
  ++injecting_;
  absl::Cleanup injected_or_not = [this] { --injecting_; };
  auto entry = std::make_shared<Entry>();
  absl::MutexLock op_lock(&entry->op_mu);
  entry->fault = std::move(fault);
  FaultStatus* status = entry->record.mutable_status();
  *status->mutable_spec() = spec;
  status->set_state(chaos::v1::FAULT_STATE_INJECTING);
  entry->record.set_lease_ms(absl::ToInt64Milliseconds(lease));
  entry->record.set_caller(caller);
  if (absl::Status admitted = Admit(entry); !admitted.ok()) return admitted;

  auto recorder = [&](const faults::UndoState& undo) {
    return Persist(*entry, [&](LedgerRecord& r) {
      r.mutable_undo()->clear();
      r.mutable_undo()->insert(undo.begin(), undo.end());
    });
  };
  const absl::Status injected = entry->fault->Inject(recorder);
  if (!injected.ok()) {
    MarkInjectFailed(*entry, injected);
    AuditFault("inject", RecordOf(entry).status(), caller, injected.ToString());
    return injected;
  }
  MarkActive(*entry, ends_at, FromProto(spec.duration()));
  const FaultStatus result = RecordOf(entry).status();
  AuditFault("inject", result, caller, "ok: " + result.summary());
  return result;
}

void FaultTable::MarkRevertFailed(Entry& entry, const absl::Status& why) {
  counters_->revert_failures++;
  const absl::Time now = absl::Now();
  (void)Persist(entry, [&](LedgerRecord& r) {
    FaultStatus* st = r.mutable_status();
    st->set_state(chaos::v1::FAULT_STATE_FAILED);
    st->set_reason(absl::StrCat("revert failed: ", why.message()));
    st->set_revert_error(why.ToString());
    st->set_revert_attempts(st->revert_attempts() + 1);
    st->set_next_retry_unix_ms(absl::ToUnixMillis(now + backoff_.After(st->revert_attempts())));
  });
}

absl::StatusOr<FaultStatus> FaultTable::Revert(const Ref& entry, const std::string& caller,
                                               const std::string& reason) {
  absl::MutexLock op_lock(&entry->op_mu);
  {
    absl::MutexLock lock(&mu_);
    const FaultStatus& st = entry->record.status();
    const bool done = st.state() == chaos::v1::FAULT_STATE_REVERTED || st.abandoned() ||
                      (st.state() == chaos::v1::FAULT_STATE_FAILED && entry->inject_failed);
    if (!done && entry->fault == nullptr && !entry->record.undo().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "fault ", st.spec().fault_id(),
          ": state unknown (recovery could not rebuild it after a restart: ", st.reason(),
          "); check the host, then abandon it (chaosctl revert --abandon)"));
    }
    if (done || entry->fault == nullptr) return st;
  }
  Update(*entry, [](LedgerRecord& r) {
    r.mutable_status()->set_state(chaos::v1::FAULT_STATE_REVERTING);
  });
  const absl::Status s = entry->fault->Revert();
  if (s.ok()) {
    counters_->reverts++;
    // The host holds nothing now: the ledger need not wait for the disk.
    (void)Persist(*entry, [&](LedgerRecord& r) {
      FaultStatus* st = r.mutable_status();
      st->set_state(chaos::v1::FAULT_STATE_REVERTED);
      st->set_reason(reason);
      st->set_reverted_at_unix_ms(absl::ToUnixMillis(absl::Now()));
      st->clear_revert_error();
      st->clear_next_retry_unix_ms();
      r.clear_undo();
    }, base::Sync::kLazy);
  } else {
    MarkRevertFailed(*entry, s);
  }
  FaultStatus result;
  {
    absl::MutexLock lock(&mu_);
    result = entry->record.status();
    PruneEndedLocked();
  }
  AuditFault("revert", result, caller, s.ok() ? "ok: " + reason : s.ToString());
  if (!s.ok()) return s;
  return result;
}

absl::StatusOr<FaultStatus> FaultTable::Abandon(const Ref& entry, const std::string& caller,
                                                const std::string& reason) {
  absl::MutexLock op_lock(&entry->op_mu);
  {
    absl::MutexLock lock(&mu_);
    const FaultStatus& st = entry->record.status();
    if (st.abandoned()) return st;
    if (st.state() != chaos::v1::FAULT_STATE_FAILED || entry->record.undo().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "fault ", st.spec().fault_id(), " is ", chaos::v1::FaultState_Name(st.state()),
          " with no failed revert to abandon (revert it instead)"));
    }
  }
  (void)Persist(*entry, [&](LedgerRecord& r) {
    FaultStatus* st = r.mutable_status();
    st->set_abandoned(true);
    st->clear_next_retry_unix_ms();
    st->set_reason(absl::StrCat("abandoned by ", caller, ": ", reason,
                                " (last revert error: ", st->revert_error(), ")"));
    st->set_reverted_at_unix_ms(absl::ToUnixMillis(absl::Now()));
    r.clear_undo();
  });
  entry->fault.reset();
  const FaultStatus result = RecordOf(entry).status();
  AuditFault("abandon", result, caller, result.reason());
  return result;
}

FaultTable::Ref FaultTable::Get(const std::string& fault_id) {
  absl::MutexLock lock(&mu_);
  auto it = faults_.find(fault_id);
  return it == faults_.end() ? nullptr : it->second;
}

std::vector<FaultTable::Ref> FaultTable::Select(const Predicate& pred) {
  std::vector<Ref> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : faults_) {
    if (pred(e->record)) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const Ref& a, const Ref& b) {
    return a->record.status().injected_at_unix_ms() > b->record.status().injected_at_unix_ms();
  });
  return out;
}

LedgerRecord FaultTable::RecordOf(const Ref& entry) {
  absl::MutexLock lock(&mu_);
  return entry->record;
}

size_t FaultTable::Count(const Predicate& pred) {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [id, e] : faults_) n += pred(e->record);
  return n;
}

void FaultTable::PruneEnded() {
  absl::MutexLock lock(&mu_);
  PruneEndedLocked();
}

// Past the limit every revert prunes about one fault: the walk copies no
// id and the oldest are found by partition, not by sorting them all.
void FaultTable::PruneEndedLocked() {
  using Ended = std::pair<int64_t, const std::string*>;
  std::vector<Ended> ended;
  for (const auto& [id, e] : faults_) {
    const FaultStatus& st = e->record.status();
    if (!IsActive(st.state()) && e->record.undo().empty()) {
      ended.emplace_back(st.reverted_at_unix_ms(), &id);
    }
  }
  if (ended.size() <= max_ended_) return;
  const size_t excess = ended.size() - max_ended_;
  std::nth_element(ended.begin(), ended.begin() + excess, ended.end(),
                   [](const Ended& a, const Ended& b) {
                     return a.first != b.first ? a.first < b.first : *a.second < *b.second;
                   });
  std::vector<std::string> oldest;
  for (size_t i = 0; i < excess; ++i) oldest.push_back(*ended[i].second);
  for (const std::string& id : oldest) {
    (void)ledger_->Remove(id);
    faults_.erase(id);
  }
}

}  // namespace chaos::agent
