// The Runner's drill (experiments' `drill:` section): the canary writer
// before the disaster, the disaster's clock, the backup's digest, and the
// RPO, integrity and objectives judged once the system is back. Every
// figure goes into report_.drill and the journal.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/engine/runner.h"
#include "controller/report/format.h"

namespace chaos::controller {
namespace {

JournalEvent DrillEvent(std::string message) {
  JournalEvent e;
  e.type = "drill";
  e.message = std::move(message);
  return e;
}

std::string Ms(absl::Duration d) { return report_format::HumanDuration(d); }

// "RTO 4.2s over the objective of 1s; integrity mismatch (...)": each
// objective missed, with what was measured.
std::string Misses(const DrillResult& d) {
  std::vector<std::string> misses;
  if (d.rto_objective && (!d.rto || *d.rto > *d.rto_objective)) {
    misses.push_back(d.rto ? absl::StrCat("RTO ", Ms(*d.rto), " over the objective of ",
                                          Ms(*d.rto_objective))
                           : std::string("RTO not measured"));
  }
  if (d.rpo_objective && (!d.rpo || *d.rpo > *d.rpo_objective)) {
    misses.push_back(d.rpo ? absl::StrCat("RPO ", Ms(*d.rpo), " over the objective of ",
                                          Ms(*d.rpo_objective))
                           : absl::StrCat("RPO not measured: ", d.rpo_error));
  }
  if (d.integrity_required && d.IntegrityState() != "ok") {
    misses.push_back(d.IntegrityState() == "error"
                         ? absl::StrCat("integrity not checked: ", d.integrity_error)
                         : absl::StrCat("integrity mismatch: the backup's digest was \"",
                                        d.backup_digest, "\", the restored data's is \"",
                                        d.restored_digest, "\""));
  }
  return absl::StrJoin(misses, "; ");
}

}  // namespace

void Runner::InitDrill() {
  const experiments::Drill& drill = experiment_.drill;
  DrillResult& d = report_.drill;
  d.present = drill.present;
  d.disaster_step = drill.disaster;
  d.restore_step = drill.restore;
  d.rto_objective = drill.rto;
  d.rpo_objective = drill.rpo;
  d.integrity_checked = drill.manifest.has_value();
  d.integrity_required = drill.integrity_required;
}

std::optional<std::string> Runner::DrillCommand(const CommandSpec& cmd,
                                                const std::vector<std::string>& extra_args,
                                                std::string* error) {
  std::vector<std::string> argv = cmd.argv;
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  const base::CommandOutcome out = base::RunCommand(argv, cmd.timeout, &stop_commands_);
  if (!out.ok()) {
    *error = absl::StrCat(absl::StrJoin(cmd.argv, " "), ": ", CommandDetail(out, cmd.timeout));
    return std::nullopt;
  }
  std::string text(absl::StripAsciiWhitespace(out.output));
  if (text.empty()) *error = absl::StrCat(absl::StrJoin(cmd.argv, " "), ": printed nothing");
  if (text.empty()) return std::nullopt;
  return text;
}

void Runner::CanaryLoop() {
  const Canary& canary = *experiment_.drill.canary;
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return aborted_ || method_done_ || report_.drill.disaster_at != absl::InfinitePast();
  };
  for (;;) {
    const int64_t marker = absl::ToUnixMillis(absl::Now());
    {
      absl::MutexLock lock(&mu_);
      if (stop()) return;
    }
    std::vector<std::string> argv = canary.write.argv;
    argv.push_back(absl::StrCat(marker));
    const base::CommandOutcome out =
        base::RunCommand(argv, canary.write.timeout, &stop_commands_);
    std::string failed;
    {
      absl::MutexLock lock(&mu_);
      DrillResult& d = report_.drill;
      if (d.disaster_at != absl::InfinitePast()) return;  // it may not have landed
      if (out.ok()) {
        ++d.canaries_written;
        d.last_acknowledged = absl::FromUnixMillis(marker);
      } else {
        ++d.canaries_failed;
        failed = canary_error_ = CommandDetail(out, canary.write.timeout);
      }
    }
    if (!failed.empty()) Emit(DrillEvent(absl::StrCat("canary write failed: ", failed)));
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithDeadline(absl::Condition(&stop),
                              absl::FromUnixMillis(marker) + canary.interval)) {
      return;
    }
  }
}

void Runner::AwaitFirstCanary() {
  if (!experiment_.drill.canary) return;
  std::string error;
  {
    absl::MutexLock lock(&mu_);
    auto tried = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return aborted_ || report_.drill.canaries_written + report_.drill.canaries_failed > 0;
    };
    mu_.Await(absl::Condition(&tried));
    if (aborted_ || report_.drill.canaries_written > 0) return;
    error = canary_error_;
  }
  Abort(RunOutcome::kFailed,
        absl::StrCat("drill.canary.write: the first canary was not acknowledged, so the "
                     "method did not start: ", error));
}

void Runner::MarkDisaster(absl::Time at) {
  {
    absl::MutexLock lock(&mu_);
    report_.drill.disaster_at = at;
  }
  Emit(DrillEvent(absl::StrCat("disaster: ", experiment_.drill.disaster, " injects")));
}

void Runner::StartDrillClock() {
  absl::Time start;
  {
    absl::MutexLock lock(&mu_);
    start = report_.drill.disaster_at;
  }
  if (experiment_.recovery.present) StartRecoveryClock(start);
}

