// The run engine against real agents (in-process servers on 127.0.0.1) and
// real probes: steady state, guards, rollback on every path, targets,
// manual gates and recovery time.
#include "controller/engine/runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/server.h"
#include "experiments/experiment.h"
#include "faults/process.h"
#include "gtest/gtest.h"
#include "proto/fault_state.h"
#include "rpc/credentials.h"
#include "tests/agent_client.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using chaos::testing::AgentStub;
using chaos::testing::TempDir;

// The agent's record of one fault (ended ones too); nullopt when unknown.
std::optional<chaos::v1::FaultStatus> FaultOn(const std::string& address,
                                              const std::string& fault_id) {
  chaos::v1::ListFaultsRequest req;
  req.set_include_ended(true);
  chaos::v1::ListFaultsResponse resp;
  grpc::ClientContext ctx;
  if (!AgentStub(address)->ListFaults(&ctx, req, &resp).ok()) return std::nullopt;
  for (const auto& f : resp.faults()) {
    if (f.spec().fault_id() == fault_id) return f;
  }
  return std::nullopt;
}

struct TestAgent {
  TestAgent(const std::string& dir, std::map<std::string, std::string> labels = {},
            std::optional<agent::Policy> policy = std::nullopt) {
    agent::AgentOptions options;
    options.state_dir = dir;
    options.labels = std::move(labels);
    if (policy) options.policy = *policy;
    auto s = agent::AgentServer::Start(options, "127.0.0.1:0", rpc::TransportOptions());
    if (!s.ok()) throw std::runtime_error(std::string(s.status().message()));
    server = std::move(*s);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", server->port()); }
  size_t active() { return server->agent().active_faults(); }
  std::unique_ptr<agent::AgentServer> server;
};

RunOptions Opts(const std::string& address) {
  RunOptions options;
  options.agents = {address};
  return options;
}

Experiment Parse(const std::string& yaml) {
  experiments::Diagnostics diags;
  auto exp = experiments::ParseExperiment(yaml, &diags);
  if (!exp) throw std::runtime_error(diags.Format("test.yaml"));
  return *exp;
}

// Collects events; lets a test act when one arrives.
class Recorder : public RunObserver {
 public:
  void OnEvent(const JournalEvent& e) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(e);
  }
  bool Saw(const std::string& type, const std::string& text) {
    absl::MutexLock lock(&mu_);
    for (const JournalEvent& e : events_) {
      if (e.type == type && absl::StrContains(e.message, text)) return true;
    }
    return false;
  }
  bool WaitFor(const std::string& type, const std::string& text, absl::Duration limit) {
    const absl::Time end = absl::Now() + limit;
    while (absl::Now() < end) {
      if (Saw(type, text)) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::vector<JournalEvent> events_;
};

// The window an Inject carries never exceeds the planned one, which the
// agent refuses (INVALID_ARGUMENT: ends_in ... longer than spec.duration),
// also when the Inject leaves less than 1 ms before the planned start.
TEST(InjectWindowTest, NeverLongerThanThePlannedWindow) {
  const absl::Time start = absl::FromUnixSeconds(1000);
  const absl::Time end = start + absl::Minutes(10);
  const auto window = [&](absl::Duration sent_after_start) {
    const InjectWindow w = InjectWindowFor(start, end, start + sent_after_start);
    return std::make_pair(w.starts_in, w.ends_in);
  };
  EXPECT_EQ(window(-absl::Seconds(5)), std::make_pair(absl::Seconds(5), absl::Minutes(10)));
  EXPECT_EQ(window(-absl::Microseconds(276)),
            std::make_pair(absl::ZeroDuration(), absl::Minutes(10)));
  EXPECT_EQ(window(absl::ZeroDuration()), std::make_pair(absl::ZeroDuration(), absl::Minutes(10)));
  EXPECT_EQ(window(absl::Seconds(2)),
            std::make_pair(absl::ZeroDuration(), absl::Minutes(10) - absl::Seconds(2)));
  EXPECT_EQ(window(absl::Minutes(11)), std::make_pair(absl::ZeroDuration(), absl::Milliseconds(1)));
}

TEST(RunnerTest, SteadyStateThatDoesNotHoldInjectsNothing) {
  TempDir dir;
  TestAgent agent(dir.path());
  Experiment exp = Parse(absl::StrCat(R"(
name: steady
probes:
  missing:
    command: {run: [test, -e, )", dir.path(), R"(/absent]}
steadyState: {before: [missing]}
method:
  - {id: burn, duration: 5s, fault: {cpuBurn: {loadPercent: 10}}}
)"));
  RunReport r = Runner(exp, Opts(agent.address()), nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kFailed);
  EXPECT_EQ(ExitCode(r.outcome), 1);
  EXPECT_NE(r.reason.find("steady state does not hold before"), std::string::npos) << r.reason;
  EXPECT_TRUE(r.faults.empty());
  ASSERT_EQ(r.probes.size(), 1u);
  EXPECT_EQ(r.probes[0].phase, "steady-state-before");
  EXPECT_EQ(agent.active(), 0u);
}

TEST(RunnerTest, GuardTripAbortsAndRollsBack) {
  TempDir dir;
  TestAgent agent(dir.path());
  const std::string trip = dir.path() + "/trip";
  Experiment exp = Parse(absl::StrCat(R"(
name: guarded
probes:
  healthy:
    command: {run: [test, !, -e, )", trip, R"(]}
    interval: 100ms
guards:
  - {probe: healthy, failures: 2}
method:
  - {id: burn, duration: 30s, fault: {cpuBurn: {loadPercent: 10}}}
  - {id: break, command: {run: [touch, )", trip, R"(]}, after: [pause]}
  - {id: pause, wait: 300ms}
)"));
  Recorder rec;
  const absl::Time t0 = absl::Now();
  RunReport r = Runner(exp, Opts(agent.address()), &rec).Run();
  EXPECT_LT(absl::Now() - t0, absl::Seconds(10)) << "the guard did not stop the 30 s fault";
  EXPECT_EQ(r.outcome, RunOutcome::kFailed);
  EXPECT_NE(r.reason.find("guard tripped: probe healthy failed 2 times"), std::string::npos)
      << r.reason;
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_TRUE(r.faults[0].reverted);
  EXPECT_EQ(r.rollback, RollbackState::kComplete);
  EXPECT_EQ(agent.active(), 0u);
}

TEST(RunnerTest, InjectFailureOnOneAgentRollsBackTheOthers) {
  TempDir a_dir, b_dir;
  TestAgent a(a_dir.path());
  auto strict = agent::Policy::Parse("maxCpuPercent: 5\n", "strict");
  ASSERT_TRUE(strict.ok());
  TestAgent b(b_dir.path(), {}, *strict);
  Experiment exp = Parse(R"(
name: partial
method:
  - {id: burn, duration: 30s, fault: {cpuBurn: {loadPercent: 20}}}
)");
  RunOptions options;
  options.agents = {a.address(), b.address()};
  RunReport r = Runner(exp, options, nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kFailed);
  EXPECT_NE(r.reason.find("policy maxCpuPercent"), std::string::npos) << r.reason;
  EXPECT_EQ(a.active(), 0u) << "the fault injected on the first agent was left behind";
  EXPECT_EQ(b.active(), 0u);
  ASSERT_EQ(r.faults.size(), 2u);
  EXPECT_TRUE(r.faults[0].reverted);
}

// A controller that may no longer lead (RunOptions::authority refuses)
// sends neither the next inject nor a command step with a target: the
// run fails naming why, and the first step's fault is rolled back.
TEST(RunnerTest, AnInjectOrCommandTheAuthorityRefusesIsNotSent) {
  TempDir dir;
  TestAgent agent(dir.path());
  for (const char* second : {"fault: {cpuBurn: {loadPercent: 5}}, duration: 30s",
                             "target: hosts, command: {run: [\"true\"]}"}) {
    Experiment exp = Parse(absl::StrCat(R"(
name: deposed
targets:
  hosts: {count: 1}
method:
  - {id: first, duration: 300ms, fault: {cpuBurn: {loadPercent: 5}}}
  - {id: second, after: [first], )", second, R"(}
)"));
    RunOptions options = Opts(agent.address());
    std::atomic<bool> leads{true};
    options.authority = [&leads]() -> absl::Status {
      if (leads) return absl::OkStatus();
      return absl::FailedPreconditionError("lease last renewed 9s ago");
    };
    Recorder rec;
    std::thread depose([&] {
      rec.WaitFor("inject", "", absl::Seconds(30));
      leads = false;
    });
    RunReport r = Runner(exp, options, &rec).Run();
    depose.join();
    EXPECT_EQ(r.outcome, RunOutcome::kFailed) << second;
    EXPECT_TRUE(absl::StrContains(r.reason, "step second: not sent: lease last renewed 9s ago"))
        << r.reason;
    ASSERT_TRUE(FaultOn(agent.address(), r.run_id + ".first").has_value());
    EXPECT_FALSE(FaultOn(agent.address(), r.run_id + ".second").has_value()) << second;
    EXPECT_FALSE(rec.Saw("command", "true")) << second;
    EXPECT_EQ(agent.active(), 0u);
  }
}

TEST(RunnerTest, TargetsAreChosenByLabelsCountAndSeed) {
  TempDir d1, d2, d3, d4;
  TestAgent w1(d1.path(), {{"role", "web"}});
  TestAgent w2(d2.path(), {{"role", "web"}});
  TestAgent w3(d3.path(), {{"role", "web"}});
  TestAgent db(d4.path(), {{"role", "db"}});
  Experiment exp = Parse(R"(
name: targeted
targets:
  web: {selector: {role: web}, count: 2}
method:
  - {id: burn, target: web, duration: 200ms, fault: {cpuBurn: {loadPercent: 5}}}
)");
  RunOptions options;
  options.agents = {w1.address(), w2.address(), w3.address(), db.address()};
  options.seed = 42;
  RunReport first = Runner(exp, options, nullptr).Run();
  ASSERT_EQ(first.outcome, RunOutcome::kPassed) << first.reason;
  ASSERT_EQ(first.targets.size(), 1u);
  EXPECT_EQ(first.targets[0].agents.size(), 2u);
  EXPECT_EQ(first.seed, 42u);
  for (const FaultRecord& f : first.faults) EXPECT_NE(f.agent, db.address());
  RunReport again = Runner(exp, options, nullptr).Run();
  EXPECT_EQ(again.targets[0].agents, first.targets[0].agents) << "same seed, same choice";

  Experiment none = Parse(R"(
name: empty
targets:
  cache: {selector: {role: cache}}
method:
  - {id: burn, target: cache, duration: 1s, fault: {cpuBurn: {}}}
)");
  RunReport r = Runner(none, options, nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kUnavailable);
  EXPECT_NE(r.reason.find("target group cache (role=cache) matched no agent"), std::string::npos)
      << r.reason;
}

TEST(RunnerTest, TargetCapsTrimTheGroupAndTheControllersLimitRefusesTheRun) {
  TempDir d1, d2, d3;
  TestAgent w1(d1.path(), {{"role", "web"}});
  TestAgent w2(d2.path(), {{"role", "web"}});
  TestAgent w3(d3.path(), {{"role", "web"}});
  Experiment exp = Parse(R"(
name: capped
targets:
  web: {selector: {role: web}, percent: 100, maxPercent: 50}
method:
  - {id: burn, target: web, duration: 200ms, fault: {cpuBurn: {loadPercent: 5}}}
)");
  RunOptions options;
  options.agents = {w1.address(), w2.address(), w3.address()};
  options.seed = 7;
  RunReport r = Runner(exp, options, nullptr).Run();
  ASSERT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_EQ(r.targets.size(), 1u);
  EXPECT_EQ(r.targets[0].mode, "percent 100, maxPercent 50");
  EXPECT_EQ(r.targets[0].agents.size(), 2u) << "maxPercent 50 of 3 agents rounds up to 2";
  std::set<std::string> hit;
  for (const FaultRecord& f : r.faults) hit.insert(f.agent);
  EXPECT_EQ(hit.size(), 2u);
  size_t journaled = 0;
  for (TestAgent* a : {&w1, &w2, &w3}) journaled += a->server->agent().List("", true).size();
  EXPECT_EQ(journaled, 2u) << "the third agent was never asked";

  // The controller's own limit: 2 agents chosen, 1 allowed: refused in
  // preflight, nothing injected anywhere.
  options.max_agents_per_run = 1;
  r = Runner(exp, options, nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kUnavailable);
  EXPECT_NE(r.reason.find("the run would inject on 2 agents (group web: 2), more than the "
                          "controller's --max-agents-per-run 1"),
            std::string::npos)
      << r.reason;
  EXPECT_TRUE(r.faults.empty());
  journaled = 0;
  for (TestAgent* a : {&w1, &w2, &w3}) journaled += a->server->agent().List("", true).size();
  EXPECT_EQ(journaled, 2u) << "the refused run injected something";
  options.max_agents_per_run = 2;
  r = Runner(exp, options, nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
}

TEST(RunnerTest, DryRunInjectsNothing) {
  TempDir dir;
  TestAgent agent(dir.path());
  Experiment exp = Parse(R"(
name: dry
method:
  - {id: burn, duration: 1m, fault: {cpuBurn: {}}}
)");
  RunOptions options;
  options.agents = {agent.address()};
  options.dry_run = true;
  Recorder rec;
  RunReport r = Runner(exp, options, &rec).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed);
  EXPECT_TRUE(r.faults.empty());
  EXPECT_TRUE(rec.Saw("plan", "step burn: cpuBurn for 1m on " + agent.address()));
  EXPECT_EQ(agent.server->agent().List("", true).size(), 0u);
}

TEST(RunnerTest, ManualGateConfirmedOrFailedByTheOperator) {
  TempDir dir;
  TestAgent agent(dir.path());
  Experiment exp = Parse(R"(
name: gameday
method:
  - {id: burn, duration: 30s, fault: {cpuBurn: {loadPercent: 5}}}
  - {id: check, manual: {prompt: "Is the failover visible?", timeout: 20s}}
)");
  for (const char* answer : {"y\n", "n\n"}) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    RunOptions options;
    options.agents = {agent.address()};
    options.operator_fd = fds[0];
    Recorder rec;
    Runner runner(exp, options, &rec);
    std::thread op([&] {
      rec.WaitFor("manual", "Is the failover visible?", absl::Seconds(10));
      (void)!write(fds[1], answer, 2);
      if (answer[0] == 'y') {
        absl::SleepFor(absl::Milliseconds(300));
        runner.Interrupt("test is done");
      }
    });
    RunReport r = runner.Run();
    op.join();
    close(fds[0]);
    close(fds[1]);
    if (answer[0] == 'y') {
      EXPECT_TRUE(rec.Saw("manual", "confirmed by the operator"));
      EXPECT_EQ(r.outcome, RunOutcome::kInterrupted);
    } else {
      EXPECT_EQ(r.outcome, RunOutcome::kFailed);
      EXPECT_NE(r.reason.find("failed by the operator"), std::string::npos) << r.reason;
    }
    EXPECT_EQ(agent.active(), 0u);
  }
}

TEST(RunnerTest, RecoveryTimeIsMeasuredAndTheObjectiveEnforced) {
  TempDir dir;
  TestAgent agent(dir.path());
  const std::string healthy = dir.path() + "/healthy";
  // The "service" becomes healthy again about 1 s after the fault ends.
  auto yaml = [&](const std::string& objective) {
    return absl::StrCat(R"(
name: recovery
probes:
  up:
    command: {run: [test, -e, )", healthy, R"(]}
    interval: 50ms
method:
  - {id: burn, duration: 300ms, fault: {cpuBurn: {loadPercent: 5}}}
recovery:
  from: burn
  probes: [up]
  successes: 3
  timeout: 10s
)", objective);
  };
  for (const std::string objective : {"  objective: 5s\n", "  objective: 100ms\n"}) {
    unlink(healthy.c_str());
    Recorder rec;
    Runner runner(Parse(yaml(objective)), Opts(agent.address()), &rec);
    std::thread service([&] {
      rec.WaitFor("step", "ended", absl::Seconds(10));
      absl::SleepFor(absl::Seconds(1));
      std::ofstream(healthy) << "ok";
    });
    RunReport r = runner.Run();
    service.join();
    ASSERT_TRUE(r.recovery.measured);
    ASSERT_TRUE(r.recovery.recovered);
    EXPECT_EQ(r.recovery.from, "step:burn");
    EXPECT_GE(r.recovery.time, absl::Milliseconds(800)) << r.recovery.time;
    EXPECT_LE(r.recovery.time, absl::Seconds(3)) << r.recovery.time;
    EXPECT_EQ(r.recovery.per_probe.at("up"), r.recovery.time);
    if (objective.find("5s") != std::string::npos) {
      EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
      EXPECT_TRUE(r.recovery.objective_met);
    } else {
      EXPECT_EQ(r.outcome, RunOutcome::kFailed);
      EXPECT_FALSE(r.recovery.objective_met);
      EXPECT_NE(r.reason.find("over the objective of 100ms"), std::string::npos) << r.reason;
    }
  }
}

TEST(RunnerTest, ProbesAreWatchedThroughTheWholeRun) {
  TempDir dir;
  TestAgent agent(dir.path());
  const std::string healthy = dir.path() + "/healthy";
  std::ofstream(healthy) << "ok";
  Recorder rec;
  // The "service" is down while the fault holds, and back once it ends; no
  // guard and no recovery section polls `up`: only the watch does.
  Runner runner(Parse(absl::StrCat(R"(
name: watch
probes:
  up:
    command: {run: [test, -e, )", healthy, R"(]}
    interval: 50ms
method:
  - {id: burn, duration: 600ms, fault: {cpuBurn: {loadPercent: 5}}}
  - {id: settle, wait: 600ms, after: [burn]}
)")), Opts(agent.address()), &rec);
  std::thread service([&] {
    rec.WaitFor("inject", "", absl::Seconds(10));
    unlink(healthy.c_str());
    rec.WaitFor("revert", "", absl::Seconds(10));
    std::ofstream(healthy) << "ok";
  });
  RunReport r = runner.Run();
  service.join();
  ASSERT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_EQ(r.faults.size(), 1u);
  const FaultRecord& f = r.faults[0];
  int failed_during = 0, ok_after = 0;
  for (const ProbeSample& s : r.probes) {
    EXPECT_EQ(s.phase, "watch");
    EXPECT_LE(s.at, r.ended_at);
    if (!s.ok && s.at >= f.injected_at && s.at <= f.reverted_at) ++failed_during;
    if (s.ok && s.at > f.reverted_at) ++ok_after;
  }
  EXPECT_GT(failed_during, 0);
  EXPECT_GT(ok_after, 0) << "the watch goes on after the fault, through the rest of the method";
  const std::vector<ProbeSummary> summary = SummarizeProbes(r);
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].probe, "up");
  EXPECT_GT(summary[0].during_faults, 0);
  EXPECT_LT(summary[0].ok_during_faults, summary[0].during_faults);
  ASSERT_TRUE(summary[0].time_to_detect);
  EXPECT_GE(*summary[0].time_to_detect, absl::ZeroDuration());
}

TEST(RunnerTest, RollbackNeverLeavesTheFaultForInvestigation) {
  TempDir dir;
  TestAgent agent(dir.path());
  Experiment exp = Parse(R"(
name: keep
method:
  - {id: burn, duration: 20s, fault: {cpuBurn: {loadPercent: 5}}}
rollback: never
)");
  Recorder rec;
  Runner runner(exp, Opts(agent.address()), &rec);
  std::thread stop([&] {
    rec.WaitFor("inject", "worker", absl::Seconds(10));
    runner.Interrupt("investigate");
  });
  RunReport r = runner.Run();
  stop.join();
  EXPECT_EQ(r.outcome, RunOutcome::kInterrupted);
  EXPECT_EQ(r.rollback, RollbackState::kSkipped);
  EXPECT_EQ(agent.active(), 1u) << "rollback: never must leave the fault in place";
  std::vector<chaos::v1::FaultStatus> halted;
  EXPECT_TRUE(agent.server->agent().Halt("test", "cleanup", &halted).ok());
  EXPECT_EQ(agent.active(), 0u);
}

TEST(RunnerTest, FailingCommandStepAbortsAndRollbackActionsRun) {
  TempDir dir;
  TestAgent agent(dir.path());
  const std::string marker = dir.path() + "/rolled-back";
  Experiment exp = Parse(absl::StrCat(R"(
name: restore
method:
  - {id: burn, duration: 30s, fault: {cpuBurn: {loadPercent: 5}}}
  - {id: restore, command: {run: [sh, -c, "echo no backup; exit 3"], timeout: 5s}}
rollbackActions:
  - run: [touch, )", marker, R"(]
)"));
  RunReport r = Runner(exp, Opts(agent.address()), nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kFailed);
  EXPECT_NE(r.reason.find("step restore: command failed: exit 3"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("no backup"), std::string::npos) << r.reason;
  EXPECT_EQ(access(marker.c_str(), F_OK), 0) << "rollback action did not run";
  EXPECT_EQ(agent.active(), 0u);
}

// The experiment of the recovery tests: `first` is a 500 ms fault, `later`
// waits 6 s (after `first`, or beside it), and the probe always holds.
std::string EarlyRecoveryYaml(bool later_after_first) {
  return absl::StrCat(R"(
name: early-recovery
probes:
  ok:
    command: {run: ["true"]}
    interval: 100ms
method:
  - {id: first, duration: 500ms, fault: {cpuBurn: {loadPercent: 5}}}
  - {id: later, wait: 6s)", later_after_first ? ", after: [first]" : "", R"(}
recovery: {from: first, probes: [ok], timeout: 6s}
)");
}

const StepRecord& StepOf(const RunReport& r, const std::string& id) {
  for (const StepRecord& s : r.steps) {
    if (s.id == id) return s;
  }
  throw std::runtime_error("no step " + id);
}

TEST(RunnerTest, RecoveryFromAStepIsMeasuredFromItsEndNotAfterTheMethod) {
  TempDir dir;
  TestAgent agent(dir.path());
  RunReport r = Runner(Parse(EarlyRecoveryYaml(true)), Opts(agent.address()), nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_TRUE(r.recovery.measured);
  EXPECT_TRUE(r.recovery.recovered);
  EXPECT_EQ(r.recovery.from, "step:first");
  // What was measured: the time from first's end, not from the method's end
  // (that would include later's 6 s wait).
  EXPECT_LT(r.recovery.time, absl::Seconds(6)) << r.recovery.time;
  EXPECT_GE(r.recovery.started_at, StepOf(r, "first").ended_at);
}

TEST(RunnerTest, RecoveryIsSeenWhileALaterStepStillRuns) {
  TempDir dir;
  TestAgent agent(dir.path());
  Recorder rec;
  RunReport r = Runner(Parse(EarlyRecoveryYaml(false)), Opts(agent.address()), &rec).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_TRUE(r.recovery.recovered);
  const StepRecord& later = StepOf(r, "later");
  EXPECT_EQ(later.state, StepState::kDone);
  EXPECT_LT(r.recovery.ended_at, later.ended_at);
  // The journal says so in order: recovered, then the method's last step ends.
  size_t recovered = r.events.size(), later_ended = r.events.size();
  for (size_t i = 0; i < r.events.size(); ++i) {
    const JournalEvent& e = r.events[i];
    if (e.type == "recovery" && absl::StartsWith(e.message, "recovered in")) recovered = i;
    if (e.type == "step" && e.step == "later" && e.message == "ended") later_ended = i;
  }
  ASSERT_LT(later_ended, r.events.size());
  EXPECT_LT(recovered, later_ended);
}

// Someone else ends the run's fault on the agent: a revert by another
// caller, or a halt. The next keep-alive finds fewer faults than the run
// holds and the run fails, naming who ended it.
void ExpectEndedEarly(const std::function<void(const std::string& address,
                                               const std::string& fault_id)>& end_it,
                      const std::string& reason) {
  TempDir dir;
  TestAgent agent(dir.path());
  Experiment exp = Parse(R"(
name: lapse
method:
  - {id: burn, duration: 60s, fault: {cpuBurn: {loadPercent: 5}}}
)");
  RunOptions options = Opts(agent.address());
  options.lease = absl::Seconds(3);  // renewed every second
  Recorder rec;
  Runner runner(exp, options, &rec);
  std::thread other([&] {
    ASSERT_TRUE(rec.WaitFor("inject", "worker", absl::Seconds(20)));
    end_it(agent.address(), runner.run_id() + ".burn");
  });
  RunReport r = runner.Run();
  other.join();
  EXPECT_EQ(r.outcome, RunOutcome::kFailed);
  const std::string ended =
      "fault ended early on " + agent.address() + ": " + runner.run_id() + ".burn";
  EXPECT_NE(r.reason.find(ended), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find(reason), std::string::npos) << r.reason;
  EXPECT_TRUE(rec.Saw("lease", ended));
  EXPECT_EQ(agent.active(), 0u);
}

TEST(RunnerTest, AFaultRevertedBehindTheRunnersBackFailsTheRun) {
  ExpectEndedEarly(
      [](const std::string& address, const std::string& fault_id) {
        chaos::v1::RevertRequest req;
        req.set_fault_id(fault_id);
        req.set_caller("someone else");
        chaos::v1::RevertResponse resp;
        grpc::ClientContext ctx;
        EXPECT_TRUE(AgentStub(address)->Revert(&ctx, req, &resp).ok());
      },
      "on behalf of someone else");
}

TEST(RunnerTest, AHaltOfTheAgentFailsTheRunNamingTheHalt) {
  ExpectEndedEarly(
      [](const std::string& address, const std::string&) {
        chaos::v1::HaltRequest req;
        req.set_caller("oncall");
        req.set_reason("pager storm");
        chaos::v1::HaltResponse resp;
        grpc::ClientContext ctx;
        EXPECT_TRUE(AgentStub(address)->Halt(&ctx, req, &resp).ok());
      },
      "halt: pager storm");
}

// The agent is frozen (SIGSTOP) for less than the run's 6 s lease: a
// keep-alive fails and the journal says so, the next one reaches it again
// and says that too, and the run goes on to pass. (Frozen for a whole
// lease, the run fails: LostAgentsE2eTest.WithoutTheAllowance...)
TEST(RunnerTest, AnAgentUnreachableForLessThanALeaseIsJournaledAndTheRunGoesOn) {
  TempDir dir;
  testing::AgentProcess agent(dir.path());
  Experiment exp = Parse(R"(
name: frozen
method:
  - {id: burn, duration: 8s, fault: {cpuBurn: {loadPercent: 5}}}
)");
  RunOptions options = Opts(agent.address());
  options.lease = absl::Seconds(6);  // renewed every 2 s
  options.rpc_timeout = absl::Milliseconds(500);
  Recorder rec;
  Runner runner(exp, options, &rec);
  const std::string failed = "keep-alive to " + agent.address() + " failed";
  std::thread other([&] {
    ASSERT_TRUE(rec.WaitFor("inject", "worker", absl::Seconds(20)));
    agent.process().Signal(SIGSTOP);
    // At most one round (2 s) and one deadline (500 ms) after the stop,
    // well within the lease.
    EXPECT_TRUE(rec.WaitFor("lease", failed, absl::Seconds(30)));
    agent.process().Signal(SIGCONT);
  });
  RunReport r = runner.Run();
  other.join();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  EXPECT_TRUE(rec.Saw("lease", failed));
  EXPECT_TRUE(rec.Saw("lease", "keep-alive reaches " + agent.address() + " again"));
  auto fault = FaultOn(agent.address(), runner.run_id() + ".burn");
  ASSERT_TRUE(fault.has_value());
  EXPECT_EQ(fault->state(), chaos::v1::FAULT_STATE_REVERTED);
}

TEST(RunnerTest, RollbackNeverKeepsTheFaultForItsWholeDurationAfterTheRun) {
  TempDir dir;
  TestAgent agent(dir.path());
  Experiment exp = Parse(R"(
name: keep-whole
method:
  - {id: burn, duration: 20s, fault: {cpuBurn: {loadPercent: 5}}}
rollback: never
)");
  RunOptions options = Opts(agent.address());
  options.lease = absl::Seconds(4);  // renewed every 1.3 s while the run lasts
  Recorder rec;
  Runner runner(exp, options, &rec);
  std::thread stop([&] {
    rec.WaitFor("inject", "worker", absl::Seconds(20));
    absl::SleepFor(absl::Seconds(3));  // a few renewals happen first
    runner.Interrupt("investigate");
  });
  RunReport r = runner.Run();
  stop.join();
  ASSERT_EQ(r.outcome, RunOutcome::kInterrupted) << r.reason;
  const std::string id = runner.run_id() + ".burn";
  // Well after a 4 s lease renewed by the run would have lapsed.
  absl::SleepFor(absl::Seconds(10));
  auto f = FaultOn(agent.address(), id);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->state(), chaos::v1::FAULT_STATE_ACTIVE) << f->reason();
  // It ends by its own duration, not by a lease.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (absl::Now() < give_up && (f = FaultOn(agent.address(), id)) && IsActive(f->state())) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_EQ(f->reason(), "duration elapsed");
  EXPECT_GE(f->reverted_at_unix_ms(), f->expires_at_unix_ms());
}

}  // namespace
}  // namespace chaos::controller
