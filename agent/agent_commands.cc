// The Agent's commands (RunCommand): the request and the policy checked,
// the command admitted to the command table, journaled, run and audited;
// and what stops commands, or finds what an earlier run's commands left.
#include "agent/agent.h"

#include <map>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/audit.h"
#include "agent/recovery.h"
#include "agent/request_check.h"
#include "base/status_macros.h"
#include "faults/host_os.h"
#include "faults/process.h"
#include "proto/duration.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {

namespace {

// What base::RunCommand needs from the request.
base::CommandOptions CommandOptionsOf(const chaos::v1::RunCommandRequest& request,
                                      const CommandSwitch& stop) {
  base::CommandOptions options;
  options.timeout = FromProto(request.timeout());
  options.cancel = &stop.token();
  options.env.insert(request.env().begin(), request.env().end());
  options.working_dir = request.working_dir().empty() ? "/" : request.working_dir();
  return options;
}

chaos::v1::RunCommandResponse ToResponse(const base::CommandOutcome& out,
                                         const std::string& stop_reason) {
  chaos::v1::RunCommandResponse response;
  response.set_exit_code(out.exit_code);
  response.set_timed_out(out.timed_out);
  response.set_cancelled(out.cancelled);
  if (out.cancelled) response.set_stop_reason(stop_reason);
  response.set_output(out.output);
  response.set_output_truncated(out.output_truncated);
  ToProto(out.took, response.mutable_duration());
  return response;
}

chaos::v1::CommandRecord RecordOf(const chaos::v1::RunCommandRequest& request,
                                  const std::string& caller) {
  chaos::v1::CommandRecord record;
  record.set_command_id(request.command_id());
  record.set_experiment_id(request.experiment_id());
  record.set_caller(caller);
  *record.mutable_argv() = request.argv();
  return record;
}

// Once the command's process exists, before it execs (base::RunCommand
// waits for this): its process group and the start time of its first
// process, in its journal record.
void JournalStarted(CommandJournal& journal, chaos::v1::CommandRecord* record, pid_t pid) {
  record->set_process_group(pid);
  record->set_started_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  if (auto info = faults::ReadProcessInfo(pid); info.ok()) {
    record->set_leader_start_ticks(info->id.start_ticks);
  }
  if (absl::Status s = journal.Put(*record); !s.ok()) {
    spdlog::error("command {}: cannot journal its process group {}: {}", record->command_id(),
                  pid, s.ToString());
  }
}

// The audit line's result: "exit 0 after 1.2s", "timed out after 5s",
// "killed after 3s: halt by ...", or why it did not start.
std::string EndOf(const base::CommandOutcome& out, const std::string& stop_reason) {
  const std::string took = absl::FormatDuration(absl::Trunc(out.took, absl::Milliseconds(1)));
  if (!out.error.empty()) return absl::StrCat("not started: ", out.error);
  if (out.cancelled) return absl::StrCat("killed after ", took, ": ", stop_reason);
  if (out.timed_out) return absl::StrCat("timed out after ", took);
  return absl::StrCat("exit ", out.exit_code, " after ", took);
}

}  // namespace

absl::StatusOr<chaos::v1::RunCommandResponse> Agent::RunCommand(
    const chaos::v1::RunCommandRequest& request, const std::string& caller,
    std::shared_ptr<CommandSwitch> stop) {
  ASSIGN_OR_RETURN(const absl::Duration lease,
                   CheckRunCommandRequest(request, options_.policy.max_duration,
                                          options_.default_lease));
  const std::vector<std::string> argv(request.argv().begin(), request.argv().end());
  const std::map<std::string, std::string> env(request.env().begin(), request.env().end());
  if (absl::Status allowed = options_.policy.CheckCommand(argv, env); !allowed.ok()) {
    AuditCommand("command-refuse", request, caller, std::string(allowed.message()));
    return allowed;
  }
  RETURN_IF_ERROR(commands_.Add({request.command_id(), request.experiment_id(), caller, stop}));
  absl::Cleanup forget = [&] { commands_.Remove(request.command_id()); };
  // Journaled before it starts, so that an agent killed from here on finds
  // what the command left at its next start.
  chaos::v1::CommandRecord record = RecordOf(request, caller);
  RETURN_IF_ERROR(journal_->Put(record));
  absl::Cleanup unjournal = [&] {
    if (absl::Status s = journal_->Remove(request.command_id()); !s.ok()) {
      spdlog::error("command {}: cannot remove its journal record: {}", request.command_id(),
                    s.ToString());
    }
  };
  timer_.Schedule(leases_.Hold(request.experiment_id(), lease, absl::Now()));
  AuditCommand("command-start", request, caller, "starting");
  base::CommandOptions options = CommandOptionsOf(request, *stop);
  options.on_start = [&](pid_t pid) { JournalStarted(*journal_, &record, pid); };
  const base::CommandOutcome out = base::RunCommand(argv, options);
  AuditCommand("command-end", request, caller, EndOf(out, stop->reason()));
  if (!out.error.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("the command did not start: ", out.error));
  }
  return ToResponse(out, stop->reason());
}

void Agent::StopCommands(const std::string& reason) {
  commands_.Close(absl::UnavailableError("the agent is stopping"), /*for_good=*/true);
  (void)StopCommandsOf([](const RunningCommand&) { return true; }, reason, kCommandStopWait);
}

size_t Agent::RecoverCommands() {
  return chaos::agent::RecoverCommands(*journal_, faults::RealProcessOs());
}

std::vector<std::string> Agent::StopCommandsOf(const CommandTable::Predicate& pred,
                                               const std::string& reason, absl::Duration wait) {
  std::vector<std::string> stopped = commands_.Stop(pred, reason, wait);
  if (!stopped.empty()) {
    spdlog::warn("stopped {} command(s) ({}): {}", stopped.size(), reason,
                 absl::StrJoin(stopped, ", "));
  }
  return stopped;
}

}  // namespace chaos::agent
