// The engine's fan-out and fault windows against real agent processes:
// one stopped (SIGSTOP) agent does not hold back the others' injects, every
// agent ends a step's fault at its one planned end (also with the
// controller killed, also during the start lead), Ctrl-C during the lead
// cancels the starts, an agent killed before its start leaves nothing on
// its host and fails its inject, the report shows the spread; and the bad
// input of the issue: an address that does not answer, an agent that
// answers slowly and one that returns errors, with real agents for the
// others, without and within a target group's maxUnavailable.
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "controller/engine/runner.h"
#include "controller/report/report.h"
#include "experiments/experiment.h"
#include "gtest/gtest.h"
#include "proto/fault_state.h"
#include "rpc/credentials.h"
#include "tests/agent_client.h"
#include "tests/controller/engine/fake_agent.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using chaos::testing::AgentProcess;
using chaos::testing::AgentStub;
using chaos::testing::FakeAgent;
using chaos::testing::TempDir;

// The agent's record of fault `id` (ended ones too); nullopt when unknown
// or the agent cannot be asked.
std::optional<chaos::v1::FaultStatus> FaultOn(const std::string& address, const std::string& id) {
  auto stub = AgentStub(address);
  chaos::v1::ListFaultsRequest req;
  req.set_include_ended(true);
  chaos::v1::ListFaultsResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!stub->ListFaults(&ctx, req, &resp).ok()) return std::nullopt;
  for (const auto& f : resp.faults()) {
    if (f.spec().fault_id() == id) return f;
  }
  return std::nullopt;
}

bool ActiveOn(const std::string& address, const std::string& id) {
  auto f = FaultOn(address, id);
  return f && f->state() == chaos::v1::FAULT_STATE_ACTIVE;
}

// Whether any fault of any experiment may still affect the agent's host.
bool AnythingLeftOn(const std::string& address) {
  auto stub = AgentStub(address);
  chaos::v1::ListFaultsRequest req;
  chaos::v1::ListFaultsResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!stub->ListFaults(&ctx, req, &resp).ok()) return true;
  for (const auto& f : resp.faults()) {
    if (MayAffectHost(f.state())) return true;
  }
  return false;
}

