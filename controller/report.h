// Run reports: the JSON journal of a run (schema in docs/REPORT.md) and a
// self-contained HTML page with an SVG timeline (fault windows per host,
// probe results over time, abort and recovery marks). Neither needs
// anything beyond the file itself to be read or shown.
#ifndef CHAOS_CONTROLLER_REPORT_H_
#define CHAOS_CONTROLLER_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "controller/runner.h"

namespace chaos::controller {

std::string ReportJson(const RunReport& report);
std::string ReportHtml(const RunReport& report);

// Writes <dir>/<run_id>.json and <dir>/<run_id>.html, creating dir.
absl::Status WriteReports(const RunReport& report, const std::string& dir);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_REPORT_H_
