#include "faults/cpu_burn.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "faults/host_os.h"
#include "base/status_macros.h"
#include "base/files.h"
#include "base/paths.h"
#include "base/errno.h"

namespace chaos::faults {
namespace {

constexpr uint32_t kMaxWorkers = 1024;
constexpr int64_t kSliceNs = 10'000'000;      // 10 ms
constexpr int64_t kMaxDebtNs = 100'000'000;   // forget older debt or credit
constexpr absl::Duration kControlPeriod = absl::Milliseconds(100);

int64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Runs in the child after fork: async-signal-safe calls only. The load is
// re-read every iteration; a change restarts the accounting.
[[noreturn]] void BurnLoop(const std::atomic<uint32_t>* load_permille, pid_t parent) {
  int64_t wall_base = NowNs(CLOCK_MONOTONIC);
  int64_t cpu_base = NowNs(CLOCK_PROCESS_CPUTIME_ID);
  int64_t load = load_permille->load(std::memory_order_relaxed);
  for (;;) {
    if (getppid() != parent) _exit(0);
    const int64_t now_load = load_permille->load(std::memory_order_relaxed);
    if (now_load != load) {
      load = now_load;
      wall_base = NowNs(CLOCK_MONOTONIC);
      cpu_base = NowNs(CLOCK_PROCESS_CPUTIME_ID);
    }
    const int64_t wall = NowNs(CLOCK_MONOTONIC) - wall_base;
    const int64_t cpu = NowNs(CLOCK_PROCESS_CPUTIME_ID) - cpu_base;
    const int64_t want = wall * load / 1000;
    if (load > 0 && cpu < want) {
      // Behind: spin until caught up, at most one slice at a time.
      const int64_t until = NowNs(CLOCK_PROCESS_CPUTIME_ID) +
                            std::min<int64_t>(want - cpu, kSliceNs);
      while (NowNs(CLOCK_PROCESS_CPUTIME_ID) < until) {
      }
    } else if (load < 1000) {
      // Ahead: sleep the wall time it takes for the target to catch up.
      const int64_t ahead_ns = (cpu - want) * 1000 / (1000 - load);
      const int64_t sleep_ns =
          std::min<int64_t>(std::max<int64_t>(ahead_ns, 100'000), kSliceNs);
      timespec ts{0, static_cast<long>(sleep_ns)};
      nanosleep(&ts, nullptr);
    }
    // Keep only recent history so a long stall is not repaid in a burst.
    if (wall > kMaxDebtNs) {
      const int64_t now_wall = NowNs(CLOCK_MONOTONIC);
      const int64_t now_cpu = NowNs(CLOCK_PROCESS_CPUTIME_ID);
      const int64_t w = now_wall - wall_base, c = now_cpu - cpu_base;
      const int64_t debt = w * load / 1000 - c;  // >0: behind
      const int64_t kept = std::max(-kSliceNs, std::min(kSliceNs, debt));
      wall_base = now_wall;
      cpu_base = now_cpu + kept;  // carry at most one slice of debt or credit
    }
  }
}

absl::StatusOr<CpuSample> SampleHost() {
  std::string stat;
  if (!base::ReadTextFile("/proc/stat", &stat)) return absl::UnavailableError("cannot read /proc/stat");
  // A view of `stat` itself: a view of a temporary substr() would dangle.
  absl::string_view line = absl::string_view(stat).substr(0, stat.find('\n'));
  if (!absl::ConsumePrefix(&line, "cpu ")) return absl::InternalError("unparsable /proc/stat");
  std::vector<uint64_t> v;
  for (absl::string_view f : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    uint64_t x = 0;
    if (absl::SimpleAtoi(f, &x)) v.push_back(x);
  }
  if (v.size() < 5) return absl::InternalError("short /proc/stat cpu line");
  // user nice system idle iowait irq softirq steal (guest is in user).
  uint64_t total = 0;
  for (size_t i = 0; i < std::min<size_t>(v.size(), 8); ++i) total += v[i];
  const uint64_t idle = v[3] + v[4];
  const double tick_ns = 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
  return CpuSample{static_cast<double>(total - idle) * tick_ns,
                   static_cast<double>(total) * tick_ns};
}

absl::StatusOr<CpuSample> SampleCgroup(const std::string& dir) {
  std::string text;
  double usage_ns = -1;
  if (base::ReadTextFile(dir + "/cpuacct.usage", &text)) {  // v1
    uint64_t ns = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &ns)) usage_ns = static_cast<double>(ns);
  } else if (base::ReadTextFile(dir + "/cpu.stat", &text)) {  // v2
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      uint64_t us = 0;
      if (absl::ConsumePrefix(&line, "usage_usec ") && absl::SimpleAtoi(line, &us)) {
        usage_ns = static_cast<double>(us) * 1000;
      }
    }
  }
  if (usage_ns < 0) {
    return absl::NotFoundError(
        absl::StrCat("cpu_burn.cgroup: ", dir, " has neither cpuacct.usage nor cpu.stat"));
  }
  const double ncpu = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  return CpuSample{usage_ns, static_cast<double>(NowNs(CLOCK_MONOTONIC)) * ncpu};
}

class RealBurner final : public BurnerOs {
 public:
  absl::StatusOr<ProcessId> StartBurner(int cpu,
                                        const std::atomic<uint32_t>* load_permille) override {
    const pid_t self = getpid();
    return LaunchChild({.name = "chaos-burn", .cpu = cpu},
                       [load_permille, self] { BurnLoop(load_permille, self); });
  }
  absl::Status StopBurner(const ProcessId& id) override { return KillAndReapChild(id); }
  absl::StatusOr<CpuSample> Sample(const std::string& cgroup) override {
    return cgroup.empty() ? SampleHost() : SampleCgroup(cgroup);
  }
  bool IsCgroup(const std::string& cgroup) override {
    std::string probe;
    return base::ReadTextFile(cgroup + "/cgroup.procs", &probe);
  }
  absl::Status MoveToCgroup(const std::string& cgroup, pid_t pid) override {
    std::ofstream procs(cgroup + "/cgroup.procs");
    procs << pid << std::flush;
    if (!procs) {
      return absl::FailedPreconditionError(
          absl::StrCat("cpu_burn.cgroup: cannot move burner ", pid, " into ", cgroup));
    }
    return absl::OkStatus();
  }
  int OnlineCpus() override { return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)); }
};

}  // namespace