// Polls `cond` until it holds; false after the (generous) hang guard.
bool WaitUntil(const std::function<bool()>& cond, absl::Duration guard = absl::Seconds(60)) {
  const absl::Time end = absl::Now() + guard;
  while (absl::Now() < end) {
    if (cond()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return cond();
}

Experiment Parse(const std::string& yaml) {
  experiments::Diagnostics diags;
  auto exp = experiments::ParseExperiment(yaml, &diags);
  if (!exp) throw std::runtime_error(diags.Format("test.yaml"));
  return *exp;
}

const char kBurn[] = R"(
name: fan-out
method:
  - {id: burn, duration: 5m, fault: {cpuBurn: {loadPercent: 5}}}
)";

// Records events; runs `hook` on each (on the runner's thread).
class Observer : public RunObserver {
 public:
  std::function<void(const JournalEvent&)> hook;
  void OnEvent(const JournalEvent& e) override {
    if (hook) hook(e);
    absl::MutexLock lock(&mu_);
    events_.push_back(e);
  }
  bool Saw(const std::string& type, const std::string& agent) {
    absl::MutexLock lock(&mu_);
    for (const JournalEvent& e : events_) {
      if (e.type == type && e.agent == agent) return true;
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::vector<JournalEvent> events_;
};

const FaultRecord* FaultOf(const RunReport& r, const std::string& agent) {
  for (const FaultRecord& f : r.faults) {
    if (f.agent == agent) return &f;
  }
  return nullptr;
}

// With the first agent stopped as the step starts, the two others get
// their fault while its Inject is still pending; once it runs again, its
// fault joins the window. Every agent's own expiry is the one planned end,
// late by no more than its call's round trip (same clock on loopback); the
// report holds the spread.
TEST(FanOutE2eTest, AStoppedAgentDoesNotHoldBackTheOthersAndAllEndAtOnePlannedEnd) {
  TempDir d1, d2, d3;
  AgentProcess stopped(d1.path()), a2(d2.path()), a3(d3.path());
  RunOptions options;
  options.agents = {stopped.address(), a2.address(), a3.address()};  // the stopped one first
  options.rpc_timeout = absl::Seconds(120);  // its inject waits, it does not fail
  options.lease = absl::Seconds(120);
  Observer obs;
  obs.hook = [&](const JournalEvent& e) {
    if (e.type == "step" && e.step == "burn" && e.message == "started") {
      stopped.process().Signal(SIGSTOP);
    }
  };
  Runner runner(Parse(kBurn), options, &obs);
  const std::string id = runner.run_id() + ".burn";
  std::thread watcher([&] {
    absl::Cleanup resume = [&] { stopped.process().Signal(SIGCONT); };
    const bool others = WaitUntil([&] { return ActiveOn(a2.address(), id) && ActiveOn(a3.address(), id); });
    // The stopped agent's call has not returned: it cannot have answered.
    EXPECT_FALSE(obs.Saw("inject", stopped.address()));
    EXPECT_TRUE(others) << "the healthy agents waited for the stopped one";
    std::move(resume).Invoke();
    EXPECT_TRUE(WaitUntil([&] { return obs.Saw("inject", stopped.address()); }));
    runner.Interrupt("test: the window is complete");
  });
  RunReport r = runner.Run();
  watcher.join();
  EXPECT_EQ(r.outcome, RunOutcome::kInterrupted) << r.reason;
  ASSERT_EQ(r.steps.size(), 1u);
  const StepRecord& step = r.steps[0];
  ASSERT_NE(step.planned_end, absl::InfinitePast());
  ASSERT_NE(step.first_ack, absl::InfinitePast());
  EXPECT_GE(step.InjectSpread(), absl::ZeroDuration());
  ASSERT_NE(step.planned_start, absl::InfinitePast()) << "three agents start at one instant";
  const int64_t planned = absl::ToUnixMillis(step.planned_end);
  const int64_t planned_start = absl::ToUnixMillis(step.planned_start);
  for (const std::string& a : options.agents) {
    const FaultRecord* f = FaultOf(r, a);
    ASSERT_NE(f, nullptr) << a;
    EXPECT_TRUE(f->reverted) << a;
    // The agent got what remained until the planned start at receipt, and
    // the rest of the window from there: it started no earlier than the
    // planned start, and its end lies between the planned end and the
    // planned end plus the inject call's time in flight (whole
    // milliseconds on both sides; the stopped agent's call took as long as
    // its stop).
    EXPECT_GE(absl::ToUnixMillis(f->injected_at), planned_start) << a;
    const int64_t expires = absl::ToUnixMillis(f->expires_at);
    EXPECT_GE(expires, planned) << a;
    EXPECT_LE(expires, planned + absl::ToInt64Milliseconds(f->acked_at - f->sent_at) + 1) << a;
    // The window counts the agents' own start stamps.
    EXPECT_LE(f->injected_at, step.last_ack) << a;
    EXPECT_GE(f->injected_at, step.first_ack) << a;
  }
  // The stopped agent started last: the spread spans its stop.
  EXPECT_EQ(FaultOf(r, stopped.address())->injected_at, step.last_ack);
  const std::string json = ReportJson(r);
  EXPECT_TRUE(absl::StrContains(json, "\"inject_spread_ms\": ")) << json;
  EXPECT_FALSE(absl::StrContains(json, "\"inject_spread_ms\": null")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"planned_end_unix_ms\": " + std::to_string(planned)));
  EXPECT_TRUE(
      absl::StrContains(json, "\"planned_start_unix_ms\": " + std::to_string(planned_start)));
  EXPECT_TRUE(absl::StrContains(ReportText(r), "window burn: faults started within "))
      << ReportText(r);
  EXPECT_TRUE(absl::StrContains(ReportHtml(r), "class=\"step-window\">faults started within"));
  for (const std::string& a : options.agents) EXPECT_FALSE(AnythingLeftOn(a)) << a;
}

// chaosctl is killed once every agent holds the fault: each agent's own
// timer ends it ("duration elapsed"), never before the planned end chaosctl
// printed, and at the expiry the agent reported.
TEST(FanOutE2eTest, WithTheControllerKilledEachAgentEndsTheFaultAtThePlannedEnd) {
  TempDir d1, d2, d3, work;
  AgentProcess a1(d1.path()), a2(d2.path()), a3(d3.path());
  const std::vector<std::string> agents = {a1.address(), a2.address(), a3.address()};
  const std::string file = work.path() + "/exp.yaml";
  std::ofstream(file) << "name: killed\nmethod:\n"
                         "  - {id: burn, duration: 8s, fault: {cpuBurn: {loadPercent: 5}}}\n";
  const std::string log = work.path() + "/chaosctl.log";
  chaos::testing::Subprocess ctl(
      {chaos::testing::ChaosctlBinary(), "run", file, "--agent", agents[0], "--agent", agents[1],
       "--agent", agents[2], "--lease", "5m", "--run-id", "killed-1"},
      log);
  const std::string id = "killed-1.burn";
  ASSERT_TRUE(WaitUntil([&] {
    for (const std::string& a : agents) {
      if (!ActiveOn(a, id)) return false;
    }
    return true;
  })) << chaos::testing::ReadFileOrEmpty(log);
  ctl.Signal(SIGKILL);
  ctl.Wait();
  std::smatch m;
  const std::string out = chaos::testing::ReadFileOrEmpty(log);
  ASSERT_TRUE(std::regex_search(out, m, std::regex("planned end (\\S+Z)"))) << out;
  absl::Time planned;
  std::string err;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%d%ET%H:%M:%E3SZ", m[1].str(), &planned, &err)) << err;
  for (const std::string& a : agents) {
    // Ended: not ACTIVE, nor REVERTING (the state between the two).
    ASSERT_TRUE(WaitUntil([&] {
      auto f = FaultOn(a, id);
      return f && !IsActive(f->state());
    })) << a;
    auto f = FaultOn(a, id);
    ASSERT_TRUE(f.has_value()) << a;
    EXPECT_EQ(f->state(), chaos::v1::FAULT_STATE_REVERTED) << a;
    EXPECT_EQ(f->reason(), "duration elapsed") << a;
    EXPECT_GE(f->expires_at_unix_ms(), absl::ToUnixMillis(planned)) << a;
    EXPECT_GE(f->reverted_at_unix_ms(), f->expires_at_unix_ms()) << a;
    EXPECT_FALSE(AnythingLeftOn(a)) << a;
  }
}

// `chaosctl run` of a one-step experiment (`method`, its step `burn`) on
// two new agents, with `flags`; once both agents have scheduled the
// fault, chaosctl and the agents for the test to act on.
struct ScheduledOnTwo {
  ScheduledOnTwo(const std::string& method, const std::vector<std::string>& flags,
                 const std::string& run_id)
      : a1(d1.path()), a2(d2.path()), agents({a1.address(), a2.address()}),
        id(run_id + ".burn"), log(work.path() + "/chaosctl.log") {
    const std::string file = work.path() + "/exp.yaml";
    std::ofstream(file) << "name: scheduled on two\nmethod:\n" << method << "\n";
    std::vector<std::string> argv = {chaos::testing::ChaosctlBinary(), "run", file,
                                     "--agent", agents[0], "--agent", agents[1],
                                     "--run-id", run_id};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ctl = std::make_unique<chaos::testing::Subprocess>(argv, log);
  }
  // Whether both agents show the fault SCHEDULED (false after the guard).
  bool WaitScheduled() {
    return WaitUntil([&] {
      for (const std::string& a : agents) {
        auto f = FaultOn(a, id);
        if (!f || f->state() != chaos::v1::FAULT_STATE_SCHEDULED) return false;
      }
      return true;
    });
  }
  std::string output() const { return chaos::testing::ReadFileOrEmpty(log); }

  TempDir d1, d2, work;
  AgentProcess a1, a2;
  const std::vector<std::string> agents;
  const std::string id, log;
  std::unique_ptr<chaos::testing::Subprocess> ctl;
};

// chaosctl is killed during the start lead, once every agent has
// scheduled the fault: each agent still starts it at the planned start
// chaosctl printed (never before) and ends it at the planned end.
TEST(FanOutE2eTest, WithTheControllerKilledDuringTheLeadEachAgentStartsAndEndsTheFault) {
  ScheduledOnTwo t("  - {id: burn, duration: 2s, fault: {cpuBurn: {loadPercent: 5}}}",
                   {"--lease", "5m", "--start-lead", "5s"}, "lead-killed");
  ASSERT_TRUE(t.WaitScheduled()) << t.output();
  t.ctl->Signal(SIGKILL);
  t.ctl->Wait();
  const absl::Time killed = absl::Now();
  std::smatch m;
  const std::string out = t.output();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("planned start (\\S+Z), planned end (\\S+Z)")))
      << out;
  absl::Time start, end;
  std::string err;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%d%ET%H:%M:%E3SZ", m[1].str(), &start, &err)) << err;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%d%ET%H:%M:%E3SZ", m[2].str(), &end, &err)) << err;
  ASSERT_LT(killed, start) << "the test needs chaosctl killed before the planned start";
  for (const std::string& a : t.agents) {
    ASSERT_TRUE(WaitUntil([&] {
      auto f = FaultOn(a, t.id);
      return f && f->injected_at_unix_ms() > 0 && !IsActive(f->state());
    })) << a;
    auto f = FaultOn(a, t.id);
    ASSERT_TRUE(f.has_value()) << a;
    EXPECT_EQ(f->state(), chaos::v1::FAULT_STATE_REVERTED) << a;
    EXPECT_EQ(f->reason(), "duration elapsed") << a;
    // Both late by the inject call's flight at most: the agent counts
    // starts_in from its receipt.
    EXPECT_GE(f->injected_at_unix_ms(), absl::ToUnixMillis(start)) << a;
    EXPECT_GE(f->expires_at_unix_ms(), absl::ToUnixMillis(end)) << a;
    EXPECT_FALSE(AnythingLeftOn(a)) << a;
  }
}

