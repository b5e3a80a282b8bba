#include "tests/reliability/testbed.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace chaos::testing {
namespace {

constexpr char kIp[] = "/sbin/ip";
constexpr char kPrefix[] = "crl";

void MustRun(const std::vector<std::string>& argv) {
  CommandResult r = RunCommand(argv, 30);
  if (r.exit_code != 0) {
    throw std::runtime_error(absl::StrCat(absl::StrJoin(argv, " "), ": ", r.output));
  }
}

// The pid a name made by a Testbed carries (crl<pid>...), or 0.
pid_t PidInName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kPrefix)) return 0;
  size_t digits = 0;
  while (digits < name.size() && absl::ascii_isdigit(name[digits])) ++digits;
  pid_t pid = 0;
  return absl::SimpleAtoi(name.substr(0, digits), &pid) ? pid : 0;
}

// A name left by a dead run, or by an earlier process with our pid.
bool IsLeftover(absl::string_view name) {
  const pid_t pid = PidInName(name);
  if (pid == 0) return false;
  return pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH);
}

// The first field of each line of `ip ... show` output, without "@peer".
std::vector<std::string> FirstFields(const std::string& text, int field) {
  std::vector<std::string> names;
  for (const std::string& line : NonEmptyLines(text)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (static_cast<int>(f.size()) <= field) continue;
    std::string name = std::string(absl::StripSuffix(f[field], ":"));
    names.push_back(name.substr(0, name.find('@')));
  }
  return names;
}

std::string FirstFreeSubnet() {
  const std::string used = RunCommand({kIp, "-o", "-4", "addr", "show"}).output;
  for (int k = 0; k < 250; ++k) {
    const int n = (getpid() + k) % 250 + 1;
    const std::string prefix = absl::StrCat("10.231.", n, ".");
    if (!absl::StrContains(used, prefix)) return std::to_string(n);
  }
  throw std::runtime_error("no free subnet in 10.231.0.0/16");
}

}  // namespace

void SweepLeftovers() {
  for (const std::string& ns : FirstFields(RunCommand({kIp, "netns", "list"}).output, 0)) {
    if (IsLeftover(ns)) RunCommand({kIp, "netns", "del", ns});
  }
  for (const std::string& link : FirstFields(RunCommand({kIp, "-o", "link", "show"}).output, 1)) {
    if (IsLeftover(link)) RunCommand({kIp, "link", "del", link});
  }
  for (const std::string& line : NonEmptyLines(ReadFileOrEmpty("/proc/mounts"))) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() < 2) continue;
    const std::string base = std::filesystem::path(f[1]).filename().string();
    if (absl::StartsWith(base, kPrefix) && IsLeftover(base)) umount2(f[1].c_str(), MNT_DETACH);
  }
}

char ProcessState(pid_t pid) {
  const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

ProcessFootprint FootprintOf(pid_t pid) {
  ProcessFootprint f;
  const std::string proc = absl::StrCat("/proc/", pid);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(proc + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++f.fds;
  }
  for (const std::string& line : NonEmptyLines(ReadFileOrEmpty(proc + "/status"))) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "RssAnon:")) {
      (void)absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"),
                             &f.rss_anon_kb);
    }
  }
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    pid_t child = 0;
    if (!absl::SimpleAtoi(e->d_name, &child)) continue;
    const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", child, "/stat"));
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> rest = absl::StrSplit(stat.substr(close + 2), ' ');
    pid_t ppid = 0;
    if (rest.size() > 1 && absl::SimpleAtoi(rest[1], &ppid) && ppid == pid) ++f.children;
  }
  closedir(d);
  return f;
}

Dummy::Dummy(const std::string& dir, const std::string& name)
    : process_({"/bin/sleep", "100000"}), pidfile_(dir + "/" + name + ".pid") {
  std::ofstream(pidfile_) << process_.pid() << "\n";
}

Testbed::Testbed(int agents) : tag_(absl::StrCat(kPrefix, getpid())) {
  SweepLeftovers();
  agents_.resize(agents);
  for (int i = 0; i < agents; ++i) {
    namespaces_.push_back(absl::StrCat(tag_, "-a", i));
    state_dirs_.push_back(absl::StrCat(dir(), "/agent", i));
  }
  try {
    CreateNetwork(agents);
  } catch (...) {
    RemoveNetwork();
    throw;
  }
}

