#include "base/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace chaos::base {
namespace {

// How long a cancelled command has between SIGTERM and SIGKILL.
constexpr absl::Duration kCancelGrace = absl::Seconds(2);

std::string ErrnoText(const char* what, int err) {
  return absl::StrCat(what, ": ", std::strerror(err));
}

int WaitStatusToCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int PollMillis(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
}

// The pipes and /dev/null a child needs, opened before fork.
struct ChildPipes {
  int out[2] = {-1, -1};  // stdout and stderr
  int err[2] = {-1, -1};  // carries the child's exec errno; closed by exec
  // The parent's go-ahead: the child execs once it reads a byte. A socket
  // pair, so the parent's send to a child that died first is no SIGPIPE.
  int go[2] = {-1, -1};
  int devnull = -1;

  std::string Open() {
    if (pipe2(out, O_CLOEXEC) < 0) return ErrnoText("pipe", errno);
    if (pipe2(err, O_CLOEXEC) < 0) return ErrnoText("pipe", errno);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0) {
      return ErrnoText("socketpair", errno);
    }
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) return ErrnoText("open /dev/null", errno);
    return "";
  }
  ~ChildPipes() {
    for (int fd : {out[0], out[1], err[0], err[1], go[0], go[1], devnull}) {
      if (fd >= 0) close(fd);
    }
  }
};

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// What the child needs, all allocated before fork.
struct ChildPlan {
  std::string exe;
  std::vector<char*> args;  // null-terminated
  std::vector<std::string> env_strings;
  std::vector<char*> env;  // null-terminated; empty: this process's environ
  std::string working_dir;
  pid_t parent = 0;
};

// Why the child did not exec: the step that failed and its errno.
struct ChildFailure {
  int chdir_failed = 0;  // 1: chdir, 0: execve
  int err = 0;
};

[[noreturn]] void ChildFailed(const ChildPipes& p, bool chdir_failed) {
  const ChildFailure f{chdir_failed ? 1 : 0, errno};
  (void)!write(p.err[1], &f, sizeof(f));
  _exit(127);
}

// In the child after fork: async-signal-safe calls only. Never returns.
[[noreturn]] void ExecChild(const ChildPlan& plan, const ChildPipes& p) {
  setpgid(0, 0);
  // Dies with the thread that waits for it, and not after: if that thread
  // is already gone, do not start at all.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != plan.parent) _exit(127);
  // Nothing runs before the parent says so (after on_start); without its
  // byte (the parent failed) nothing runs at all.
  close(p.go[1]);
  char go = 0;
  ssize_t n;
  while ((n = read(p.go[0], &go, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD}) sigaction(sig, &dfl, nullptr);
  if (dup2(p.devnull, 0) >= 0 && dup2(p.out[1], 1) >= 0 && dup2(p.out[1], 2) >= 0) {
    // No descriptor of ours beyond 0-2 reaches the command (a listening
    // socket inherited by a long-lived child would keep the port open).
    // CLOEXEC rather than close, so the errno pipe works until execve.
    // Kernels before 5.11 lack the flag; the command then inherits what
    // was opened without O_CLOEXEC.
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    if (!plan.working_dir.empty() && chdir(plan.working_dir.c_str()) != 0) ChildFailed(p, true);
    execve(plan.exe.c_str(), plan.args.data(), plan.env.empty() ? environ : plan.env.data());
  }
  ChildFailed(p, false);
}

// The environment of the command: ours, with `env` set over it.
std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    const absl::string_view name = entry.substr(0, entry.find('='));
    if (!env.contains(std::string(name))) out.emplace_back(entry);
  }
  for (const auto& [name, value] : env) out.push_back(absl::StrCat(name, "=", value));
  return out;
}

// The plan for `argv`, or sets out->error.
std::optional<ChildPlan> MakePlan(const std::vector<std::string>& argv,
                                  const CommandOptions& options, CommandOutcome* out) {
  auto exe = ResolveExecutable(argv[0]);
  if (!exe.ok()) {
    out->error = std::string(exe.status().message());
    return std::nullopt;
  }
  ChildPlan plan;
  plan.exe = *std::move(exe);
  for (const std::string& a : argv) plan.args.push_back(const_cast<char*>(a.c_str()));
  plan.args.push_back(nullptr);
  if (!options.env.empty()) {
    plan.env_strings = MergedEnvironment(options.env);
    for (std::string& e : plan.env_strings) plan.env.push_back(e.data());
    plan.env.push_back(nullptr);
  }
  plan.working_dir = options.working_dir;
  plan.parent = getpid();
  return plan;
}

// Forks and execs; returns the child's pid with its exec confirmed, or
// sets out->error.
pid_t Spawn(const std::vector<std::string>& argv, const CommandOptions& options,
            ChildPipes& pipes, CommandOutcome* out) {
  // Everything the child needs is allocated here, before fork.
  const std::optional<ChildPlan> plan = MakePlan(argv, options, out);
  if (!plan) return -1;
  out->error = pipes.Open();
  if (!out->error.empty()) return -1;
  const pid_t pid = fork();
  if (pid == 0) ExecChild(*plan, pipes);
  CloseFd(&pipes.devnull);
  CloseFd(&pipes.out[1]);
  CloseFd(&pipes.err[1]);
  CloseFd(&pipes.go[0]);
  if (pid < 0) {
    CloseFd(&pipes.go[1]);
    out->error = ErrnoText("fork", errno);
    return -1;
  }
  // Also from the parent, so the group exists before any kill (the child
  // has not exec'd: it waits for the go-ahead).
  setpgid(pid, pid);
  if (options.on_start) options.on_start(pid);
  const char go = 1;
  (void)!send(pipes.go[1], &go, 1, MSG_NOSIGNAL);
  CloseFd(&pipes.go[1]);
  ChildFailure failure;
  ssize_t n;
  while ((n = read(pipes.err[0], &failure, sizeof(failure))) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(failure))) return pid;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  out->error = failure.chdir_failed ? absl::StrCat("chdir ", plan->working_dir, ": ",
                                                   std::strerror(failure.err))
                                    : absl::StrCat("exec ", argv[0], ": ",
                                                   std::strerror(failure.err));
  return -1;
}

