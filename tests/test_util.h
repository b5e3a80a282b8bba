// Helpers for tests that drive the real binaries: start a process, wait for
// its port file, run a command and collect its output and exit code.
#ifndef CHAOS_TESTS_TEST_UTIL_H_
#define CHAOS_TESTS_TEST_UTIL_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace chaos::testing {

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process started from argv; killed (SIGKILL) on destruction if
// still running.
class Subprocess {
 public:
  // stdout and stderr go to `log_file` when given.
  Subprocess(const std::vector<std::string>& argv, const std::string& log_file = "");
  ~Subprocess();
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits for exit; returns the exit code, or 128 + signal.
  int Wait();
  bool running();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// How a daemon is started: `wrapper` goes before its argv (e.g. `ip netns
// exec NS`, which execs the daemon in place, so pid() is the daemon's);
// its port file and log go to `run_dir` (default: the state directory),
// so that a full state filesystem does not hide them.
struct DaemonPlacement {
  std::vector<std::string> wrapper;
  std::string run_dir;
};

// A daemon (`binary`: chaos-agent or chaos-controller) started on
// `listen` (default 127.0.0.1 with an OS-chosen port) and its state in
// `state_dir`; the constructor waits until it serves (its port file is
// written) and throws with its log when it does not. Extra flags are
// appended. address() is on the host of `listen`, 127.0.0.1 for a
// wildcard one.
class DaemonProcess {
 public:
  DaemonProcess(const std::string& binary, const std::string& state_dir,
                const std::vector<std::string>& extra, const std::string& listen = "127.0.0.1:0",
                const DaemonPlacement& placement = {});
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  int port() const { return port_; }
  Subprocess& process() { return *process_; }
  std::string log() const;

 private:
  std::string log_file_;
  std::unique_ptr<Subprocess> process_;
  std::string host_;
  int port_ = 0;
};

class AgentProcess : public DaemonProcess {
 public:
  AgentProcess(const std::string& state_dir, const std::vector<std::string>& extra = {});
};

// The controller keeps its history in state_dir/history.db.
class ControllerProcess : public DaemonProcess {
 public:
  ControllerProcess(const std::string& state_dir, const std::vector<std::string>& extra = {});
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};
// Runs argv to completion (at most `timeout_s` seconds, then SIGKILL).
CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_s = 60);

std::string ReadFileOrEmpty(const std::string& path);
// Pids of processes whose comm is exactly `name`.
std::vector<pid_t> PidsNamed(const std::string& name);

// A TCP port on 127.0.0.1 that was free when probed, for a server that must
// be told its port in advance (etcd, PostgreSQL, Redis). It is drawn at
// random from below the kernel's ephemeral range, so no outgoing connection
// and no server bound to port 0 can take it between the probe and its use.
int FreeLoopbackPort();

// A TCP socket listening on 127.0.0.1 on a port the kernel chose (its
// backlog completes connections whether or not anyone accepts them);
// returns the socket and sets *port. Throws when it cannot listen.
int ListenOnLoopback(int* port);

// An address where nothing answers: a listener on 127.0.0.1 (a port the
// kernel chose) that accepts every connection, counts it and closes it at
// once, on a thread of its own until destroyed.
class ClosingListener {
 public:
  ClosingListener();
  ~ClosingListener();
  std::string address() const;
  int accepted() const { return accepted_.load(); }

 private:
  int port_ = 0;  // before fd_, which sets it
  int fd_ = -1;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Waits until `p` has written its port to `port_file` (as --port-file
// does); 0 when the process exits first or the hang guard of
// `hang_guard_s` seconds passes.
int WaitForPortFile(Subprocess& p, const std::string& port_file, int hang_guard_s = 60);

// Polls `cond` every `poll` until it holds (true) or `limit` passes (false).
// `limit` is a hang guard, never a time the test asserts.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit,
             std::chrono::milliseconds poll = std::chrono::milliseconds(10));
bool WaitFor(const std::function<bool()>& cond, absl::Duration limit,
             absl::Duration poll = absl::Milliseconds(50));

// The lines of `text`, without empty ones.
std::vector<std::string> NonEmptyLines(const std::string& text);

std::string AgentBinary();
std::string ControllerBinary();
std::string ChaosctlBinary();

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_TEST_UTIL_H_
