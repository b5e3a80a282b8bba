// Helpers for integration tests that run the real thing as root: child
// processes to target, /proc readings, and a scratch filesystem.
#ifndef CHAOS_TESTS_FAULTS_REAL_HOST_H_
#define CHAOS_TESTS_FAULTS_REAL_HOST_H_

#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "faults/process.h"
#include "gtest/gtest.h"

extern char** environ;

namespace chaos::faults::testing {

// `sleep <seconds>` as a direct child (no shell). The number doubles as a
// unique tag to match on the command line.
inline pid_t SpawnSleep(long tag_seconds) {
  const std::string arg = absl::StrCat(tag_seconds);
  char* argv[] = {const_cast<char*>("sleep"), const_cast<char*>(arg.c_str()), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sleep", nullptr, nullptr, argv, environ) != 0) return -1;
  // Wait until it has exec'd, so comm and cmdline are sleep's.
  for (int i = 0; i < 2000; ++i) {
    auto info = ReadProcessInfo(pid);
    if (info.ok() && info->comm == "sleep") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pid;
}

// State letter from /proc/<pid>/stat, or 0 when there is no such process.
inline char ProcState(pid_t pid) {
  auto info = ReadProcessInfo(pid);
  return info.ok() ? info->state : 0;
}

// Waits (bounded, 10 s) for `pid` to reach `state`; true when it did.
inline bool WaitState(pid_t pid, char state) {
  for (int i = 0; i < 10000; ++i) {
    if (ProcState(pid) == state) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// Reaps a dead child and returns the signal that killed it (0 if none).
inline int ReapSignal(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

// Kills and reaps children a test started, whatever state they are in.
struct ChildReaper {
  std::vector<pid_t> pids;
  ~ChildReaper() {
    for (pid_t pid : pids) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// How many disk fill files (".chaos-fill-*") `dir` holds.
inline int FillFiles(const std::string& dir) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (std::string(e->d_name).rfind(".chaos-fill-", 0) == 0) ++n;
  }
  if (d) closedir(d);
  return n;
}

// A tmpfs of `size` mounted on a fresh directory under /tmp, unmounted and
// removed at the end, also when the test fails.
class ScratchMount {
 public:
  explicit ScratchMount(const std::string& size_option) {
    char tmpl[] = "/tmp/chaos-scratch-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    if (mount("chaos-scratch", dir_.c_str(), "tmpfs", 0, size_option.c_str()) != 0) {
      rmdir(dir_.c_str());
      dir_.clear();
      return;
    }
    mounted_ = true;
  }
  // An ext2 image of `mib` MiB, loop-mounted: ext2 has no fallocate.
  static ScratchMount Ext2(int mib) {
    ScratchMount m;
    char tmpl[] = "/tmp/chaos-ext2-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return m;
    m.dir_ = tmpl;
    m.image_ = m.dir_ + ".img";
    const std::string cmd = absl::StrCat(
        "truncate -s ", mib, "M ", m.image_, " && mkfs.ext2 -q -F -m 0 ", m.image_,
        " && mount -o loop ", m.image_, " ", m.dir_);
    m.mounted_ = std::system(cmd.c_str()) == 0;
    return m;
  }
  ScratchMount(ScratchMount&& o) noexcept
      : dir_(std::move(o.dir_)), image_(std::move(o.image_)), mounted_(o.mounted_) {
    o.dir_.clear();
    o.image_.clear();
    o.mounted_ = false;
  }
  ~ScratchMount() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) rmdir(dir_.c_str());
    if (!image_.empty()) unlink(image_.c_str());
  }
  bool ok() const { return mounted_; }
  const std::string& dir() const { return dir_; }

 private:
  ScratchMount() = default;
  std::string dir_, image_;
  bool mounted_ = false;
};

}  // namespace chaos::faults::testing

#endif  // CHAOS_TESTS_FAULTS_REAL_HOST_H_