bool Runner::RestoreStarted() {
  if (!experiment_.drill.present) return true;
  const size_t restore = experiment_.StepIndex(experiment_.drill.restore).value();
  absl::MutexLock lock(&mu_);
  return report_.steps[restore].started_at != absl::InfinitePast();
}

void Runner::NoteFirstProbeOk(absl::Time round) {
  absl::MutexLock lock(&mu_);
  if (!report_.drill.present || report_.drill.first_probe_ok_at != absl::InfinitePast()) return;
  report_.drill.first_probe_ok_at = round;
}

bool Runner::RecordBackupDigest() {
  if (!experiment_.drill.manifest) return true;
  std::string error;
  const std::optional<std::string> digest = DrillCommand(*experiment_.drill.manifest, {}, &error);
  if (!digest) {
    {
      absl::MutexLock lock(&mu_);
      report_.drill.integrity_error = absl::StrCat("after the backup: ", error);
    }
    Abort(RunOutcome::kFailed, absl::StrCat("drill.manifest after the backup failed: ", error));
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    report_.drill.backup_digest = *digest;
  }
  Emit(DrillEvent(absl::StrCat("backup digest: ", *digest)));
  return true;
}

void Runner::RecordBackupSize() {
  if (!experiment_.drill.backup_size) return;
  std::string error;
  const std::optional<std::string> text = DrillCommand(*experiment_.drill.backup_size, {}, &error);
  uint64_t bytes = 0;
  if (text) {
    const size_t start = text->find_first_of("0123456789");
    const std::string digits =
        start == std::string::npos ? "" : text->substr(start, text->find_first_not_of("0123456789", start) - start);
    if (!absl::SimpleAtoi(digits, &bytes)) {
      error = absl::StrCat("drill.backupSize printed \"", *text, "\", not a size in bytes");
    }
  }
  if (!error.empty()) {
    {
      absl::MutexLock lock(&mu_);
      report_.drill.size_error = error;
    }
    Emit(DrillEvent(absl::StrCat("backup size not known: ", error)));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    report_.drill.backup_bytes = bytes;
  }
  Emit(DrillEvent(absl::StrCat("backup size: ", bytes, " bytes")));
}

void Runner::RecordDrillPhases() {
  if (!experiment_.drill.present) return;
  const size_t restore = experiment_.StepIndex(experiment_.drill.restore).value();
  absl::MutexLock lock(&mu_);
  DrillResult& d = report_.drill;
  const StepRecord& rec = report_.steps[restore];
  d.restore_started_at = rec.started_at;
  d.restore_ended_at = rec.ended_at;
  const absl::Duration took = d.restore_ended_at - d.restore_started_at;
  if (d.backup_bytes && rec.state == StepState::kDone && took > absl::ZeroDuration()) {
    d.restore_bytes_per_second = *d.backup_bytes / absl::ToDoubleSeconds(took);
  }
  if (report_.recovery.recovered) {
    d.healthy_at = report_.recovery.ended_at;
    d.rto = d.healthy_at - d.disaster_at;
  }
}

void Runner::MeasureRpo() {
  if (!experiment_.drill.canary) return;
  std::string error;
  const std::optional<std::string> text =
      DrillCommand(experiment_.drill.canary->read, {}, &error);
  int64_t newest = 0;
  if (text) {
    const std::string last(absl::StripAsciiWhitespace(text->substr(text->rfind('\n') + 1)));
    if (!absl::SimpleAtoi(last, &newest) || newest <= 0) {
      error = absl::StrCat("drill.canary.read printed \"", last,
                           "\", not a marker (milliseconds since the Unix epoch)");
    }
  } else if (error.ends_with(": printed nothing")) {
    error = "no canary is present after the restore (drill.canary.read printed nothing)";
  }
  absl::MutexLock lock(&mu_);
  DrillResult& d = report_.drill;
  if (newest <= 0 || !error.empty()) {
    d.rpo_error = error;
    return;
  }
  d.newest_present = absl::FromUnixMillis(newest);
  d.rpo = std::max(absl::ZeroDuration(), d.last_acknowledged - d.newest_present);
}

void Runner::CheckIntegrity() {
  if (!experiment_.drill.manifest) return;
  std::string error;
  const std::optional<std::string> digest = DrillCommand(*experiment_.drill.manifest, {}, &error);
  absl::MutexLock lock(&mu_);
  if (digest) report_.drill.restored_digest = *digest;
  else report_.drill.integrity_error = absl::StrCat("after the restore: ", error);
}

bool Runner::JudgeDrill() {
  MeasureRpo();
  CheckIntegrity();
  DrillResult d;
  {
    absl::MutexLock lock(&mu_);
    d = report_.drill;
  }
  Emit(DrillEvent(absl::StrCat(
      "RTO ", d.rto ? Ms(*d.rto) : "not measured", "; RPO ",
      d.rpo ? Ms(*d.rpo) : (d.rpo_error.empty() ? "not measured" : d.rpo_error), "; integrity ",
      d.IntegrityState())));
  if (d.ObjectivesMet()) return true;
  Abort(RunOutcome::kFailed, absl::StrCat("drill objectives missed: ", Misses(d)));
  return false;
}

}  // namespace chaos::controller
