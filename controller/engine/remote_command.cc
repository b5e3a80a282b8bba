#include "controller/engine/remote_command.h"

#include <poll.h>

#include <algorithm>
#include <functional>
#include <utility>
#include <variant>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "base/fan_out.h"
#include "controller/engine/runner.h"
#include "proto/duration.h"
#include "rpc/status.h"

namespace chaos::controller {
namespace {

// Blocks until `done` is cancelled; cancels the call (`ctx`) as soon as
// `cancel` is, then keeps waiting for the call to end.
void AwaitCall(const base::CancelToken& done, const base::CancelToken* cancel,
               grpc::ClientContext* ctx) {
  bool cancelled = false;
  while (!done.cancelled()) {
    pollfd fds[2] = {{done.fd(), POLLIN, 0}, {cancel != nullptr ? cancel->fd() : -1, POLLIN, 0}};
    poll(fds, cancelled || cancel == nullptr ? 1 : 2, -1);
    if (!cancelled && cancel != nullptr && cancel->cancelled()) {
      cancelled = true;
      ctx->TryCancel();
    }
  }
}

chaos::v1::RunCommandRequest RequestFor(const std::vector<std::string>& argv,
                                        absl::Duration timeout, const RemoteCall& call) {
  chaos::v1::RunCommandRequest req;
  for (const std::string& a : argv) req.add_argv(a);
  ToProto(timeout, req.mutable_timeout());
  req.set_caller(call.caller);
  req.set_experiment_id(call.run_id);
  req.set_command_id(call.command_id);
  ToProto(call.lease, req.mutable_lease());
  return req;
}

// The agent's answer (or the call's failure) as an outcome.
base::CommandOutcome OutcomeOf(const grpc::Status& status,
                               const chaos::v1::RunCommandResponse& resp, bool cancelled) {
  base::CommandOutcome out;
  if (!status.ok()) {
    if (cancelled && status.error_code() == grpc::StatusCode::CANCELLED) {
      out.cancelled = true;
    } else {
      out.error = rpc::StatusText(status);
    }
    return out;
  }
  out.exit_code = resp.exit_code();
  out.timed_out = resp.timed_out();
  out.output = resp.output();
  out.output_truncated = resp.output_truncated();
  out.took = FromProto(resp.duration());
  if (resp.cancelled()) out.error = absl::StrCat("killed on the agent: ", resp.stop_reason());
  return out;
}

}  // namespace

bool IsRemoteProbe(const experiments::ProbeSpec& probe) {
  const auto* check = std::get_if<experiments::CommandCheck>(&probe.check);
  return check != nullptr && !check->target.empty();
}

std::string NewCommandId(const std::string& run_id, const std::string& what) {
  absl::BitGen gen;
  return absl::StrCat(run_id, ".", what, "-",
                      absl::StrFormat("%06x", absl::Uniform<uint32_t>(gen, 0, 0x1000000)));
}

base::CommandOutcome RunOnAgent(chaos::v1::Agent::Stub* stub, const std::vector<std::string>& argv,
                                absl::Duration timeout, const RemoteCall& call,
                                const base::CancelToken* cancel) {
  const absl::Time start = absl::Now();
  if (cancel != nullptr && cancel->cancelled()) {
    base::CommandOutcome out;
    out.cancelled = true;
    return out;
  }
  const chaos::v1::RunCommandRequest req = RequestFor(argv, timeout, call);
  chaos::v1::RunCommandResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(start + timeout + call.margin));
  base::CancelToken done;
  absl::Mutex mu;
  grpc::Status status;
  stub->async()->RunCommand(&ctx, &req, &resp, [&](grpc::Status s) {
    {
      absl::MutexLock lock(&mu);
      status = std::move(s);
    }
    done.Cancel();
  });
  AwaitCall(done, cancel, &ctx);
  absl::MutexLock lock(&mu);
  base::CommandOutcome out =
      OutcomeOf(status, resp, cancel != nullptr && cancel->cancelled());
  if (out.took == absl::ZeroDuration()) out.took = absl::Now() - start;
  return out;
}

// The Runner's side: one call per agent of the group, in parallel.

std::vector<Runner::AgentOutcome> Runner::RunOnGroup(const CommandSpec& cmd,
                                                     const std::vector<Agent*>& agents,
                                                     const std::string& id, absl::Duration margin,
                                                     const base::CancelToken* cancel,
                                                     const OnAgentDone& on_done) {
  const RemoteCall call{options_.run_id, id, options_.caller, options_.lease, margin};
  std::vector<AgentOutcome> outcomes(agents.size());
  // options_.fan_out agents at once: a command may run for as long as its
  // timeout, holding one of them.
  base::FanOut(agents.size(), options_.fan_out, [&](size_t i) {
    outcomes[i].agent = agents[i];
    outcomes[i].out = RunOnAgent(agents[i]->stub.get(), cmd.argv, cmd.timeout, call, cancel);
    if (on_done) on_done(outcomes[i]);
  });
  return outcomes;
}

