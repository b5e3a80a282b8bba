#include "agent/recovery.h"

#include <signal.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/audit.h"
#include "agent/fault_table.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {
namespace {

using chaos::v1::LedgerRecord;

// Rebuilds the fault from its record (its spec and undo state); nullptr
// with the error in *why when it cannot be: its state is then unknown.
std::unique_ptr<faults::Fault> Rebuild(const LedgerRecord& record, const FactoryOptions& options,
                                       absl::Status* why) {
  auto made = MakeFault(record.status().spec(), options);
  if (!made.ok()) {
    *why = made.status();
    return nullptr;
  }
  const faults::UndoState undo(record.undo().begin(), record.undo().end());
  if (absl::Status s = (*made)->Adopt(undo); !s.ok()) {
    *why = s;
    return nullptr;
  }
  return *std::move(made);
}

void MarkReverted(FaultLedger& ledger, LedgerRecord& record) {
  chaos::v1::FaultStatus* status = record.mutable_status();
  status->set_state(chaos::v1::FAULT_STATE_REVERTED);
  status->set_reason("reverted at agent start-up (recovery)");
  status->set_reverted_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  status->clear_revert_error();
  status->clear_next_retry_unix_ms();
  record.clear_undo();
  if (absl::Status p = ledger.Put(record); !p.ok()) {
    spdlog::error("recovery: fault {} reverted but ledger write failed: {}",
                  status->spec().fault_id(), p.ToString());
  }
  AuditFault("recover", *status, "agent", "reverted");
}

// The revert failed (`rebuilt`: the agent retries it at once, then with
// backoff) or the fault could not even be rebuilt (its state is unknown).
void MarkFailed(FaultLedger& ledger, LedgerRecord& record, const absl::Status& why,
                bool rebuilt) {
  spdlog::error("recovery: fault {} could not be {}: {}", record.status().spec().fault_id(),
                rebuilt ? "reverted" : "rebuilt", why.ToString());
  chaos::v1::FaultStatus* status = record.mutable_status();
  status->set_state(chaos::v1::FAULT_STATE_FAILED);
  status->set_reason(absl::StrCat(rebuilt ? "recovery revert failed: " : "state unknown: ",
                                  why.message()));
  status->set_revert_error(why.ToString());
  status->set_revert_attempts(status->revert_attempts() + 1);
  status->set_next_retry_unix_ms(rebuilt ? absl::ToUnixMillis(absl::Now()) : 0);
  status->set_state_unknown(!rebuilt);
  (void)ledger.Put(record);
}

// The processes of `record`'s command still in its process group: those
// of the group that started no earlier than its first process.
std::vector<faults::ProcessId> LeftInGroup(const chaos::v1::CommandRecord& record,
                                           faults::ProcessOs& os) {
  std::vector<faults::ProcessId> left;
  absl::StatusOr<std::vector<pid_t>> pids = os.ListPids();
  if (!pids.ok()) {
    spdlog::error("recovery: cannot list processes: {}", pids.status().ToString());
    return left;
  }
  for (pid_t pid : *pids) {
    absl::StatusOr<faults::ProcessInfo> info = os.ReadInfo(pid);
    if (!info.ok() || info->pgrp != record.process_group() || info->state == 'Z') continue;
    if (info->id.start_ticks < record.leader_start_ticks()) continue;
    left.push_back(info->id);
  }
  return left;
}

// Kills what one command left; returns how many processes.
size_t KillLeftovers(const chaos::v1::CommandRecord& record, faults::ProcessOs& os) {
  size_t killed = 0;
  for (const faults::ProcessId& id : LeftInGroup(record, os)) {
    if (absl::Status s = os.Signal(id, SIGKILL); s.ok()) {
      ++killed;
    } else if (!absl::IsNotFound(s)) {
      spdlog::error("recovery: command {}: cannot kill pid {}: {}", record.command_id(), id.pid,
                    s.ToString());
    }
  }
  return killed;
}

}  // namespace

size_t RecoverCommands(CommandJournal& journal, faults::ProcessOs& os) {
  auto loaded = journal.Load();
  if (!loaded.ok()) {
    spdlog::error("recovery: cannot read the command journal: {}", loaded.status().ToString());
    return 0;
  }
  for (const std::string& d : loaded->dropped) {
    spdlog::error("recovery: dropped a damaged command record {}", d);
  }
  size_t total = 0;
  for (const chaos::v1::CommandRecord& record : loaded->records) {
    const size_t killed = record.process_group() > 0 ? KillLeftovers(record, os) : 0;
    total += killed;
    chaos::v1::RunCommandRequest request;  // what the audit line shows
    request.set_command_id(record.command_id());
    request.set_experiment_id(record.experiment_id());
    *request.mutable_argv() = record.argv();
    AuditCommand("command-recover", request, record.caller(),
                 record.process_group() > 0
                     ? absl::StrCat("killed ", killed, " process(es) left in process group ",
                                    record.process_group())
                     : "had not started when the agent stopped");
    if (absl::Status s = journal.Remove(record.command_id()); !s.ok()) {
      spdlog::error("recovery: command {}: {}", record.command_id(), s.ToString());
    }
  }
  return total;
}

Recovery RecoverFromLedger(FaultLedger& ledger, const FactoryOptions& options) {
  Recovery out;
  auto loaded = ledger.Load();
  if (!loaded.ok()) {
    spdlog::error("recovery: cannot read the ledger: {}", loaded.status().ToString());
    return out;
  }
  for (const std::string& q : loaded->quarantined) {
    spdlog::error("recovery: quarantined corrupt ledger record {}", q);
  }
  for (LedgerRecord& record : loaded->records) {
    RecoveredFault recovered;
    if (IsLive(record)) {
      absl::Status s;
      recovered.fault = Rebuild(record, options, &s);
      if (recovered.fault != nullptr) s = recovered.fault->Revert();
      if (s.ok()) {
        MarkReverted(ledger, record);
        recovered.fault.reset();  // nothing left to undo
        ++out.reverted;
      } else {
        MarkFailed(ledger, record, s, recovered.fault != nullptr);
        ++out.failed;
      }
    }
    recovered.record = std::move(record);
    out.faults.push_back(std::move(recovered));
  }
  return out;
}

}  // namespace chaos::agent
