#include "agent/audit.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "agent/fault_factory.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {
namespace {

std::string Who(const std::string& caller) { return caller.empty() ? "-" : caller; }

}  // namespace

void AuditFault(const std::string& action, const chaos::v1::FaultStatus& status,
                const std::string& caller, const std::string& result) {
  spdlog::info("audit action={} fault={} experiment={} kind={} caller=\"{}\" result=\"{}\"", action,
               status.spec().fault_id(), status.spec().experiment_id(), KindName(status.spec()),
               Who(caller), result);
}

void AuditRefusal(const chaos::v1::FaultSpec& spec, const std::string& caller,
                  const absl::Status& why) {
  spdlog::warn("audit action=refuse fault={} experiment={} kind={} caller=\"{}\" result=\"{}\"",
               spec.fault_id(), spec.experiment_id(), KindName(spec), caller,
               std::string(why.message()));
}

void AuditLeaseExpiry(const chaos::v1::FaultSpec& spec, const std::string& reason) {
  spdlog::warn("audit action=lease-expiry fault={} experiment={} reason=\"{}\"",
               spec.fault_id(), spec.experiment_id(), reason);
}

void AuditHalt(const std::string& caller, const std::string& reason) {
  spdlog::warn("audit action=halt caller=\"{}\" reason=\"{}\"", Who(caller), reason);
}

void AuditResume(const std::string& caller) {
  spdlog::warn("audit action=resume caller=\"{}\"", Who(caller));
}

void AuditCommand(const std::string& action, const chaos::v1::RunCommandRequest& request,
                  const std::string& caller, const std::string& result) {
  constexpr size_t kShown = 512;
  std::string argv = absl::CHexEscape(absl::StrJoin(request.argv(), " "));
  if (argv.size() > kShown) argv = argv.substr(0, kShown) + "...";
  const auto level = action == "command-refuse" ? spdlog::level::warn : spdlog::level::info;
  spdlog::log(level,
              "audit action={} command={} experiment={} caller=\"{}\" argv=\"{}\" result=\"{}\"",
              action, request.command_id(), request.experiment_id(), Who(caller), argv, result);
}

void AuditSweep(const std::string& kind, const std::string& item, const std::string& result) {
  spdlog::warn("audit action=sweep kind={} item=\"{}\" result=\"{}\"", kind, item, result);
}

}  // namespace chaos::agent
