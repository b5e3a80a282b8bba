#include "agent/fault_factory.h"

#include "absl/strings/str_cat.h"
#include "absl/base/const_init.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "faults/cpu_burn.h"
#include "faults/netem.h"
#include "faults/partition.h"
#include "faults/status_macros.h"

namespace chaos::agent {

using chaos::v1::FaultSpec;

namespace {
absl::Mutex channel_mu(absl::kConstInit);
ControlChannel* channel ABSL_GUARDED_BY(channel_mu) = nullptr;
}  // namespace

void SetControlChannel(ControlChannel c) {
  absl::MutexLock lock(&channel_mu);
  delete channel;
  channel = new ControlChannel(std::move(c));
}

ControlChannel GetControlChannel() {
  absl::MutexLock lock(&channel_mu);
  return channel ? *channel : ControlChannel{};
}

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

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeNetem(const chaos::v1::Netem& p) {
  faults::NetemParams params;
  params.interface = p.interface();
  params.delay = FromProto(p.delay());
  params.jitter = FromProto(p.jitter());
  params.delay_correlation_percent = p.delay_correlation_percent();
  params.distribution = p.distribution();
  params.loss_percent = p.loss_percent();
  params.loss_correlation_percent = p.loss_correlation_percent();
  params.duplicate_percent = p.duplicate_percent();
  params.corrupt_percent = p.corrupt_percent();
  params.reorder_percent = p.reorder_percent();
  params.reorder_gap = p.reorder_gap();
  params.rate_bytes_per_second = p.rate_bytes_per_second();
  params.destination_cidrs.assign(p.destination_cidrs().begin(), p.destination_cidrs().end());
  params.ports.assign(p.ports().begin(), p.ports().end());
  ControlChannel cc = GetControlChannel();
  params.exclude_cidrs = cc.cidrs;
  params.exclude_ports = cc.ports;
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::Netem>(std::move(params));
}

absl::StatusOr<std::unique_ptr<faults::Fault>> MakePartition(const std::string& fault_id,
                                                             const chaos::v1::Partition& p) {
  faults::PartitionParams params;
  params.fault_id = fault_id;
  params.cidrs.assign(p.cidrs().begin(), p.cidrs().end());
  params.ports.assign(p.ports().begin(), p.ports().end());
  switch (p.direction()) {
    case chaos::v1::Partition::DIRECTION_INGRESS:
      params.direction = faults::PartitionDirection::kIngress;
      break;
    case chaos::v1::Partition::DIRECTION_EGRESS:
      params.direction = faults::PartitionDirection::kEgress;
      break;
    default:
      params.direction = faults::PartitionDirection::kBoth;
  }
  ControlChannel cc = GetControlChannel();
  params.exclude_cidrs = cc.cidrs;
  params.exclude_ports = cc.ports;
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::Partition>(std::move(params));
}

}  // namespace

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeFault(const FaultSpec& spec) {
  switch (spec.kind_case()) {
    case FaultSpec::kCpuBurn:
      return MakeCpuBurn(spec.cpu_burn());
    case FaultSpec::kNetem:
      return MakeNetem(spec.netem());
    case FaultSpec::kPartition:
      return MakePartition(spec.fault_id(), spec.partition());
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
  const absl::Status netem = faults::NetemAvailable();
  add("netem", netem.ok(), std::string(netem.message()));
  const absl::Status partition = faults::PartitionAvailable();
  add("partition", partition.ok(), std::string(partition.message()));
  for (const char* kind : {"process_kill", "process_pause", "disk_fill", "memory_pressure"}) {
    add(kind, false, "not supported by this agent build");
  }
  return caps;
}

}  // namespace chaos::agent
