// The summary chaosctl prints after a run.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/report/format.h"
#include "controller/report/report.h"

namespace chaos::controller {

using report_format::Secs;

std::string ReportText(const RunReport& r) {
  std::string out = absl::StrCat("\n== ", r.experiment, " (run ", r.run_id, "): ",
                                 OutcomeName(r.outcome), " ==\n");
  if (!r.hypothesis.empty()) absl::StrAppend(&out, "hypothesis: ", r.hypothesis, "\n");
  if (!r.reason.empty()) absl::StrAppend(&out, "reason: ", r.reason, "\n");
  absl::StrAppend(&out, "duration: ", Secs(r.ended_at - r.started_at), ", seed ", r.seed, "\n");
  for (const TargetResolution& t : r.targets) {
    absl::StrAppend(&out, "target ", t.group, " (", t.selector, ", ", t.mode, "): ",
                    t.agents.empty() ? "no agent" : absl::StrJoin(t.agents, ", "), "\n");
  }
  if (r.faults.empty()) absl::StrAppend(&out, "faults: none injected\n");
  for (const FaultRecord& f : r.faults) {
    absl::StrAppend(&out, "fault ", f.step, " (", f.kind, ") on ", f.agent, ": ");
    if (f.injected_at == absl::InfinitePast()) {
      absl::StrAppend(&out, "not injected");
    } else {
      absl::StrAppend(&out, f.summary, "; ");
      if (f.reverted) {
        absl::StrAppend(&out, "reverted after ", Secs(f.reverted_at - f.injected_at));
      } else {
        absl::StrAppend(&out, "NOT REVERTED: ", f.error);
      }
    }
    absl::StrAppend(&out, "\n");
  }
  for (const StepRecord& s : r.steps) {
    if (s.kind == "command" || s.kind == "manual" || s.state == StepState::kFailed ||
        s.state == StepState::kSkipped) {
      absl::StrAppend(&out, "step ", s.id, " (", s.kind, "): ", StepStateName(s.state));
      if (s.started_at != absl::InfinitePast() && s.ended_at != absl::InfinitePast()) {
        absl::StrAppend(&out, " in ", Secs(s.ended_at - s.started_at));
      }
      if (!s.detail.empty()) absl::StrAppend(&out, " -- ", s.detail);
      absl::StrAppend(&out, "\n");
    }
  }
  if (r.recovery.measured) {
    const RecoveryResult& rec = r.recovery;
    if (rec.recovered) {
      absl::StrAppend(&out, "recovery: ", Secs(rec.time), " from ", rec.from);
      if (rec.objective) {
        absl::StrAppend(&out, " (objective ", Secs(*rec.objective),
                        rec.objective_met ? ": met)" : ": MISSED)");
      }
      for (const auto& [probe, d] : rec.per_probe) absl::StrAppend(&out, "; ", probe, " ", Secs(d));
      absl::StrAppend(&out, "\n");
    } else {
      absl::StrAppend(&out, "recovery: NOT recovered (from ", rec.from, ", gave up after ",
                      Secs(rec.ended_at - rec.started_at), ")\n");
    }
  }
  absl::StrAppend(&out, "rollback: ", RollbackStateName(r.rollback), "\n");
  if (!r.manual_undo.empty()) {
    absl::StrAppend(&out, "\n!! Rollback incomplete. Undo by hand:\n");
    for (const std::string& c : r.manual_undo) absl::StrAppend(&out, "   ", c, "\n");
  }
  return out;
}

}  // namespace chaos::controller
