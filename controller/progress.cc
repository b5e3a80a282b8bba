#include "controller/progress.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace chaos::controller {
namespace {

std::string Secs(absl::Duration d) {
  return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
}

}  // namespace

Progress::Progress(const Experiment& experiment, FILE* out, bool tty)
    : out_(out), tty_(tty), planned_(experiment.PlannedDuration()) {
  start_ = absl::Now();
  for (const Step& s : experiment.method) {
    step_order_.push_back(s.id);
    step_state_[s.id] = "pending";
  }
  if (tty_) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() { Stop(); }

void Progress::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
    if (tty_) std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
  }
  if (thread_.joinable()) thread_.join();
}

void Progress::Loop() {
  absl::MutexLock lock(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Milliseconds(200))) Redraw();
}

void Progress::Redraw() {
  const absl::Time now = absl::Now();
  const absl::Duration elapsed = now - start_;
  std::string line = absl::StrCat("[", Secs(elapsed), " / ~", Secs(planned_), "]");
  for (const std::string& id : step_order_) {
    const std::string& st = step_state_[id];
    absl::StrAppend(&line, "  ", id, ": ", st);
    if (st == "running") absl::StrAppend(&line, " ", Secs(now - step_start_[id]));
  }
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
}

void Progress::OnEvent(const RunEvent& event) {
  absl::MutexLock lock(&mu_);
  if (event.type == "run") start_ = event.at;
  if (event.type == "step") {
    step_state_[event.step] = event.message == "started" ? "running"
                              : event.message == "ended" ? "done"
                                                         : "stopped";
    if (event.message == "started") step_start_[event.step] = event.at;
  }
  if (stop_) return;
  std::string line = absl::StrCat(
      absl::FormatTime("%H:%M:%E3S", event.at, absl::LocalTimeZone()), " ", event.type);
  if (!event.step.empty()) absl::StrAppend(&line, " [", event.step, "]");
  if (!event.agent.empty()) absl::StrAppend(&line, " ", event.agent);
  absl::StrAppend(&line, ": ", event.message);
  std::fprintf(out_, "%s%s\n", tty_ ? "\r\033[K" : "", line.c_str());
  if (tty_) Redraw();
  std::fflush(out_);
}

std::string FormatReport(const RunReport& r) {
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
    if (s.kind == "command" || s.kind == "manual" || s.state == "failed" || s.state == "skipped") {
      absl::StrAppend(&out, "step ", s.id, " (", s.kind, "): ", s.state);
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
  absl::StrAppend(&out, "rollback: ", r.rollback, "\n");
  if (!r.manual_undo.empty()) {
    absl::StrAppend(&out, "\n!! Rollback incomplete. Undo by hand:\n");
    for (const std::string& c : r.manual_undo) absl::StrAppend(&out, "   ", c, "\n");
  }
  return out;
}

}  // namespace chaos::controller