// An abort while the run asks a stopped agent how its start went: the
// rollback does not wait for that call (its deadline is 2 minutes) but
// cancels it, and starts while the agent is still stopped.
TEST(FanOutE2eTest, AnAbortCancelsTheConfirmationCallsInFlight) {
  TempDir d1, d2;
  AgentProcess healthy(d1.path()), stopped(d2.path());
  RunOptions options;
  options.agents = {healthy.address(), stopped.address()};
  options.start_lead = absl::Seconds(1);
  options.rpc_timeout = absl::Minutes(2);
  options.lease = absl::Minutes(5);
  std::atomic<bool> rollback_seen = false;
  Observer obs;
  obs.hook = [&](const JournalEvent& e) {
    if (e.type == "rollback") rollback_seen = true;
  };
  Runner runner(Parse(kBurn), options, &obs);
  const std::string id = runner.run_id() + ".burn";
  std::thread watcher([&] {
    // On a failed ASSERT too: the run does not hold its 5-minute fault.
    absl::Cleanup stop = [&] { runner.Interrupt("test: the watcher ended"); };
    absl::Cleanup resume = [&] { stopped.process().Signal(SIGCONT); };
    ASSERT_TRUE(WaitUntil([&] {
      auto f = FaultOn(stopped.address(), id);
      return f && f->state() == chaos::v1::FAULT_STATE_SCHEDULED;
    }));
    stopped.process().Signal(SIGSTOP);
    // Confirmed on the healthy agent: the stopped one's call went out with it.
    ASSERT_TRUE(WaitUntil([&] { return obs.Saw("inject", healthy.address()); }));
    runner.Interrupt("test: abort while a confirmation hangs");
    EXPECT_TRUE(WaitUntil([&] { return rollback_seen.load(); }))
        << "the rollback waited for the stopped agent's confirmation";
  });
  RunReport r = runner.Run();
  watcher.join();
  EXPECT_EQ(r.outcome, RunOutcome::kInterrupted) << r.reason;
  EXPECT_FALSE(absl::StrContains(r.reason, "CANCELLED")) << r.reason;
  for (const std::string& a : options.agents) EXPECT_FALSE(AnythingLeftOn(a)) << a;
}

// Ctrl-C during the start lead, once every agent has scheduled the fault:
// chaosctl exits 130 and each agent's start is cancelled, never started.
TEST(FanOutE2eTest, CtrlCDuringTheLeadCancelsEveryScheduledStart) {
  ScheduledOnTwo t("  - {id: burn, duration: 5m, fault: {cpuBurn: {loadPercent: 5}}}",
                   {"--start-lead", "1m"}, "lead-interrupted");
  ASSERT_TRUE(t.WaitScheduled()) << t.output();
  t.ctl->Signal(SIGINT);
  EXPECT_EQ(t.ctl->Wait(), 130) << t.output();
  EXPECT_TRUE(absl::StrContains(t.output(), "interrupted"));
  for (const std::string& a : t.agents) {
    auto f = FaultOn(a, t.id);
    ASSERT_TRUE(f.has_value()) << a;
    EXPECT_EQ(f->state(), chaos::v1::FAULT_STATE_REVERTED) << a;
    EXPECT_EQ(f->injected_at_unix_ms(), 0) << a;
    EXPECT_TRUE(absl::StrContains(f->reason(), "cancelled before its start")) << f->reason();
    EXPECT_FALSE(AnythingLeftOn(a)) << a;
  }
}

// An agent killed (SIGKILL) after it scheduled the fault and restarted
// before the planned start: nothing of the fault was on its host, the
// restarted agent does not know it, and the run names the agent as a
// failed inject and reverts the other agent's fault.
TEST(FanOutE2eTest, AnAgentKilledBeforeItsStartIsAFailedInjectWithNothingOnItsHost) {
  TempDir d1, d2;
  AgentProcess a1(d1.path());
  auto a2 = std::make_unique<chaos::testing::DaemonProcess>(
      chaos::testing::AgentBinary(), d2.path(), std::vector<std::string>{});
  const std::string killed = a2->address();
  RunOptions options;
  options.agents = {a1.address(), killed};
  options.start_lead = absl::Seconds(10);
  Runner runner(Parse(kBurn), options, nullptr);
  const std::string id = runner.run_id() + ".burn";
  absl::Time restarted = absl::InfiniteFuture();
  std::thread killer([&] {
    if (!WaitUntil([&] {
          auto f = FaultOn(killed, id);
          return f && f->state() == chaos::v1::FAULT_STATE_SCHEDULED;
        })) {
      runner.Interrupt("test: the fault was never scheduled");
      return;
    }
    a2->process().Signal(SIGKILL);
    a2->process().Wait();
    a2 = std::make_unique<chaos::testing::DaemonProcess>(
        chaos::testing::AgentBinary(), d2.path(), std::vector<std::string>{}, killed);
    restarted = absl::Now();
  });
  RunReport r = runner.Run();
  killer.join();
  ASSERT_NE(r.steps[0].planned_start, absl::InfinitePast());
  ASSERT_LT(restarted, r.steps[0].planned_start)
      << "the test needs the agent restarted before the planned start";
  EXPECT_EQ(r.outcome, RunOutcome::kFailed) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, killed + ": the agent no longer knows the scheduled "
                                                   "fault"))
      << r.reason;
  const FaultRecord* lost = FaultOf(r, killed);
  ASSERT_NE(lost, nullptr);
  EXPECT_TRUE(lost->summary.empty()) << "reported as injected: " << lost->summary;
  EXPECT_FALSE(FaultOn(killed, id).has_value()) << "the restarted agent knows the fault";
  EXPECT_FALSE(AnythingLeftOn(killed));
  // Started and reverted, or cancelled if the revert came first.
  auto other = FaultOn(a1.address(), id);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_FALSE(AnythingLeftOn(a1.address()));
  EXPECT_EQ(r.rollback, RollbackState::kComplete);
}

// A TCP port that accepts connections (the kernel's backlog) and never
// says a word, and one where nothing listens.
struct SilentPort {
  SilentPort() : fd(testing::ListenOnLoopback(&port)) {}
  ~SilentPort() { close(fd); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
  int port = 0;
  int fd = -1;
};

std::string ClosedPortAddress() {
  return absl::StrCat("127.0.0.1:", testing::FreeLoopbackPort());  // nothing listens there
}

TEST(FanOutE2eTest, AgentsThatDoNotAnswerAreAllNamedAndNothingIsInjected) {
  TempDir d1;
  AgentProcess real(d1.path());
  SilentPort silent;
  const std::string closed = ClosedPortAddress();
  RunOptions options;
  options.agents = {silent.address(), real.address(), closed};
  Runner runner(Parse(kBurn), options, nullptr);
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.reason, "cannot reach agent " + silent.address())) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, "cannot reach agent " + closed)) << r.reason;
  EXPECT_TRUE(r.faults.empty());
  EXPECT_FALSE(FaultOn(real.address(), runner.run_id() + ".burn").has_value());
}

