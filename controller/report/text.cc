// The summary chaosctl prints after a run.
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controller/report/format.h"
#include "controller/report/report.h"

namespace chaos::controller {

using report_format::Elapsed;
using report_format::ObjectiveMet;
using report_format::Secs;

namespace {

// " (objective 30.0s: met)"; empty when there is no objective.
std::string ObjectiveNote(const std::optional<absl::Duration>& objective,
                          const std::optional<bool>& met) {
  if (!objective || !met) return "";
  return absl::StrCat(" (objective ", Secs(*objective), *met ? ": met)" : ": MISSED)");
}

// "drill: RTO 4.2s (objective 30.0s: met); restore started +1.0s, ..."
std::string RtoLine(const DrillResult& d) {
  std::string out =
      absl::StrCat("drill: RTO ", d.rto ? Secs(*d.rto) : "not measured",
                   ObjectiveNote(d.rto_objective, ObjectiveMet(d.rto, d.rto_objective)));
  const char* sep = "; ";
  for (const auto& phase : report_format::DrillPhases(d)) {
    const std::optional<absl::Duration> since = Elapsed(d.disaster_at, phase.at);
    absl::StrAppend(&out, sep, phase.label, " ", since ? "+" + Secs(*since) : "not reached");
    sep = ", ";
  }
  return out + "\n";
}

// "drill: RPO 2.0s (objective 10.0s: met), 12 canaries acknowledged"
std::string RpoLine(const DrillResult& d) {
  std::string out = "drill: RPO ";
  if (d.rpo) {
    absl::StrAppend(&out, Secs(*d.rpo));
  } else {
    absl::StrAppend(&out, "not measured", d.rpo_error.empty() ? "" : ": ", d.rpo_error);
  }
  absl::StrAppend(&out, ObjectiveNote(d.rpo_objective, ObjectiveMet(d.rpo, d.rpo_objective)), ", ",
                  d.canaries_written, " canaries acknowledged");
  if (d.canaries_failed > 0) absl::StrAppend(&out, ", ", d.canaries_failed, " failed");
  return out + "\n";
}

// "probe api: 7/10 ok while faults were in place (70%), failing 1.2s after
// the first inject"; "probe api: 12 checks, 0 failed" when no fault was in
// place.
std::string ProbeLine(const ProbeSummary& p) {
  std::string out = absl::StrCat("probe ", p.probe, ": ");
  if (p.availability_during_faults) {
    absl::StrAppend(&out, p.ok_during_faults, "/", p.during_faults,
                    " ok while faults were in place (",
                    absl::StrFormat("%.0f%%", *p.availability_during_faults * 100), ")");
  } else {
    absl::StrAppend(&out, p.samples, " checks, ", p.failures, " failed");
  }
  if (p.time_to_detect) {
    absl::StrAppend(&out, ", failing ", report_format::Secs(*p.time_to_detect),
                    " after the first inject");
  }
  return out + "\n";
}

// "drill: integrity ok", "... MISMATCH (backup abc…, restored def…)",
// "... error: <why>" or "... not checked"; "(required: ...)" when required.
std::string IntegrityLine(const DrillResult& d) {
  const std::string state = d.IntegrityState();
  std::string out = "drill: integrity ";
  if (state == "mismatch") {
    absl::StrAppend(&out, "MISMATCH (backup ", report_format::ShortDigest(d.backup_digest),
                    ", restored ", report_format::ShortDigest(d.restored_digest), ")");
  } else if (state == "error") {
    absl::StrAppend(&out, "error: ", d.integrity_error);
  } else {
    absl::StrAppend(&out, state);
  }
  if (d.integrity_required) {
    absl::StrAppend(&out, state == "ok" ? " (required: met)" : " (required: MISSED)");
  }
  return out + "\n";
}

// "window disk-full: injects acknowledged within 12.3ms (first to last),
// planned end ..."; "" for a step without one.
std::string WindowLine(const StepRecord& s) {
  const std::string window = report_format::WindowText(s);
  return window.empty() ? "" : absl::StrCat("window ", s.id, ": ", window, "\n");
}

// "lost 127.0.0.1:7071 in preflight: cannot reach agent ...", "lost ...
// at step burn: inject failed: ..."
std::string LostLine(const LostAgent& l) { return absl::StrCat("lost ", LostAgentText(l), "\n"); }

}  // namespace

std::string ReportText(const RunReport& r) {
  std::string out = absl::StrCat("\n== ", r.experiment, " (run ", r.run_id, "): ",
                                 OutcomeText(r), " ==\n");
  if (!r.hypothesis.empty()) absl::StrAppend(&out, "hypothesis: ", r.hypothesis, "\n");
  if (!r.reason.empty()) absl::StrAppend(&out, "reason: ", r.reason, "\n");
  absl::StrAppend(&out, "duration: ", Secs(r.ended_at - r.started_at), ", seed ", r.seed, "\n");
  for (const TargetResolution& t : r.targets) {
    absl::StrAppend(&out, "target ", t.group, " (", t.selector, ", ", t.mode, "): ",
                    t.agents.empty() ? "no agent" : absl::StrJoin(t.agents, ", "), "\n");
  }
  for (const LostAgent& l : r.lost_agents) absl::StrAppend(&out, LostLine(l));
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
  for (const StepRecord& s : r.steps) absl::StrAppend(&out, WindowLine(s));
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
      absl::StrAppend(&out, ObjectiveNote(rec.objective, rec.objective_met));
      for (const auto& [probe, d] : rec.per_probe) absl::StrAppend(&out, "; ", probe, " ", Secs(d));
      absl::StrAppend(&out, "\n");
    } else {
      absl::StrAppend(&out, "recovery: NOT recovered (from ", rec.from, ", gave up after ",
                      Secs(rec.ended_at - rec.started_at), ")\n");
    }
  }
  if (r.drill.present) {
    absl::StrAppend(&out, RtoLine(r.drill), RpoLine(r.drill), IntegrityLine(r.drill));
    const std::string size = report_format::DrillSizeText(r.drill);
    if (!size.empty()) absl::StrAppend(&out, "drill: ", size, "\n");
  }
  for (const ProbeSummary& p : SummarizeProbes(r)) absl::StrAppend(&out, ProbeLine(p));
  absl::StrAppend(&out, "rollback: ", RollbackStateName(r.rollback), "\n");
  if (!r.manual_undo.empty()) {
    absl::StrAppend(&out, "\n!! Rollback incomplete. Undo by hand:\n");
    for (const std::string& c : r.manual_undo) absl::StrAppend(&out, "   ", c, "\n");
  }
  return out;
}

}  // namespace chaos::controller