// A command step with a target: it fails, and the run aborts, as soon as
// the command fails on one agent that cannot be lost (which stops it on the
// others).
void Runner::RunRemoteCommandStep(size_t index) {
  const Step& step = experiment_.method[index];
  const CommandSpec& cmd = *step.command;
  const std::vector<Agent*> agents = AgentsOf(cmd.target);
  if (agents.empty()) {
    SetStep(index, StepState::kSkipped, "no agent matched its target group");
    return;
  }
  if (!Authorized(index)) {
    SetStep(index, StepState::kFailed, "not sent: this controller may no longer lead");
    return;
  }
  for (const Agent* agent : agents) {
    Emit(Event("command", step.id, agent->address, absl::StrJoin(cmd.argv, " ")));
  }
  const auto outcomes = RunOnGroup(
      cmd, agents, absl::StrCat(options_.run_id, ".", step.id),
      std::max(options_.rpc_timeout, absl::Seconds(5)), &stop_commands_,
      [&](const AgentOutcome& a) {
        const std::string detail = CommandDetail(a.out, cmd.timeout);
        Emit(Event("command", step.id, a.agent->address, detail));
        if (a.out.ok() || LoseOnCommand(a, step.id, detail)) return;
        Abort(RunOutcome::kFailed, absl::StrCat("step ", step.id, ": command failed on ",
                                                a.agent->address, ": ", detail));
      });
  size_t lost = 0;
  for (const AgentOutcome& a : outcomes) {
    if (a.out.ok()) continue;
    if (absl::MutexLock lock(&mu_); IsLost(a.agent->address)) {
      ++lost;
      continue;
    }
    SetStep(index, StepState::kFailed,
            absl::StrCat("on ", a.agent->address, ": ", CommandDetail(a.out, cmd.timeout)));
    return;
  }
  SetStep(index, StepState::kRunning,
          absl::StrCat("exit 0 on ", outcomes.size() - lost, " agent(s)",
                       lost > 0 ? absl::StrCat(", ", lost, " lost (maxUnavailable)") : ""));
}

bool Runner::LoseOnCommand(const AgentOutcome& a, const std::string& step,
                           const std::string& detail) {
  return !a.out.error.empty() && Lose(a.agent, step, absl::StrCat("command failed: ", detail));
}

// A command probe with a target holds when it holds on every agent of the
// group (an empty group: nothing to check, it holds).
ProbeResult Runner::RunRemoteProbe(const ProbeSpec& probe, const base::CancelToken* cancel) {
  const experiments::CommandCheck& check = std::get<experiments::CommandCheck>(probe.check);
  const CommandSpec cmd{check.argv, probe.timeout, check.target};
  ProbeResult result;
  std::vector<std::string> failures;
  const std::vector<Agent*> agents = AgentsOf(check.target);
  for (const AgentOutcome& a : RunOnGroup(cmd, agents, NewCommandId(options_.run_id, "probe"),
                                          absl::Seconds(2), cancel, nullptr)) {
    const ProbeResult r = JudgeCommandProbe(check, a.out, probe.timeout);
    result.latency = std::max(result.latency, r.latency);
    if (!r.ok) failures.push_back(absl::StrCat("on ", a.agent->address, ": ", r.detail));
  }
  result.ok = failures.empty();
  result.detail = !failures.empty() ? absl::StrJoin(failures, "; ")
                  : agents.empty()
                      ? absl::StrCat("no agent in target group ", check.target)
                      : absl::StrCat("exit ", check.exit_code, " on ", agents.size(),
                                     " agent(s)");
  return result;
}

// A rollback action with a target: each agent that fails it leaves a line
// of manual undo naming the agent. It goes to the agents lost after a fault
// was sent to them too: that fault may have landed.
void Runner::RunRemoteRollbackAction(const CommandSpec& cmd, size_t index) {
  const std::string line = absl::StrJoin(cmd.argv, " ");
  Emit(Event("rollback", "", "",
             absl::StrCat("action on target group ", cmd.target, ": ", line)));
  const std::vector<Agent*> agents = AgentsOf(cmd.target, Lost::kSentAFault);
  if (agents.empty()) {
    Emit(Event("rollback", "", "", "action skipped: no agent in its target group"));
    return;
  }
  RunOnGroup(cmd, agents, absl::StrCat(options_.run_id, ".rollback-", index),
             std::max(options_.rpc_timeout, absl::Seconds(5)), &stop_rollback_actions_,
             [&](const AgentOutcome& a) {
               const std::string detail = a.out.Summary();
               Emit(Event("rollback", "", a.agent->address,
                          absl::StrCat("action ", a.out.ok() ? "done" : "FAILED", ": ", detail)));
               if (a.out.ok()) return;
               if (options_.metrics) options_.metrics->RollbackFailed(RollbackPart::kAction);
               absl::MutexLock lock(&mu_);
               report_.manual_undo.push_back(absl::StrCat(
                   line, "    # rollback action failed on ", a.agent->address, ": ", detail));
             });
}

}  // namespace chaos::controller