BurnerOs& RealBurnerOs() {
  static RealBurner* os = new RealBurner();
  return *os;
}

double NextWorkerLoad(double current, double target, double measured, int ncpu, int workers) {
  // Integral control: one period closes 60% of the error, spread over the
  // workers (each worker is 100/ncpu percent of the host at full load).
  constexpr double kGain = 0.6;
  const double next = current + kGain * (target - measured) * ncpu / std::max(workers, 1);
  return std::clamp(next, 0.0, 100.0);
}

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
  if (target_total_percent &&
      !(*target_total_percent > 0 && *target_total_percent <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cpu_burn.target_total_percent: must be in (0, 100], got ", *target_total_percent));
  }
  if (!cgroup.empty()) {
    if (!target_total_percent) {
      return absl::InvalidArgumentError(
          "cpu_burn.cgroup: only meaningful with target_total_percent");
    }
    if (!absl::StartsWith(cgroup, "/sys/fs/cgroup/") || base::HasDotDot(cgroup)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cpu_burn.cgroup: must be a directory under /sys/fs/cgroup/ without \"..\", got \"",
          cgroup, "\""));
    }
  }
  if (ramp < absl::ZeroDuration() || ramp > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cpu_burn.ramp: must be 0..1h, got ", absl::FormatDuration(ramp)));
  }
  return absl::OkStatus();
}

CpuBurn::CpuBurn(CpuBurnParams params, BurnerOs& os) : params_(std::move(params)), os_(os) {}

CpuBurn::~CpuBurn() {
  StopController();
  // Burners (if any) still read the page; it stays mapped until they are
  // reverted by the owner, and leaks otherwise (one page).
  if (load_permille_ != nullptr && burners_.empty()) munmap(load_permille_, 4096);
}