const char kShortBurn[] = R"(
name: first-contact
method:
  - {id: burn, duration: 1s, fault: {cpuBurn: {loadPercent: 5}}}
)";

// Accepts one connection on `listener` and resets it; false when none
// came within the (generous) hang guard.
bool ResetOneConnection(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, 60'000) != 1) return false;
  const int conn = accept(listener, nullptr, nullptr);
  if (conn < 0) return false;
  linger reset{1, 0};
  setsockopt(conn, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(conn);
  return true;
}

// The first connection to an agent fails (reset here; an agent restarting
// or a connect this gRPC misreports look the same to the engine), and the
// agent is there when asked again: the run reaches it and goes on.
TEST(FanOutE2eTest, AFailedFirstConnectionIsAskedAgain) {
  auto first = std::make_unique<SilentPort>();
  const int port = first->port;
  RunOptions options;
  options.agents = {first->address()};
  options.rpc_timeout = absl::Seconds(5);
  Runner runner(Parse(kShortBurn), options, nullptr);
  RunReport r;
  std::thread run([&] { r = runner.Run(); });
  EXPECT_TRUE(ResetOneConnection(first->fd));
  first.reset();  // nothing listens until the agent below does
  FakeAgent agent(FakeAgent::Mode::kSlow, port);
  agent.Release();
  run.join();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  EXPECT_EQ(agent.injects_received(), 1);
}

// A slow agent that never answers before the deadline and two erroring
// ones, all sent their inject together with two real agents: the run fails
// naming each of the three, the real agents' faults are reverted, and
// nothing stays injected anywhere.
TEST(FanOutE2eTest, SlowAndErroringAgentsAreNamedAndNothingStaysInjected) {
  TempDir d1, d2;
  AgentProcess r1(d1.path()), r2(d2.path());
  FakeAgent slow(FakeAgent::Mode::kSlow);
  FakeAgent err1(FakeAgent::Mode::kError), err2(FakeAgent::Mode::kError);
  RunOptions options;
  options.agents = {slow.address(), err1.address(), r1.address(), err2.address(), r2.address()};
  options.rpc_timeout = absl::Seconds(5);
  options.start_lead = absl::Milliseconds(100);
  Observer obs;
  Runner runner(Parse(kBurn), options, &obs);
  const std::string id = runner.run_id() + ".burn";
  std::thread watcher([&] {
    // Every call is out and the real agents have started their faults at
    // the planned start; then the erroring agents answer, the slow one
    // never does.
    EXPECT_TRUE(WaitUntil([&] {
      return ActiveOn(r1.address(), id) && ActiveOn(r2.address(), id) &&
             err1.injects_received() == 1 && err2.injects_received() == 1;
    }));
    err1.Release();
    err2.Release();
  });
  RunReport r = runner.Run();
  watcher.join();
  slow.Release();
  EXPECT_EQ(r.outcome, RunOutcome::kFailed) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, "inject failed on 3 of 5 agent(s)")) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, slow.address() + ": DEADLINE_EXCEEDED")) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, err1.address() + ": INTERNAL")) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, err2.address() + ": INTERNAL")) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.steps[0].detail, slow.address())) << r.steps[0].detail;
  EXPECT_EQ(slow.injects_received(), 1);
  for (const AgentProcess* a : {&r1, &r2}) {
    const FaultRecord* f = FaultOf(r, a->address());
    ASSERT_NE(f, nullptr) << a->address();
    EXPECT_FALSE(f->summary.empty()) << "injected beside the failing ones";
    EXPECT_TRUE(f->reverted) << a->address();
    EXPECT_FALSE(AnythingLeftOn(a->address())) << a->address();
  }
  for (FakeAgent* a : {&slow, &err1, &err2}) {
    EXPECT_TRUE(absl::StrContains(r.reason, a->address()));
  }
  EXPECT_TRUE(r.manual_undo.empty()) << r.manual_undo[0];
  EXPECT_EQ(r.rollback, RollbackState::kComplete);
}

// An agent that fails its inject before the step's planned start: the run
// aborts, and the real agents' scheduled faults are cancelled before they
// touch their hosts (no burner ever ran; the agents say so).
TEST(FanOutE2eTest, AnAbortBeforeThePlannedStartCancelsTheScheduledFaults) {
  TempDir d1, d2;
  AgentProcess r1(d1.path()), r2(d2.path());
  FakeAgent err(FakeAgent::Mode::kError);
  err.Release();  // it answers INTERNAL at once
  RunOptions options;
  options.agents = {r1.address(), err.address(), r2.address()};
  options.start_lead = absl::Seconds(30);
  Runner runner(Parse(kBurn), options, nullptr);
  const std::string id = runner.run_id() + ".burn";
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kFailed) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, err.address() + ": INTERNAL")) << r.reason;
  ASSERT_NE(r.steps[0].planned_start, absl::InfinitePast());
  EXPECT_GT(r.steps[0].planned_start, absl::Now()) << "the test needs the abort before the start";
  for (const AgentProcess* a : {&r1, &r2}) {
    auto f = FaultOn(a->address(), id);
    ASSERT_TRUE(f.has_value()) << a->address() << " never got the inject";
    EXPECT_EQ(f->state(), chaos::v1::FAULT_STATE_REVERTED) << a->address();
    EXPECT_EQ(f->injected_at_unix_ms(), 0) << a->address();
    EXPECT_TRUE(absl::StrContains(f->reason(), "cancelled before its start")) << f->reason();
    const FaultRecord* rec = FaultOf(r, a->address());
    ASSERT_NE(rec, nullptr);
    EXPECT_TRUE(rec->reverted);
    EXPECT_TRUE(rec->summary.empty()) << "reported as injected: " << rec->summary;
    EXPECT_FALSE(AnythingLeftOn(a->address()));
  }
  EXPECT_EQ(r.rollback, RollbackState::kComplete);
}

// --start-lead off: the two agents inject on receipt, the window is the
// injects' acknowledgements and has no planned start. And the flag's forms.
TEST(FanOutE2eTest, StartLeadOffInjectsOnReceipt) {
  EXPECT_EQ(*ParseStartLead("auto"), absl::ZeroDuration());
  EXPECT_LT(*ParseStartLead("off"), absl::ZeroDuration());
  EXPECT_EQ(*ParseStartLead("250ms"), absl::Milliseconds(250));
  for (const char* bad : {"0s", "6m", "soon", ""}) {
    auto lead = ParseStartLead(bad);
    EXPECT_EQ(lead.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(lead.status().message(), "--start-lead")) << lead.status();
  }
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  RunOptions options;
  options.agents = {a1.address(), a2.address()};
  options.start_lead = *ParseStartLead("off");
  Runner runner(Parse(kShortBurn), options, nullptr);
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  EXPECT_EQ(r.steps[0].planned_start, absl::InfinitePast());
  for (const FaultRecord& f : r.faults) {
    EXPECT_LE(f.injected_at, f.acked_at) << f.agent << ": injected on receipt";
  }
  EXPECT_TRUE(absl::StrContains(ReportText(r), "window burn: injects acknowledged within "))
      << ReportText(r);
}

