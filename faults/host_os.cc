#include "faults/host_os.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/errno.h"

namespace chaos::faults {

namespace {

class RealProcess final : public ProcessOs {
 public:
  absl::StatusOr<std::vector<pid_t>> ListPids() override {
    DIR* dir = opendir("/proc");
    if (dir == nullptr) return base::ErrnoToStatus(errno, "opendir(/proc)");
    std::vector<pid_t> pids;
    while (dirent* e = readdir(dir)) {
      pid_t pid = 0;
      if (absl::SimpleAtoi(e->d_name, &pid) && pid > 0) pids.push_back(pid);
    }
    closedir(dir);
    return pids;
  }
  absl::StatusOr<ProcessInfo> ReadInfo(pid_t pid) override { return ReadProcessInfo(pid); }
  absl::StatusOr<ProcessInfo> ReadStat(pid_t pid) override { return ReadProcessStat(pid); }
  absl::Status Signal(const ProcessId& id, int sig) override { return SignalProcess(id, sig); }
  absl::StatusOr<std::string> ReadSmallFile(const std::string& path) override {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return base::ErrnoToStatus(errno, path);
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        close(fd);
        return base::ErrnoToStatus(err, path);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > 65536) {
        close(fd);
        return absl::InvalidArgumentError(absl::StrCat(path, ": larger than 64 KiB"));
      }
    }
    close(fd);
    return out;
  }
  pid_t SelfPid() override { return getpid(); }
};

class RealFile final : public FileOs {
 public:
  absl::StatusOr<FsSpace> StatFs(const std::string& path) override {
    struct statvfs st;
    if (statvfs(path.c_str(), &st) != 0) return base::ErrnoToStatus(errno, "statvfs " + path);
    FsSpace s;
    s.total = uint64_t{st.f_blocks} * st.f_frsize;
    s.free = uint64_t{st.f_bfree} * st.f_frsize;
    s.available = uint64_t{st.f_bavail} * st.f_frsize;
    return s;
  }
  absl::StatusOr<uint64_t> DeviceOf(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return base::ErrnoToStatus(errno, "stat " + path);
    return static_cast<uint64_t>(st.st_dev);
  }
  absl::StatusOr<std::string> RealPath(const std::string& path) override {
    char buf[PATH_MAX];
    if (realpath(path.c_str(), buf) == nullptr) return base::ErrnoToStatus(errno, path);
    return std::string(buf);
  }
  bool IsDirectory(const std::string& path) override {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  absl::StatusOr<int> CreateExclusive(const std::string& path) override {
    const int fd =
        open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return base::ErrnoToStatus(errno, "create " + path);
    return fd;
  }
  int Fallocate(int fd, uint64_t offset, uint64_t length) override {
    int rc;
    do {
      rc = fallocate(fd, 0, static_cast<off_t>(offset), static_cast<off_t>(length));
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : errno;
  }
  uint64_t WriteZeros(int fd, uint64_t offset, uint64_t length, int* err) override {
    static const char kZeros[1 << 16] = {};
    uint64_t done = 0;
    *err = 0;
    while (done < length) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), length - done));
      const ssize_t w = pwrite(fd, kZeros, n, static_cast<off_t>(offset + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        *err = w < 0 ? errno : ENOSPC;
        break;
      }
      done += static_cast<uint64_t>(w);
    }
    return done;
  }
  absl::Status SyncAndClose(int fd) override {
    absl::Status s;
    if (fsync(fd) != 0) s = base::ErrnoToStatus(errno, "fsync");
    if (close(fd) != 0 && s.ok() && errno != EINTR) s = base::ErrnoToStatus(errno, "close");
    return s;
  }
  absl::Status Unlink(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return base::ErrnoToStatus(errno, "unlink " + path);
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> AllocatedBytes(const std::string& path) override {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return base::ErrnoToStatus(errno, "stat " + path);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }
};

}  // namespace

ProcessOs& RealProcessOs() {
  static RealProcess* os = new RealProcess();
  return *os;
}

FileOs& RealFileOs() {
  static RealFile* os = new RealFile();
  return *os;
}

}  // namespace chaos::faults
