// Unit tests of ProcessKill / ProcessPause against a fake process table.
#include "faults/process_signal.h"

#include <signal.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/fake_os.h"

namespace chaos::faults {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FakeProcessOs;
using testing::Recorder;

ProcessKillParams KillPid(pid_t pid) {
  ProcessKillParams p;
  p.target.pid = pid;
  return p;
}

// --- validation: each bad field is named, and nothing is signalled.

struct BadCase {
  std::string name;
  std::function<void(ProcessKillParams&)> mutate;
  std::string field;
};

TEST(ProcessKillValidate, EachBadFieldIsNamed) {
  const std::vector<BadCase> cases = {
      {"none", [](ProcessKillParams& p) { p.target.pid = 0; }, "process_kill.target:"},
      {"two", [](ProcessKillParams& p) { p.target.name = "x"; }, "process_kill.target:"},
      {"pid1", [](ProcessKillParams& p) { p.target.pid = 1; }, "process_kill.target.pid:"},
      {"negpid", [](ProcessKillParams& p) { p.target.pid = -5; }, "process_kill.target.pid:"},
      {"longname",
       [](ProcessKillParams& p) {
         p.target.pid = 0;
         p.target.name = "a-name-longer-than-15";
       },
       "process_kill.target.name:"},
      {"regex",
       [](ProcessKillParams& p) {
         p.target.pid = 0;
         p.target.cmdline_regex = "foo(";
       },
       "process_kill.target.cmdline_regex: does not compile"},
      {"relpidfile",
       [](ProcessKillParams& p) {
         p.target.pid = 0;
         p.target.pidfile = "run/x.pid";
       },
       "process_kill.target.pidfile: must be an absolute path"},
      {"escaping",
       [](ProcessKillParams& p) {
         p.target.pid = 0;
         p.target.pidfile = "/run/../etc/x.pid";
       },
       "process_kill.target.pidfile: must not contain"},
      {"both", [](ProcessKillParams& p) { p.target.count = 1, p.target.percent = 5; },
       "process_kill.target.count:"},
      {"percent", [](ProcessKillParams& p) { p.target.percent = 101; },
       "process_kill.target.percent:"},
      {"signal0", [](ProcessKillParams& p) { p.signal = 0; }, "process_kill.signal: unknown"},
      {"signal65", [](ProcessKillParams& p) { p.signal = 65; }, "process_kill.signal: unknown"},
      {"neginterval", [](ProcessKillParams& p) { p.interval = absl::Seconds(-1); },
       "process_kill.interval:"},
      {"noduration", [](ProcessKillParams& p) { p.interval = absl::Seconds(1); },
       "process_kill.interval: repeating needs"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    ProcessKillParams p = KillPid(4242);
    c.mutate(p);
    absl::Status s = p.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.field));
    FakeProcessOs os;
    os.Add(4242, 50, "victim", "victim");
    ProcessKill kill(p, os);
    Recorder rec;
    EXPECT_EQ(kill.Inject(rec.fn()).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(os.signals.empty());
    EXPECT_TRUE(rec.states.empty());
  }
}

TEST(ProcessKillValidate, DefaultsAreValid) {
  EXPECT_TRUE(KillPid(42).Validate().ok());
  ProcessPauseParams pause;
  pause.target.name = "nginx";
  EXPECT_TRUE(pause.Validate().ok());
  pause.target.cmdline_regex = "x";
  EXPECT_THAT(std::string(pause.Validate().message()), HasSubstr("process_pause.target:"));
}

// --- selection and refusals.

TEST(SelectProcesses, RefusesProtectedTargetsByPid) {
  FakeProcessOs os;
  os.Add(700, 1, "sshd", "/usr/sbin/sshd -D");
  std::mt19937_64 rng(1);
  for (pid_t pid : {2, 3, 50, 100, 700}) {
    SCOPED_TRACE(pid);
    ProcessSelector sel;
    sel.pid = pid;
    auto r = SelectProcesses(os, sel, {"sshd"}, "process_kill.target", rng);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("process_kill.target.pid:"));
  }
  ProcessSelector sel;
  sel.pid = 9999;
  auto r = SelectProcesses(os, sel, {}, "p", rng);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST(SelectProcesses, NameSkipsProtectedAndReportsEmptyMatch) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker -a");
  os.Add(201, 1, "worker", "worker -b");
  os.Add(202, 1, "worker", "worker -c", false, 'Z');
  std::mt19937_64 rng(1);
  ProcessSelector sel;
  sel.name = "worker";
  auto r = SelectProcesses(os, sel, {}, "t", rng);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->chosen.size(), 2u);
  EXPECT_EQ(r->skipped_protected, 1u);  // the zombie
  // The agent matches its own name but is never chosen.
  sel.name = "chaos-agent";
  r = SelectProcesses(os, sel, {}, "process_kill.target", rng);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("process_kill.target.name: no signallable process matches"));
  // Kernel threads have empty command lines and are excluded anyway.
  sel.name = "";
  sel.cmdline_regex = ".*";
  r = SelectProcesses(os, sel, {"worker"}, "t", rng);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
}

