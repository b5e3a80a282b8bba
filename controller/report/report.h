// Views of a RunReport (controller/report/run_report.h), and writing them:
//
// - ReportJson: the JSON journal, schema "chaos.run-report/v1", documented
//   field by field in docs/REPORT.md. It is what `chaosctl run --output`
//   writes, what the controller stores for every run, and what
//   `chaosctl show RUN -o json` prints: one journal, however the run ran.
// - ReportHtml: a self-contained HTML page with an SVG timeline (fault
//   windows per host, probe results over time, abort and recovery marks).
// - ReportText: the summary chaosctl prints after a run.
//
// All text is made valid UTF-8 first. Pure functions: thread-safe.
#ifndef CHAOS_CONTROLLER_REPORT_REPORT_H_
#define CHAOS_CONTROLLER_REPORT_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "controller/report/run_report.h"

namespace chaos::controller {

inline constexpr char kReportSchema[] = "chaos.run-report/v1";

std::string ReportJson(const RunReport& report);
std::string ReportHtml(const RunReport& report);
std::string ReportText(const RunReport& report);

// Writes <dir>/<run_id>.json and <dir>/<run_id>.html atomically, creating
// dir. INVALID_ARGUMENT when the run id cannot name a file.
[[nodiscard]] absl::Status WriteReports(const RunReport& report, const std::string& dir);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_REPORT_REPORT_H_
