#include "controller/report.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chaos::controller {
namespace {

constexpr char kSchema[] = "chaos.run-report/v1";

// ---------------------------------------------------------------------------
// Text helpers shared by both formats.

// Returns `in` as valid UTF-8: every byte that does not start a well-formed
// sequence (overlong forms, surrogates and code points past U+10FFFF
// included) becomes U+FFFD. Command output and agent messages are not
// trusted to be UTF-8, and both JSON and HTML require it.
std::string SanitizeUtf8(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    }
    bool valid = len > 0 && i + len <= in.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xC0) != 0x80) {
        valid = false;
      } else {
        cp = (cp << 6) | (cc & 0x3F);
      }
    }
    if (valid) {
      valid = !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) && cp <= 0x10FFFF &&
              !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (valid) {
      absl::StrAppend(&out, in.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

bool Finite(absl::Time t) { return t != absl::InfinitePast() && t != absl::InfiniteFuture(); }

// RFC 3339, UTC, milliseconds: 2026-11-24T07:45:32.123Z.
std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

// Milliseconds with at most three decimals, without trailing zeros.
std::string Millis(absl::Duration d) {
  std::string s = absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(d));
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

bool FiniteDuration(absl::Duration d) {
  return d != absl::InfiniteDuration() && d != -absl::InfiniteDuration();
}

// ---------------------------------------------------------------------------
// JSON

// A minimal streaming JSON writer, indented by two spaces. Keys and values
// are escaped per RFC 8259; text is made valid UTF-8 first.
class JsonWriter {
 public:
  std::string Finish() && {
    out_.push_back('\n');
    return std::move(out_);
  }

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  void Key(absl::string_view key) {
    Separate();
    AppendString(key);
    out_.append(": ");
    after_key_ = true;
  }

  void String(absl::string_view v) {
    Value();
    AppendString(v);
  }
  void Int(int64_t v) {
    Value();
    absl::StrAppend(&out_, v);
  }
  void Bool(bool v) {
    Value();
    out_.append(v ? "true" : "false");
  }
  void Null() {
    Value();
    out_.append("null");
  }
  // A number already formatted as a JSON number.
  void Raw(absl::string_view number) {
    Value();
    absl::StrAppend(&out_, number);
  }

  // Convenience: "key": value.
  void Field(absl::string_view key, absl::string_view v) {
    Key(key);
    String(v);
  }
  void Field(absl::string_view key, const char* v) { Field(key, absl::string_view(v)); }
  void Field(absl::string_view key, const std::string& v) { Field(key, absl::string_view(v)); }
  void Field(absl::string_view key, int64_t v) {
    Key(key);
    Int(v);
  }
  void Field(absl::string_view key, int v) { Field(key, static_cast<int64_t>(v)); }
  void Field(absl::string_view key, bool v) {
    Key(key);
    Bool(v);
  }
  // "key": "<RFC 3339>", "key_unix_ms": <ms>; both null when t is infinite.
  void TimeField(absl::string_view key, absl::Time t) {
    Key(key);
    if (Finite(t)) {
      String(Rfc3339(t));
    } else {
      Null();
    }
    Key(absl::StrCat(key, "_unix_ms"));
    if (Finite(t)) {
      Int(absl::ToUnixMillis(t));
    } else {
      Null();
    }
  }
  // "key": <ms>, or null when d is infinite.
  void MillisField(absl::string_view key, absl::Duration d) {
    Key(key);
    if (FiniteDuration(d)) {
      Raw(Millis(d));
    } else {
      Null();
    }
  }
  void StringArray(absl::string_view key, const std::vector<std::string>& values) {
    Key(key);
    BeginArray();
    for (const std::string& v : values) String(v);
    EndArray();
  }

 private:
  void Indent() {
    out_.push_back('\n');
    out_.append(2 * first_.size(), ' ');
  }
  // Before a key or an array element.
  void Separate() {
    if (first_.empty()) return;
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
    Indent();
  }
  void Value() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    Separate();
  }
  void Open(char c) {
    Value();
    out_.push_back(c);
    first_.push_back(true);
  }
  void Close(char c) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) Indent();
    out_.push_back(c);
  }
  void AppendString(absl::string_view raw) {
    const std::string s = SanitizeUtf8(raw);
    out_.push_back('"');
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      switch (ch) {
        case '"': out_.append("\\\""); break;
        case '\\': out_.append("\\\\"); break;
        case '\b': out_.append("\\b"); break;
        case '\f': out_.append("\\f"); break;
        case '\n': out_.append("\\n"); break;
        case '\r': out_.append("\\r"); break;
        case '\t': out_.append("\\t"); break;
        default:
          if (c < 0x20 || c == 0x7F) {
            absl::StrAppendFormat(&out_, "\\u%04x", c);
          } else {
            out_.push_back(ch);
          }
      }
    }
    out_.push_back('"');
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

