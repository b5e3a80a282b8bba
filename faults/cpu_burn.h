// CpuBurn: keeps CPUs busy with child processes of this process.
//
// Each worker is a child started by LaunchChild (own process group,
// parent-death signal, named "chaos-burn"), so burners never outlive the
// process that started them. A worker holds its own CPU time at a load
// (per mille of wall-clock time) that it reads from a page shared with this
// process: over short slices it compares the CPU time the kernel charged it
// with the wall time elapsed and spins or sleeps to close the gap, so its
// measured load tracks the target even when it is preempted.
//
// Open loop: every worker runs at load_percent. Closed loop
// (target_total_percent set): a controller thread of this process measures
// the total CPU use of the host (/proc/stat) or, with `cgroup`, of that
// cgroup (cpuacct.usage for v1, cpu.stat usage_usec for v2; the burners are
// moved into it), as a percent of the host's capacity, every 100 ms, and
// adjusts the workers' load so that the total holds at the target. With a
// ramp the set-point rises linearly from 0 over the ramp's duration.
//
// Revert stops the controller and kills exactly the recorded burners (pid
// plus start time), never by name. A burner already gone is OK.
//
// Undo state: {"burners": "pid:start,..."}.
#ifndef CHAOS_FAULTS_CPU_BURN_H_
#define CHAOS_FAULTS_CPU_BURN_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "faults/fault.h"
#include "faults/process.h"

namespace chaos::faults {

// Busy and total CPU time of the host or of a cgroup, in nanoseconds; the
// ratio of two samples' differences is the load in that interval.
struct CpuSample {
  double busy_ns = 0;
  double total_ns = 0;
};

// What CpuBurn needs from the host.
class BurnerOs {
 public:
  virtual ~BurnerOs() = default;
  // Starts one burner child (pinned to `cpu` when >= 0) that reads its load
  // from `load_permille` (shared memory).
  [[nodiscard]] virtual absl::StatusOr<ProcessId> StartBurner(
      int cpu, const std::atomic<uint32_t>* load_permille) = 0;
  // Kills and reaps it; OK when it is already gone.
  [[nodiscard]] virtual absl::Status StopBurner(const ProcessId& id) = 0;
  // Samples /proc/stat ("" cgroup) or the cgroup's CPU accounting.
  [[nodiscard]] virtual absl::StatusOr<CpuSample> Sample(const std::string& cgroup) = 0;
  // True when `cgroup` is a cgroup directory.
  virtual bool IsCgroup(const std::string& cgroup) = 0;
  // Moves `pid` into `cgroup`.
  [[nodiscard]] virtual absl::Status MoveToCgroup(const std::string& cgroup, pid_t pid) = 0;
  virtual int OnlineCpus() = 0;
};

BurnerOs& RealBurnerOs();

struct CpuBurnParams {
  uint32_t workers = 1;      // 1..1024; ignored when cpus is non-empty
  std::vector<uint32_t> cpus;  // one worker pinned to each
  uint32_t load_percent = 100;  // 1..100, open loop
  // Closed loop: hold the measured total at this percent of the host's CPU
  // capacity, (0, 100].
  std::optional<double> target_total_percent;
  // Closed loop only: measure (and put the burners in) this cgroup
  // directory, absolute under /sys/fs/cgroup; "" means the whole host.
  std::string cgroup;
  absl::Duration ramp = absl::ZeroDuration();  // 0..1h

  // INVALID_ARGUMENT naming the first bad field.
  [[nodiscard]] absl::Status Validate() const;
};

// The closed-loop control law, exposed for tests: the next per-worker load
// (0..100 percent) given the current one, the set-point and the measured
// total (percent of the host's capacity), the host's CPU count and the
// number of workers.
double NextWorkerLoad(double current, double target, double measured, int ncpu, int workers);

class CpuBurn final : public Fault {
 public:
  explicit CpuBurn(CpuBurnParams params, BurnerOs& os = RealBurnerOs());
  ~CpuBurn() override;  // stops the controller; does not kill burners

  absl::Status Inject(const UndoRecorder& record) override;
  absl::Status Revert() override;
  absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  const std::vector<ProcessId>& burners() const { return burners_; }

 private:
  void ControlLoop(absl::Time start);
  void StopController();

  const CpuBurnParams params_;
  BurnerOs& os_;
  std::vector<ProcessId> burners_;
  std::atomic<uint32_t>* load_permille_ = nullptr;  // shared with the burners
  std::thread controller_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  double measured_percent_ = -1;  // last closed-loop sample
  bool reverted_ = false;
};

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_CPU_BURN_H_