absl::Status CpuBurn::Inject(const UndoRecorder& record) {
  RETURN_IF_ERROR(params_.Validate());
  if (!params_.cgroup.empty()) {
    if (!os_.IsCgroup(params_.cgroup)) {
      return absl::NotFoundError(
          absl::StrCat("cpu_burn.cgroup: ", params_.cgroup, " is not a cgroup directory"));
    }
  }
  std::vector<int> pins;
  if (params_.cpus.empty()) {
    pins.assign(params_.workers, -1);
  } else {
    pins.assign(params_.cpus.begin(), params_.cpus.end());
  }
  if (load_permille_ == nullptr) {
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return base::ErrnoToStatus(errno, "cpu_burn: mmap");
    load_permille_ = new (page) std::atomic<uint32_t>(0);
  }
  const bool closed = params_.target_total_percent.has_value();
  const bool ramped = params_.ramp > absl::ZeroDuration();
  uint32_t initial = params_.load_percent * 10;
  if (closed) {
    const int ncpu = os_.OnlineCpus();
    initial = static_cast<uint32_t>(
        10 * std::clamp(*params_.target_total_percent * ncpu / pins.size(), 0.0, 100.0));
  }
  load_permille_->store(ramped ? 0 : initial);
  // Burners die with this process, so the intent needs no pids yet: a crash
  // between fork and record leaves nothing behind.
  RETURN_IF_ERROR(record({{"burners", ""}}));
  absl::Status status;
  for (int cpu : pins) {
    auto id = os_.StartBurner(cpu, load_permille_);
    if (!id.ok()) {
      status = id.status();
      break;
    }
    burners_.push_back(*id);
    status = record({{"burners", FormatProcessIds(burners_)}});
    if (!status.ok()) break;
    if (!params_.cgroup.empty()) {
      status = os_.MoveToCgroup(params_.cgroup, id->pid);
      if (!status.ok()) break;
    }
  }
  if (!status.ok()) {
    (void)Revert();  // leave the host as it was
    return status;
  }
  reverted_ = false;
  if (closed || ramped) {
    stop_ = false;
    controller_ = std::thread([this, start = absl::Now()] { ControlLoop(start); });
  }
  return absl::OkStatus();
}

void CpuBurn::ControlLoop(absl::Time start) {
  const bool closed = params_.target_total_percent.has_value();
  const int ncpu = os_.OnlineCpus();
  const int workers = static_cast<int>(burners_.size());
  auto sample = [&] { return os_.Sample(params_.cgroup); };
  absl::StatusOr<CpuSample> last = sample();
  double load = load_permille_->load() / 10.0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, absl::ToChronoNanoseconds(kControlPeriod), [&] { return stop_; })) {
        return;
      }
    }
    double ramp_fraction = 1;
    if (params_.ramp > absl::ZeroDuration()) {
      ramp_fraction = std::min(1.0, absl::FDivDuration(absl::Now() - start, params_.ramp));
    }
    if (!closed) {
      load_permille_->store(static_cast<uint32_t>(params_.load_percent * 10 * ramp_fraction));
      continue;
    }
    absl::StatusOr<CpuSample> now = sample();
    if (!now.ok() || !last.ok() || now->total_ns <= last->total_ns) {
      last = now;
      continue;
    }
    const double measured =
        100.0 * (now->busy_ns - last->busy_ns) / (now->total_ns - last->total_ns);
    last = now;
    const double target = *params_.target_total_percent * ramp_fraction;
    load = NextWorkerLoad(load, target, measured, ncpu, workers);
    load_permille_->store(static_cast<uint32_t>(load * 10));
    std::lock_guard<std::mutex> lock(mu_);
    measured_percent_ = measured;
  }
}

void CpuBurn::StopController() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (controller_.joinable()) controller_.join();
}

absl::Status CpuBurn::Revert() {
  StopController();
  absl::Status first_error;
  std::vector<ProcessId> left;
  for (const ProcessId& id : burners_) {
    absl::Status s = os_.StopBurner(id);
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
  ASSIGN_OR_RETURN(const std::string burners, UndoValue(undo, "cpu_burn", "burners"));
  ASSIGN_OR_RETURN(burners_, ParseProcessIds(burners));
  return absl::OkStatus();
}

FaultStatus CpuBurn::Status() const {
  FaultStatus s;
  std::vector<pid_t> pids;
  for (const ProcessId& id : burners_) pids.push_back(id.pid);
  const double load = load_permille_ ? load_permille_->load() / 10.0 : 0;
  double measured;
  {
    std::lock_guard<std::mutex> lock(mu_);
    measured = measured_percent_;
  }
  const std::string what =
      params_.target_total_percent
          ? absl::StrFormat("holding %s at %.1f%% (measured %.1f%%, worker load %.1f%%)",
                            params_.cgroup.empty() ? "the host" : params_.cgroup,
                            *params_.target_total_percent, measured, load)
          : absl::StrFormat("at %.1f%% load", load);
  s.summary = reverted_ ? absl::StrCat("burners stopped")
                        : absl::StrCat(burners_.size(), " worker(s) ", what, " (pids ",
                                       absl::StrJoin(pids, ", "), ")");
  s.details["workers"] = absl::StrCat(burners_.size());
  s.details["load_percent"] = absl::StrFormat("%.1f", load);
  s.details["pids"] = absl::StrJoin(pids, ",");
  s.details["mode"] = params_.target_total_percent ? "closed_loop" : "open_loop";
  if (params_.target_total_percent) {
    s.details["target_total_percent"] = absl::StrCat(*params_.target_total_percent);
    s.details["measured_total_percent"] = absl::StrFormat("%.1f", measured);
  }
  return s;
}

}  // namespace chaos::faults