// ---------------------------------------------------------------------------
// HTML

std::string Esc(absl::string_view raw) {
  const std::string s = SanitizeUtf8(raw);
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

std::string HumanDuration(absl::Duration d) {
  if (!FiniteDuration(d)) return "n/a";
  return absl::FormatDuration(absl::Milliseconds(absl::ToInt64Milliseconds(d)));
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
    // Lanes: one row per step, one per agent, one per probe.
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
    std::vector<std::string> probes;
    std::set<std::string> seen_probes;
    for (const auto& p : r_.probes) {
      if (seen_probes.insert(p.probe).second) probes.push_back(p.probe);
    }

    const int lanes_top = kAxisHeight;
    const int lanes = static_cast<int>(r_.steps.size() + agents.size() + probes.size());
    const int lanes_bottom = lanes_top + std::max(lanes, 1) * kLane + (lanes > 0 ? 2 * kGap : 0);
    const int height = lanes_bottom + 8;

    std::string s = absl::StrCat(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-svg\" width=\"", kWidth,
        "\" height=\"", height, "\" viewBox=\"0 0 ", kWidth, " ", height,
        "\" role=\"img\" aria-label=\"Run timeline\">\n");

    // Time axis.
    const double step = TickStep(span_s_);
    for (int i = 0; i * step <= span_s_ + 1e-9; ++i) {
      const double x = X(i * step);
      absl::StrAppend(&s, "<line class=\"tick\" x1=\"", Num(x), "\" x2=\"", Num(x), "\" y1=\"",
                      kAxisHeight - 6, "\" y2=\"", lanes_bottom, "\"/>");
      std::string label = absl::StrFormat(step < 1 ? "%.1fs" : "%.0fs", i * step);
      absl::StrAppend(&s, "<text class=\"tick-label\" x=\"", Num(x), "\" y=\"", kAxisHeight - 10,
                      "\" text-anchor=\"middle\">", label, "</text>\n");
    }

    int y = lanes_top;
    auto lane = [&](absl::string_view label, absl::string_view title) {
      absl::StrAppend(&s, "<rect class=\"lane-bg\" x=\"", kLeft, "\" y=\"", y + 2, "\" width=\"",
                      kPlot, "\" height=\"", kLane - 4, "\"/>");
      std::string shown(label);
      if (shown.size() > 26) shown = shown.substr(0, 24) + "…";
      absl::StrAppend(&s, "<text class=\"lane-label\" x=\"4\" y=\"", y + kLane / 2 + 4, "\"><title>",
                      Esc(title), "</title>", Esc(shown), "</text>\n");
    };

    for (const auto& st : r_.steps) {
      lane(absl::StrCat("step ", st.id), absl::StrCat("step ", st.id, " (", st.kind, ")"));
      if (Finite(st.started_at)) {
        const absl::Time end = Finite(st.ended_at) ? st.ended_at : t1_;
        Bar(&s, absl::StrCat("step-bar", st.state == "failed" ? " failed" : ""), st.started_at, end,
            y + 7, kLane - 14,
            absl::StrCat("step ", st.id, " / ", st.kind, st.target.empty() ? "" : " on ",
                         st.target, " / ", st.state, st.detail.empty() ? "" : ": ", st.detail));
      }
      y += kLane;
    }
    if (!r_.steps.empty()) y += kGap;

    for (const auto& agent : agents) {
      lane(agent, absl::StrCat("agent ", agent));
      for (const auto& f : r_.faults) {
        if (f.agent != agent || !Finite(f.injected_at)) continue;
        const bool open = !f.reverted || !Finite(f.reverted_at);
        const absl::Time end = open ? t1_ : f.reverted_at;
        Bar(&s, open ? "fault-window not-reverted" : "fault-window", f.injected_at, end, y + 4,
            kLane - 8,
            absl::StrCat(f.step, " / ", f.kind, " / ", f.summary,
                         open ? absl::StrCat(" (NOT reverted", f.error.empty() ? "" : ": ",
                                             f.error, ")")
                              : ""));
      }
      y += kLane;
    }
    if (!agents.empty()) y += kGap;

    for (const auto& probe : probes) {
      lane(probe, absl::StrCat("probe ", probe));
      for (const auto& p : r_.probes) {
        if (p.probe != probe || !Finite(p.at)) continue;
        const double x = X(absl::ToDoubleSeconds(p.at - t0_));
        absl::StrAppend(&s, "<rect class=\"", p.ok ? "probe-ok" : "probe-fail", "\" x=\"",
                        Num(x - 2), "\" y=\"", y + 6, "\" width=\"4\" height=\"", kLane - 12,
                        "\"><title>", Esc(absl::StrCat(Offset(p.at), " ", p.phase, ": ",
                                                       p.ok ? "ok" : "FAIL", " in ",
                                                       HumanDuration(p.latency),
                                                       p.detail.empty() ? "" : " — ", p.detail)),
                        "</title></rect>\n");
      }
      y += kLane;
    }

    // Marks across all lanes.
    const int mark_top = lanes_top;
    const int mark_height = std::max(lanes_bottom - lanes_top, kLane);
    if (r_.recovery.measured && Finite(r_.recovery.started_at)) {
      const absl::Time end = Finite(r_.recovery.ended_at) ? r_.recovery.ended_at : t1_;
      Bar(&s, "recovery-window", r_.recovery.started_at, end, mark_top, mark_height,
          "recovery window");
      Mark(&s, "recovery-mark", r_.recovery.started_at, mark_top, mark_height,
           absl::StrCat("recovery started (from ", r_.recovery.from, ")"));
      if (Finite(r_.recovery.ended_at)) {
        Mark(&s, "recovery-mark", r_.recovery.ended_at, mark_top, mark_height,
             r_.recovery.recovered
                 ? absl::StrCat("recovered after ", HumanDuration(r_.recovery.time))
                 : std::string("recovery window ended without recovering"));
      }
    }
    for (const auto& e : r_.events) {
      if (e.type != "abort" || !Finite(e.at)) continue;
      Mark(&s, "abort-mark", e.at, mark_top, mark_height, absl::StrCat("abort: ", e.message));
    }
    s.append("</svg>\n");
    return s;
  }

  std::string Offset(absl::Time t) const {
    if (!Finite(t)) return "—";
    return absl::StrFormat("+%.3fs", absl::ToDoubleSeconds(t - t0_));
  }

 private:
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

std::string TimeCell(absl::Time t, const Timeline& tl) {
  if (!Finite(t)) return "<span class=\"muted\">—</span>";
  return absl::StrCat("<span title=\"", Esc(Rfc3339(t)), "\">", Esc(tl.Offset(t)), "</span>");
}

// Writes `data` to `path` through a temporary file in the same directory,
// synced before the rename, so readers see the old file or the new one.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("create ", tmp));
  absl::Cleanup remove_tmp = [&] { unlink(tmp.c_str()); };
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      close(fd);
      return absl::ErrnoToStatus(e, absl::StrCat("write ", tmp));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) < 0) {
    const int e = errno;
    close(fd);
    return absl::ErrnoToStatus(e, absl::StrCat("fsync ", tmp));
  }
  if (close(fd) < 0) return absl::ErrnoToStatus(errno, absl::StrCat("close ", tmp));
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("rename ", tmp, " to ", path));
  }
  std::move(remove_tmp).Cancel();
  return absl::OkStatus();
}

}  // namespace

