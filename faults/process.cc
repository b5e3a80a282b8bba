#include "faults/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "base/status_macros.h"
#include "base/errno.h"

namespace chaos::faults {
namespace {

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace

absl::StatusOr<ProcessInfo> ReadProcessStat(pid_t pid) {
  std::string stat;
  const std::string dir = absl::StrCat("/proc/", pid);
  if (pid <= 0 || !base::ReadTextFile(dir + "/stat", &stat) || stat.empty()) {
    return absl::NotFoundError(absl::StrCat("no process with pid ", pid));
  }
  // The comm field is in parentheses and may itself contain ") ".
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return absl::InternalError(absl::StrCat("unparsable ", dir, "/stat"));
  }
  ProcessInfo info;
  info.id.pid = pid;
  info.comm = stat.substr(open + 1, close - open - 1);
  std::vector<std::string> f =
      absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state); field N is f[N - 3].
  if (f.size() < 20) {
    return absl::InternalError(absl::StrCat("short ", dir, "/stat"));
  }
  info.state = f[0].empty() ? '?' : f[0][0];
  uint64_t utime = 0, stime = 0, flags = 0;
  int ppid = 0, pgrp = 0;
  if (!absl::SimpleAtoi(f[1], &ppid) || !absl::SimpleAtoi(f[2], &pgrp) ||
      !absl::SimpleAtoi(f[6], &flags) ||
      !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime) ||
      !absl::SimpleAtoi(f[19], &info.id.start_ticks)) {
    return absl::InternalError(absl::StrCat("unparsable fields in ", dir, "/stat"));
  }
  info.ppid = ppid;
  info.pgrp = pgrp;
  info.cpu_ticks = utime + stime;
  constexpr uint64_t kPfKthread = 0x00200000;
  info.kernel_thread = (flags & kPfKthread) != 0;
  return info;
}

absl::StatusOr<ProcessInfo> ReadProcessInfo(pid_t pid) {
  ASSIGN_OR_RETURN(ProcessInfo info, ReadProcessStat(pid));
  std::string cmdline;
  if (base::ReadTextFile(absl::StrCat("/proc/", pid, "/cmdline"), &cmdline)) {
    while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    info.cmdline = cmdline;
  }
  return info;
}

absl::Status SignalProcess(const ProcessId& id, int sig) {
  const int fd = PidfdOpen(id.pid);
  if (fd < 0) {
    if (errno == ESRCH) {
      return absl::NotFoundError(absl::StrCat("process ", id.pid, " is gone"));
    }
    return base::ErrnoToStatus(errno, absl::StrCat("pidfd_open(", id.pid, ")"));
  }
  absl::Status result;
  auto info = ReadProcessStat(id.pid);
  if (!info.ok() || info->id.start_ticks != id.start_ticks) {
    result = absl::NotFoundError(absl::StrCat(
        "process ", id.pid, " is gone (pid now belongs to another process)"));
  } else if (PidfdSendSignal(fd, sig) != 0) {
    result = errno == ESRCH
                 ? absl::NotFoundError(absl::StrCat("process ", id.pid, " is gone"))
                 : base::ErrnoToStatus(errno, absl::StrCat("signal ", sig, " to ", id.pid));
  }
  close(fd);
  return result;
}

bool ProcessAlive(const ProcessId& id) {
  auto info = ReadProcessStat(id.pid);
  return info.ok() && info->id.start_ticks == id.start_ticks && info->state != 'Z' &&
         info->state != 'X';
}

std::string FormatProcessIds(const std::vector<ProcessId>& ids) {
  return absl::StrJoin(ids, ",", [](std::string* out, const ProcessId& id) {
    absl::StrAppend(out, id.pid, ":", id.start_ticks);
  });
}

absl::StatusOr<std::vector<ProcessId>> ParseProcessIds(const std::string& text) {
  std::vector<ProcessId> ids;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, ':');
    ProcessId id;
    if (!absl::SimpleAtoi(kv.first, &id.pid) || id.pid <= 0 ||
        !absl::SimpleAtoi(kv.second, &id.start_ticks)) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed process id \"", part, "\" (want pid:start)"));
    }
    ids.push_back(id);
  }
  return ids;
}

