// Formatting shared by the report's views (JSON journal, HTML, text):
// times, durations and the names of the model's enums. Internal to
// controller/report.
#ifndef CHAOS_CONTROLLER_REPORT_FORMAT_H_
#define CHAOS_CONTROLLER_REPORT_FORMAT_H_

#include <string>

#include "absl/time/time.h"

namespace chaos::controller::report_format {

inline bool Finite(absl::Time t) {
  return t != absl::InfinitePast() && t != absl::InfiniteFuture();
}
inline bool FiniteDuration(absl::Duration d) {
  return d != absl::InfiniteDuration() && d != -absl::InfiniteDuration();
}

// RFC 3339, UTC, milliseconds: 2026-11-24T07:45:32.123Z.
std::string Rfc3339(absl::Time t);
// "4.2s": seconds with one decimal (the text summary).
std::string Secs(absl::Duration d);
// "4.25s", "n/a" when infinite: whole milliseconds (the HTML page).
std::string HumanDuration(absl::Duration d);

}  // namespace chaos::controller::report_format

#endif  // CHAOS_CONTROLLER_REPORT_FORMAT_H_