std::string ReportJson(const RunReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Field("schema", kSchema);
  w.Field("run_id", r.run_id);
  w.Field("experiment", r.experiment);
  w.Field("description", r.description);
  w.Field("hypothesis", r.hypothesis);
  // A string: 64-bit seeds do not survive JSON readers that use doubles.
  w.Field("seed", absl::StrCat(r.seed));
  w.Field("outcome", OutcomeName(r.outcome));
  w.Field("exit_code", ExitCode(r.outcome));
  w.Field("reason", r.reason);
  w.TimeField("started_at", r.started_at);
  w.TimeField("ended_at", r.ended_at);
  w.Key("duration_ms");
  if (Finite(r.started_at) && Finite(r.ended_at)) {
    w.Raw(Millis(r.ended_at - r.started_at));
  } else {
    w.Null();
  }

  w.Key("targets");
  w.BeginArray();
  for (const auto& t : r.targets) {
    w.BeginObject();
    w.Field("group", t.group);
    w.Field("selector", t.selector);
    w.Field("mode", t.mode);
    w.StringArray("agents", t.agents);
    w.EndObject();
  }
  w.EndArray();

  w.Key("steps");
  w.BeginArray();
  for (const auto& s : r.steps) {
    w.BeginObject();
    w.Field("id", s.id);
    w.Field("kind", s.kind);
    w.Field("target", s.target);
    w.Field("state", s.state);
    w.TimeField("started_at", s.started_at);
    w.TimeField("ended_at", s.ended_at);
    w.Field("detail", s.detail);
    w.EndObject();
  }
  w.EndArray();

  w.Key("faults");
  w.BeginArray();
  for (const auto& f : r.faults) {
    w.BeginObject();
    w.Field("agent", f.agent);
    w.Field("step", f.step);
    w.Field("fault_id", f.fault_id);
    w.Field("kind", f.kind);
    w.Field("summary", f.summary);
    w.TimeField("injected_at", f.injected_at);
    w.TimeField("reverted_at", f.reverted_at);
    w.Field("reverted", f.reverted);
    w.Field("error", f.error);
    w.EndObject();
  }
  w.EndArray();

  w.Key("probes");
  w.BeginArray();
  for (const auto& p : r.probes) {
    w.BeginObject();
    w.TimeField("at", p.at);
    w.Field("probe", p.probe);
    w.Field("phase", p.phase);
    w.Field("ok", p.ok);
    w.MillisField("latency_ms", p.latency);
    w.Field("detail", p.detail);
    w.EndObject();
  }
  w.EndArray();

  w.Key("recovery");
  if (!r.recovery.measured) {
    w.Null();
  } else {
    const RecoveryResult& rec = r.recovery;
    w.BeginObject();
    w.Field("from", rec.from);
    w.TimeField("started_at", rec.started_at);
    w.TimeField("ended_at", rec.ended_at);
    w.Field("recovered", rec.recovered);
    w.Key("time_ms");
    if (rec.recovered && FiniteDuration(rec.time)) {
      w.Raw(Millis(rec.time));
    } else {
      w.Null();
    }
    w.Key("per_probe_ms");
    w.BeginObject();
    for (const auto& [probe, d] : rec.per_probe) w.MillisField(probe, d);
    w.EndObject();
    w.Key("objective_ms");
    if (rec.objective.has_value() && FiniteDuration(*rec.objective)) {
      w.Raw(Millis(*rec.objective));
    } else {
      w.Null();
    }
    w.Field("objective_met", rec.objective_met);
    w.EndObject();
  }

  w.Field("rollback", r.rollback);

  w.Key("events");
  w.BeginArray();
  for (const auto& e : r.events) {
    w.BeginObject();
    w.TimeField("at", e.at);
    w.Field("type", e.type);
    w.Field("step", e.step);
    w.Field("agent", e.agent);
    w.Field("message", e.message);
    w.EndObject();
  }
  w.EndArray();

  w.StringArray("manual_undo", r.manual_undo);
  w.EndObject();
  return std::move(w).Finish();
}