Testbed::~Testbed() {
  for (auto& a : agents_) a.reset();
  controller_.reset();
  RemoveNetwork();
  for (const std::string& m : mounts_) umount2(m.c_str(), MNT_DETACH);
}

void Testbed::CreateNetwork(int agents) {
  subnet_ = std::stoi(FirstFreeSubnet());
  MustRun({kIp, "link", "add", tag_, "type", "bridge"});
  MustRun({kIp, "addr", "add", controller_ip() + "/24", "dev", tag_});
  MustRun({kIp, "link", "set", tag_, "up"});
  for (int i = 0; i < agents; ++i) {
    const std::string& ns = namespaces_[i];
    const std::string veth = absl::StrCat(tag_, "v", i);
    MustRun({kIp, "netns", "add", ns});
    MustRun({kIp, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns});
    MustRun({kIp, "link", "set", veth, "master", tag_, "up"});
    MustRun({kIp, "-n", ns, "addr", "add", agent_ip(i) + "/24", "dev", "eth0"});
    MustRun({kIp, "-n", ns, "link", "set", "eth0", "up"});
    MustRun({kIp, "-n", ns, "link", "set", "lo", "up"});
  }
}

// Deleting a namespace takes its end of the veth, and so the pair, along.
void Testbed::RemoveNetwork() {
  for (const std::string& ns : namespaces_) RunCommand({kIp, "netns", "del", ns});
  RunCommand({kIp, "link", "del", tag_});
}

std::string Testbed::namespace_of(int i) const { return namespaces_[i]; }
std::string Testbed::agent_ip(int i) const { return absl::StrCat("10.231.", subnet_, ".", 10 + i); }
std::string Testbed::controller_ip() const { return absl::StrCat("10.231.", subnet_, ".1"); }
std::string Testbed::agent_state_dir(int i) const { return state_dirs_[i]; }

void Testbed::StartController(const std::vector<std::string>& extra) {
  controller_flags_ = {"--insecure", "--heartbeat-interval-ms", "500"};
  controller_flags_.insert(controller_flags_.end(), extra.begin(), extra.end());
  LaunchController(0);
}

void Testbed::RestartController() { LaunchController(controller_->port()); }

void Testbed::LaunchController(int port) {
  controller_.reset();
  controller_ = std::make_unique<DaemonProcess>(
      ControllerBinary(), dir() + "/controller", controller_flags_,
      absl::StrCat(controller_ip(), ":", port), DaemonPlacement{{}, dir() + "/controller-run"});
}

void Testbed::KillController() {
  controller_->process().Signal(SIGKILL);
  controller_->process().Wait();
}

void Testbed::StartAgent(int i, const std::vector<std::string>& extra) {
  agent_flags_.resize(agents_.size());
  agent_flags_[i] = {"--insecure", "--label", absl::StrCat("name=a", i)};
  if (controller_ != nullptr) {
    agent_flags_[i].insert(agent_flags_[i].end(), {"--controller", controller_->address()});
  }
  agent_flags_[i].insert(agent_flags_[i].end(), extra.begin(), extra.end());
  LaunchAgent(i, 0);
}

void Testbed::RestartAgent(int i) { LaunchAgent(i, agents_[i]->port()); }

void Testbed::LaunchAgent(int i, int port) {
  agents_[i].reset();
  agents_[i] = std::make_unique<DaemonProcess>(
      AgentBinary(), state_dirs_[i], agent_flags_[i], absl::StrCat(agent_ip(i), ":", port),
      DaemonPlacement{{kIp, "netns", "exec", namespaces_[i]},
                      absl::StrCat(dir(), "/agent", i, "-run")});
}

void Testbed::KillAgent(int i) {
  agents_[i]->process().Signal(SIGKILL);
  agents_[i]->process().Wait();
}

CommandResult Testbed::InNamespace(int i, const std::vector<std::string>& argv) {
  std::vector<std::string> full = {kIp, "netns", "exec", namespaces_[i]};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommand(full);
}

std::string Testbed::MountTmpfs(const std::string& name, size_t bytes) {
  const std::string path = absl::StrCat(dir(), "/", tag_, "-", name);
  std::filesystem::create_directories(path);
  MustRun({"/bin/mount", "-t", "tmpfs", "-o", absl::StrCat("size=", bytes), "tmpfs", path});
  mounts_.push_back(path);
  return path;
}

}  // namespace chaos::testing
