#include "faults/cpu_burn.h"

#include <time.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "faults/status_macros.h"

namespace chaos::faults {
namespace {

constexpr uint32_t kMaxWorkers = 1024;
constexpr int64_t kSliceNs = 10'000'000;      // 10 ms
constexpr int64_t kMaxDebtNs = 100'000'000;   // forget older debt or credit

int64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Runs in the child after fork: async-signal-safe calls only.
[[noreturn]] void BurnLoop(uint32_t load_percent, pid_t parent) {
  const int64_t wall0 = NowNs(CLOCK_MONOTONIC);
  const int64_t cpu0 = NowNs(CLOCK_PROCESS_CPUTIME_ID);
  int64_t wall_base = wall0, cpu_base = cpu0;
  for (;;) {
    if (getppid() != parent) _exit(0);
    const int64_t wall = NowNs(CLOCK_MONOTONIC) - wall_base;
    const int64_t cpu = NowNs(CLOCK_PROCESS_CPUTIME_ID) - cpu_base;
    const int64_t want = wall * load_percent / 100;
    if (cpu < want) {
      // Behind: spin until caught up, at most one slice at a time.
      const int64_t until = NowNs(CLOCK_PROCESS_CPUTIME_ID) +
                            std::min<int64_t>(want - cpu, kSliceNs);
      while (NowNs(CLOCK_PROCESS_CPUTIME_ID) < until) {
      }
    } else {
      // Ahead: sleep the wall time it takes for the target to catch up.
      const int64_t ahead_ns =
          load_percent >= 100 ? 0 : (cpu - want) * 100 / (100 - load_percent);
      int64_t sleep_ns = std::min<int64_t>(std::max<int64_t>(ahead_ns, 100'000),
                                           kSliceNs);
      if (load_percent >= 100) sleep_ns = 0;
      if (sleep_ns > 0) {
        timespec ts{0, static_cast<long>(sleep_ns)};
        nanosleep(&ts, nullptr);
      }
    }
    // Keep only recent history so a long stall is not repaid in a burst.
    if (wall > kMaxDebtNs) {
      const int64_t now_wall = NowNs(CLOCK_MONOTONIC);
      const int64_t now_cpu = NowNs(CLOCK_PROCESS_CPUTIME_ID);
      const int64_t w = now_wall - wall_base, c = now_cpu - cpu_base;
      const int64_t debt = w * load_percent / 100 - c;  // >0: behind
      const int64_t clamp = kSliceNs;
      const int64_t kept = std::max(-clamp, std::min(clamp, debt));
      wall_base = now_wall;
      cpu_base = now_cpu + kept;  // carry at most one slice of debt or credit
    }
  }
}

}  // namespace

absl::Status CpuBurnParams::Validate() const {
  if (cpus.empty() && (workers < 1 || workers > kMaxWorkers)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu_burn.workers: must be 1..", kMaxWorkers, ", got ", workers));
  }
  if (cpus.size() > kMaxWorkers) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu_burn.cpus: at most ", kMaxWorkers, " entries"));
  }
  const long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  for (uint32_t cpu : cpus) {
    if (static_cast<long>(cpu) >= ncpu) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cpu_burn.cpus: CPU ", cpu, " does not exist (this host has ", ncpu, ")"));
    }
  }
  if (load_percent < 1 || load_percent > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cpu_burn.load_percent: must be 1..100, got ", load_percent));
  }
  return absl::OkStatus();
}

CpuBurn::CpuBurn(CpuBurnParams params) : params_(std::move(params)) {}

CpuBurn::~CpuBurn() = default;

absl::Status CpuBurn::Inject(const UndoRecorder& record) {
  RETURN_IF_ERROR(params_.Validate());
  std::vector<int> pins;
  if (params_.cpus.empty()) {
    pins.assign(params_.workers, -1);
  } else {
    pins.assign(params_.cpus.begin(), params_.cpus.end());
  }
  // Burners die with this process, so the intent needs no pids yet: a crash
  // between fork and record leaves nothing behind.
  RETURN_IF_ERROR(record({{"burners", ""}}));
  const pid_t self = getpid();
  const uint32_t load = params_.load_percent;
  absl::Status status;
  for (int cpu : pins) {
    auto id = LaunchChild({.name = "chaos-burn", .cpu = cpu},
                          [load, self] { BurnLoop(load, self); });
    if (!id.ok()) {
      status = id.status();
      break;
    }
    burners_.push_back(*id);
    status = record({{"burners", FormatProcessIds(burners_)}});
    if (!status.ok()) break;
  }
  if (!status.ok()) {
    (void)Revert();  // leave the host as it was
    return status;
  }
  reverted_ = false;
  return absl::OkStatus();
}

absl::Status CpuBurn::Revert() {
  absl::Status first_error;
  std::vector<ProcessId> left;
  for (const ProcessId& id : burners_) {
    absl::Status s = KillAndReapChild(id);
    if (!s.ok()) {
      left.push_back(id);
      if (first_error.ok()) first_error = s;
    }
  }
  burners_ = std::move(left);
  reverted_ = first_error.ok();
  return first_error;
}

absl::Status CpuBurn::Adopt(const UndoState& undo) {
  auto it = undo.find("burners");
  if (it == undo.end()) {
    return absl::InvalidArgumentError("cpu_burn undo state has no \"burners\"");
  }
  ASSIGN_OR_RETURN(burners_, ParseProcessIds(it->second));
  return absl::OkStatus();
}

FaultStatus CpuBurn::Status() const {
  FaultStatus s;
  std::vector<pid_t> pids;
  for (const ProcessId& id : burners_) pids.push_back(id.pid);
  s.summary = reverted_ ? absl::StrCat("burners stopped")
                        : absl::StrCat(burners_.size(), " worker(s) at ",
                                       params_.load_percent, "% load (pids ",
                                       absl::StrJoin(pids, ", "), ")");
  s.details["workers"] = absl::StrCat(burners_.size());
  s.details["load_percent"] = absl::StrCat(params_.load_percent);
  s.details["pids"] = absl::StrJoin(pids, ",");
  return s;
}

}  // namespace chaos::faults
