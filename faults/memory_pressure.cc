#include "faults/memory_pressure.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "faults/host_os.h"
#include "base/status_macros.h"
#include "base/files.h"
#include "base/errno.h"

namespace chaos::faults {
namespace {

// "Key:   123 kB" lines of /proc/meminfo or /proc/<pid>/status, in bytes.
bool FindKb(const std::string& text, absl::string_view key, uint64_t* bytes) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, key) || !absl::ConsumePrefix(&line, ":")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    uint64_t kb = 0;
    if (!absl::SimpleAtoi(line, &kb)) return false;
    *bytes = kb * 1024;
    return true;
  }
  return false;
}

// Holder child states, in a shared page.
enum HolderState : int { kStarting = 0, kReady = 1, kMapFailed = 2, kLockFailed = 3 };

class RealMemory final : public MemoryOs {
 public:
  absl::StatusOr<uint64_t> AvailableBytes() override {
    std::string meminfo;
    uint64_t avail = 0;
    if (!base::ReadTextFile("/proc/meminfo", &meminfo) || !FindKb(meminfo, "MemAvailable", &avail)) {
      return absl::FailedPreconditionError("cannot read MemAvailable from /proc/meminfo");
    }
    // The agent's memory cgroup: v2 "0::/path" (memory.max, "max" when
    // unlimited) or v1 "N:memory:/path" (memory.limit_in_bytes).
    std::string cg;
    if (base::ReadTextFile("/proc/self/cgroup", &cg)) {
      for (absl::string_view line : absl::StrSplit(cg, '\n')) {
        std::string dir, max_file, cur_file;
        if (absl::ConsumePrefix(&line, "0::")) {
          dir = absl::StrCat("/sys/fs/cgroup", line);
          max_file = "/memory.max";
          cur_file = "/memory.current";
        } else if (const size_t at = line.find(":memory:"); at != absl::string_view::npos) {
          dir = absl::StrCat("/sys/fs/cgroup/memory", line.substr(at + 8));
          max_file = "/memory.limit_in_bytes";
          cur_file = "/memory.usage_in_bytes";
        } else {
          continue;
        }
        std::string max, cur;
        uint64_t max_b = 0, cur_b = 0;
        if (base::ReadTextFile(dir + max_file, &max) && base::ReadTextFile(dir + cur_file, &cur) &&
            absl::SimpleAtoi(absl::StripAsciiWhitespace(max), &max_b) &&
            absl::SimpleAtoi(absl::StripAsciiWhitespace(cur), &cur_b)) {
          avail = std::min(avail, max_b > cur_b ? max_b - cur_b : 0);
        }
      }
    }
    return avail;
  }

  absl::StatusOr<ProcessId> StartHolder(uint64_t bytes, bool lock) override {
    void* shared = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return base::ErrnoToStatus(errno, "mmap (shared state page)");
    auto* state = new (shared) std::atomic<int>(kStarting);
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    auto id = LaunchChild({.name = "chaos-mem"}, [state, bytes, lock, page] {
      // Async-signal-safe calls only.
      const int fd = open("/proc/self/oom_score_adj", O_WRONLY);
      if (fd >= 0) {
        (void)!write(fd, "1000", 4);
        close(fd);
      }
      char* p = static_cast<char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (p == MAP_FAILED) {
        state->store(kMapFailed);
        _exit(2);
      }
      if (lock && mlock(p, bytes) != 0) {
        state->store(kLockFailed);
        _exit(3);
      }
      for (uint64_t i = 0; i < bytes; i += page) p[i] = 1;  // touch once
      state->store(kReady);
      for (;;) pause();
    });
    if (!id.ok()) {
      munmap(shared, 4096);
      return id.status();
    }
    // Wait until touched, or the child died (no memory, OOM killer).
    const absl::Time deadline =
        absl::Now() + absl::Seconds(30) + absl::Seconds(2 * (bytes >> 30));
    absl::Status result;
    for (;;) {
      const int s = state->load();
      if (s == kReady) break;
      int wstatus = 0;
      const pid_t w = waitpid(id->pid, &wstatus, WNOHANG);
      if (s == kMapFailed || s == kLockFailed || w == id->pid) {
        result = absl::ResourceExhaustedError(absl::StrCat(
            "memory_pressure: the holder could not ",
            s == kLockFailed ? "mlock" : (s == kMapFailed ? "map" : "touch"), " ", bytes,
            " bytes", w == id->pid && WIFSIGNALED(wstatus)
                          ? absl::StrCat(" (killed by signal ", WTERMSIG(wstatus), ")")
                          : ""));
        break;
      }
      if (absl::Now() > deadline) {
        result = absl::DeadlineExceededError(
            absl::StrCat("memory_pressure: touching ", bytes, " bytes took too long"));
        break;
      }
      usleep(1000);
    }
    munmap(shared, 4096);
    if (!result.ok()) {
      (void)KillAndReapChild(*id);
      return result;
    }
    return *id;
  }

