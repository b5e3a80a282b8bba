// Start-up recovery: reverts what an earlier run of the agent left on the
// host, using only its ledger. Every record that is still live (injecting,
// active, reverting, or failed with undo state left) is rebuilt from its
// spec, handed its undo state (Fault::Adopt) and reverted; the outcome is
// journaled before the agent serves anything:
// - reverted: REVERTED with reason "reverted at agent start-up (recovery)";
//   the undo state is cleared.
// - not reverted: FAILED with reason "recovery revert failed: ...",
//   revert_error, and a retry due now (next_retry_unix_ms); the undo state
//   stays in the ledger, so the next start tries again, and the fault is
//   returned so that the agent's timer (or a Revert) retries it.
// - not rebuilt (unknown kind, undo state it cannot adopt): FAILED with
//   state_unknown and reason "state unknown: ...", no retry; the undo state
//   stays, and Revert answers FAILED_PRECONDITION until it is abandoned.
// Quarantined (corrupt) ledger files and every error are logged; recovery
// itself never fails. Not thread-safe: run it once, before serving.
#ifndef CHAOS_AGENT_RECOVERY_H_
#define CHAOS_AGENT_RECOVERY_H_

#include <memory>
#include <vector>

#include "agent/command_journal.h"
#include "agent/fault_factory.h"
#include "agent/ledger.h"
#include "chaos/v1/ledger.pb.h"
#include "faults/fault.h"
#include "faults/host_os.h"

namespace chaos::agent {

struct RecoveredFault {
  chaos::v1::LedgerRecord record;        // as journaled after recovery
  std::unique_ptr<faults::Fault> fault;  // set only when rebuilt and its revert failed
};

struct Recovery {
  std::vector<RecoveredFault> faults;  // every record loaded, live or not
  size_t reverted = 0;
  size_t failed = 0;
};

Recovery RecoverFromLedger(FaultLedger& ledger, const FactoryOptions& options);

// What commands of an earlier run of the agent left running, from their
// journal records (command_journal.h): a command whose record names its
// process group had started, and every process still in that group that
// started no earlier than its first process gets SIGKILL through
// `os.Signal` (pid and start time: a reused pid is never signalled). Its
// first process died with that agent (parent-death signal); what it started
// in the background may not have. A record without a process group (the
// agent died before the command started) has nothing to kill. Every record
// is removed and audited ("audit action=command-recover"); returns how many
// processes were killed. Never fails; errors are logged. Not thread-safe:
// run it once, before serving.
size_t RecoverCommands(CommandJournal& journal, faults::ProcessOs& os);

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_RECOVERY_H_
