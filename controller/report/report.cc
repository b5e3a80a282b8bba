#include "controller/report/report.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "base/errno.h"
#include "base/files.h"
#include "base/ids.h"
#include "base/status_macros.h"

namespace chaos::controller {

absl::Status WriteReports(const RunReport& report, const std::string& dir) {
  RETURN_IF_ERROR(base::ValidateId("run id", report.run_id));
  if (dir.empty()) return absl::InvalidArgumentError("empty report directory");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return base::ErrnoToStatus(ec.value(), absl::StrCat("create directory ", dir));
  const std::string stem = absl::StrCat(dir, "/", report.run_id);
  RETURN_IF_ERROR(base::WriteFileAtomically(stem + ".json", ReportJson(report)));
  return base::WriteFileAtomically(stem + ".html", ReportHtml(report));
}

}  // namespace chaos::controller
