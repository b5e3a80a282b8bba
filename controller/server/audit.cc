#include "controller/server/audit.h"

#include "spdlog/spdlog.h"

namespace chaos::controller {

void Audit(const char* action, const std::string& caller, const std::string& target,
           const absl::Status& result) {
  spdlog::warn("audit action={} caller=\"{}\" target=\"{}\" result=\"{}\"", action, caller, target,
               result.ok() ? "ok" : result.ToString());
}

}  // namespace chaos::controller