TEST(SelectProcesses, MoreThanTheHostsCapIsRefusedButCountWithinItIsNot) {
  FakeProcessOs os;
  for (pid_t pid = 1000; pid < 1012; ++pid) os.Add(pid, 1, "w", "w");
  ProcessSelector sel;
  sel.cmdline_regex = ".*";
  sel.max_chosen = 5;
  std::mt19937_64 rng(1);
  auto r = SelectProcesses(os, sel, {}, "process_kill.target", rng);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("process_kill.target: selector matches 12 processes and would signal "
                        "12, cap is 5"));
  sel.percent = 50;  // 6 of 12
  EXPECT_EQ(SelectProcesses(os, sel, {}, "t", rng).status().code(),
            absl::StatusCode::kPermissionDenied);
  sel.percent = 0;
  sel.count = 5;  // a count within the cap among many matches is fine
  r = SelectProcesses(os, sel, {}, "t", rng);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->chosen.size(), 5u);
  EXPECT_EQ(r->matched, 12u);
  // Nothing is signalled by a selection, allowed or refused.
  EXPECT_TRUE(os.signals.empty());
}

TEST(SelectProcesses, CountAndPercentAreReproducibleWithSeed) {
  FakeProcessOs os;
  for (pid_t pid = 1000; pid < 1010; ++pid) os.Add(pid, 1, "w", "w");
  ProcessSelector sel;
  sel.name = "w";
  sel.count = 3;
  std::mt19937_64 a(42), b(42), c(43);
  auto ra = SelectProcesses(os, sel, {}, "t", a);
  auto rb = SelectProcesses(os, sel, {}, "t", b);
  auto rc = SelectProcesses(os, sel, {}, "t", c);
  ASSERT_TRUE(ra.ok() && rb.ok() && rc.ok());
  ASSERT_EQ(ra->chosen.size(), 3u);
  std::vector<pid_t> pa, pb, pc;
  for (auto& p : ra->chosen) pa.push_back(p.id.pid);
  for (auto& p : rb->chosen) pb.push_back(p.id.pid);
  for (auto& p : rc->chosen) pc.push_back(p.id.pid);
  EXPECT_EQ(pa, pb);
  EXPECT_NE(pa, pc);  // a different seed picks differently (checked for 42/43)
  sel.count = 0;
  sel.percent = 25;  // ceil(2.5) = 3
  auto rp = SelectProcesses(os, sel, {}, "t", a);
  ASSERT_TRUE(rp.ok());
  EXPECT_EQ(rp->chosen.size(), 3u);
  sel.percent = 1;  // at least one
  rp = SelectProcesses(os, sel, {}, "t", a);
  EXPECT_EQ(rp->chosen.size(), 1u);
  sel.percent = 0;
  sel.count = 50;  // more than there are: all
  rp = SelectProcesses(os, sel, {}, "t", a);
  EXPECT_EQ(rp->chosen.size(), 10u);
}

