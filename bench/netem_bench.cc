// Time to apply and remove netem on lo: our libnl path (faults/netem.h) vs
// iproute2's tc doing the same, alternating in one run. Changes qdiscs on
// lo, so it runs inside the user-mode-linux guest: see netem_bench.sh.
//
// Output: one line per case with medians in microseconds and the ratio.
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "faults/netem.h"

extern char** environ;

namespace {

double NowUs() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Runs tc with `args` (no shell) and returns its exit status.
int Tc(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string tc = "tc";
  argv.push_back(tc.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, "tc", nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct Case {
  const char* name;
  chaos::faults::NetemParams params;
  std::vector<std::vector<std::string>> tc_add;  // the same thing, with tc
  std::vector<std::string> tc_del;
};

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("CHAOS_IN_UML") == nullptr) {
    std::fprintf(stderr, "%s changes qdiscs on lo: run it through bench/netem_bench.sh\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 30;
  chaos::faults::NetemParams plain;
  plain.interface = "lo";
  plain.delay = absl::Milliseconds(10);
  plain.loss_percent = 1;
  chaos::faults::NetemParams scoped = plain;
  scoped.ports = {8080};
  std::vector<Case> cases = {
      {"unscoped (root netem)", plain,
       {{"qdisc", "add", "dev", "lo", "root", "handle", "ca05:", "netem", "limit", "1000",
         "delay", "10ms", "loss", "1%"}},
       {"qdisc", "del", "dev", "lo", "root", "handle", "ca05:"}},
      // Our code adds 8 u32 filters for one port (tcp/udp x sport/dport x
      // IPv4/IPv6); tc does the same 8.
      {"port-scoped (prio + netem + 8 u32)", scoped, {}, {"qdisc", "del", "dev", "lo", "root", "handle", "ca05:"}},
  };
  auto& sc = cases[1].tc_add;
  sc.push_back({"qdisc", "add", "dev", "lo", "root", "handle", "ca05:", "prio", "bands", "4",
                "priomap", "1", "2", "2", "2", "1", "2", "0", "0", "1", "1", "1", "1", "1", "1",
                "1", "1"});
  sc.push_back({"qdisc", "add", "dev", "lo", "parent", "ca05:4", "handle", "ca06:", "netem",
                "limit", "1000", "delay", "10ms", "loss", "1%"});
  for (const char* proto : {"ip", "ipv6"}) {
    for (const char* ipproto : {"6", "17"}) {
      for (const char* dir : {"sport", "dport"}) {
        const char* m = std::string(proto) == "ip" ? "ip" : "ip6";
        sc.push_back({"filter", "add", "dev", "lo", "parent", "ca05:", "protocol", proto, "prio",
                      std::string(proto) == "ip" ? "3" : "4", "u32", "match", m,
                      "protocol", ipproto, "0xff", "match", m, dir, "8080", "0xffff",
                      "flowid", "ca05:4"});
      }
    }
  }
  std::printf("rounds=%d (alternating ours/tc)\n", rounds);
  for (const Case& c : cases) {
    std::vector<double> ours_add, ours_del, tc_add, tc_del;
    int failures = 0;
    for (int i = 0; i < rounds; ++i) {
      chaos::faults::Netem fault(c.params);
      double t0 = NowUs();
      absl::Status s = fault.Inject([](const chaos::faults::UndoState&) { return absl::OkStatus(); });
      double t1 = NowUs();
      absl::Status r = fault.Revert();
      double t2 = NowUs();
      if (!s.ok() || !r.ok()) {
        ++failures;
        std::fprintf(stderr, "ours: %s / %s\n", s.ToString().c_str(), r.ToString().c_str());
      }
      ours_add.push_back(t1 - t0);
      ours_del.push_back(t2 - t1);
      t0 = NowUs();
      int rc = 0;
      for (const auto& cmd : c.tc_add) rc |= Tc(cmd);
      t1 = NowUs();
      rc |= Tc(c.tc_del);
      t2 = NowUs();
      if (rc != 0) ++failures;
      tc_add.push_back(t1 - t0);
      tc_del.push_back(t2 - t1);
    }
    const double oa = Median(ours_add), od = Median(ours_del), ta = Median(tc_add),
                 td = Median(tc_del);
    std::printf(
        "BENCH %-36s ours apply %8.0f us remove %8.0f us | tc apply %8.0f us remove %8.0f us | "
        "ratio apply %5.1fx remove %5.1fx apply+remove %5.1fx | failures %d\n",
        c.name, oa, od, ta, td, ta / oa, td / od, (ta + td) / (oa + od), failures);
  }
  return 0;
}