// Follows a started child until it exits, the deadline passes or the
// token is cancelled, collecting its output.
class ChildWatch {
 public:
  ChildWatch(pid_t pid, int out_fd, CommandOutcome* out)
      : pid_(pid), out_fd_(out_fd), out_(out) {
    // The exit is watched through a pidfd, not EOF on the pipe: a
    // grandchild may hold the pipe open long after our child is gone.
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    fcntl(out_fd_, F_SETFL, fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
  }
  ~ChildWatch() { CloseFd(&pidfd_); }

  void Run(absl::Time deadline, const CancelToken* cancel) {
    const bool cancelled = Watch(deadline, cancel);
    if (cancelled) {
      // TERM first, so the command can clean up; KILL after the grace
      // period; then the rest of its group, whatever the leader did.
      out_->cancelled = true;
      kill(-pid_, SIGTERM);
      Watch(absl::Now() + kCancelGrace, nullptr);
      if (!status_) Kill();
      kill(-pid_, SIGKILL);
    } else if (!status_) {
      out_->timed_out = true;
      Kill();
    }
    Drain();
    out_->exit_code = WaitStatusToCode(*status_);
  }

 private:
  // Collects output until the child exits or the deadline passes; true
  // when it stopped because `cancel` was cancelled.
  bool Watch(absl::Time deadline, const CancelToken* cancel) {
    while (!status_ && absl::Now() < deadline) {
      if (cancel != nullptr && cancel->cancelled()) return true;
      pollfd fds[3];
      int n = 0;
      if (pipe_open_) fds[n++] = {out_fd_, POLLIN, 0};
      if (pidfd_ >= 0) fds[n++] = {pidfd_, POLLIN, 0};
      if (cancel != nullptr) fds[n++] = {cancel->fd(), POLLIN, 0};
      // Without a pidfd (kernels before 5.3) the exit is checked every 10 ms.
      const int wait_ms = pidfd_ >= 0 ? PollMillis(deadline) : std::min(PollMillis(deadline), 10);
      if (poll(fds, n, wait_ms) < 0 && errno != EINTR) break;
      Drain();
      TryReap();
    }
    if (!status_) TryReap();
    return false;
  }

  void Drain() {
    char buf[4096];
    while (pipe_open_) {
      const ssize_t got = read(out_fd_, buf, sizeof(buf));
      if (got > 0) {
        const size_t room = kMaxCommandOutput - std::min(kMaxCommandOutput, out_->output.size());
        out_->output.append(buf, std::min<size_t>(got, room));
        if (static_cast<size_t>(got) > room) out_->output_truncated = true;
        continue;
      }
      if (got == 0) pipe_open_ = false;
      if (got < 0 && errno == EINTR) continue;
      return;  // EAGAIN: nothing more now
    }
  }
  void TryReap() {
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid_, &st, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (w == pid_) status_ = st;
  }
  void Kill() {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);  // in case the child never got its own group
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
  }

  const pid_t pid_;
  const int out_fd_;
  CommandOutcome* const out_;
  int pidfd_ = -1;
  bool pipe_open_ = true;
  std::optional<int> status_;
};

}  // namespace

// Done before fork (RunCommand), where allocation is allowed.
absl::StatusOr<std::string> ResolveExecutable(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("empty command name");
  if (name.find('/') != std::string::npos) return name;
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    const std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::NotFoundError(absl::StrCat(name, ": command not found in PATH"));
}

CancelToken::CancelToken() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

CancelToken::~CancelToken() {
  if (fd_ >= 0) close(fd_);
}

void CancelToken::Cancel() {
  const uint64_t one = 1;
  (void)!write(fd_, &one, sizeof(one));
}

bool CancelToken::cancelled() const {
  pollfd p{fd_, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

std::string CommandOutcome::Summary() const {
  if (!error.empty()) return error;
  if (timed_out) return "timed out";
  if (cancelled) return "cancelled";
  return absl::StrCat("exit ", exit_code);
}

CommandOutcome RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                          const CancelToken* cancel) {
  CommandOptions options;
  options.timeout = timeout;
  options.cancel = cancel;
  return RunCommand(argv, options);
}

CommandOutcome RunCommand(const std::vector<std::string>& argv, const CommandOptions& options) {
  CommandOutcome out;
  const absl::Time start = absl::Now();
  const CancelToken* cancel = options.cancel;
  if (argv.empty()) {
    out.error = "empty command";
  } else if (cancel != nullptr && cancel->cancelled()) {
    out.cancelled = true;
  } else {
    ChildPipes pipes;
    const pid_t pid = Spawn(argv, options, pipes, &out);
    if (pid > 0) ChildWatch(pid, pipes.out[0], &out).Run(start + options.timeout, cancel);
  }
  out.took = absl::Now() - start;
  return out;
}

}  // namespace chaos::base
