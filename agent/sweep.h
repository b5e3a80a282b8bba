// Sweep: at start-up, after ledger recovery, removes leftovers that carry
// the tool's tag but that no remaining ledger record names. Such leftovers
// exist only when the ledger itself was lost (every inject is journaled
// before it touches the host) or when an agent died before journaling:
// - process: burner and memory-holder processes ("chaos-burn",
//   "chaos-mem") orphaned and reparented to init. A tagged process whose
//   parent lives belongs to that parent (another agent on the host) and is
//   left alone.
// - disk_fill: ".chaos-fill-<tag>-<16 hex>" regular files under the
//   policy's fill roots (faults::RemoveLeftoverFills: no symlink followed,
//   nothing outside the roots, no filesystem mounted below a root).
// - netem: root qdiscs with our handle ca05: on any interface of the
//   agent's network namespace (faults::RemoveLeftoverNetem).
// - partition: inet nftables tables named chaos_* in the agent's network
//   namespace (faults::RemoveLeftoverPartitions).
// Whatever a live record (active, or failed with undo state) still names is
// kept: the record's own revert owns it. Each item found is logged
// ("sweep: removed leftover ...", or "killed" for a process) and audited
// ("audit action=sweep kind=<kind> item=\"...\" result=\"...\""). A failure
// is logged and counted; the sweep itself never fails. Not thread-safe: run
// it once, before serving.
// One agent per host is the model: while another copy of the same binary
// runs (OtherRunningCopy), its live faults are indistinguishable from
// leftovers, so only the orphan sweep runs; the rest is skipped, logged and
// audited (result="skipped: ...").
#ifndef CHAOS_AGENT_SWEEP_H_
#define CHAOS_AGENT_SWEEP_H_

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chaos/v1/ledger.pb.h"

namespace chaos::agent {

// What the sweep must leave alone: the host objects live records name.
struct SweepKeep {
  std::set<std::string> fill_paths;   // disk_fill undo "path"
  std::set<int> netem_ifindexes;      // netem undo "ifindex"
  std::set<std::string> nft_tables;   // partition undo "table"
};

// The objects `live` (records still live after recovery) name.
SweepKeep KeepFromRecords(const std::vector<chaos::v1::LedgerRecord>& live);

struct SweepResult {
  size_t removed = 0;  // leftovers removed (or killed)
  size_t failed = 0;   // leftovers found but not removed
  bool skipped = false;  // another copy runs: only orphans were swept
};

// A process (other than this one) running the same executable file as this
// one, if any.
std::optional<pid_t> OtherRunningCopy();

// Runs every sweep above (fills under `fill_roots`), journaling each item.
SweepResult SweepLeftovers(const std::vector<std::string>& fill_roots, const SweepKeep& keep);

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_SWEEP_H_
