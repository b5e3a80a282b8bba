// CpuBurn: keeps CPUs busy with child processes of this process.
//
// Each worker is a child started by LaunchChild (own process group,
// parent-death signal, named "chaos-burn"), so burners never outlive the
// process that started them. A worker holds its own CPU time at
// load_percent of wall-clock time: over short slices it compares the CPU
// time the kernel charged it with the wall time elapsed and spins or sleeps
// to close the gap, so its measured load tracks the target even when it is
// preempted. Revert kills exactly the recorded burners (pid plus start
// time), never by name.
//
// Undo state: {"burners": "pid:start,..."}.
#ifndef CHAOS_FAULTS_CPU_BURN_H_
#define CHAOS_FAULTS_CPU_BURN_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "faults/fault.h"
#include "faults/process.h"

namespace chaos::faults {

struct CpuBurnParams {
  uint32_t workers = 1;      // 1..1024; ignored when cpus is non-empty
  std::vector<uint32_t> cpus;  // one worker pinned to each
  uint32_t load_percent = 100;  // 1..100

  // INVALID_ARGUMENT naming the first bad field.
  absl::Status Validate() const;
};

class CpuBurn final : public Fault {
 public:
  explicit CpuBurn(CpuBurnParams params);
  ~CpuBurn() override;  // does not revert: the owner decides

  absl::Status Inject(const UndoRecorder& record) override;
  absl::Status Revert() override;
  absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  const std::vector<ProcessId>& burners() const { return burners_; }

 private:
  const CpuBurnParams params_;
  std::vector<ProcessId> burners_;
  bool reverted_ = false;
};

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_CPU_BURN_H_