// Holds each revert's thread in AfterEvent until another revert's thread
// is there too (hang guard 30 s), until two have met; most() is the most
// seen there at once.
class RevertGate : public RunObserver {
 public:
  void OnEvent(const JournalEvent& e) override { revert_ = e.type == "revert"; }
  void AfterEvent() override {
    if (!revert_) return;
    absl::MutexLock lock(&mu_);
    if (most_ >= 2) return;
    ++waiting_;
    most_ = std::max(most_, waiting_);
    auto met = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return most_ >= 2; };
    mu_.AwaitWithTimeout(absl::Condition(&met), absl::Seconds(30));
    --waiting_;
  }
  int most() {
    absl::MutexLock lock(&mu_);
    return most_;
  }

 private:
  inline static thread_local bool revert_ = false;  // this thread's last event
  absl::Mutex mu_;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int most_ ABSL_GUARDED_BY(mu_) = 0;
};

// The runner's threads wait for their events to be kept together: one
// revert's AfterEvent (where the controller waits for its journal write)
// does not hold back the other revert's OnEvent, so the controller's
// journal can write both in one go (controller/store/journal_writer.h).
TEST(FanOutE2eTest, RevertsOnSeveralAgentsWaitForTheirEventsTogether) {
  FakeAgent a(FakeAgent::Mode::kSlow), b(FakeAgent::Mode::kSlow);
  a.Release();  // they answer every inject at once
  b.Release();
  RunOptions options;
  options.agents = {a.address(), b.address()};
  options.start_lead = *ParseStartLead("off");
  RevertGate gate;
  Runner runner(Parse(kBurn), options, &gate);
  std::thread aborter([&] {
    ASSERT_TRUE(WaitUntil([&] { return a.injects_received() == 1 && b.injects_received() == 1; }));
    ASSERT_TRUE(WaitUntil([&] { return runner.Snapshot().faults.size() == 2 &&
                                       !runner.Snapshot().faults[0].summary.empty() &&
                                       !runner.Snapshot().faults[1].summary.empty(); }));
    runner.Interrupt("test: revert both");
  });
  RunReport r = runner.Run();
  aborter.join();
  EXPECT_EQ(r.outcome, RunOutcome::kInterrupted) << r.reason;
  for (const FaultRecord& f : r.faults) EXPECT_TRUE(f.reverted) << f.agent;
  EXPECT_EQ(gate.most(), 2) << "the second revert's event waited for the first's";
}

// A drill's disaster on two agents: its RTO counts from the planned start,
// when the faults start, not from the sends a start lead before it.
TEST(FanOutE2eTest, ADrillsDisasterIsItsPlannedStart) {
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  RunOptions options;
  options.agents = {a1.address(), a2.address()};
  options.start_lead = absl::Seconds(1);
  Runner runner(Parse(R"(
name: drill-lead
probes:
  up: {command: {run: ["true"]}, interval: 100ms}
drill: {disaster: outage, restore: restore}
recovery: {probes: [up], successes: 1, timeout: 30s}
method:
  - {id: outage, duration: 300ms, fault: {cpuBurn: {workers: 1, loadPercent: 5}}}
  - {id: restore, after: [outage], command: {run: ["true"]}}
)"),
                options, nullptr);
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_NE(r.steps[0].planned_start, absl::InfinitePast());
  EXPECT_EQ(r.drill.disaster_at, r.steps[0].planned_start);
  for (const FaultRecord& f : r.faults) {
    EXPECT_GE(absl::ToUnixMillis(f.injected_at), absl::ToUnixMillis(r.drill.disaster_at));
  }
}

