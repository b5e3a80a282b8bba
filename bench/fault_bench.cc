// chaos-fault-bench: drives the real faults for bench/faults_bench.py.
//
//   chaos-fault-bench burn WORKERS LOAD_PERCENT SECONDS
//       Injects CpuBurn, prints "pids P,P", holds, reverts.
//   chaos-fault-bench fill DIR BYTES
//       Injects DiskFill (DIR is the only allowed root), prints
//       "inject_ms X achieved B used_delta B", reverts.
//   chaos-fault-bench kill N [regex]
//       N times: spawns /bin/sleep, then times ProcessKill.Inject (by pid, or
//       by a command-line regex over all of /proc) until the child is reaped;
//       also times plain kill(2) + waitpid for the same. Prints one line per
//       run: "chaos_us X syscall_us Y".
#include <signal.h>
#include <spawn.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "faults/cpu_burn.h"
#include "faults/disk_fill.h"
#include "faults/process_signal.h"

extern char** environ;

namespace {

using chaos::faults::UndoState;
using Clock = std::chrono::steady_clock;

absl::Status Ignore(const UndoState&) { return absl::OkStatus(); }

int Usage() {
  std::fprintf(stderr,
               "usage: chaos-fault-bench burn WORKERS LOAD SECONDS | fill DIR BYTES | "
               "kill N [regex]\n");
  return 2;
}

int Burn(int workers, int load, double seconds) {
  chaos::faults::CpuBurnParams p;
  p.workers = static_cast<uint32_t>(workers);
  p.load_percent = static_cast<uint32_t>(load);
  chaos::faults::CpuBurn burn(p);
  if (absl::Status s = burn.Inject(Ignore); !s.ok()) {
    std::fprintf(stderr, "inject: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<pid_t> pids;
  for (const auto& id : burn.burners()) pids.push_back(id.pid);
  std::printf("pids %s\n", absl::StrJoin(pids, ",").c_str());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return burn.Revert().ok() ? 0 : 1;
}

uint64_t UsedBytes(const std::string& dir) {
  struct statvfs st {};
  statvfs(dir.c_str(), &st);
  return uint64_t{st.f_blocks - st.f_bfree} * st.f_frsize;
}

int Fill(const std::string& dir, uint64_t bytes) {
  chaos::faults::DiskFillParams p;
  p.directory = dir;
  p.bytes = bytes;
  p.tag = "bench";
  p.allowed_roots = {dir};
  chaos::faults::DiskFill fill(p);
  const uint64_t before = UsedBytes(dir);
  const auto t0 = Clock::now();
  absl::Status s = fill.Inject(Ignore);
  const auto t1 = Clock::now();
  if (!s.ok()) {
    std::fprintf(stderr, "inject: %s\n", s.ToString().c_str());
    return 1;
  }
  const uint64_t after = UsedBytes(dir);
  std::printf("inject_ms %.3f achieved %llu used_delta %llu\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              static_cast<unsigned long long>(fill.achieved_bytes()),
              static_cast<unsigned long long>(after - before));
  return fill.Revert().ok() ? 0 : 1;
}

pid_t SpawnSleep(const std::string& arg) {
  char* argv[] = {const_cast<char*>("sleep"), const_cast<char*>(arg.c_str()), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sleep", nullptr, nullptr, argv, environ) != 0) return -1;
  for (int i = 0; i < 5000; ++i) {
    auto info = chaos::faults::ReadProcessInfo(pid);
    if (info.ok() && info->comm == "sleep") break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return pid;
}

int Kill(int n, bool by_regex) {
  for (int i = 0; i < n; ++i) {
    const std::string tag = absl::StrCat(7700000 + getpid() % 10000 * 10 + i % 10);
    const pid_t a = SpawnSleep(tag);
    chaos::faults::ProcessKillParams p;
    if (by_regex) {
      p.target.cmdline_regex = absl::StrCat("^sleep ", tag, "$");
    } else {
      p.target.pid = a;
    }
    p.target.seed = 1;
    chaos::faults::ProcessKill kill(p);
    const auto t0 = Clock::now();
    absl::Status s = kill.Inject(Ignore);
    waitpid(a, nullptr, 0);
    const auto t1 = Clock::now();
    if (!s.ok()) {
      std::fprintf(stderr, "inject: %s\n", s.ToString().c_str());
      return 1;
    }
    const pid_t b = SpawnSleep(tag);
    const auto t2 = Clock::now();
    ::kill(b, SIGKILL);
    waitpid(b, nullptr, 0);
    const auto t3 = Clock::now();
    std::printf("chaos_us %.1f syscall_us %.1f\n",
                std::chrono::duration<double, std::micro>(t1 - t0).count(),
                std::chrono::duration<double, std::micro>(t3 - t2).count());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string cmd = argv[1];
  if (cmd == "burn" && argc == 5) return Burn(std::atoi(argv[2]), std::atoi(argv[3]), std::atof(argv[4]));
  if (cmd == "fill" && argc == 4) return Fill(argv[2], std::strtoull(argv[3], nullptr, 10));
  if (cmd == "kill" && (argc == 3 || argc == 4)) {
    return Kill(std::atoi(argv[2]), argc == 4 && std::string(argv[3]) == "regex");
  }
  return Usage();
}
