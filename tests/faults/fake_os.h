// Fakes of the host interfaces in faults/host_os.h and
// faults/memory_pressure.h for unit tests: in-memory, deterministic, and
// able to fail on purpose.
#ifndef CHAOS_TESTS_FAULTS_FAKE_OS_H_
#define CHAOS_TESTS_FAULTS_FAKE_OS_H_

#include <signal.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "faults/host_os.h"
#include "faults/memory_pressure.h"

namespace chaos::faults::testing {

// A process table. The agent is pid 100, child of 50 (a shell), child of 1.
class FakeProcessOs : public ProcessOs {
 public:
  FakeProcessOs() {
    Add(1, 0, "systemd", "/sbin/init");
    Add(2, 0, "kthreadd", "", /*kernel=*/true);
    Add(3, 2, "kworker/0:0", "", /*kernel=*/true);
    Add(50, 1, "bash", "-bash");
    Add(100, 50, "chaos-agent", "/usr/bin/chaos-agent --state /var/lib/chaos");
  }

  void Add(pid_t pid, pid_t ppid, const std::string& comm, const std::string& cmdline,
           bool kernel = false, char state = 'S') {
    ProcessInfo p;
    p.id = {pid, static_cast<uint64_t>(1000 + pid)};
    p.ppid = ppid;
    p.comm = comm;
    p.cmdline = cmdline;
    p.kernel_thread = kernel;
    p.state = state;
    procs[pid] = p;
  }

  absl::StatusOr<std::vector<pid_t>> ListPids() override {
    std::vector<pid_t> out;
    for (const auto& [pid, p] : procs) out.push_back(pid);
    return out;
  }
  absl::StatusOr<ProcessInfo> ReadInfo(pid_t pid) override {
    auto it = procs.find(pid);
    if (it == procs.end()) return absl::NotFoundError(absl::StrCat("no process ", pid));
    return it->second;
  }
  absl::Status Signal(const ProcessId& id, int sig) override {
    signals.emplace_back(id.pid, sig);
    if (auto f = fail.find(id.pid); f != fail.end()) return f->second;
    auto it = procs.find(id.pid);
    if (it == procs.end() || it->second.id.start_ticks != id.start_ticks) {
      return absl::NotFoundError(absl::StrCat("process ", id.pid, " is gone"));
    }
    if (sig == SIGKILL || sig == SIGTERM) procs.erase(it);
    else if (sig == SIGSTOP) it->second.state = 'T';
    else if (sig == SIGCONT) it->second.state = 'S';
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ReadSmallFile(const std::string& path) override {
    if (unreadable.count(path)) return absl::PermissionDeniedError(path + ": denied");
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(path + ": no such file");
    return it->second;
  }
  pid_t SelfPid() override { return 100; }

  std::map<pid_t, ProcessInfo> procs;
  std::map<std::string, std::string> files;
  std::set<std::string> unreadable;
  std::map<pid_t, absl::Status> fail;  // Signal to these pids fails so
  std::vector<std::pair<pid_t, int>> signals;
};

// One filesystem of `total` bytes with `used` in use, and a file table.
class FakeFileOs : public FileOs {
 public:
  uint64_t total = 100ull << 30;
  uint64_t used = 40ull << 30;
  uint64_t reserved = 0;           // free but not available (root reserve)
  bool supports_fallocate = true;
  int fail_fallocate_errno = 0;    // forced error from Fallocate
  int fail_write_errno = 0;
  std::map<std::string, uint64_t> dev_of = {{"/", 1}, {"/var/lib/chaos", 1}, {"/mnt/scratch", 2},
                                            {"/tmp", 2}};
  std::map<std::string, std::string> links;  // RealPath rewrites
  std::set<std::string> dirs = {"/", "/tmp", "/mnt/scratch", "/var/lib/chaos", "/mnt"};
  std::map<std::string, uint64_t> files;  // path -> allocated bytes
  std::map<int, std::string> fds;
  int next_fd = 10;
  int fallocate_calls = 0;
  int write_calls = 0;
  bool fail_unlink = false;