// A fleet that may lose `max_unavailable` agents: one fault step, then a
// second once it ends.
Experiment Tolerant(int max_unavailable) {
  return Parse(absl::StrCat(R"(
name: tolerant
targets:
  fleet: {maxUnavailable: )", max_unavailable, R"(}
method:
  - {id: burn, target: fleet, duration: 3s, fault: {cpuBurn: {loadPercent: 5}}}
  - {id: again, target: fleet, duration: 1s, after: [burn], fault: {cpuBurn: {loadPercent: 5}}}
)"));
}

const LostAgent* LostOf(const RunReport& r, const std::string& agent) {
  for (const LostAgent& l : r.lost_agents) {
    if (l.agent == agent) return &l;
  }
  return nullptr;
}

// Each real agent held both steps' faults, and each ended.
void ExpectBothStepsRanAndWereReverted(const RunReport& r, const std::string& run_id,
                                       const AgentProcess& a) {
  for (const char* step : {"burn", "again"}) {
    auto f = FaultOn(a.address(), absl::StrCat(run_id, ".", step));
    ASSERT_TRUE(f.has_value()) << a.address() << " " << step;
    EXPECT_EQ(f->state(), chaos::v1::FAULT_STATE_REVERTED) << a.address() << " " << step;
  }
  EXPECT_FALSE(AnythingLeftOn(a.address())) << a.address();
  EXPECT_EQ(LostOf(r, a.address()), nullptr) << a.address();
}

// An address where nothing listens, beside two real agents, in a group
// that may lose one: the run passes on the two, the report names the dead
// one and why, and nothing stays on the live agents.
TEST(LostAgentsE2eTest, AnAddressThatDoesNotAnswerIsLostAndTheRunPassesOnTheOthers) {
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  const std::string dead = ClosedPortAddress();
  RunOptions options;
  options.agents = {a1.address(), dead, a2.address()};
  Runner runner(Tolerant(1), options, nullptr);
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_EQ(r.lost_agents.size(), 1u);
  EXPECT_EQ(r.lost_agents[0].agent, dead);
  EXPECT_EQ(r.lost_agents[0].step, "");
  EXPECT_TRUE(absl::StrContains(r.lost_agents[0].reason, "cannot reach agent " + dead))
      << r.lost_agents[0].reason;
  for (const FaultRecord& f : r.faults) EXPECT_NE(f.agent, dead) << "sent a fault";
  EXPECT_EQ(r.faults.size(), 4u);  // two steps on the two live agents
  ExpectBothStepsRanAndWereReverted(r, runner.run_id(), a1);
  ExpectBothStepsRanAndWereReverted(r, runner.run_id(), a2);
  EXPECT_TRUE(r.manual_undo.empty()) << r.manual_undo[0];
  EXPECT_TRUE(absl::StrContains(ReportText(r), "passed with 1 agent lost ==")) << ReportText(r);
  EXPECT_TRUE(absl::StrContains(ReportText(r), "lost " + dead + " in preflight: cannot reach"))
      << ReportText(r);
}

// A slow agent (its Inject answers after the call's deadline) and an
// erroring one, beside two real agents, in a group that may lose two: the
// run goes on with the real agents, names both, never sends them the next
// step, and reverts the slow one's late inject with the step's others.
TEST(LostAgentsE2eTest, SlowAndErroringAgentsAreLostNamedAndLeftWithNothing) {
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  FakeAgent slow(FakeAgent::Mode::kSlow), err(FakeAgent::Mode::kError);
  err.Release();  // answers its inject with an error at once
  RunOptions options;
  options.agents = {slow.address(), a1.address(), err.address(), a2.address()};
  options.rpc_timeout = absl::Seconds(3);
  Observer obs;
  std::string burn_id;
  // Once the run has given up on the slow agent's inject, it lands there
  // before the run goes on: the step's revert must find and end it, as
  // the others', before the next step starts.
  bool checked_next_step = false;
  obs.hook = [&](const JournalEvent& e) {
    if (e.type == "step" && e.step == "again" && e.message == "started") {
      EXPECT_FALSE(ActiveOn(slow.address(), burn_id)) << "the late inject outlived its step";
      checked_next_step = true;
    }
    if (e.type != "inject" || e.agent != slow.address()) return;
    EXPECT_TRUE(absl::StartsWith(e.message, "FAILED: DEADLINE_EXCEEDED")) << e.message;
    slow.Release();
    EXPECT_TRUE(WaitUntil([&] { return ActiveOn(slow.address(), burn_id); }));
  };
  Runner runner(Tolerant(2), options, &obs);
  burn_id = runner.run_id() + ".burn";
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  EXPECT_TRUE(checked_next_step);
  ASSERT_EQ(r.lost_agents.size(), 2u);
  ASSERT_NE(LostOf(r, slow.address()), nullptr);
  EXPECT_EQ(LostOf(r, slow.address())->step, "burn");
  EXPECT_TRUE(absl::StrContains(LostOf(r, slow.address())->reason, "DEADLINE_EXCEEDED"));
  ASSERT_NE(LostOf(r, err.address()), nullptr);
  EXPECT_TRUE(absl::StrContains(LostOf(r, err.address())->reason, "INTERNAL: fake agent"));
  EXPECT_TRUE(absl::StrContains(r.steps[0].detail, "inject failed on 2 of 4 agent(s)"))
      << r.steps[0].detail;
  EXPECT_EQ(r.steps[0].state, StepState::kDone);
  EXPECT_EQ(slow.injects_received(), 1) << "a lost agent was sent the next step";
  EXPECT_EQ(err.injects_received(), 1) << "a lost agent was sent the next step";
  const FaultRecord* late = FaultOf(r, slow.address());
  ASSERT_NE(late, nullptr);
  EXPECT_TRUE(late->reverted);
  EXPECT_FALSE(ActiveOn(slow.address(), burn_id)) << "the late inject stays";
  for (const std::string& a : options.agents) EXPECT_FALSE(AnythingLeftOn(a)) << a;
  ExpectBothStepsRanAndWereReverted(r, runner.run_id(), a1);
  ExpectBothStepsRanAndWereReverted(r, runner.run_id(), a2);
  EXPECT_TRUE(r.manual_undo.empty()) << r.manual_undo[0];
}

// A targeted rollback action goes to the agents the run still has, and to
// one it lost after sending it a fault (which may have landed there), not
// to one lost in preflight (sent nothing).
TEST(LostAgentsE2eTest, ARollbackActionReachesAnAgentLostAfterItsInject) {
  FakeAgent live(FakeAgent::Mode::kSlow), slow(FakeAgent::Mode::kSlow);
  live.Release();  // answers its injects at once
  const std::string dead = ClosedPortAddress();
  RunOptions options;
  options.agents = {live.address(), slow.address(), dead};
  options.rpc_timeout = absl::Seconds(3);
  Observer obs;
  Runner runner(Parse(R"(
name: tolerant
targets:
  fleet: {maxUnavailable: 2}
method:
  - {id: burn, target: fleet, duration: 1s, fault: {cpuBurn: {loadPercent: 5}}}
rollbackActions:
  - {run: [/bin/true, undo], target: fleet}
)"),
                options, &obs);
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_NE(LostOf(r, slow.address()), nullptr);
  ASSERT_NE(LostOf(r, dead), nullptr);
  EXPECT_EQ(live.commands_received(), std::vector<std::string>{"/bin/true undo"});
  EXPECT_EQ(slow.commands_received(), std::vector<std::string>{"/bin/true undo"})
      << "the agent lost at its inject was not sent the rollback action";
  EXPECT_TRUE(obs.Saw("rollback", slow.address()));
  EXPECT_FALSE(obs.Saw("rollback", dead)) << "sent to an agent lost in preflight";
  EXPECT_TRUE(r.manual_undo.empty()) << r.manual_undo[0];
}

// A command step on a group that may lose one: an agent that answers the
// command with an error is lost and the run passes; with no allowance the
// same error fails the run, as before.
TEST(LostAgentsE2eTest, AnAgentThatFailsACommandStepIsLostWithinTheAllowance) {
  FakeAgent live(FakeAgent::Mode::kSlow), err(FakeAgent::Mode::kError);
  RunOptions options;
  options.agents = {live.address(), err.address()};
  auto experiment = [](int max_unavailable) {
    return Parse(absl::StrCat(R"(
name: tolerant
targets:
  fleet: {maxUnavailable: )", max_unavailable, R"(}
method:
  - {id: flush, target: fleet, command: {run: [/bin/sync]}}
)"));
  };
  RunReport r = Runner(experiment(1), options, nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_NE(LostOf(r, err.address()), nullptr);
  EXPECT_EQ(LostOf(r, err.address())->step, "flush");
  EXPECT_TRUE(absl::StrContains(LostOf(r, err.address())->reason, "INTERNAL: fake agent"))
      << LostOf(r, err.address())->reason;
  EXPECT_EQ(r.steps[0].detail, "exit 0 on 1 agent(s), 1 lost (maxUnavailable)");
  EXPECT_EQ(live.commands_received(), std::vector<std::string>{"/bin/sync"});

  r = Runner(experiment(0), options, nullptr).Run();
  EXPECT_EQ(r.outcome, RunOutcome::kFailed);
  EXPECT_TRUE(absl::StrContains(r.reason, "command failed on " + err.address())) << r.reason;
  EXPECT_TRUE(r.lost_agents.empty());
}

// The same two bad agents in a group that may lose only one: the run
// fails as before, naming both, and rolls everything back, the slow
// agent's late inject too.
TEST(LostAgentsE2eTest, BeyondTheAllowanceTheRunFailsAndRollsEverythingBack) {
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  FakeAgent slow(FakeAgent::Mode::kSlow), err(FakeAgent::Mode::kError);
  err.Release();
  RunOptions options;
  options.agents = {slow.address(), a1.address(), err.address(), a2.address()};
  options.rpc_timeout = absl::Seconds(3);
  Observer obs;
  std::string burn_id;
  obs.hook = [&](const JournalEvent& e) {
    if (e.type != "inject" || e.agent != slow.address()) return;
    slow.Release();
    EXPECT_TRUE(WaitUntil([&] { return ActiveOn(slow.address(), burn_id); }));
  };
  Runner runner(Tolerant(1), options, &obs);
  burn_id = runner.run_id() + ".burn";
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kFailed) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, "step burn: inject failed on 2 of 4 agent(s): "))
      << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, slow.address() + ": DEADLINE_EXCEEDED")) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, err.address() + ": INTERNAL")) << r.reason;
  EXPECT_EQ(r.steps[0].state, StepState::kFailed);
  EXPECT_EQ(r.steps[1].state, StepState::kPending);
  EXPECT_EQ(r.rollback, RollbackState::kComplete);
  EXPECT_TRUE(r.manual_undo.empty()) << r.manual_undo[0];
  for (const AgentProcess* a : {&a1, &a2}) {
    auto f = FaultOn(a->address(), burn_id);
    ASSERT_TRUE(f.has_value()) << a->address();
    EXPECT_EQ(f->state(), chaos::v1::FAULT_STATE_REVERTED) << a->address();
  }
  for (const std::string& a : options.agents) EXPECT_FALSE(AnythingLeftOn(a)) << a;
}