  absl::Status StopHolder(const ProcessId& id) override { return KillAndReapChild(id); }

  absl::StatusOr<Usage> ReadUsage(const ProcessId& id) override {
    std::string status;
    if (!ProcessAlive(id) || !base::ReadTextFile(absl::StrCat("/proc/", id.pid, "/status"), &status)) {
      return absl::NotFoundError(absl::StrCat("process ", id.pid, " is gone"));
    }
    Usage u;
    FindKb(status, "VmRSS", &u.resident);
    FindKb(status, "VmLck", &u.locked);
    return u;
  }
};

}  // namespace

MemoryOs& RealMemoryOs() {
  static RealMemory* os = new RealMemory();
  return *os;
}

absl::Status MemoryPressureParams::Validate() const {
  if (bytes.has_value() == percent_of_available.has_value()) {
    return absl::InvalidArgumentError(
        "memory_pressure.size: set exactly one of bytes, percent_of_available");
  }
  if (bytes && *bytes == 0) {
    return absl::InvalidArgumentError("memory_pressure.bytes: must be > 0");
  }
  if (percent_of_available && !(*percent_of_available > 0 && *percent_of_available <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory_pressure.percent_of_available: must be in (0, 100], got ",
        *percent_of_available));
  }
  return absl::OkStatus();
}

MemoryPressure::MemoryPressure(MemoryPressureParams params, MemoryOs& os)
    : params_(std::move(params)), os_(os) {}

MemoryPressure::~MemoryPressure() = default;

absl::Status MemoryPressure::Inject(const UndoRecorder& record) {
  RETURN_IF_ERROR(params_.Validate());
  ASSIGN_OR_RETURN(available_before_, os_.AvailableBytes());
  if (params_.bytes) {
    requested_ = *params_.bytes;
    if (requested_ > available_before_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "memory_pressure.bytes: ", requested_, " bytes requested but only ",
          available_before_, " are available"));
    }
  } else {
    requested_ = static_cast<uint64_t>(static_cast<double>(available_before_) *
                                       *params_.percent_of_available / 100.0);
    if (requested_ == 0) {
      return absl::FailedPreconditionError(
          "memory_pressure.percent_of_available: no memory is available");
    }
  }
  // The holder dies with this process, so the intent needs no pid yet.
  RETURN_IF_ERROR(record({{"holder", ""}}));
  ASSIGN_OR_RETURN(ProcessId id, os_.StartHolder(requested_, params_.lock));
  holder_ = id;
  reverted_ = false;
  if (absl::Status s = record({{"holder", FormatProcessIds({id})}}); !s.ok()) {
    (void)Revert();
    return s;
  }
  auto usage = os_.ReadUsage(id);
  if (usage.ok()) usage_ = *usage;
  return absl::OkStatus();
}

absl::Status MemoryPressure::Revert() {
  if (holder_) {
    RETURN_IF_ERROR(os_.StopHolder(*holder_));
    holder_.reset();
  }
  reverted_ = true;
  return absl::OkStatus();
}

absl::Status MemoryPressure::Adopt(const UndoState& undo) {
  ASSIGN_OR_RETURN(const std::string holder, UndoValue(undo, "memory_pressure", "holder"));
  ASSIGN_OR_RETURN(std::vector<ProcessId> ids, ParseProcessIds(holder));
  if (ids.size() > 1) {
    return absl::InvalidArgumentError("memory_pressure undo state: more than one holder");
  }
  holder_.reset();
  if (!ids.empty()) holder_ = ids[0];
  return absl::OkStatus();
}

FaultStatus MemoryPressure::Status() const {
  FaultStatus s;
  s.summary = reverted_ || !holder_
                  ? "memory released"
                  : absl::StrCat("holding ", requested_, " bytes", params_.lock ? " locked" : "",
                                 " in pid ", holder_->pid, " (rss ", usage_.resident, ")");
  s.details["requested_bytes"] = absl::StrCat(requested_);
  s.details["available_bytes_before"] = absl::StrCat(available_before_);
  s.details["resident_bytes"] = absl::StrCat(usage_.resident);
  s.details["locked_bytes"] = absl::StrCat(usage_.locked);
  s.details["pid"] = holder_ ? absl::StrCat(holder_->pid) : "";
  return s;
}

}  // namespace chaos::faults