namespace {

// The one long-lived thread that forks children (see LaunchChild).
class Launcher {
 public:
  static Launcher& Get() {
    static Launcher* launcher = new Launcher();  // never destroyed
    return *launcher;
  }

  absl::StatusOr<ProcessId> Launch(const ChildOptions& options,
                                   std::function<void()> body) {
    Request request{options, std::move(body)};
    {
      std::unique_lock<std::mutex> lock(mu_);
      queue_.push_back(&request);
      cv_.notify_all();
      cv_.wait(lock, [&] { return request.done; });
    }
    return request.result;
  }

 private:
  struct Request {
    ChildOptions options;
    std::function<void()> body;
    bool done = false;
    absl::StatusOr<ProcessId> result = absl::UnknownError("not run");
  };

  Launcher() {
    std::thread([this] { Loop(); }).detach();
  }

  void Loop() {
    for (;;) {
      Request* request;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty(); });
        request = queue_.front();
        queue_.pop_front();
      }
      absl::StatusOr<ProcessId> result = Fork(*request);
      std::unique_lock<std::mutex> lock(mu_);
      request->result = std::move(result);
      request->done = true;
      cv_.notify_all();
    }
  }

  static absl::StatusOr<ProcessId> Fork(Request& request) {
    const pid_t parent = getpid();
    char name[16] = {};
    std::strncpy(name, request.options.name.c_str(), sizeof(name) - 1);
    const int cpu = request.options.cpu;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0) CPU_SET(cpu, &set);
    // The child reports on this pipe once its setup is done, so that on
    // return its name, group and affinity are in place.
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return base::ErrnoToStatus(errno, "pipe2");
    const pid_t pid = fork();
    if (pid < 0) {
      const int err = errno;
      close(ready[0]);
      close(ready[1]);
      return base::ErrnoToStatus(err, "fork");
    }
    if (pid == 0) {
      // Child: async-signal-safe calls only.
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);  // parent died before prctl
      prctl(PR_SET_NAME, name);
      if (cpu >= 0 && sched_setaffinity(0, sizeof(set), &set) != 0) _exit(3);
      // Undo signal dispositions the parent may have set.
      struct sigaction dfl = {};
      dfl.sa_handler = SIG_DFL;
      for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaction(s, &dfl, nullptr);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      const int w = ready[1];
      if (w > 3) syscall(SYS_close_range, 3U, static_cast<unsigned>(w - 1), 0U);
      syscall(SYS_close_range, static_cast<unsigned>(w + 1), ~0U, 0U);
      const char ok = 1;
      if (write(w, &ok, 1) != 1) _exit(4);
      close(w);
      request.body();
      _exit(0);
    }
    close(ready[1]);
    char byte = 0;
    ssize_t n;
    while ((n = read(ready[0], &byte, 1)) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    if (n != 1) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return absl::InternalError(absl::StrCat(
          "child \"", name, "\" failed during setup",
          cpu >= 0 ? absl::StrCat(" (cannot pin to CPU ", cpu, ")") : std::string()));
    }
    setpgid(pid, pid);  // also from the parent, so it holds on return
    auto info = ReadProcessStat(pid);
    if (!info.ok()) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return absl::InternalError(absl::StrCat("child ", pid, " vanished at start: ",
                                              info.status().message()));
    }
    return info->id;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request*> queue_;
};

}  // namespace

absl::StatusOr<ProcessId> LaunchChild(const ChildOptions& options,
                                      std::function<void()> body) {
  return Launcher::Get().Launch(options, std::move(body));
}

absl::Status KillAndReapChild(const ProcessId& id) {
  absl::Status s = SignalProcess(id, SIGKILL);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  // Reap it when it is our child (waitpid fails with ECHILD otherwise, as
  // for a burner adopted after a restart). A process that was already gone
  // is not waited for: its pid may now be another child's.
  if (s.ok()) {
    while (waitpid(id.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  return absl::OkStatus();
}

}  // namespace chaos::faults
