// The self-contained HTML page of a run, with its SVG timeline.
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "base/utf8.h"
#include "controller/report/format.h"
#include "controller/report/report.h"

namespace chaos::controller {
namespace {

using report_format::Elapsed;
using report_format::Finite;
using report_format::FiniteDuration;
using report_format::HumanDuration;
using report_format::ObjectiveMet;
using report_format::Rfc3339;

std::string Esc(absl::string_view raw) {
  const std::string s = base::SanitizeUtf8(raw);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&quot;"); break;
      case '\'': out.append("&#39;"); break;
      default:
        // Control characters other than tab and newline are not allowed in
        // HTML text; show them as U+FFFD.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out.append("\xEF\xBF\xBD");
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

const char* kCss = R"css(
:root { --ok: #1a7f37; --fail: #cf222e; --warn: #bc4c00; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
       margin: 0 auto; padding: 16px 24px 48px; max-width: 1180px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
header dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 0; }
header dt { color: var(--muted); }
header dd { margin: 0; white-space: pre-wrap; }
.outcome { display: inline-block; font-weight: 700; padding: 2px 10px; border-radius: 12px;
           color: #fff; letter-spacing: .03em; }
.outcome-passed { background: var(--ok); }
.outcome-failed, .outcome-rollback-incomplete { background: var(--fail); }
.outcome-unavailable, .outcome-interrupted { background: var(--warn); }
.outcome-passed.agents-lost { background: var(--warn); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.yes { color: var(--ok); font-weight: 600; }
td.no { color: var(--fail); font-weight: 600; }
.met { color: var(--ok); font-weight: 600; }
.unmet { color: var(--fail); font-weight: 600; }
.muted { color: var(--muted); }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: 8px; overflow-x: auto; }
.undo pre { border-color: var(--fail); }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 11px sans-serif; fill: #1f2328; }
svg .lane-label { font-weight: 600; }
svg .lane-bg { fill: #f6f8fa; }
svg .tick { stroke: #d0d7de; stroke-width: 1; }
svg .tick-label { fill: var(--muted); }
svg .fault-window { fill: #f4a261; stroke: #bc4c00; stroke-width: 1; }
svg .fault-window.not-reverted { fill: #cf222e; stroke: #82071e; }
svg .step-bar { fill: #8c959f; }
svg .step-bar.failed { fill: #cf222e; }
svg .probe-ok { fill: #1a7f37; }
svg .probe-fail { fill: #cf222e; }
svg .abort-mark { fill: #cf222e; }
svg .recovery-mark { fill: #0969da; }
svg .recovery-window { fill: #0969da; fill-opacity: .08; }
svg .drill-mark { fill: #8250df; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -2px; }
)css";

// Counts the SVG elements of each class that the browser actually laid out
// with a non-empty box, and records the counts on <body>, so a headless
// browser can verify what the page shows.
const char* kScript = R"js(
window.addEventListener('load', function () {
  function count(selector) {
    var n = 0;
    document.querySelectorAll(selector).forEach(function (e) {
      var r = e.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) n++;
    });
    return n;
  }
  var b = document.body;
  b.setAttribute('data-rendered-fault-windows', count('svg .fault-window'));
  b.setAttribute('data-rendered-probe-marks', count('svg .probe-ok, svg .probe-fail'));
  b.setAttribute('data-rendered-probe-ok', count('svg .probe-ok'));
  b.setAttribute('data-rendered-probe-fail', count('svg .probe-fail'));
  b.setAttribute('data-rendered-abort-marks', count('svg .abort-mark'));
  b.setAttribute('data-rendered-recovery-marks', count('svg .recovery-mark'));
  b.setAttribute('data-rendered-drill-marks', count('svg .drill-mark'));
  b.setAttribute('data-rendered-step-bars', count('svg .step-bar'));
  b.setAttribute('data-rendered', 'done');
});
)js";

// Picks a tick step of 1, 2 or 5 times a power of ten giving at most about
// ten ticks over `span_s` seconds.
double TickStep(double span_s) {
  const double raw = span_s / 10.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10.0 * p;
}

std::string Num(double v) { return absl::StrFormat("%.1f", v); }

class Timeline {
 public:
  // The axis starts at started_at and ends at ended_at, stretched to cover
  // every recorded instant. A missing (infinite) start or end falls back to
  // the earliest or latest recorded instant, so the scale stays finite.
  explicit Timeline(const RunReport& r) : r_(r) {
    std::vector<absl::Time> times;
    for (const auto& s : r.steps) {
      times.push_back(s.started_at);
      times.push_back(s.ended_at);
    }
    for (const auto& f : r.faults) {
      times.push_back(f.injected_at);
      times.push_back(f.reverted_at);
    }
    for (const auto& p : r.probes) times.push_back(p.at);
    for (const auto& e : r.events) times.push_back(e.at);
    times.push_back(r.recovery.started_at);
    times.push_back(r.recovery.ended_at);
    times.push_back(r.drill.disaster_at);
    times.push_back(r.drill.healthy_at);
    times.push_back(r.started_at);
    times.push_back(r.ended_at);
    absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
    for (absl::Time t : times) {
      if (!Finite(t)) continue;
      first = std::min(first, t);
      last = std::max(last, t);
    }
    if (!Finite(first)) first = last = absl::UnixEpoch();
    t0_ = Finite(r.started_at) ? r.started_at : first;
    t1_ = std::max(last, t0_);
    span_s_ = std::max(absl::ToDoubleSeconds(t1_ - t0_), 0.001);
  }

  std::string Svg() const {
    const std::vector<std::string> agents = AgentNames();
    const std::vector<std::string> probes = ProbeNames();
    const int lanes = static_cast<int>(r_.steps.size() + agents.size() + probes.size());
    const int lanes_bottom = kAxisHeight + std::max(lanes, 1) * kLane + (lanes > 0 ? 2 * kGap : 0);
    const int height = lanes_bottom + 8;
    std::string s = absl::StrCat(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-svg\" width=\"", kWidth,
        "\" height=\"", height, "\" viewBox=\"0 0 ", kWidth, " ", height,
        "\" role=\"img\" aria-label=\"Run timeline\">\n");
    Axis(&s, lanes_bottom);
    // Lanes: one row per step, one per agent, one per probe.
    int y = kAxisHeight;
    StepLanes(&s, &y);
    if (!r_.steps.empty()) y += kGap;
    for (const auto& agent : agents) AgentLane(&s, agent, &y);
    if (!agents.empty()) y += kGap;
    for (const auto& probe : probes) ProbeLane(&s, probe, &y);
    Marks(&s, kAxisHeight, std::max(lanes_bottom - kAxisHeight, kLane));
    s.append("</svg>\n");
    return s;
  }

  std::string Offset(absl::Time t) const {
    if (!Finite(t)) return "—";
    return absl::StrFormat("+%.3fs", absl::ToDoubleSeconds(t - t0_));
  }

 private:
  // Agents in the order the run met them: targets first, then faults.
  std::vector<std::string> AgentNames() const {
    std::vector<std::string> agents;
    std::set<std::string> seen;
    for (const auto& t : r_.targets) {
      for (const auto& a : t.agents) {
        if (seen.insert(a).second) agents.push_back(a);
      }
    }
    for (const auto& f : r_.faults) {
      if (seen.insert(f.agent).second) agents.push_back(f.agent);
    }
    return agents;
  }

  std::vector<std::string> ProbeNames() const {
    std::vector<std::string> probes;
    std::set<std::string> seen;
    for (const auto& p : r_.probes) {
      if (seen.insert(p.probe).second) probes.push_back(p.probe);
    }
    return probes;
  }

  void Axis(std::string* s, int lanes_bottom) const {
    const double step = TickStep(span_s_);
    for (int i = 0; i * step <= span_s_ + 1e-9; ++i) {
      const double x = X(i * step);
      absl::StrAppend(s, "<line class=\"tick\" x1=\"", Num(x), "\" x2=\"", Num(x), "\" y1=\"",
                      kAxisHeight - 6, "\" y2=\"", lanes_bottom, "\"/>");
      std::string label = absl::StrFormat(step < 1 ? "%.1fs" : "%.0fs", i * step);
      absl::StrAppend(s, "<text class=\"tick-label\" x=\"", Num(x), "\" y=\"", kAxisHeight - 10,
                      "\" text-anchor=\"middle\">", label, "</text>\n");
    }
  }

  // A lane's background and label at height y.
  void Lane(std::string* s, int y, absl::string_view label, absl::string_view title) const {
    absl::StrAppend(s, "<rect class=\"lane-bg\" x=\"", kLeft, "\" y=\"", y + 2, "\" width=\"",
                    kPlot, "\" height=\"", kLane - 4, "\"/>");
    std::string shown(label);
    if (shown.size() > 26) shown = shown.substr(0, 24) + "…";
    absl::StrAppend(s, "<text class=\"lane-label\" x=\"4\" y=\"", y + kLane / 2 + 4, "\"><title>",
                    Esc(title), "</title>", Esc(shown), "</text>\n");
  }

  void StepLanes(std::string* s, int* y) const {
    for (const auto& st : r_.steps) {
      Lane(s, *y, absl::StrCat("step ", st.id), absl::StrCat("step ", st.id, " (", st.kind, ")"));
      if (Finite(st.started_at)) {
        const absl::Time end = Finite(st.ended_at) ? st.ended_at : t1_;
        Bar(s, absl::StrCat("step-bar", st.state == StepState::kFailed ? " failed" : ""),
            st.started_at, end, *y + 7, kLane - 14,
            absl::StrCat("step ", st.id, " / ", st.kind, st.target.empty() ? "" : " on ",
                         st.target, " / ", StepStateName(st.state),
                         st.detail.empty() ? "" : ": ", st.detail));
      }
      *y += kLane;
    }
  }

  void AgentLane(std::string* s, const std::string& agent, int* y) const {
    Lane(s, *y, agent, absl::StrCat("agent ", agent));
    for (const auto& f : r_.faults) {
      if (f.agent != agent || !Finite(f.injected_at)) continue;
      const bool open = !f.reverted || !Finite(f.reverted_at);
      const absl::Time end = open ? t1_ : f.reverted_at;
      Bar(s, open ? "fault-window not-reverted" : "fault-window", f.injected_at, end, *y + 4,
          kLane - 8,
          absl::StrCat(f.step, " / ", f.kind, " / ", f.summary,
                       open ? absl::StrCat(" (NOT reverted", f.error.empty() ? "" : ": ", f.error,
                                           ")")
                            : ""));
    }
    *y += kLane;
  }

  void ProbeLane(std::string* s, const std::string& probe, int* y) const {
    Lane(s, *y, probe, absl::StrCat("probe ", probe));
    for (const auto& p : r_.probes) {
      if (p.probe != probe || !Finite(p.at)) continue;
      const double x = X(absl::ToDoubleSeconds(p.at - t0_));
      absl::StrAppend(s, "<rect class=\"", p.ok ? "probe-ok" : "probe-fail", "\" x=\"", Num(x - 2),
                      "\" y=\"", *y + 6, "\" width=\"4\" height=\"", kLane - 12, "\"><title>",
                      Esc(absl::StrCat(Offset(p.at), " ", p.phase, ": ", p.ok ? "ok" : "FAIL",
                                       " in ", HumanDuration(p.latency),
                                       p.detail.empty() ? "" : " — ", p.detail)),
                      "</title></rect>\n");
    }
    *y += kLane;
  }

  // Recovery, drill and abort marks across all lanes.
  void Marks(std::string* s, int top, int height) const {
    RecoveryMarks(s, top, height);
    DrillMarks(s, top, height);
    for (const auto& e : r_.events) {
      if (e.type != "abort" || !Finite(e.at)) continue;
      Mark(s, "abort-mark", e.at, top, height, absl::StrCat("abort: ", e.message));
    }
  }

  void RecoveryMarks(std::string* s, int top, int height) const {
    const RecoveryResult& rec = r_.recovery;
    if (rec.measured && Finite(rec.started_at)) {
      const absl::Time end = Finite(rec.ended_at) ? rec.ended_at : t1_;
      Bar(s, "recovery-window", rec.started_at, end, top, height, "recovery window");
      Mark(s, "recovery-mark", rec.started_at, top, height,
           absl::StrCat("recovery started (from ", rec.from, ")"));
      if (Finite(rec.ended_at)) {
        Mark(s, "recovery-mark", rec.ended_at, top, height,
             rec.recovered ? absl::StrCat("recovered after ", HumanDuration(rec.time))
                           : std::string("recovery window ended without recovering"));
      }
    }
  }

  // The drill's disaster and the moment it was healthy again.
  void DrillMarks(std::string* s, int top, int height) const {
    const DrillResult& d = r_.drill;
    if (!d.present) return;
    if (Finite(d.disaster_at)) {
      Mark(s, "drill-mark", d.disaster_at, top, height,
           absl::StrCat("drill: disaster (step ", d.disaster_step, ")"));
    }
    if (Finite(d.healthy_at)) {
      Mark(s, "drill-mark", d.healthy_at, top, height,
           d.rto ? absl::StrCat("drill: healthy, RTO ", HumanDuration(*d.rto))
                 : std::string("drill: healthy"));
    }
  }

  static constexpr int kWidth = 1120;
  static constexpr int kLeft = 190;
  static constexpr int kPlot = kWidth - kLeft - 20;
  static constexpr int kAxisHeight = 28;
  static constexpr int kLane = 26;
  static constexpr int kGap = 8;

  double X(double seconds) const {
    const double f = std::isfinite(seconds) ? std::clamp(seconds / span_s_, 0.0, 1.0) : 0.0;
    return kLeft + f * kPlot;
  }

  // A rectangle from `from` to `to`, at least 3 px wide so that an instant
  // still shows.
  void Bar(std::string* s, absl::string_view cls, absl::Time from, absl::Time to, int y, int h,
           absl::string_view title) const {
    double x1 = X(absl::ToDoubleSeconds(from - t0_));
    double x2 = X(absl::ToDoubleSeconds(to - t0_));
    if (x2 < x1) std::swap(x1, x2);
    if (x2 - x1 < 3) x2 = x1 + 3;
    absl::StrAppend(s, "<rect class=\"", cls, "\" x=\"", Num(x1), "\" y=\"", y, "\" width=\"",
                    Num(x2 - x1), "\" height=\"", h, "\"><title>", Esc(title), "</title></rect>\n");
  }

  void Mark(std::string* s, absl::string_view cls, absl::Time at, int y, int h,
            absl::string_view title) const {
    const double x = X(absl::ToDoubleSeconds(at - t0_));
    absl::StrAppend(s, "<rect class=\"", cls, "\" x=\"", Num(x - 1), "\" y=\"", y,
                    "\" width=\"2\" height=\"", h, "\"><title>", Esc(absl::StrCat(Offset(at), " ", title)),
                    "</title></rect>\n");
  }

  const RunReport& r_;
  absl::Time t0_, t1_;
  double span_s_ = 1;
};

// From the enum, not OutcomeName(), so the CSS does not follow wording.
const char* OutcomeClass(RunOutcome o) {
  switch (o) {
    case RunOutcome::kPassed: return "outcome-passed";
    case RunOutcome::kFailed: return "outcome-failed";
    case RunOutcome::kRollbackIncomplete: return "outcome-rollback-incomplete";
    case RunOutcome::kUnavailable: return "outcome-unavailable";
    case RunOutcome::kInterrupted: return "outcome-interrupted";
  }
  return "outcome-unknown";
}

// "met" or "not met", coloured.
std::string Verdict(bool met) {
  return met ? "<span class=\"met\">met</span>" : "<span class=\"unmet\">not met</span>";
}

std::string TimeCell(absl::Time t, const Timeline& tl) {
  if (!Finite(t)) return "<span class=\"muted\">—</span>";
  return absl::StrCat("<span title=\"", Esc(Rfc3339(t)), "\">", Esc(tl.Offset(t)), "</span>");
}

void AppendHeader(const RunReport& r, const Timeline& /*tl*/, std::string& h) {
  const std::string outcome = OutcomeText(r);
  absl::StrAppend(&h, "<header>\n<h1 id=\"experiment\">", Esc(r.experiment), "</h1>\n",
                  "<span id=\"outcome\" class=\"outcome ", OutcomeClass(r.outcome),
                  r.lost_agents.empty() ? "" : " agents-lost", "\">",
                  Esc(outcome), "</span> <span class=\"muted\">exit code ", ExitCode(r.outcome),
                  "</span>\n<dl>\n");
  auto row = [&](absl::string_view label, absl::string_view html_value) {
    absl::StrAppend(&h, "<dt>", label, "</dt><dd>", html_value, "</dd>\n");
  };
  row("Run id", absl::StrCat("<code id=\"run-id\">", Esc(r.run_id), "</code>"));
  row("Seed", absl::StrCat("<code>", r.seed, "</code>"));
  row("Started", Finite(r.started_at) ? Esc(Rfc3339(r.started_at)) : "—");
  row("Duration", Finite(r.started_at) && Finite(r.ended_at)
                      ? Esc(HumanDuration(r.ended_at - r.started_at))
                      : "—");
  if (!r.description.empty()) row("Description", Esc(r.description));
  if (!r.hypothesis.empty()) row("Hypothesis", Esc(r.hypothesis));
  if (!r.reason.empty()) row("Reason", absl::StrCat("<span id=\"reason\">", Esc(r.reason), "</span>"));
  row("Rollback", RollbackStateName(r.rollback));
  h.append("</dl>\n</header>\n");
}

void AppendManualUndo(const RunReport& r, const Timeline& /*tl*/, std::string& h) {
  if (!r.manual_undo.empty()) {
    h.append("<section id=\"manual-undo\" class=\"undo\">\n<h2>Manual undo required</h2>\n"
             "<p>These faults could not be reverted. Run on the hosts:</p>\n<pre>");
    for (const auto& c : r.manual_undo) absl::StrAppend(&h, Esc(c), "\n");
    h.append("</pre>\n</section>\n");
  }
}

// The agents the run went on without, each with why.
void AppendLostAgents(const RunReport& r, const Timeline& tl, std::string& h) {
  if (r.lost_agents.empty()) return;
  h.append("<section id=\"lost-agents\">\n<h2>Lost agents</h2>\n<p>The run went on without "
           "these agents (their target groups' maxUnavailable allowed it).</p>\n<table>\n"
           "<thead><tr><th>Agent</th><th>Lost</th><th>At</th><th>Reason</th></tr></thead>\n"
           "<tbody>\n");
  for (const LostAgent& l : r.lost_agents) {
    absl::StrAppend(&h, "<tr class=\"lost\"><td>", Esc(l.agent), "</td><td>",
                    l.step.empty() ? "in preflight" : "at step " + Esc(l.step), "</td><td>",
                    TimeCell(l.at, tl), "</td><td>", Esc(l.reason), "</td></tr>\n");
  }
  h.append("</tbody>\n</table>\n</section>\n");
}

void AppendTimeline(const RunReport& /*r*/, const Timeline& tl, std::string& h) {
  h.append("<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"legend\">"
           "<span><i style=\"background:#8c959f\"></i>step</span>"
           "<span><i style=\"background:#f4a261\"></i>fault window</span>"
           "<span><i style=\"background:#cf222e\"></i>fault not reverted / probe failed / abort</span>"
           "<span><i style=\"background:#1a7f37\"></i>probe ok</span>"
           "<span><i style=\"background:#0969da\"></i>recovery start / end</span>"
           "<span><i style=\"background:#8250df\"></i>drill disaster / healthy</span></p>\n");
  h.append(tl.Svg());
  h.append("</section>\n");
}

void AppendFaults(const RunReport& r, const Timeline& tl, std::string& h) {
  h.append("<section id=\"faults\">\n<h2>Faults</h2>\n");
  if (r.faults.empty()) {
    h.append("<p class=\"muted\">No faults were injected.</p>\n");
  } else {
    h.append("<table>\n<thead><tr><th>Agent</th><th>Step</th><th>Kind</th><th>Summary</th>"
             "<th>Injected → reverted</th><th>Reverted</th></tr></thead>\n<tbody>\n");
    for (const auto& f : r.faults) {
      absl::StrAppend(&h, "<tr class=\"fault\"><td>", Esc(f.agent), "</td><td>", Esc(f.step),
                      "</td><td>", Esc(f.kind), "</td><td>", Esc(f.summary), "</td><td>",
                      TimeCell(f.injected_at, tl), " → ", TimeCell(f.reverted_at, tl), "</td>");
      if (f.reverted) {
        h.append("<td class=\"yes\">yes</td></tr>\n");
      } else {
        absl::StrAppend(&h, "<td class=\"no\">no", f.error.empty() ? "" : ": ", Esc(f.error),
                        "</td></tr>\n");
      }
    }
    h.append("</tbody>\n</table>\n");
  }
  h.append("</section>\n");
}

void AppendRecovery(const RunReport& r, const Timeline& tl, std::string& h) {
  h.append("<section id=\"recovery\">\n<h2>Recovery</h2>\n");
  const RecoveryResult& rec = r.recovery;
  if (!rec.measured) {
    h.append("<p class=\"muted\">Recovery was not measured.</p>\n");
  } else {
    if (rec.recovered) {
      absl::StrAppend(&h, "<p>Recovered in <strong id=\"recovery-time\">",
                      Esc(HumanDuration(rec.time)), "</strong> (measured from ", Esc(rec.from),
                      ", ", TimeCell(rec.started_at, tl), " → ", TimeCell(rec.ended_at, tl),
                      ").</p>\n");
    } else {
      absl::StrAppend(&h, "<p id=\"recovery-time\" class=\"unmet\">Did not recover</p>"
                      "<p>Measured from ", Esc(rec.from), ", ", TimeCell(rec.started_at, tl),
                      " → ", TimeCell(rec.ended_at, tl), ".</p>\n");
    }
    if (rec.objective.has_value()) {
      absl::StrAppend(&h, "<p id=\"objective\">Objective ", Esc(HumanDuration(*rec.objective)),
                      ": ", Verdict(rec.objective_met), "</p>\n");
    } else {
      h.append("<p id=\"objective\" class=\"muted\">No recovery objective set.</p>\n");
    }
    if (!rec.per_probe.empty()) {
      h.append("<table>\n<thead><tr><th>Probe</th><th>Recovered after</th></tr></thead>\n<tbody>\n");
      for (const auto& [probe, d] : rec.per_probe) {
        absl::StrAppend(&h, "<tr><td>", Esc(probe), "</td><td>", Esc(HumanDuration(d)),
                        "</td></tr>\n");
      }
      h.append("</tbody>\n</table>\n");
    }
  }
  h.append("</section>\n");
}

// "objective 30s: met" with the verdict coloured; "no objective set" when
// there is none.
std::string ObjectiveHtml(const std::optional<absl::Duration>& objective,
                          const std::optional<bool>& met) {
  if (!objective || !met) return "<span class=\"muted\">no objective set</span>";
  return absl::StrCat("objective ", Esc(HumanDuration(*objective)), ": ", Verdict(*met));
}

// A digest, shortened, in full on hover.
std::string DigestCode(const std::string& digest) {
  return absl::StrCat("<code title=\"", Esc(digest), "\">",
                      Esc(report_format::ShortDigest(digest)), "</code>");
}

// Time from the disaster, the instant on hover; "not reached" when unknown.
std::string SinceDisasterCell(const DrillResult& d, absl::Time t) {
  const std::optional<absl::Duration> since = Elapsed(d.disaster_at, t);
  if (!since) return "<span class=\"muted\">not reached</span>";
  return absl::StrCat("<span title=\"", Esc(Rfc3339(t)), "\">+", Esc(HumanDuration(*since)),
                      "</span>");
}

void AppendDrillRto(const DrillResult& d, std::string& h) {
  absl::StrAppend(&h, "<p>RTO <strong id=\"drill-rto\">",
                  d.rto ? Esc(HumanDuration(*d.rto)) : "not measured", "</strong> — ",
                  ObjectiveHtml(d.rto_objective, ObjectiveMet(d.rto, d.rto_objective)),
                  "</p>\n<table id=\"drill-phases\">\n<thead><tr><th>Phase</th>"
                  "<th>From the disaster</th></tr></thead>\n<tbody>\n<tr><td>disaster (step ",
                  Esc(d.disaster_step), ")</td><td>", SinceDisasterCell(d, d.disaster_at),
                  "</td></tr>\n");
  for (const auto& phase : report_format::DrillPhases(d)) {
    absl::StrAppend(&h, "<tr><td>", phase.label, "</td><td>", SinceDisasterCell(d, phase.at),
                    "</td></tr>\n");
  }
  h.append("</tbody>\n</table>\n");
}

void AppendDrillRpo(const DrillResult& d, std::string& h) {
  absl::StrAppend(&h, "<p>RPO <strong id=\"drill-rpo\">",
                  d.rpo ? Esc(HumanDuration(*d.rpo)) : "not measured", "</strong>",
                  d.rpo_error.empty() ? "" : ": ", Esc(d.rpo_error), " — ",
                  ObjectiveHtml(d.rpo_objective, ObjectiveMet(d.rpo, d.rpo_objective)), ". ",
                  d.canaries_written, " canaries acknowledged before the disaster, ",
                  d.canaries_failed, " failed.</p>\n");
}

void AppendDrillIntegrity(const DrillResult& d, std::string& h) {
  const std::string state = d.IntegrityState();
  const char* cls = state == "ok" ? "met" : state == "not checked" ? "muted" : "unmet";
  absl::StrAppend(&h, "<p>Integrity <strong id=\"drill-integrity\" class=\"", cls, "\">",
                  Esc(state), "</strong>");
  if (d.integrity_required) absl::StrAppend(&h, " — required: ", Verdict(state == "ok"));
  if (!d.backup_digest.empty() || !d.restored_digest.empty()) {
    absl::StrAppend(&h, ". Backup ", DigestCode(d.backup_digest), ", restored ",
                    DigestCode(d.restored_digest));
  }
  if (!d.integrity_error.empty()) absl::StrAppend(&h, ". ", Esc(d.integrity_error));
  h.append(".</p>\n");
}

void AppendDrill(const RunReport& r, const Timeline& /*tl*/, std::string& h) {
  const DrillResult& d = r.drill;
  if (!d.present) return;
  absl::StrAppend(&h, "<section id=\"drill\">\n<h2>Drill</h2>\n<p>Disaster: step <code>",
                  Esc(d.disaster_step), "</code>; restore: step <code>", Esc(d.restore_step),
                  "</code>. Objectives: ", Verdict(d.ObjectivesMet()), ".</p>\n");
  AppendDrillRto(d, h);
  AppendDrillRpo(d, h);
  AppendDrillIntegrity(d, h);
  const std::string size = report_format::DrillSizeText(d);
  if (!size.empty()) absl::StrAppend(&h, "<p id=\"drill-size\">", Esc(size), ".</p>\n");
  h.append("</section>\n");
}

// Each probe through the run: how often it held while faults were in
// place, and how long after the first inject it first failed.
void AppendProbeSummary(const RunReport& r, const Timeline& /*tl*/, std::string& h) {
  const std::vector<ProbeSummary> summary = SummarizeProbes(r);
  if (summary.empty()) return;
  h.append("<section id=\"probes\">\n<h2>Probes</h2>\n<table>\n<thead><tr><th>Probe</th>"
           "<th>Checks</th><th>Failed</th><th>Available while faults were in place</th>"
           "<th>Failing after the first inject</th></tr></thead>\n<tbody>\n");
  for (const ProbeSummary& p : summary) {
    const std::string available =
        p.availability_during_faults
            ? absl::StrFormat("%.0f%% (%d/%d)", *p.availability_during_faults * 100,
                              p.ok_during_faults, p.during_faults)
            : std::string("no check then");
    absl::StrAppend(&h, "<tr><td>", Esc(p.probe), "</td><td>", p.samples, "</td><td>",
                    p.failures, "</td><td class=\"availability\">", available, "</td><td>",
                    p.time_to_detect ? report_format::HumanDuration(*p.time_to_detect)
                                     : std::string("never failed"),
                    "</td></tr>\n");
  }
  h.append("</tbody>\n</table>\n</section>\n");
}

void AppendSteps(const RunReport& r, const Timeline& tl, std::string& h) {
  if (!r.steps.empty()) {
    h.append("<section id=\"steps\">\n<h2>Steps</h2>\n<table>\n<thead><tr><th>Step</th>"
             "<th>Kind</th><th>Target</th><th>State</th><th>Started → ended</th><th>Detail</th>"
             "<th>Fault window</th></tr></thead>\n<tbody>\n");
    for (const auto& s : r.steps) {
      absl::StrAppend(&h, "<tr><td>", Esc(s.id), "</td><td>", Esc(s.kind), "</td><td>",
                      Esc(s.target), "</td><td>", StepStateName(s.state), "</td><td>",
                      TimeCell(s.started_at, tl), " → ", TimeCell(s.ended_at, tl), "</td><td>",
                      Esc(s.detail), "</td><td class=\"step-window\">",
                      Esc(report_format::WindowText(s)), "</td></tr>\n");
    }
    h.append("</tbody>\n</table>\n</section>\n");
  }
}

void AppendTargets(const RunReport& r, const Timeline& /*tl*/, std::string& h) {
  if (!r.targets.empty()) {
    h.append("<section id=\"targets\">\n<h2>Targets</h2>\n<table>\n<thead><tr><th>Group</th>"
             "<th>Selector</th><th>Mode</th><th>Agents</th></tr></thead>\n<tbody>\n");
    for (const auto& t : r.targets) {
      std::vector<std::string> agents;
      for (const auto& a : t.agents) agents.push_back(Esc(a));
      absl::StrAppend(&h, "<tr><td>", Esc(t.group), "</td><td>", Esc(t.selector), "</td><td>",
                      Esc(t.mode), "</td><td>", absl::StrJoin(agents, ", "), "</td></tr>\n");
    }
    h.append("</tbody>\n</table>\n</section>\n");
  }
}

void AppendEvents(const RunReport& r, const Timeline& tl, std::string& h) {
  if (!r.events.empty()) {
    h.append("<section id=\"events\">\n<h2>Events</h2>\n<table>\n<thead><tr><th>At</th>"
             "<th>Type</th><th>Step</th><th>Agent</th><th>Message</th></tr></thead>\n<tbody>\n");
    for (const auto& e : r.events) {
      absl::StrAppend(&h, "<tr class=\"event-", Esc(e.type), "\"><td>", TimeCell(e.at, tl),
                      "</td><td>", Esc(e.type), "</td><td>", Esc(e.step), "</td><td>",
                      Esc(e.agent), "</td><td>", Esc(e.message), "</td></tr>\n");
    }
    h.append("</tbody>\n</table>\n</section>\n");
  }
}

}  // namespace

std::string ReportHtml(const RunReport& r) {
  const Timeline tl(r);
  const std::string outcome = OutcomeName(r.outcome);
  std::string h;
  h.reserve(64 * 1024);
  absl::StrAppend(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                  "<meta name=\"generator\" content=\"chaos ", kReportSchema, "\">\n",
                  "<title>", Esc(r.experiment), " — ", Esc(outcome), " — run ", Esc(r.run_id),
                  "</title>\n<style>", kCss, "</style>\n</head>\n");
  absl::StrAppend(&h, "<body data-outcome=\"", Esc(outcome), "\" data-run-id=\"", Esc(r.run_id),
                  "\">\n");
  // Manual undo first among the sections when present: it is what needs doing.
  for (auto* append : {AppendHeader, AppendManualUndo, AppendLostAgents, AppendTimeline,
                       AppendFaults, AppendRecovery, AppendDrill, AppendProbeSummary, AppendSteps,
                       AppendTargets, AppendEvents}) {
    append(r, tl, h);
  }
  absl::StrAppend(&h, "<script>", kScript, "</script>\n</body>\n</html>\n");
  return h;
}

}  // namespace chaos::controller
