// Formatting shared by the report's views (JSON journal, HTML, text):
// times, durations, the names of the model's enums and the drill's phases.
// Internal to controller/report.
#ifndef CHAOS_CONTROLLER_REPORT_FORMAT_H_
#define CHAOS_CONTROLLER_REPORT_FORMAT_H_

#include <array>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "controller/report/run_report.h"

namespace chaos::controller::report_format {

inline bool Finite(absl::Time t) {
  return t != absl::InfinitePast() && t != absl::InfiniteFuture();
}
inline bool FiniteDuration(absl::Duration d) {
  return d != absl::InfiniteDuration() && d != -absl::InfiniteDuration();
}

// From `from` to `to`; nullopt when either never happened.
inline std::optional<absl::Duration> Elapsed(absl::Time from, absl::Time to) {
  if (!Finite(from) || !Finite(to)) return std::nullopt;
  return to - from;
}

// An objective's verdict: nullopt when none was set; false when the figure
// was never measured or exceeds the objective.
inline std::optional<bool> ObjectiveMet(const std::optional<absl::Duration>& measured,
                                        const std::optional<absl::Duration>& objective) {
  if (!objective) return std::nullopt;
  return measured && *measured <= *objective;
}

// A phase of a drill's RTO, after the disaster.
struct DrillPhase {
  const char* key;    // JSON: "<key>_at" and "<key>_ms"
  const char* label;  // text and HTML
  absl::Time at;
};

// The RTO's phases after the disaster, in the order they happen.
inline std::array<DrillPhase, 4> DrillPhases(const DrillResult& d) {
  return {{{"restore_started", "restore started", d.restore_started_at},
           {"restore_ended", "restore ended", d.restore_ended_at},
           {"first_probe_ok", "first probe ok", d.first_probe_ok_at},
           {"healthy", "healthy", d.healthy_at}}};
}

// A digest cut to its first 12 characters and "…" when longer.
inline std::string ShortDigest(const std::string& digest) {
  return digest.size() > 12 ? digest.substr(0, 12) + "…" : digest;
}

using ::chaos::controller::Rfc3339;  // run_report.h
// "4.2s": seconds with one decimal (the text summary).
std::string Secs(absl::Duration d);
// "4.25s", "n/a" when infinite: whole milliseconds (the HTML page).
std::string HumanDuration(absl::Duration d);
// A drill's backup size and restore throughput: "backup 40.1 MB, restored
// at 8.3 MB/s", "backup 18.9 kB" (no throughput), "backup size not known:
// <why>", or "" when the drill does not measure it. Decimal units.
std::string DrillSizeText(const DrillResult& d);
// A fault step's window: "injects acknowledged within 12.3ms (first to
// last), planned end 2026-11-24T07:45:35.123Z"; "" for a step that is not a
// fault step or injected nowhere.
std::string WindowText(const StepRecord& s);

}  // namespace chaos::controller::report_format

#endif  // CHAOS_CONTROLLER_REPORT_FORMAT_H_