TEST(SelectProcesses, Pidfile) {
  FakeProcessOs os;
  os.Add(321, 1, "nginx", "nginx: master");
  os.files["/run/nginx.pid"] = "321\n";
  os.files["/run/bad.pid"] = "hello\n";
  os.unreadable.insert("/run/secret.pid");
  std::mt19937_64 rng(1);
  ProcessSelector sel;
  sel.pidfile = "/run/nginx.pid";
  auto r = SelectProcesses(os, sel, {}, "process_kill.target", rng);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->chosen[0].id.pid, 321);
  sel.pidfile = "/run/missing.pid";
  r = SelectProcesses(os, sel, {}, "process_kill.target", rng);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("process_kill.target.pidfile: "));
  sel.pidfile = "/run/secret.pid";
  r = SelectProcesses(os, sel, {}, "process_kill.target", rng);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("process_kill.target.pidfile: "));
  sel.pidfile = "/run/bad.pid";
  r = SelectProcesses(os, sel, {}, "process_kill.target", rng);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("does not hold a pid"));
}

// --- kill.

TEST(ProcessKill, SignalsChosenAndReports) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker");
  os.Add(201, 1, "worker", "worker");
  ProcessKillParams p;
  p.target.name = "worker";
  p.target.seed = 7;
  p.signal = SIGTERM;
  ProcessKill kill(p, os);
  Recorder rec;
  ASSERT_TRUE(kill.Inject(rec.fn()).ok());
  EXPECT_THAT(os.signals, ElementsAre(std::pair(200, SIGTERM), std::pair(201, SIGTERM)));
  ASSERT_EQ(rec.states.size(), 1u);
  EXPECT_EQ(rec.states[0].at("seed"), "7");
  FaultStatus st = kill.Status();
  EXPECT_EQ(st.details["pids"], "200,201");
  EXPECT_EQ(st.details["processes"], "worker[200], worker[201]");
  EXPECT_TRUE(kill.Revert().ok());
  EXPECT_TRUE(kill.Revert().ok());
}

TEST(ProcessKill, ZeroSeedIsChosenAndReported) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker");
  ProcessKillParams p;
  p.target.name = "worker";
  ProcessKill kill(p, os);
  Recorder rec;
  ASSERT_TRUE(kill.Inject(rec.fn()).ok());
  EXPECT_NE(kill.seed(), 0u);
  EXPECT_EQ(kill.Status().details["seed"], absl::StrCat(kill.seed()));
}

TEST(ProcessKill, RecordFailureSignalsNothing) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker");
  ProcessKill kill(KillPid(200), os);
  Recorder rec;
  rec.fail_at = 1;
  EXPECT_EQ(kill.Inject(rec.fn()).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(os.signals.empty());
}

TEST(ProcessKill, SignalErrorIsReported) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker");
  os.fail[200] = absl::PermissionDeniedError("signal 9 to 200: Operation not permitted");
  ProcessKill kill(KillPid(200), os);
  Recorder rec;
  EXPECT_EQ(kill.Inject(rec.fn()).code(), absl::StatusCode::kPermissionDenied);
}

