#include "controller/report/run_report.h"

#include "absl/strings/str_format.h"
#include "controller/report/format.h"

namespace chaos::controller {

int ExitCode(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kPassed: return 0;
    case RunOutcome::kFailed: return 1;
    case RunOutcome::kRollbackIncomplete: return 3;
    case RunOutcome::kUnavailable: return 4;
    case RunOutcome::kInterrupted: return 130;
  }
  return 1;
}

const char* OutcomeName(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kPassed: return "passed";
    case RunOutcome::kFailed: return "failed";
    case RunOutcome::kRollbackIncomplete: return "ROLLBACK INCOMPLETE";
    case RunOutcome::kUnavailable: return "not started";
    case RunOutcome::kInterrupted: return "interrupted";
  }
  return "?";
}

const char* StepStateName(StepState state) {
  switch (state) {
    case StepState::kPending: return "pending";
    case StepState::kRunning: return "running";
    case StepState::kDone: return "done";
    case StepState::kFailed: return "failed";
    case StepState::kSkipped: return "skipped";
  }
  return "?";
}

const char* RollbackStateName(RollbackState state) {
  switch (state) {
    case RollbackState::kNotNeeded: return "not needed";
    case RollbackState::kComplete: return "complete";
    case RollbackState::kIncomplete: return "incomplete";
    case RollbackState::kSkipped: return "skipped (rollback: never)";
  }
  return "?";
}

std::string DrillResult::IntegrityState() const {
  if (!integrity_checked) return "not checked";
  if (!integrity_error.empty()) return "error";
  if (backup_digest.empty() || restored_digest.empty()) return "not measured";
  return backup_digest == restored_digest ? "ok" : "mismatch";
}

bool DrillResult::ObjectivesMet() const {
  if (rto_objective && (!rto || *rto > *rto_objective)) return false;
  if (rpo_objective && (!rpo || *rpo > *rpo_objective)) return false;
  return !integrity_required || IntegrityState() == "ok";
}

namespace report_format {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string Secs(absl::Duration d) { return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d)); }

std::string HumanDuration(absl::Duration d) {
  if (!FiniteDuration(d)) return "n/a";
  return absl::FormatDuration(absl::Milliseconds(absl::ToInt64Milliseconds(d)));
}

}  // namespace report_format
}  // namespace chaos::controller
