// HostOs: the small interfaces through which faults touch the host.
//
// Faults never call the kernel directly for the operations below; they take
// one of these interfaces, so unit tests can substitute a fake that fails on
// purpose and integration tests (as root) run the real thing. The real
// implementations are returned by RealProcessOs() and RealFileOs(); they are
// stateless and safe for concurrent use from any thread.
//
// Errors: NOT_FOUND for a process or file that does not exist (or no longer
// exists), other canonical codes mapped from errno, with a message naming
// the path or pid.
#ifndef CHAOS_FAULTS_HOST_OS_H_
#define CHAOS_FAULTS_HOST_OS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "faults/process.h"

namespace chaos::faults {

// Processes: listing, reading and exact signalling.
class ProcessOs {
 public:
  virtual ~ProcessOs() = default;
  // Pids of all processes (not threads) currently in /proc.
  [[nodiscard]] virtual absl::StatusOr<std::vector<pid_t>> ListPids() = 0;
  // See ReadProcessInfo in process.h.
  [[nodiscard]] virtual absl::StatusOr<ProcessInfo> ReadInfo(pid_t pid) = 0;
  // ReadInfo, where the cmdline may be left empty (see ReadProcessStat).
  [[nodiscard]] virtual absl::StatusOr<ProcessInfo> ReadStat(pid_t pid) { return ReadInfo(pid); }
  // See SignalProcess in process.h: NOT_FOUND when `id` is gone.
  [[nodiscard]] virtual absl::Status Signal(const ProcessId& id, int sig) = 0;
  // Reads a small file (a pidfile).
  [[nodiscard]] virtual absl::StatusOr<std::string> ReadSmallFile(const std::string& path) = 0;
  // The pid of the calling process (the agent).
  virtual pid_t SelfPid() = 0;
};

// One filesystem's space accounting, in bytes (statvfs * f_frsize).
struct FsSpace {
  uint64_t total = 0;      // f_blocks
  uint64_t free = 0;       // f_bfree: free including root's reserve
  uint64_t available = 0;  // f_bavail: free for unprivileged users
  uint64_t used() const { return total - free; }
};

// Files: what disk fill needs.
class FileOs {
 public:
  virtual ~FileOs() = default;
  [[nodiscard]] virtual absl::StatusOr<FsSpace> StatFs(const std::string& path) = 0;
  // The device (st_dev) holding `path`.
  [[nodiscard]] virtual absl::StatusOr<uint64_t> DeviceOf(const std::string& path) = 0;
  // realpath(3): NOT_FOUND when a component is missing.
  [[nodiscard]] virtual absl::StatusOr<std::string> RealPath(const std::string& path) = 0;
  // True when `path` is an existing directory.
  virtual bool IsDirectory(const std::string& path) = 0;
  // Creates `path` exclusively (O_CREAT|O_EXCL|O_NOFOLLOW), mode 0600, and
  // returns an open descriptor. ALREADY_EXISTS when it exists.
  [[nodiscard]] virtual absl::StatusOr<int> CreateExclusive(const std::string& path) = 0;
  // fallocate(fd, 0, offset, length): 0 on success, else the errno
  // (EOPNOTSUPP where the filesystem cannot, ENOSPC when it is full).
  [[nodiscard]] virtual int Fallocate(int fd, uint64_t offset, uint64_t length) = 0;
  // Writes `length` zero bytes at `offset`; returns how many were written
  // before an error (`*err` gets the errno, 0 when all were written).
  virtual uint64_t WriteZeros(int fd, uint64_t offset, uint64_t length, int* err) = 0;
  // fsync + close. The descriptor is closed even on error.
  [[nodiscard]] virtual absl::Status SyncAndClose(int fd) = 0;
  // unlink(2): NOT_FOUND when it does not exist.
  [[nodiscard]] virtual absl::Status Unlink(const std::string& path) = 0;
  // Bytes of disk the file really occupies (st_blocks * 512); NOT_FOUND when
  // it does not exist.
  [[nodiscard]] virtual absl::StatusOr<uint64_t> AllocatedBytes(const std::string& path) = 0;
};

ProcessOs& RealProcessOs();
FileOs& RealFileOs();

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_HOST_OS_H_
