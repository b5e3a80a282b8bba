// Remote commands: a command step, command probe or rollback action with a
// target group runs on each agent of that group through the agent's
// RunCommand RPC, under the agent's own policy, instead of where the run
// runs. The Runner's side of it (one call per agent, all of a group's in
// parallel, their outcomes in the journal) is in remote_command.cc; this
// header holds what does not need the Runner.
//
// A call carries the run id as the command's experiment: the command holds
// the run's lease on the agent (KeepAlive renews it with the faults'), and
// the agent kills it on Halt, on a RevertExperiment of the run and when the
// lease lapses. Cancelling the caller's token cancels the call, and the
// agent kills the command's process group when its call is cancelled.
//
// Thread-safe: RunOnAgent() may run for several agents at once.
#ifndef CHAOS_CONTROLLER_ENGINE_REMOTE_COMMAND_H_
#define CHAOS_CONTROLLER_ENGINE_REMOTE_COMMAND_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/subprocess.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "experiments/experiment.h"

namespace chaos::controller {

// Whether `probe` is a command check with a target.
bool IsRemoteProbe(const experiments::ProbeSpec& probe);

// What one RunCommand call says besides the command.
struct RemoteCall {
  std::string run_id;      // the command's experiment on the agent
  std::string command_id;  // unique on the agent while it runs
  std::string caller;
  absl::Duration lease;
  // Added to the command's timeout for the call's deadline: the agent's
  // answer needs time to come back after the command is killed.
  absl::Duration margin = absl::Seconds(10);
};

// Runs `argv` with `timeout` on the agent behind `stub`, and returns the
// agent's answer as an outcome: the exit code, timed_out, the output. A
// call that fails (the agent refused: PERMISSION_DENIED naming the rule;
// could not be reached; ...) sets `error` to the status ("PERMISSION_DENIED:
// policy commands: ..."), and so does a command the agent killed on its
// own ("killed on the agent: halt by ..."). When `cancel` is cancelled the
// call is cancelled at once (the agent kills the command) and the outcome
// is `cancelled`.
base::CommandOutcome RunOnAgent(chaos::v1::Agent::Stub* stub, const std::vector<std::string>& argv,
                                absl::Duration timeout, const RemoteCall& call,
                                const base::CancelToken* cancel);

// "<run>.<what>-<6 hex digits>": a command id for a probe's or a rollback
// action's call, new at each call.
std::string NewCommandId(const std::string& run_id, const std::string& what);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_ENGINE_REMOTE_COMMAND_H_
