#include "faults/netlink_util.h"

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

extern char** environ;

namespace chaos::faults {

void NlSockDeleter::operator()(nl_sock* s) const { nl_socket_free(s); }

absl::StatusOr<NlSock> OpenRouteSocket() {
  NlSock sock(nl_socket_alloc());
  if (!sock) return absl::ResourceExhaustedError("netlink: cannot allocate a socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return NlError(err, "netlink: connect");
  }
  return sock;
}

absl::Status NlError(int err, const std::string& what) {
  const std::string msg = absl::StrCat(what, ": ", nl_geterror(err));
  switch (-err) {
    case NLE_PERM:
    case NLE_NOACCESS:
      return absl::PermissionDeniedError(msg);
    case NLE_NODEV:
      return absl::NotFoundError(msg);
    default:
      return absl::InternalError(msg);
  }
}

namespace {

// The modules of `modules` this process has not tried yet, now marked tried.
std::vector<std::string> FirstTries(const std::vector<std::string>& modules) {
  static absl::Mutex mu(absl::kConstInit);
  static std::set<std::string>* tried ABSL_GUARDED_BY(mu) = new std::set<std::string>;
  absl::MutexLock lock(&mu);
  std::vector<std::string> out;
  for (const std::string& m : modules) {
    if (tried->insert(m).second) out.push_back(m);
  }
  return out;
}

// Starts `modprobe -q module` with its output discarded; 0 when it cannot.
pid_t SpawnModprobe(std::string module) {
  char arg0[] = "modprobe";
  char arg1[] = "-q";
  char* argv[] = {arg0, arg1, module.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  if (posix_spawnp(&pid, "modprobe", &fa, nullptr, argv, environ) != 0) pid = 0;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

}  // namespace

void TryModprobe(const std::vector<std::string>& modules) {
  std::vector<pid_t> started;
  for (const std::string& m : FirstTries(modules)) {
    if (access(absl::StrCat("/sys/module/", m).c_str(), F_OK) == 0) continue;  // loaded
    if (const pid_t pid = SpawnModprobe(m); pid > 0) started.push_back(pid);
  }
  for (pid_t pid : started) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

absl::Status RunInThrowawayNetns(const std::function<absl::Status()>& fn) {
  absl::Status result;
  std::thread t([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      result = absl::FailedPreconditionError(
          absl::StrCat("cannot create a network namespace to probe the kernel: ",
                       std::strerror(errno)));
      return;
    }
    result = fn();
  });
  t.join();
  return result;
}

}  // namespace chaos::faults