TEST(ProcessKill, AdoptNeedsSeed) {
  FakeProcessOs os;
  ProcessKill kill(KillPid(200), os);
  EXPECT_EQ(kill.Adopt({}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(kill.Adopt({{"seed", "5"}}).ok());
  EXPECT_TRUE(kill.Revert().ok());
  EXPECT_TRUE(os.signals.empty());
}

// --- pause.

TEST(ProcessPause, StopsRecordsEachFirstAndResumesExactlyThose) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker");
  os.Add(201, 1, "worker", "worker", false, 'T');  // stopped by someone else
  os.Add(202, 1, "worker", "worker");
  ProcessPauseParams p;
  p.target.name = "worker";
  ProcessPause pause(p, os);
  Recorder rec;
  ASSERT_TRUE(pause.Inject(rec.fn()).ok());
  EXPECT_THAT(os.signals, ElementsAre(std::pair(200, SIGSTOP), std::pair(202, SIGSTOP)));
  ASSERT_EQ(rec.states.size(), 2u);
  EXPECT_EQ(rec.states[0].at("stopped"), "200:1200");
  EXPECT_EQ(rec.states[1].at("stopped"), "200:1200,202:1202");
  EXPECT_EQ(os.procs[200].state, 'T');
  os.signals.clear();
  ASSERT_TRUE(pause.Revert().ok());
  EXPECT_THAT(os.signals, ElementsAre(std::pair(200, SIGCONT), std::pair(202, SIGCONT)));
  EXPECT_EQ(os.procs[201].state, 'T');  // not ours: left stopped
  EXPECT_EQ(pause.Status().details["pids"], "200,202");  // still reported
  EXPECT_EQ(pause.Status().summary, "resumed 2 process(es): worker[200], worker[202]");
  os.signals.clear();
  ASSERT_TRUE(pause.Revert().ok());  // idempotent
  EXPECT_TRUE(os.signals.empty());
}

TEST(ProcessPause, FailureHalfwayResumesWhatWasStopped) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker");
  os.Add(201, 1, "worker", "worker");
  os.fail[201] = absl::PermissionDeniedError("denied");
  ProcessPauseParams p;
  p.target.name = "worker";
  ProcessPause pause(p, os);
  Recorder rec;
  EXPECT_EQ(pause.Inject(rec.fn()).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(os.signals, ElementsAre(std::pair(200, SIGSTOP), std::pair(201, SIGSTOP),
                                      std::pair(200, SIGCONT)));
  EXPECT_EQ(os.procs[200].state, 'S');
}

TEST(ProcessPause, LedgerFailureResumes) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker");
  os.Add(201, 1, "worker", "worker");
  ProcessPauseParams p;
  p.target.name = "worker";
  ProcessPause pause(p, os);
  Recorder rec;
  rec.fail_at = 2;
  EXPECT_EQ(pause.Inject(rec.fn()).code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(os.signals, ElementsAre(std::pair(200, SIGSTOP), std::pair(200, SIGCONT)));
}

TEST(ProcessPause, AdoptedUndoResumesAndSkipsReusedPids) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker", false, 'T');
  os.Add(201, 1, "other", "other", false, 'T');
  ProcessPauseParams p;
  p.target.name = "worker";
  ProcessPause pause(p, os);
  // 201 was recorded with another start time: the pid now belongs to
  // another process, which must not be resumed.
  ASSERT_TRUE(pause.Adopt({{"stopped", "200:1200,201:5"}}).ok());
  ASSERT_TRUE(pause.Revert().ok());
  EXPECT_EQ(os.procs[200].state, 'S');
  EXPECT_EQ(os.procs[201].state, 'T');
  EXPECT_EQ(pause.Adopt({{"stopped", "x"}}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProcessPause, RevertErrorKeepsTheProcessForRetry) {
  FakeProcessOs os;
  os.Add(200, 1, "worker", "worker");
  ProcessPauseParams p;
  p.target.pid = 200;
  ProcessPause pause(p, os);
  Recorder rec;
  ASSERT_TRUE(pause.Inject(rec.fn()).ok());
  os.fail[200] = absl::PermissionDeniedError("denied");
  EXPECT_FALSE(pause.Revert().ok());
  os.fail.clear();
  EXPECT_TRUE(pause.Revert().ok());
  EXPECT_EQ(os.procs[200].state, 'S');
}

}  // namespace
}  // namespace chaos::faults
