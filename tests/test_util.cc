#include "tests/test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"

namespace chaos::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/chaos-test.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Subprocess::Subprocess(const std::vector<std::string>& argv, const std::string& log_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    if (!log_file.empty()) {
      int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Subprocess::~Subprocess() {
  if (running()) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

void Subprocess::Signal(int sig) { kill(pid_, sig); }

int Subprocess::Wait() {
  if (status_ < 0) {
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status_;
}

bool Subprocess::running() {
  if (status_ >= 0 || pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DaemonProcess::DaemonProcess(const std::string& binary, const std::string& state_dir,
                             const std::vector<std::string>& extra, const std::string& listen,
                             const DaemonPlacement& placement) {
  const std::string name = std::filesystem::path(binary).filename().string();
  const std::string run_dir = placement.run_dir.empty() ? state_dir : placement.run_dir;
  std::filesystem::create_directories(state_dir);
  std::filesystem::create_directories(run_dir);
  const std::string port_file = run_dir + "/port";
  log_file_ = run_dir + "/" + name + ".log";
  unlink(port_file.c_str());
  host_ = listen.substr(0, listen.rfind(':'));
  if (host_.empty() || host_ == "0.0.0.0" || host_ == "[::]") host_ = "127.0.0.1";
  std::vector<std::string> argv = placement.wrapper;
  argv.insert(argv.end(), {binary, "--listen", listen, "--state-dir", state_dir, "--port-file",
                           port_file});
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = std::make_unique<Subprocess>(argv, log_file_);
  port_ = WaitForPortFile(*process_, port_file);
  if (port_ == 0) throw std::runtime_error(name + " did not start: " + log());
}

std::string DaemonProcess::log() const { return ReadFileOrEmpty(log_file_); }

AgentProcess::AgentProcess(const std::string& state_dir, const std::vector<std::string>& extra)
    : DaemonProcess(AgentBinary(), state_dir, extra) {}

ControllerProcess::ControllerProcess(const std::string& state_dir,
                                     const std::vector<std::string>& extra)
    : DaemonProcess(ControllerBinary(), state_dir, extra) {}

CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_s) {
  TempDir dir;
  const std::string out = dir.path() + "/out";
  Subprocess p(argv, out);
  CommandResult r;
  for (int i = 0; i < timeout_s * 20 && p.running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (p.running()) p.Signal(SIGKILL);
  r.exit_code = p.Wait();
  r.output = ReadFileOrEmpty(out);
  return r;
}

std::vector<pid_t> PidsNamed(const std::string& name) {
  std::vector<pid_t> pids;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    pid_t pid;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::string comm = ReadFileOrEmpty("/proc/" + std::string(e->d_name) + "/comm");
    std::string stat = ReadFileOrEmpty("/proc/" + std::string(e->d_name) + "/stat");
    const size_t close = stat.rfind(')');
    const bool zombie = close != std::string::npos && close + 2 < stat.size() &&
                        stat[close + 2] == 'Z';
    if (absl::StripTrailingAsciiWhitespace(comm) == name && !zombie) pids.push_back(pid);
  }
  closedir(d);
  return pids;
}

namespace {

// The lowest port of the kernel's ephemeral range (Linux's default when
// unreadable).
int EphemeralLow() {
  std::istringstream range(ReadFileOrEmpty("/proc/sys/net/ipv4/ip_local_port_range"));
  int low = 0;
  return range >> low && low > 0 ? low : 32768;
}

bool BindsOnLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return bound;
}

}  // namespace

int FreeLoopbackPort() {
  constexpr int kLowest = 10000;
  const int highest = EphemeralLow() - 1;
  if (highest <= kLowest) {
    throw std::runtime_error("the ephemeral port range leaves no port to probe below it");
  }
  // A port is handed out once per process: two servers of one test never
  // share one.
  static std::mutex mu;
  static std::set<int> handed_out;
  static std::mt19937 random(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  std::uniform_int_distribution<int> pick(kLowest, highest);
  for (int tries = 0; tries < 1000; ++tries) {
    const int port = pick(random);
    if (!handed_out.contains(port) && BindsOnLoopback(port)) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free loopback port below the ephemeral range");
}

int ListenOnLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 16) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

ClosingListener::ClosingListener() : fd_(ListenOnLoopback(&port_)) {
  thread_ = std::thread([this] {
    for (;;) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;  // shut down
      ++accepted_;
      close(c);
    }
  });
}

ClosingListener::~ClosingListener() {
  shutdown(fd_, SHUT_RDWR);
  thread_.join();
  close(fd_);
}

std::string ClosingListener::address() const { return "127.0.0.1:" + std::to_string(port_); }

int WaitForPortFile(Subprocess& p, const std::string& port_file, int hang_guard_s) {
  int port = 0;
  for (int i = 0; i < hang_guard_s * 40 && port == 0 && p.running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(port_file)), &port);
  }
  return port;
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit,
             std::chrono::milliseconds poll) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(poll);
  }
  return cond();
}

bool WaitFor(const std::function<bool()>& cond, absl::Duration limit, absl::Duration poll) {
  return WaitFor(cond, absl::ToChronoMilliseconds(limit), absl::ToChronoMilliseconds(poll));
}

std::vector<std::string> NonEmptyLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!absl::StripAsciiWhitespace(line).empty()) lines.push_back(line);
  }
  return lines;
}

std::string AgentBinary() { return std::string(CHAOS_BINARY_DIR) + "/bin/chaos-agent"; }
std::string ControllerBinary() {
  return std::string(CHAOS_BINARY_DIR) + "/bin/chaos-controller";
}
std::string ChaosctlBinary() { return std::string(CHAOS_BINARY_DIR) + "/bin/chaosctl"; }

}  // namespace chaos::testing