// One fault step on a fleet that may lose one agent, for `duration`.
Experiment OneStepFleet(const std::string& duration) {
  return Parse(absl::StrCat(R"(
name: tolerant
targets:
  fleet: {maxUnavailable: 1}
method:
  - {id: burn, target: fleet, duration: )", duration, R"(, fault: {cpuBurn: {loadPercent: 5}}}
)"));
}

// The agent's own record of `fault_id` says it ended; the other agent's
// fault was held to the step's end and reverted by the run.
void ExpectLostAtItsLapse(const RunReport& r, const std::string& lost, const std::string& kept,
                          const std::string& fault_id) {
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_EQ(r.lost_agents.size(), 1u);
  EXPECT_EQ(r.lost_agents[0].agent, lost);
  EXPECT_EQ(r.lost_agents[0].step, "burn");
  EXPECT_EQ(r.steps[0].state, StepState::kDone);
  const FaultRecord* held = FaultOf(r, kept);
  ASSERT_NE(held, nullptr);
  EXPECT_TRUE(held->reverted);
  auto ended = FaultOn(lost, fault_id);
  ASSERT_TRUE(ended.has_value());
  EXPECT_FALSE(IsActive(ended->state()));
  for (const std::string& a : {lost, kept}) EXPECT_FALSE(AnythingLeftOn(a)) << a;
  EXPECT_TRUE(r.manual_undo.empty()) << r.manual_undo[0];
}

struct LostAgent {
  std::string address;
  std::string run_id;
  std::string fault_id;
  std::string reason;  // "" when not exactly one agent was lost
};

// Runs an 8 s step on two agents under a 3 s lease (renewed every second).
// Once the first agent has the fault, `interfere` runs on another thread
// with that agent's address, the run and the fault. Checks that the first
// agent alone is lost at its lapse (ExpectLostAtItsLapse) and returns that
// agent with what it was lost for.
LostAgent LoseTheFirstOfTwo(const std::function<void(const LostAgent&)>& interfere) {
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  RunOptions options;
  options.agents = {a1.address(), a2.address()};
  options.lease = absl::Seconds(3);
  Observer obs;
  Runner runner(OneStepFleet("8s"), options, &obs);
  LostAgent lost{a1.address(), runner.run_id(), runner.run_id() + ".burn", ""};
  std::thread other([&] {
    ASSERT_TRUE(WaitUntil([&] { return obs.Saw("inject", lost.address); }));
    interfere(lost);
  });
  RunReport r = runner.Run();
  other.join();
  ExpectLostAtItsLapse(r, lost.address, a2.address(), lost.fault_id);
  if (r.lost_agents.size() == 1) lost.reason = r.lost_agents[0].reason;
  return lost;
}

// Another caller reverts the fault on one agent: the next renewal finds
// it ended early, and that agent is lost instead of failing the run.
TEST(LostAgentsE2eTest, AnAgentWhoseFaultEndsEarlyIsLostWithinTheAllowance) {
  const LostAgent lost = LoseTheFirstOfTwo([](const LostAgent& target) {
    chaos::v1::RevertRequest req;
    req.set_fault_id(target.fault_id);
    req.set_caller("someone else");
    chaos::v1::RevertResponse resp;
    grpc::ClientContext ctx;
    const grpc::Status reverted = AgentStub(target.address)->Revert(&ctx, req, &resp);
    EXPECT_TRUE(reverted.ok()) << reverted.error_message();
  });
  EXPECT_TRUE(absl::StrContains(lost.reason, "fault ended early on " + lost.address))
      << lost.reason;
  EXPECT_TRUE(absl::StrContains(lost.reason, "on behalf of someone else")) << lost.reason;
}

// Another caller renews the run's lease on one agent with a 1 ms length
// (a renewal may shorten a lease), so the agent's own timer ends the fault
// although the run's renewals still reach it: the next renewal finds the
// lease lapsed there, and that agent is lost instead of failing the run.
TEST(LostAgentsE2eTest, AnAgentWhoseOwnLeaseLapsesIsLostWithinTheAllowance) {
  const LostAgent lost = LoseTheFirstOfTwo([](const LostAgent& target) {
    // Again until it holds: a run's renewal in the same millisecond restores the length.
    EXPECT_TRUE(WaitUntil([&] {
      chaos::v1::KeepAliveRequest req;
      req.set_experiment_id(target.run_id);
      req.mutable_lease()->set_nanos(1000000);
      chaos::v1::KeepAliveResponse resp;
      grpc::ClientContext ctx;
      (void)AgentStub(target.address)->KeepAlive(&ctx, req, &resp);
      return WaitUntil([&] { return !ActiveOn(target.address, target.fault_id); },
                       absl::Milliseconds(500));
    }));
  });
  EXPECT_TRUE(absl::StrContains(lost.reason, "lease lapsed on " + lost.address + ": " +
                                                 lost.fault_id +
                                                 " (step burn) is FAULT_STATE_REVERTED: "
                                                 "lease expired"))
      << lost.reason;
}

// Two agents held under a 2 s lease, with calls that give up after 500 ms.
RunOptions ShortLease(const AgentProcess& a1, const AgentProcess& a2) {
  RunOptions options;
  options.agents = {a1.address(), a2.address()};
  options.lease = absl::Seconds(2);
  options.rpc_timeout = absl::Milliseconds(500);
  return options;
}

// One agent frozen (SIGSTOP) for longer than the lease: once no renewal
// has reached it for a whole lease it is lost, and the run goes on; its
// own timer ends its fault when it runs again.
TEST(LostAgentsE2eTest, AnAgentNoRenewalReachesForALeaseIsLostWithinTheAllowance) {
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  const RunOptions options = ShortLease(a1, a2);
  Observer obs;
  Runner runner(OneStepFleet("10s"), options, &obs);
  std::thread other([&] {
    ASSERT_TRUE(WaitUntil([&] { return obs.Saw("inject", a1.address()); }));
    a1.process().Signal(SIGSTOP);
    EXPECT_TRUE(WaitUntil([&] { return obs.Saw("lost", a1.address()); }));
    a1.process().Signal(SIGCONT);
  });
  RunReport r = runner.Run();
  other.join();
  ExpectLostAtItsLapse(r, a1.address(), a2.address(), runner.run_id() + ".burn");
  ASSERT_EQ(r.lost_agents.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r.lost_agents[0].reason,
                                "lease lapsed on " + a1.address() +
                                    ": no keep-alive reached it for the 2s lease"))
      << r.lost_agents[0].reason;
}

