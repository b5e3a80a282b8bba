#include "controller/report/run_report.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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

std::string OutcomeText(const RunReport& report) {
  return WithLostAgents(OutcomeName(report.outcome), report.lost_agents.size());
}

std::string WithLostAgents(const std::string& outcome, size_t lost) {
  if (lost == 0) return outcome;
  return absl::StrFormat("%s with %d agent%s lost", outcome, lost, lost == 1 ? "" : "s");
}

std::string LostAgentText(const LostAgent& lost) {
  return absl::StrCat(lost.agent, lost.step.empty() ? " in preflight" : " at step " + lost.step,
                      ": ", lost.reason);
}

std::vector<LostAgent> LostAgentsInJournal(const std::vector<JournalEvent>& events) {
  std::vector<LostAgent> lost;
  for (const JournalEvent& e : events) {
    if (e.type != "lost" || e.agent.empty()) continue;
    absl::string_view why = e.message;
    absl::ConsumeSuffix(&why, kLostEventSuffix);
    lost.push_back({e.agent, e.step, std::string(why), e.at});
  }
  return lost;
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

absl::Duration StepRecord::InjectSpread() const {
  if (first_ack == absl::InfinitePast() || last_ack == absl::InfinitePast()) {
    return absl::InfiniteDuration();
  }
  return last_ack - first_ack;
}

bool DrillResult::ObjectivesMet() const {
  if (rto_objective && (!rto || *rto > *rto_objective)) return false;
  if (rpo_objective && (!rpo || *rpo > *rpo_objective)) return false;
  return !integrity_required || IntegrityState() == "ok";
}

namespace {

// The span faults were in place: the first inject to the last revert, or
// to the run's end (or forever) when one was never reverted. Empty when
// nothing was injected.
std::pair<absl::Time, absl::Time> FaultSpan(const RunReport& r) {
  absl::Time first = absl::InfiniteFuture();
  absl::Time last = absl::InfinitePast();
  for (const FaultRecord& f : r.faults) {
    if (f.injected_at == absl::InfinitePast()) continue;
    first = std::min(first, f.injected_at);
    const absl::Time end = f.reverted_at != absl::InfinitePast() ? f.reverted_at
                           : r.ended_at != absl::InfinitePast()  ? r.ended_at
                                                                 : absl::InfiniteFuture();
    last = std::max(last, end);
  }
  return {first, last};
}

}  // namespace

std::vector<ProbeSummary> SummarizeProbes(const RunReport& report) {
  const auto [first, last] = FaultSpan(report);
  std::vector<ProbeSummary> out;
  std::map<std::string, size_t> index;
  for (const ProbeSample& s : report.probes) {
    auto [it, added] = index.emplace(s.probe, out.size());
    if (added) out.emplace_back().probe = s.probe;
    ProbeSummary& p = out[it->second];
    ++p.samples;
    p.failures += s.ok ? 0 : 1;
    if (s.at >= first && s.at <= last) {
      ++p.during_faults;
      p.ok_during_faults += s.ok ? 1 : 0;
    }
    if (!s.ok && s.at >= first) {  // samples are not in time order: keep the earliest
      p.time_to_detect = std::min(p.time_to_detect.value_or(absl::InfiniteDuration()), s.at - first);
    }
  }
  for (ProbeSummary& p : out) {
    if (p.during_faults > 0) {
      p.availability_during_faults = static_cast<double>(p.ok_during_faults) / p.during_faults;
    }
  }
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

namespace report_format {

std::string Secs(absl::Duration d) { return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d)); }

std::string HumanDuration(absl::Duration d) {
  if (!FiniteDuration(d)) return "n/a";
  return absl::FormatDuration(absl::Milliseconds(absl::ToInt64Milliseconds(d)));
}

namespace {

// "18.9 kB", "40.1 MB": decimal units, one decimal.
std::string Bytes(double n) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  size_t u = 0;
  while (n >= 1000 && u + 1 < std::size(units)) {
    n /= 1000;
    ++u;
  }
  return u == 0 ? absl::StrFormat("%.0f B", n) : absl::StrFormat("%.1f %s", n, units[u]);
}

}  // namespace

std::string DrillSizeText(const DrillResult& d) {
  if (!d.size_error.empty()) return "backup size not known: " + d.size_error;
  if (!d.backup_bytes) return "";
  std::string out = "backup " + Bytes(static_cast<double>(*d.backup_bytes));
  if (d.restore_bytes_per_second) {
    out += ", restored at " + Bytes(*d.restore_bytes_per_second) + "/s";
  }
  return out;
}

std::string WindowText(const StepRecord& s) {
  if (!Finite(s.planned_end) || !FiniteDuration(s.InjectSpread())) return "";
  if (Finite(s.planned_start)) {
    return absl::StrFormat("faults started within %.1fms (first to last), planned start %s, "
                           "planned end %s",
                           absl::ToDoubleMilliseconds(s.InjectSpread()),
                           Rfc3339(s.planned_start), Rfc3339(s.planned_end));
  }
  return absl::StrFormat("injects acknowledged within %.1fms (first to last), planned end %s",
                         absl::ToDoubleMilliseconds(s.InjectSpread()), Rfc3339(s.planned_end));
}

}  // namespace report_format
}  // namespace chaos::controller