std::string ReportHtml(const RunReport& r) {
  const Timeline tl(r);
  const std::string outcome = OutcomeName(r.outcome);
  std::string h;
  h.reserve(64 * 1024);
  absl::StrAppend(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                  "<meta name=\"generator\" content=\"chaos ", kSchema, "\">\n",
                  "<title>", Esc(r.experiment), " — ", Esc(outcome), " — run ", Esc(r.run_id),
                  "</title>\n<style>", kCss, "</style>\n</head>\n");
  absl::StrAppend(&h, "<body data-outcome=\"", Esc(outcome), "\" data-run-id=\"", Esc(r.run_id),
                  "\">\n");

  // Header.
  absl::StrAppend(&h, "<header>\n<h1 id=\"experiment\">", Esc(r.experiment), "</h1>\n",
                  "<span id=\"outcome\" class=\"outcome ", OutcomeClass(r.outcome), "\">",
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
  row("Rollback", Esc(r.rollback));
  h.append("</dl>\n</header>\n");

  // Manual undo first among the sections when present: it is what needs doing.
  if (!r.manual_undo.empty()) {
    h.append("<section id=\"manual-undo\" class=\"undo\">\n<h2>Manual undo required</h2>\n"
             "<p>These faults could not be reverted. Run on the hosts:</p>\n<pre>");
    for (const auto& c : r.manual_undo) absl::StrAppend(&h, Esc(c), "\n");
    h.append("</pre>\n</section>\n");
  }

  // Timeline.
  h.append("<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"legend\">"
           "<span><i style=\"background:#8c959f\"></i>step</span>"
           "<span><i style=\"background:#f4a261\"></i>fault window</span>"
           "<span><i style=\"background:#cf222e\"></i>fault not reverted / probe failed / abort</span>"
           "<span><i style=\"background:#1a7f37\"></i>probe ok</span>"
           "<span><i style=\"background:#0969da\"></i>recovery start / end</span></p>\n");
  h.append(tl.Svg());
  h.append("</section>\n");

  // Faults.
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

  // Recovery.
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
                      ": <span class=\"", rec.objective_met ? "met\">met" : "unmet\">not met",
                      "</span></p>\n");
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

  // Steps.
  if (!r.steps.empty()) {
    h.append("<section id=\"steps\">\n<h2>Steps</h2>\n<table>\n<thead><tr><th>Step</th>"
             "<th>Kind</th><th>Target</th><th>State</th><th>Started → ended</th><th>Detail</th>"
             "</tr></thead>\n<tbody>\n");
    for (const auto& s : r.steps) {
      absl::StrAppend(&h, "<tr><td>", Esc(s.id), "</td><td>", Esc(s.kind), "</td><td>",
                      Esc(s.target), "</td><td>", Esc(s.state), "</td><td>",
                      TimeCell(s.started_at, tl), " → ", TimeCell(s.ended_at, tl), "</td><td>",
                      Esc(s.detail), "</td></tr>\n");
    }
    h.append("</tbody>\n</table>\n</section>\n");
  }

  // Targets.
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

  // Events.
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

  absl::StrAppend(&h, "<script>", kScript, "</script>\n</body>\n</html>\n");
  return h;
}

absl::Status WriteReports(const RunReport& report, const std::string& dir) {
  if (report.run_id.empty() || report.run_id == "." || report.run_id == ".." ||
      report.run_id.find('/') != std::string::npos ||
      report.run_id.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("run id \"", report.run_id, "\" cannot name a report file"));
  }
  if (dir.empty()) return absl::InvalidArgumentError("empty report directory");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::ErrnoToStatus(ec.value(), absl::StrCat("create directory ", dir));
  }
  const std::string base = absl::StrCat(dir, "/", report.run_id);
  absl::Status s = WriteFileAtomically(base + ".json", ReportJson(report));
  if (!s.ok()) return s;
  return WriteFileAtomically(base + ".html", ReportHtml(report));
}

}  // namespace chaos::controller