  absl::StatusOr<FsSpace> StatFs(const std::string&) override {
    FsSpace s;
    s.total = total;
    s.free = total - used;
    s.available = s.free > reserved ? s.free - reserved : 0;
    return s;
  }
  absl::StatusOr<uint64_t> DeviceOf(const std::string& path) override {
    for (std::string p = path;;) {
      if (auto it = dev_of.find(p); it != dev_of.end()) return it->second;
      const size_t slash = p.rfind('/');
      if (slash == 0 || slash == std::string::npos) return dev_of["/"];
      p = p.substr(0, slash);
    }
  }
  absl::StatusOr<std::string> RealPath(const std::string& path) override {
    if (auto it = links.find(path); it != links.end()) return it->second;
    if (!dirs.count(path) && !files.count(path)) {
      return absl::NotFoundError(path + ": No such file or directory");
    }
    return path;
  }
  bool IsDirectory(const std::string& path) override { return dirs.count(path) > 0; }
  absl::StatusOr<int> CreateExclusive(const std::string& path) override {
    if (files.count(path)) return absl::AlreadyExistsError(path);
    files[path] = 0;
    fds[next_fd] = path;
    return next_fd++;
  }
  int Fallocate(int fd, uint64_t, uint64_t length) override {
    ++fallocate_calls;
    if (!supports_fallocate) return EOPNOTSUPP;
    if (fail_fallocate_errno != 0) return fail_fallocate_errno;
    if (length > total - used) return ENOSPC;
    used += length;
    files[fds[fd]] += length;
    return 0;
  }
  uint64_t WriteZeros(int fd, uint64_t, uint64_t length, int* err) override {
    ++write_calls;
    *err = fail_write_errno;
    if (*err != 0) return 0;
    const uint64_t n = std::min(length, total - used);
    if (n < length) *err = ENOSPC;
    used += n;
    files[fds[fd]] += n;
    return n;
  }
  absl::Status SyncAndClose(int fd) override {
    fds.erase(fd);
    return absl::OkStatus();
  }
  absl::Status Unlink(const std::string& path) override {
    if (fail_unlink) return absl::PermissionDeniedError("unlink " + path + ": denied");
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError("unlink " + path);
    used -= it->second;
    files.erase(it);
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> AllocatedBytes(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(path);
    return it->second;
  }
};

class FakeMemoryOs : public MemoryOs {
 public:
  uint64_t available = 8ull << 30;
  absl::Status start_error;
  std::map<pid_t, uint64_t> holders;  // pid -> bytes
  pid_t next_pid = 5000;
  bool last_lock = false;

  absl::StatusOr<uint64_t> AvailableBytes() override { return available; }
  absl::StatusOr<ProcessId> StartHolder(uint64_t bytes, bool lock) override {
    if (!start_error.ok()) return start_error;
    last_lock = lock;
    holders[next_pid] = bytes;
    available -= bytes;
    return ProcessId{next_pid++, 77};
  }
  absl::Status StopHolder(const ProcessId& id) override {
    auto it = holders.find(id.pid);
    if (it == holders.end()) return absl::OkStatus();  // already gone
    available += it->second;
    holders.erase(it);
    return absl::OkStatus();
  }
  absl::StatusOr<Usage> ReadUsage(const ProcessId& id) override {
    auto it = holders.find(id.pid);
    if (it == holders.end()) return absl::NotFoundError("gone");
    return Usage{it->second, last_lock ? it->second : 0};
  }
};

// Records every undo state; can fail the Nth call (1-based).
struct Recorder {
  std::vector<UndoState> states;
  int fail_at = 0;
  UndoRecorder fn() {
    return [this](const UndoState& s) {
      states.push_back(s);
      if (fail_at != 0 && static_cast<int>(states.size()) == fail_at) {
        return absl::UnavailableError("ledger write failed");
      }
      return absl::OkStatus();
    };
  }
};

}  // namespace chaos::faults::testing

#endif  // CHAOS_TESTS_FAULTS_FAKE_OS_H_
