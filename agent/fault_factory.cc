#include "agent/fault_factory.h"

#include <signal.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/base/const_init.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "faults/cpu_burn.h"
#include "faults/data_loss.h"
#include "faults/disk_fill.h"
#include "faults/memory_pressure.h"
#include "faults/netem.h"
#include "faults/partition.h"
#include "faults/process_signal.h"
#include "base/status_macros.h"
#include "proto/duration.h"

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

namespace {

// The `kind` oneof: its field names are the kind names.
const google::protobuf::OneofDescriptor& KindOneof() {
  return *FaultSpec::descriptor()->FindOneofByName("kind");
}

}  // namespace

std::string KindName(const FaultSpec& spec) {
  const google::protobuf::FieldDescriptor* field =
      spec.GetReflection()->GetOneofFieldDescriptor(spec, &KindOneof());
  return field == nullptr ? "" : field->name();
}

std::vector<std::string> KindNames() {
  std::vector<std::string> names;
  for (int i = 0; i < KindOneof().field_count(); ++i) names.push_back(KindOneof().field(i)->name());
  return names;
}

namespace {

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeCpuBurn(const chaos::v1::CpuBurn& p) {
  faults::CpuBurnParams params;
  params.workers = p.workers() == 0 ? 1 : p.workers();
  params.cpus.assign(p.cpus().begin(), p.cpus().end());
  params.load_percent = p.load_percent() == 0 ? 100 : p.load_percent();
  if (p.target_total_percent() != 0) params.target_total_percent = p.target_total_percent();
  params.cgroup = p.cgroup();
  params.ramp = FromProto(p.ramp());
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::CpuBurn>(std::move(params));
}

faults::ProcessSelector ToSelector(const chaos::v1::ProcessSelector& s) {
  faults::ProcessSelector out;
  switch (s.match_case()) {
    case chaos::v1::ProcessSelector::kPid: out.pid = s.pid(); break;
    case chaos::v1::ProcessSelector::kName: out.name = s.name(); break;
    case chaos::v1::ProcessSelector::kCmdlineRegex: out.cmdline_regex = s.cmdline_regex(); break;
    case chaos::v1::ProcessSelector::kPidfile: out.pidfile = s.pidfile(); break;
    case chaos::v1::ProcessSelector::MATCH_NOT_SET: break;
  }
  // A oneof set to its zero value ("" or pid 0) still counts as set.
  out.count = s.count();
  out.percent = s.percent();
  out.seed = s.seed();
  return out;
}

// An empty string or pid 0 in a set oneof would read as "not set" in the
// domain struct; say precisely what is wrong instead.
absl::Status CheckSelectorSet(const chaos::v1::ProcessSelector& s, const std::string& prefix) {
  switch (s.match_case()) {
    case chaos::v1::ProcessSelector::kPid:
      if (s.pid() <= 1) {
        return absl::InvalidArgumentError(absl::StrCat(prefix, ".pid: must be > 1, got ", s.pid()));
      }
      break;
    case chaos::v1::ProcessSelector::kName:
      if (s.name().empty()) return absl::InvalidArgumentError(prefix + ".name: empty");
      break;
    case chaos::v1::ProcessSelector::kCmdlineRegex:
      if (s.cmdline_regex().empty()) {
        return absl::InvalidArgumentError(prefix + ".cmdline_regex: empty");
      }
      break;
    case chaos::v1::ProcessSelector::kPidfile:
      if (s.pidfile().empty()) return absl::InvalidArgumentError(prefix + ".pidfile: empty");
      break;
    case chaos::v1::ProcessSelector::MATCH_NOT_SET:
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<faults::ProcessSelector> ToTarget(const chaos::v1::ProcessSelector& s,
                                                 const std::string& prefix) {
  RETURN_IF_ERROR(CheckSelectorSet(s, prefix));
  return ToSelector(s);
}

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeProcessKill(const FaultSpec& spec,
                                                               const FactoryOptions& options) {
  const chaos::v1::ProcessKill& p = spec.process_kill();
  faults::ProcessKillParams params;
  ASSIGN_OR_RETURN(params.target, ToTarget(p.target(), "process_kill.target"));
  params.signal = p.signal() == 0 ? SIGKILL : p.signal();
  params.interval = FromProto(p.interval());
  params.duration = FromProto(spec.duration());
  params.target.max_chosen = options.max_processes_per_fault;
  params.protected_names = options.protected_names;
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::ProcessKill>(std::move(params));
}

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeProcessPause(const FaultSpec& spec,
                                                                const FactoryOptions& options) {
  const chaos::v1::ProcessPause& p = spec.process_pause();
  faults::ProcessPauseParams params;
  ASSIGN_OR_RETURN(params.target, ToTarget(p.target(), "process_pause.target"));
  params.target.max_chosen = options.max_processes_per_fault;
  params.protected_names = options.protected_names;
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::ProcessPause>(std::move(params));
}

// The fault id, reduced to the characters a file name of ours may carry
// (fill files, quarantine directories).
std::string FillTag(const std::string& fault_id) {
  std::string tag;
  for (char c : fault_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    tag.push_back(ok ? c : '_');
    if (tag.size() == 64) break;
  }
  return tag.empty() ? "fill" : tag;
}

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeDiskFill(const FaultSpec& spec,
                                                            const FactoryOptions& options) {
  const chaos::v1::DiskFill& p = spec.disk_fill();
  faults::DiskFillParams params;
  params.directory = p.directory();
  switch (p.size_case()) {
    case chaos::v1::DiskFill::kBytes:
      params.size = faults::DiskFillParams::Size::kBytes;
      params.bytes = p.bytes();
      break;
    case chaos::v1::DiskFill::kTargetPercent:
      params.size = faults::DiskFillParams::Size::kTargetPercent;
      params.target_percent = p.target_percent();
      break;
    case chaos::v1::DiskFill::kLeaveFreeBytes:
      params.size = faults::DiskFillParams::Size::kLeaveFreeBytes;
      params.leave_free_bytes = p.leave_free_bytes();
      break;
    case chaos::v1::DiskFill::SIZE_NOT_SET:
      return absl::InvalidArgumentError(
          "disk_fill.size: set one of bytes, target_percent, leave_free_bytes");
  }
  params.tag = FillTag(spec.fault_id());
  params.allowed_roots = options.fill_roots;
  params.state_dir = options.state_dir;
  params.allow_state_filesystem = p.allow_agent_state_filesystem();
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::DiskFill>(std::move(params));
}

faults::DataLossParams::WhenRestored ToWhenRestored(chaos::v1::DataLoss::WhenRestored w) {
  using W = faults::DataLossParams::WhenRestored;
  switch (w) {
    case chaos::v1::DataLoss::WHEN_RESTORED_DISCARD_ORIGINAL: return W::kDiscardOriginal;
    case chaos::v1::DataLoss::WHEN_RESTORED_PUT_ORIGINAL_BACK: return W::kPutOriginalBack;
    default: return W::kKeepOriginalAside;
  }
}

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeDataLoss(const FaultSpec& spec,
                                                            const FactoryOptions& options) {
  const chaos::v1::DataLoss& p = spec.data_loss();
  faults::DataLossParams params;
  params.paths.assign(p.paths().begin(), p.paths().end());
  params.tag = FillTag(spec.fault_id());
  params.allowed_roots = options.data_roots;
  params.state_dir = options.state_dir;
  params.when_restored = ToWhenRestored(p.when_restored());
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::DataLoss>(std::move(params));
}

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeMemoryPressure(
    const chaos::v1::MemoryPressure& p) {
  faults::MemoryPressureParams params;
  switch (p.size_case()) {
    case chaos::v1::MemoryPressure::kBytes: params.bytes = p.bytes(); break;
    case chaos::v1::MemoryPressure::kPercentOfAvailable:
      params.percent_of_available = p.percent_of_available();
      break;
    case chaos::v1::MemoryPressure::SIZE_NOT_SET: break;  // Validate names it
  }
  params.lock = p.lock();
  RETURN_IF_ERROR(params.Validate());
  return std::make_unique<faults::MemoryPressure>(std::move(params));
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

absl::StatusOr<std::unique_ptr<faults::Fault>> MakeFault(const FaultSpec& spec,
                                                         const FactoryOptions& options) {
  switch (spec.kind_case()) {
    case FaultSpec::kCpuBurn:
      return MakeCpuBurn(spec.cpu_burn());
    case FaultSpec::kProcessKill:
      return MakeProcessKill(spec, options);
    case FaultSpec::kProcessPause:
      return MakeProcessPause(spec, options);
    case FaultSpec::kDiskFill:
      return MakeDiskFill(spec, options);
    case FaultSpec::kMemoryPressure:
      return MakeMemoryPressure(spec.memory_pressure());
    case FaultSpec::kNetem:
      return MakeNetem(spec.netem());
    case FaultSpec::kPartition:
      return MakePartition(spec.fault_id(), spec.partition());
    case FaultSpec::kDataLoss:
      return MakeDataLoss(spec, options);
    case FaultSpec::KIND_NOT_SET:
      return absl::InvalidArgumentError("spec.kind: no fault kind is set");
    default:
      return absl::FailedPreconditionError(absl::StrCat(
          "fault kind ", KindName(spec), " is not supported by this agent build"));
  }
}

std::optional<ProcessSelectionPreview> PreviewProcessSelection(const FaultSpec& spec,
                                                               const FactoryOptions& options) {
  const chaos::v1::ProcessSelector* target = nullptr;
  if (spec.kind_case() == FaultSpec::kProcessKill) target = &spec.process_kill().target();
  if (spec.kind_case() == FaultSpec::kProcessPause) target = &spec.process_pause().target();
  if (target == nullptr) return std::nullopt;
  auto selector = ToTarget(*target, "target");
  if (!selector.ok()) return std::nullopt;
  // The seed only decides which processes, never how many.
  std::mt19937_64 rng(1);
  auto selection = faults::SelectProcesses(faults::RealProcessOs(), *selector,
                                           options.protected_names, "target", rng);
  if (!selection.ok()) return std::nullopt;
  return ProcessSelectionPreview{selection->matched, selection->chosen.size()};
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
  for (const char* kind : {"process_kill", "process_pause", "disk_fill", "memory_pressure", "data_loss"}) {
    add(kind, true, "");
  }
  return caps;
}

}  // namespace chaos::agent
