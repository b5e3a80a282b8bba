// MemoryPressure: holds an amount of memory in a child process.
//
// The size is bytes, or a percent of the memory available right now: the
// smaller of MemAvailable (/proc/meminfo) and what the agent's own cgroup
// still allows (memory.max - memory.current). A child started by LaunchChild
// (own process group, parent-death signal, named "chaos-mem", oom_score_adj
// 1000 so the kernel picks it first when memory runs out) maps the memory,
// optionally mlocks it, writes one byte per page once and then sleeps: it
// never rewrites the memory, so it costs no CPU while held. The agent's own
// RSS is not affected. Inject returns once every page is touched, or fails
// (RESOURCE_EXHAUSTED when the child could not get the memory) with the
// child gone. Revert kills exactly that child (pid plus start time); a child
// that is already gone is OK.
//
// Undo state: {"holder": "pid:start"} ("" before the child exists).
#ifndef CHAOS_FAULTS_MEMORY_PRESSURE_H_
#define CHAOS_FAULTS_MEMORY_PRESSURE_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "faults/fault.h"
#include "faults/process.h"

namespace chaos::faults {

// What memory pressure needs from the host.
class MemoryOs {
 public:
  virtual ~MemoryOs() = default;
  // Bytes that can be allocated right now (see above).
  [[nodiscard]] virtual absl::StatusOr<uint64_t> AvailableBytes() = 0;
  // Starts a holder child and returns once it has touched `bytes`.
  [[nodiscard]] virtual absl::StatusOr<ProcessId> StartHolder(uint64_t bytes, bool lock) = 0;
  // Kills and reaps the holder; OK when it is already gone.
  [[nodiscard]] virtual absl::Status StopHolder(const ProcessId& id) = 0;
  // VmRSS and VmLck of a process, in bytes.
  struct Usage {
    uint64_t resident = 0;
    uint64_t locked = 0;
  };
  [[nodiscard]] virtual absl::StatusOr<Usage> ReadUsage(const ProcessId& id) = 0;
};

MemoryOs& RealMemoryOs();

struct MemoryPressureParams {
  std::optional<uint64_t> bytes;       // > 0; exactly one of bytes/percent
  std::optional<double> percent_of_available;  // (0, 100]
  bool lock = false;

  // INVALID_ARGUMENT naming "memory_pressure.<field>".
  [[nodiscard]] absl::Status Validate() const;
};

class MemoryPressure final : public Fault {
 public:
  explicit MemoryPressure(MemoryPressureParams params, MemoryOs& os = RealMemoryOs());
  ~MemoryPressure() override;  // does not revert: the owner decides

  absl::Status Inject(const UndoRecorder& record) override;
  absl::Status Revert() override;
  absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  const std::optional<ProcessId>& holder() const { return holder_; }
  uint64_t requested_bytes() const { return requested_; }

 private:
  const MemoryPressureParams params_;
  MemoryOs& os_;
  std::optional<ProcessId> holder_;
  uint64_t requested_ = 0;
  uint64_t available_before_ = 0;
  MemoryOs::Usage usage_;
  bool reverted_ = false;
};

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_MEMORY_PRESSURE_H_