// Runs `exp` on a1 and a2 under ShortLease, a1 frozen (SIGSTOP) from its
// inject's answer to the run's end, and resumed then.
RunReport RunWithA1Frozen(const Experiment& exp, AgentProcess& a1, AgentProcess& a2,
                          Observer* obs, std::string* fault_id) {
  obs->hook = [frozen = &a1](const JournalEvent& e) {
    if (e.type == "inject" && e.agent == frozen->address()) frozen->process().Signal(SIGSTOP);
  };
  Runner runner(exp, ShortLease(a1, a2), obs);
  *fault_id = runner.run_id() + ".burn";
  RunReport r = runner.Run();
  a1.process().Signal(SIGCONT);
  return r;
}

// After RunWithA1Frozen: a1 answered neither the revert nor the final
// check, so its fault is manual undo (the run cannot tell a frozen agent
// from a partitioned one); a2's the run reverted; and once a1 runs again,
// its lease having lapsed long ago, its own timer ends its fault.
void ExpectA1ManualUndoAndEndedByItsOwnTimer(const RunReport& r, const AgentProcess& a1,
                                             const AgentProcess& a2, const std::string& id) {
  EXPECT_EQ(r.outcome, RunOutcome::kRollbackIncomplete) << r.reason;
  const std::string undo = absl::StrJoin(r.manual_undo, "\n");
  EXPECT_TRUE(absl::StrContains(undo, "chaosctl revert --agent " + a1.address() + " " + id))
      << undo;
  const FaultRecord* held = FaultOf(r, a2.address());
  ASSERT_NE(held, nullptr);
  EXPECT_TRUE(held->reverted);
  EXPECT_FALSE(AnythingLeftOn(a2.address()));
  EXPECT_TRUE(WaitUntil([&] { return !AnythingLeftOn(a1.address()); }));
  auto ended = FaultOn(a1.address(), id);
  ASSERT_TRUE(ended.has_value());
  EXPECT_FALSE(IsActive(ended->state()));
}

// The same agent frozen to the run's end: lost at its lapse, and the run
// goes on to the step's end.
TEST(LostAgentsE2eTest, AnAgentFrozenToTheEndIsLostAndItsFaultIsManualUndo) {
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  Observer obs;
  std::string id;
  const RunReport r = RunWithA1Frozen(OneStepFleet("4s"), a1, a2, &obs, &id);
  ASSERT_EQ(r.lost_agents.size(), 1u);
  EXPECT_EQ(r.lost_agents[0].agent, a1.address());
  EXPECT_TRUE(absl::StrContains(r.lost_agents[0].reason, "lease lapsed on " + a1.address()))
      << r.lost_agents[0].reason;
  ExpectA1ManualUndoAndEndedByItsOwnTimer(r, a1, a2, id);
}

// Without the allowance the same frozen agent fails the run once no
// renewal has reached it for a whole lease: the rest of the 60 s step is
// not held on the other agent, whose fault the rollback reverts then.
TEST(LostAgentsE2eTest, WithoutTheAllowanceAnAgentNoRenewalReachesForALeaseFailsTheRun) {
  TempDir d1, d2;
  AgentProcess a1(d1.path()), a2(d2.path());
  Observer obs;
  std::string id;
  const RunReport r = RunWithA1Frozen(Parse(R"(
name: strict
method:
  - {id: burn, duration: 60s, fault: {cpuBurn: {loadPercent: 5}}}
)"),
                                      a1, a2, &obs, &id);
  EXPECT_TRUE(absl::StrContains(r.reason, "lease lapsed on " + a1.address() +
                                              ": no keep-alive reached it for the 2s lease"))
      << r.reason;
  EXPECT_TRUE(r.lost_agents.empty());
  EXPECT_TRUE(obs.Saw("lease", a1.address()));  // "keep-alive to ... failed"
  ASSERT_EQ(r.steps.size(), 1u);
  const FaultRecord* held = FaultOf(r, a2.address());
  ASSERT_NE(held, nullptr);
  EXPECT_LT(held->reverted_at, r.steps[0].planned_end) << "the run held the step to its end";
  ExpectA1ManualUndoAndEndedByItsOwnTimer(r, a1, a2, id);
}

// In preflight, two dead addresses where the group may lose one: nothing
// is injected and both are named, as without maxUnavailable.
TEST(LostAgentsE2eTest, BeyondTheAllowanceInPreflightNothingIsInjected) {
  TempDir d1;
  AgentProcess real(d1.path());
  const std::string dead1 = ClosedPortAddress(), dead2 = ClosedPortAddress();
  RunOptions options;
  options.agents = {dead1, real.address(), dead2};
  Runner runner(Tolerant(1), options, nullptr);
  RunReport r = runner.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kUnavailable) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, "cannot reach agent " + dead1)) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, "cannot reach agent " + dead2)) << r.reason;
  EXPECT_TRUE(r.faults.empty());
  EXPECT_FALSE(FaultOn(real.address(), runner.run_id() + ".burn").has_value());
}

// A group that would lose its last agent: under `whenEmpty: fail` the run
// does not start, whatever its maxUnavailable; under `whenEmpty: skip` the
// agent is lost and the group's step skipped.
TEST(LostAgentsE2eTest, AGroupLosesItsLastAgentOnlyUnderWhenEmptySkip) {
  const std::string dead = ClosedPortAddress();
  RunOptions options;
  options.agents = {dead};
  const char kLastAgent[] = R"(
name: last-agent
targets:
  fleet: {maxUnavailable: "100%%", whenEmpty: %s}
method:
  - {id: burn, target: fleet, duration: 1s, fault: {cpuBurn: {loadPercent: 5}}}
)";
  Runner fail(Parse(absl::StrFormat(kLastAgent, "fail")), options, nullptr);
  RunReport r = fail.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kUnavailable) << r.reason;
  EXPECT_TRUE(absl::StrContains(r.reason, "cannot reach agent " + dead)) << r.reason;
  EXPECT_TRUE(r.lost_agents.empty());

  Runner skip(Parse(absl::StrFormat(kLastAgent, "skip")), options, nullptr);
  r = skip.Run();
  EXPECT_EQ(r.outcome, RunOutcome::kPassed) << r.reason;
  ASSERT_EQ(r.lost_agents.size(), 1u);
  EXPECT_EQ(r.lost_agents[0].agent, dead);
  EXPECT_EQ(r.steps[0].state, StepState::kSkipped);
  EXPECT_TRUE(r.faults.empty());
}

}  // namespace
}  // namespace chaos::controller
