#include "agent/fault_factory.h"

#include "absl/strings/str_cat.h"
#include "faults/cpu_burn.h"
#include "faults/status_macros.h"

namespace chaos::agent {

using chaos::v1::FaultSpec;

std::string KindName(const FaultSpec& spec) {
  switch (spec.kind_case()) {
    case FaultSpec::kCpuBurn: return "cpu_burn";
    case FaultSpec::kProcessKill: return "process_kill";
    case FaultSpec::kProcessPause: return "process_pause";
    case FaultSpec::kDiskFill: return "disk_fill";
    case FaultSpec::kMemoryPressure: return "memory_pressure";
    case FaultSpec::kNetem: return "netem";
    case FaultSpec::kPartition: return "partition";
    case FaultSpec::KIND_NOT_SET: return "";
  }
  return "";
}

namespace {

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeCpuBurn(const chaos::v1::CpuBurn& p) {
  faults::CpuBurnParams params;
  params.workers = p.workers() == 0 ? 1 : p.workers();
  params.cpus.assign(p.cpus().begin(), p.cpus().end());
  params.load_percent = p.load_percent() == 0 ? 100 : p.load_percent();
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::CpuBurn>(std::move(params));
}

}  // namespace

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeFault(const FaultSpec& spec) {
  switch (spec.kind_case()) {
    case FaultSpec::kCpuBurn:
      return MakeCpuBurn(spec.cpu_burn());
    case FaultSpec::KIND_NOT_SET:
      return absl::InvalidArgumentError("spec.kind: no fault kind is set");
    default:
      return absl::FailedPreconditionError(absl::StrCat(
          "fault kind ", KindName(spec), " is not supported by this agent build"));
  }
}

std::vector<chaos::v1::FaultCapability> Capabilities() {
  std::vector<chaos::v1::FaultCapability> caps;
  auto add = [&](const std::string& kind, bool ok, const std::string& why) {
    chaos::v1::FaultCapability c;
    c.set_kind(kind);
    c.set_available(ok);
    c.set_reason(why);
    caps.push_back(std::move(c));
  };
  add("cpu_burn", true, "");
  for (const char* kind : {"process_kill", "process_pause", "disk_fill", "memory_pressure",
                           "netem", "partition"}) {
    add(kind, false, "not supported by this agent build");
  }
  return caps;
}

}  // namespace chaos::agent
