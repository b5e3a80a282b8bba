// Sweep: at start-up, removes leftovers that carry the tool's tag but that
// no ledger record accounts for: burner and memory-holder processes
// ("chaos-burn", "chaos-mem") that were orphaned and reparented to init (an
// agent that died before it could journal them; normally the parent-death
// signal has already ended them). A tagged process whose parent lives
// belongs to that parent (another agent on the host) and is left alone.
#ifndef CHAOS_AGENT_SWEEP_H_
#define CHAOS_AGENT_SWEEP_H_

#include <string>
#include <vector>

namespace chaos::agent {

// Kills orphaned tagged processes; returns one line per process killed.
std::vector<std::string> SweepOrphanedProcesses();

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_SWEEP_H_
