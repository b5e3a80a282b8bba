// Several hosts on one machine, for the reliability suite: a bridge in the
// root network namespace holding the controller's address, and per agent a
// network namespace on a veth into that bridge with an address of its own
// (10.231.N.0/24, N the first free subnet from this process's pid on). The
// controller runs in the root namespace, each agent under `ip netns exec`.
// Every name carries this process's pid (crl<pid>...), so runs beside each
// other do not collide, and SweepLeftovers() removes what a run that died
// left. The destructor kills every process it started and removes every
// namespace, link and mount it made, also when a test failed. Not thread
// safe: one test thread drives it.
#ifndef CHAOS_TESTS_RELIABILITY_TESTBED_H_
#define CHAOS_TESTS_RELIABILITY_TESTBED_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace chaos::testing {

// Removes the namespaces, links and tmpfs mounts whose names carry the pid
// of a process that no longer runs.
void SweepLeftovers();

// A process's state letter from /proc/PID/stat ('T' stopped, 'S' sleeping),
// or 0 when it does not exist.
char ProcessState(pid_t pid);

// Open fds, resident anonymous memory (kB) and child processes of `pid`,
// read from /proc.
struct ProcessFootprint {
  int fds = 0;
  long rss_anon_kb = 0;
  int children = 0;
};
ProcessFootprint FootprintOf(pid_t pid);

// A harmless process for faults to act on: `sleep`, its pid in a pidfile.
class Dummy {
 public:
  Dummy(const std::string& dir, const std::string& name);
  pid_t pid() { return process_.pid(); }
  const std::string& pidfile() const { return pidfile_; }
  bool stopped() { return ProcessState(pid()) == 'T'; }

 private:
  Subprocess process_;
  std::string pidfile_;
};

class Testbed {
 public:
  explicit Testbed(int agents);
  ~Testbed();
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  int agents() const { return static_cast<int>(agents_.size()); }
  const std::string& dir() const { return dir_.path(); }
  std::string namespace_of(int i) const;
  std::string agent_ip(int i) const;
  std::string controller_ip() const;

  // Starts the controller on the bridge's address, on a port the OS
  // chooses, with `extra` flags.
  void StartController(const std::vector<std::string>& extra = {});
  // Starts it again with the same flags, state and port (after a kill).
  void RestartController();
  // SIGKILL, and waits for it.
  void KillController();
  DaemonProcess& controller() { return *controller_; }

  // Starts agent i in its namespace, registering with the controller when
  // one runs, labelled name=a<i>; its state in agent_state_dir(i).
  void StartAgent(int i, const std::vector<std::string>& extra = {});
  // Starts it again with the same flags, state and port (after a kill).
  void RestartAgent(int i);
  void KillAgent(int i);
  DaemonProcess& agent(int i) { return *agents_[i]; }
  std::string agent_state_dir(int i) const;
  void set_agent_state_dir(int i, const std::string& path) { state_dirs_[i] = path; }

  // Runs argv inside agent i's network namespace.
  CommandResult InNamespace(int i, const std::vector<std::string>& argv);
  // A tmpfs of `bytes` mounted on a new directory; unmounted at the end.
  std::string MountTmpfs(const std::string& name, size_t bytes);

 private:
  void CreateNetwork(int agents);
  void RemoveNetwork();
  void LaunchController(int port);
  void LaunchAgent(int i, int port);

  TempDir dir_;
  std::string tag_;  // crl<pid>
  int subnet_ = 0;
  std::vector<std::string> namespaces_;
  std::vector<std::string> state_dirs_;
  std::vector<std::vector<std::string>> agent_flags_;
  std::vector<std::string> controller_flags_;
  std::vector<std::string> mounts_;
  std::vector<std::unique_ptr<DaemonProcess>> agents_;
  std::unique_ptr<DaemonProcess> controller_;
};

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_RELIABILITY_TESTBED_H_
