// The reliability suite: a controller and agents as real processes, each
// agent in its own network namespace on a bridge with its own address
// (tests/reliability/testbed.h), put through crashes, a partition, a full
// state filesystem, concurrency and long repetition. Every outcome is
// checked from outside the agents: the paused dummies' state in /proc,
// files, nft, the agents' fds and memory in /proc. Each scenario appends
// what it checked and measured to the results file that
// tests/reliability/make_doc.py turns into docs/RELIABILITY.md. No check
// holds a time bound: times are recorded against their goal in the doc.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "chaos/v1/controller.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "rpc/credentials.h"
#include "rpc/status.h"
#include "tests/agent_client.h"
#include "tests/reliability/results.h"
#include "tests/reliability/testbed.h"

namespace chaos::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool IsOver(chaos::v1::RunState s) {
  return s != chaos::v1::RUN_STATE_PENDING && s != chaos::v1::RUN_STATE_RUNNING;
}

std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d), " ms"); }

// An experiment with one step per (agent, dummy): pause that dummy on that
// agent (groups select agents by their name=a<i> label) for `duration`.
struct PauseStep {
  int agent;
  std::string pidfile;
};
std::string PauseExperiment(const std::string& name, const std::vector<PauseStep>& steps,
                            const std::string& duration) {
  std::string yaml = absl::StrCat("name: ", name, "\ntargets:\n");
  for (const PauseStep& s : steps) {
    absl::StrAppend(&yaml, "  a", s.agent, ": {selector: {name: a", s.agent, "}}\n");
  }
  absl::StrAppend(&yaml, "method:\n");
  for (const PauseStep& s : steps) {
    absl::StrAppend(&yaml, "  - id: pause-a", s.agent, "\n    target: a", s.agent,
                    "\n    duration: ", duration, "\n    fault:\n      processPause:\n",
                    "        target: {pidfile: \"", s.pidfile, "\"}\n");
  }
  return yaml;
}

class ControllerClient {
 public:
  explicit ControllerClient(const std::string& address)
      : stub_(chaos::v1::Controller::NewStub(rpc::OpenChannel(address, {}))) {}

  int LiveAgents() {
    chaos::v1::ListAgentsResponse resp;
    auto ctx = rpc::ContextWithTimeout(absl::Seconds(5));
    if (!stub_->ListAgents(ctx.get(), {}, &resp).ok()) return -1;
    int live = 0;
    for (const auto& a : resp.agents()) live += a.lost() ? 0 : 1;
    return live;
  }
  std::string Submit(const std::string& yaml) {
    chaos::v1::SubmitRunRequest req;
    req.set_experiment_yaml(yaml);
    req.set_caller("reliability");
    chaos::v1::Run run;
    auto ctx = rpc::ContextWithTimeout(absl::Seconds(30));
    grpc::Status s = stub_->SubmitRun(ctx.get(), req, &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return run.run_id();
  }
  chaos::v1::Run Get(const std::string& run_id) {
    chaos::v1::GetRunRequest req;
    req.set_run_id(run_id);
    chaos::v1::Run run;
    auto ctx = rpc::ContextWithTimeout(absl::Seconds(10));
    (void)stub_->GetRun(ctx.get(), req, &run);
    return run;
  }
  // Waits (generously) for the run to end and returns it.
  chaos::v1::Run WaitEnd(const std::string& run_id, seconds limit = seconds(180)) {
    chaos::v1::Run run;
    WaitFor([&] { return IsOver((run = Get(run_id)).state()); }, limit, milliseconds(200));
    return run;
  }
  // How many events of `type` whose message contains `text` the run's
  // journal (so far, for a live run) holds.
  int Events(const std::string& run_id, const std::string& type, const std::string& text = "") {
    const nlohmann::json journal = nlohmann::json::parse(Get(run_id).report_json(), nullptr, false);
    if (!journal.is_object() || !journal.contains("events")) return 0;
    int n = 0;
    for (const auto& e : journal["events"]) {
      n += e.value("type", "") == type &&
           absl::StrContains(e.value("message", ""), text) && !absl::StartsWith(e.value("message", ""), "FAILED");
    }
    return n;
  }
  bool Abort(const std::string& run_id) {
    chaos::v1::AbortRunRequest req;
    req.set_run_id(run_id);
    chaos::v1::Run run;
    auto ctx = rpc::ContextWithTimeout(absl::Seconds(30));
    return stub_->AbortRun(ctx.get(), req, &run).ok();
  }

 private:
  std::unique_ptr<chaos::v1::Controller::Stub> stub_;
};

class AgentClient {
 public:
  explicit AgentClient(const std::string& address)
      : stub_(chaos::testing::AgentStub(address)) {}

  grpc::Status InjectPause(const std::string& fault_id, const std::string& experiment,
                           const std::string& pidfile) {
    chaos::v1::InjectRequest req;
    req.mutable_spec()->set_fault_id(fault_id);
    req.mutable_spec()->set_experiment_id(experiment);
    req.mutable_spec()->mutable_duration()->set_seconds(600);
    req.mutable_spec()->mutable_process_pause()->mutable_target()->set_pidfile(pidfile);
    req.mutable_lease()->set_seconds(600);
    req.set_caller("reliability");
    chaos::v1::InjectResponse resp;
    auto ctx = rpc::ContextWithTimeout(absl::Seconds(10));
    return stub_->Inject(ctx.get(), req, &resp);
  }
  grpc::Status Revert(const std::string& fault_id) {
    chaos::v1::RevertRequest req;
    req.set_fault_id(fault_id);
    req.set_caller("reliability");
    chaos::v1::RevertResponse resp;
    auto ctx = rpc::ContextWithTimeout(absl::Seconds(10));
    return stub_->Revert(ctx.get(), req, &resp);
  }
  bool Serves() {
    chaos::v1::DescribeResponse resp;
    auto ctx = rpc::ContextWithTimeout(absl::Seconds(10));
    return stub_->Describe(ctx.get(), {}, &resp).ok();
  }

 private:
  std::unique_ptr<chaos::v1::Agent::Stub> stub_;
};

// Records the scenario's result whether the test passed or not.
class ReliabilityTest : public ::testing::Test {
 protected:
  void TearDown() override { AppendResult(result_, !HasFailure()); }

  // The controller and `agents` agents registered with it.
  void StartAll(Testbed& bed, const std::vector<std::string>& controller_flags = {}) {
    bed.StartController(controller_flags);
    for (int i = 0; i < bed.agents(); ++i) bed.StartAgent(i);
    ControllerClient c(bed.controller().address());
    ASSERT_TRUE(WaitFor([&] { return c.LiveAgents() == bed.agents(); }, seconds(60)));
  }

  static bool AllStopped(std::vector<std::unique_ptr<Dummy>>& dummies) {
    for (auto& d : dummies) {
      if (!d->stopped()) return false;
    }
    return true;
  }
  static bool NoneStopped(std::vector<std::unique_ptr<Dummy>>& dummies) {
    for (auto& d : dummies) {
      if (d->stopped()) return false;
    }
    return true;
  }
  static std::vector<std::unique_ptr<Dummy>> Dummies(const Testbed& bed, int n) {
    std::vector<std::unique_ptr<Dummy>> dummies;
    for (int i = 0; i < n; ++i) dummies.push_back(std::make_unique<Dummy>(bed.dir(), absl::StrCat("d", i)));
    return dummies;
  }

  ScenarioResult result_;
};

TEST_F(ReliabilityTest, AgentKilledMidFaultRevertsOnRestart) {
  result_ = {"kill -9 an agent mid-fault, then restart it",
             "3 agents each pause a dummy process for one run; agent a1 is killed with SIGKILL: "
             "its dummy stays stopped (/proc state T) while it is down, the restarted agent "
             "resumes it from its ledger, the other agents' dummies stay stopped, the run ends "
             "failed naming the fault that ended early, every dummy runs at the end",
             "", "reverted at start-up, before the agent serves"};
  Testbed bed(3);
  StartAll(bed);
  auto dummies = Dummies(bed, 3);
  ControllerClient ctl(bed.controller().address());
  const std::string run = ctl.Submit(PauseExperiment(
      "agent-kill", {{0, dummies[0]->pidfile()}, {1, dummies[1]->pidfile()}, {2, dummies[2]->pidfile()}},
      "60s"));
  ASSERT_TRUE(WaitFor([&] { return AllStopped(dummies); }, seconds(60)));
  // Mid-fault: the controller has the agents' answers to the injects.
  ASSERT_TRUE(WaitFor([&] { return ctl.Events(run, "inject") == 3; }, seconds(60)));

  bed.KillAgent(1);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(dummies[1]->stopped()) << "nothing should have resumed it while its agent is down";
  const absl::Time restart = absl::Now();
  bed.RestartAgent(1);
  const absl::Duration serving = absl::Now() - restart;
  ASSERT_TRUE(WaitFor([&] { return !dummies[1]->stopped(); }, seconds(30), milliseconds(5)));
  const absl::Duration resumed = absl::Now() - restart;
  EXPECT_TRUE(dummies[0]->stopped());
  EXPECT_TRUE(dummies[2]->stopped());
  EXPECT_TRUE(absl::StrContains(bed.agent(1).log(), "recovery: reverted 1 fault(s)"))
      << bed.agent(1).log();

  const chaos::v1::Run ended = ctl.WaitEnd(run);
  EXPECT_EQ(ended.state(), chaos::v1::RUN_STATE_FAILED) << ended.reason();
  EXPECT_TRUE(absl::StrContains(ended.reason(), bed.agent(1).address())) << ended.reason();
  EXPECT_TRUE(NoneStopped(dummies));
  result_.figure = absl::StrCat("dummy resumed ", Ms(resumed), " after the restart began (serving after ",
                                Ms(serving), "); run ", chaos::v1::RunState_Name(ended.state()),
                                ": ", ended.reason());
}

TEST_F(ReliabilityTest, ControllerKilledMidRunRecoversOnRestart) {
  result_ = {"kill -9 the controller mid-run, then restart it",
             "a run pauses a dummy on each of 3 agents (lease 60 s, so the agents' leases do "
             "not end it first); the controller is killed with SIGKILL: the dummies stay "
             "stopped while it is down; the restarted controller (same state, same port) "
             "reverts the run on every agent, every dummy runs again (/proc), and the run is "
             "recorded interrupted",
             "", "reverted by the restarted controller, not by the lease"};
  Testbed bed(3);
  StartAll(bed, {"--lease", "60"});
  auto dummies = Dummies(bed, 3);
  std::string run;
  {
    ControllerClient ctl(bed.controller().address());
    run = ctl.Submit(PauseExperiment(
        "controller-kill",
        {{0, dummies[0]->pidfile()}, {1, dummies[1]->pidfile()}, {2, dummies[2]->pidfile()}}, "120s"));
    ASSERT_TRUE(WaitFor([&] { return AllStopped(dummies); }, seconds(60)));
  }
  bed.KillController();
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(AllStopped(dummies));
  const absl::Time restart = absl::Now();
  bed.RestartController();
  ASSERT_TRUE(WaitFor([&] { return NoneStopped(dummies); }, seconds(50), milliseconds(5)));
  const absl::Duration resumed = absl::Now() - restart;
  ControllerClient ctl(bed.controller().address());
  const chaos::v1::Run ended = ctl.WaitEnd(run, seconds(60));
  EXPECT_EQ(ended.state(), chaos::v1::RUN_STATE_INTERRUPTED) << ended.reason();
  result_.figure = absl::StrCat("all 3 dummies resumed ", Ms(resumed),
                                " after the restart began; run ",
                                chaos::v1::RunState_Name(ended.state()));
}

TEST_F(ReliabilityTest, PartitionedAgentRevertsWhenItsLeaseLapses) {
  constexpr int kLeaseS = 2;
  result_ = {"partition controller and agent (nftables in the agent's namespace)",
             "a run pauses a dummy on 2 agents for 120 s (controller --lease 2); an nft table in "
             "agent a0's namespace drops all traffic to and from the controller: a0's dummy "
             "runs again (/proc) with no word from the controller; while the partition lasts the "
             "run's journal gets the failed keep-alive, the run ends (rollback incomplete) naming "
             "the lease lapse on a0 and listing a0's fault as manual undo, and its rollback has "
             "resumed a1's dummy; after the partition is lifted every dummy runs",
             "", absl::StrCat("within lease + 1 s = ", kLeaseS + 1, " s of the partition")};
  Testbed bed(2);
  StartAll(bed, {"--lease", std::to_string(kLeaseS)});
  auto dummies = Dummies(bed, 2);
  ControllerClient ctl(bed.controller().address());
  const std::string run = ctl.Submit(PauseExperiment(
      "partition", {{0, dummies[0]->pidfile()}, {1, dummies[1]->pidfile()}}, "120s"));
  ASSERT_TRUE(WaitFor([&] { return AllStopped(dummies); }, seconds(60)));
  absl::SleepFor(absl::Seconds(kLeaseS));  // a few keep-alives went through

  const std::string ip = bed.controller_ip();
  const CommandResult nft = bed.InNamespace(
      0, {"/usr/sbin/nft", absl::StrCat(
                               "add table inet crlpart; "
                               "add chain inet crlpart in { type filter hook input priority -300; }; "
                               "add chain inet crlpart out { type filter hook output priority -300; }; "
                               "add rule inet crlpart in ip saddr ", ip, " drop; "
                               "add rule inet crlpart out ip daddr ", ip, " drop")});
  ASSERT_EQ(nft.exit_code, 0) << nft.output;
  const absl::Time cut = absl::Now();
  ASSERT_TRUE(WaitFor([&] { return !dummies[0]->stopped(); }, seconds(60), milliseconds(5)));
  const absl::Duration reverted = absl::Now() - cut;
  // The run ends while the partition lasts: it cannot reach a0 to revert
  // or check, so a0's fault is manual undo; a1's the rollback reverted.
  const chaos::v1::Run ended = ctl.WaitEnd(run);
  const absl::Duration over = absl::Now() - cut;
  EXPECT_TRUE(absl::StrContains(bed.InNamespace(0, {"/usr/sbin/nft", "list", "tables"}).output,
                                "crlpart"));
  EXPECT_EQ(ended.state(), chaos::v1::RUN_STATE_ROLLBACK_INCOMPLETE) << ended.reason();
  const std::string lapse = "lease lapsed on " + bed.agent(0).address() +
                            ": no keep-alive reached it for the 2s lease";
  EXPECT_TRUE(absl::StrContains(ended.reason(), lapse)) << ended.reason();
  EXPECT_EQ(ctl.Events(run, "lease", "keep-alive to " + bed.agent(0).address() + " failed"), 1);
  const nlohmann::json journal = nlohmann::json::parse(ended.report_json(), nullptr, false);
  ASSERT_TRUE(journal.is_object() && journal.contains("manual_undo")) << ended.report_json();
  EXPECT_TRUE(absl::StrContains(journal["manual_undo"].dump(), bed.agent(0).address()))
      << journal["manual_undo"].dump();
  EXPECT_FALSE(absl::StrContains(journal["manual_undo"].dump(), bed.agent(1).address()))
      << journal["manual_undo"].dump();
  EXPECT_FALSE(dummies[1]->stopped()) << "the rollback left a1's dummy stopped";
  ASSERT_EQ(bed.InNamespace(0, {"/usr/sbin/nft", "delete table inet crlpart"}).exit_code, 0);
  EXPECT_TRUE(NoneStopped(dummies));
  int64_t abort_ms = 0;  // when the run failed, by the journal
  for (const auto& e : journal.value("events", nlohmann::json::array())) {
    if (e.value("type", "") == "abort") abort_ms = e.value("at_unix_ms", int64_t{0});
  }
  ASSERT_GT(abort_ms, 0) << "no abort event";
  result_.figure = absl::StrCat(
      "reverted ", Ms(reverted), " after the partition; the run failed ",
      Ms(absl::FromUnixMillis(abort_ms) - cut), " after it (of a 120 s step) and ended ",
      chaos::v1::RunState_Name(ended.state()), " ", Ms(over),
      " after it (the revert and check of a0 wait out their retries): ", ended.reason());
}

// Writes `path` until the filesystem is full; the bytes written.
size_t FillUp(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  const std::string chunk(4096, 'x');
  size_t written = 0;
  while (out.write(chunk.data(), chunk.size()) && out.flush()) written += chunk.size();
  return written;
}

int FilesUnder(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    n += it->is_regular_file() ? 1 : 0;
  }
  return n;
}

TEST_F(ReliabilityTest, FullStateFilesystemRefusesCleanly) {
  result_ = {"the agent's state filesystem is full when a fault is requested",
             "the agent's state directory is on a 1 MiB tmpfs; a fault is injected, then the "
             "tmpfs is filled to ENOSPC: the next inject is refused with an error, its dummy "
             "never stops (/proc), no ledger file of it exists, the first fault's dummy stays "
             "stopped and the agent keeps serving; once space is freed the first fault "
             "reverts, and a fault injected then survives kill -9 of the agent (the restarted "
             "agent resumes its dummy from the ledger)",
             "", "refused, nothing injected, nothing lost"};
  Testbed bed(1);
  const std::string mount = bed.MountTmpfs("state", 1 << 20);
  bed.set_agent_state_dir(0, mount + "/state");
  bed.StartAgent(0);
  auto dummies = Dummies(bed, 3);
  AgentClient agent(bed.agent(0).address());
  ASSERT_TRUE(agent.InjectPause("before-full", "full", dummies[0]->pidfile()).ok());
  ASSERT_TRUE(WaitFor([&] { return dummies[0]->stopped(); }, seconds(10)));

  const size_t filled = FillUp(mount + "/filler");
  const grpc::Status refused = agent.InjectPause("while-full", "full", dummies[1]->pidfile());
  EXPECT_FALSE(refused.ok());
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_FALSE(dummies[1]->stopped()) << "a refused inject must not touch the host";
  EXPECT_TRUE(dummies[0]->stopped()) << "the fault injected before must stay";
  EXPECT_TRUE(agent.Serves()) << bed.agent(0).log();
  for (const auto& e : std::filesystem::recursive_directory_iterator(mount + "/state")) {
    EXPECT_FALSE(absl::StrContains(e.path().filename().string(), "while-full")) << e.path();
  }

  std::filesystem::remove(mount + "/filler");
  EXPECT_TRUE(agent.Revert("before-full").ok());
  EXPECT_TRUE(WaitFor([&] { return !dummies[0]->stopped(); }, seconds(30)));
  ASSERT_TRUE(agent.InjectPause("after-full", "full", dummies[2]->pidfile()).ok());
  ASSERT_TRUE(WaitFor([&] { return dummies[2]->stopped(); }, seconds(10)));
  bed.KillAgent(0);
  bed.RestartAgent(0);
  EXPECT_TRUE(WaitFor([&] { return !dummies[2]->stopped(); }, seconds(30)));
  result_.figure = absl::StrCat(
      "filled ", filled / 1024, " KiB to ENOSPC; the inject got ",
      absl::StrReplaceAll(rpc::StatusText(refused), {{mount, "<tmpfs>"}}));
}

// 50 runs at once over 3 agents, each pausing its own dummy: a third are
// aborted, a third end by their duration, a third run long and are aborted
// last. Whatever the other runs do, a long run's dummy stays stopped.
TEST_F(ReliabilityTest, FiftyConcurrentExperimentsDoNotCrossTalk) {
  constexpr int kRuns = 50;
  result_ = {"50 concurrent experiments on the same 3 agents",
             "50 runs submitted at once, each pausing its own dummy on one agent: 17 are "
             "aborted early, 17 end by their 10 s duration, 16 run for 10 min and are aborted "
             "last. While the others are aborted or end, every long run's dummy stays stopped "
             "(/proc; no cross-talk); every dummy runs at the end (every fault reverted); the "
             "aborted runs are recorded aborted and the others passed",
             "", "no cross-talk, every fault reverted"};
  Testbed bed(3);
  StartAll(bed);
  auto dummies = Dummies(bed, kRuns);
  ControllerClient ctl(bed.controller().address());
  std::vector<std::string> runs;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kRuns; ++i) {
    const int kind = i % 3;
    runs.push_back(ctl.Submit(PauseExperiment(absl::StrCat("concurrent-", i),
                                              {{(i / 3) % 3, dummies[i]->pidfile()}},
                                              kind == 1 ? "10s" : "10m")));
  }
  auto of_kind = [&](int kind, auto pred) {
    for (int i = kind; i < kRuns; i += 3) {
      if (!pred(i)) return false;
    }
    return true;
  };
  auto stopped = [&](int i) { return dummies[i]->stopped(); };
  auto running = [&](int i) { return !dummies[i]->stopped(); };
  ASSERT_TRUE(WaitFor([&] { return of_kind(0, stopped) && of_kind(2, stopped); }, seconds(120)));
  const absl::Duration all_paused = absl::Now() - start;

  for (int i = 0; i < kRuns; i += 3) EXPECT_TRUE(ctl.Abort(runs[i])) << runs[i];
  ASSERT_TRUE(WaitFor([&] { return of_kind(0, running); }, seconds(120)));
  EXPECT_TRUE(of_kind(2, stopped)) << "aborting other runs resumed a long run's dummy";
  for (int i = 1; i < kRuns; i += 3) {
    const chaos::v1::Run r = ctl.WaitEnd(runs[i]);
    EXPECT_EQ(r.state(), chaos::v1::RUN_STATE_PASSED) << runs[i] << ": " << r.reason();
  }
  EXPECT_TRUE(of_kind(1, running));
  EXPECT_TRUE(of_kind(2, stopped)) << "runs ending by their duration resumed a long run's dummy";

  for (int i = 2; i < kRuns; i += 3) EXPECT_TRUE(ctl.Abort(runs[i])) << runs[i];
  EXPECT_TRUE(WaitFor([&] { return NoneStopped(dummies); }, seconds(120)));
  for (int i = 0; i < kRuns; i += 3) {
    EXPECT_EQ(ctl.WaitEnd(runs[i]).state(), chaos::v1::RUN_STATE_ABORTED) << runs[i];
  }
  for (int i = 2; i < kRuns; i += 3) {
    EXPECT_EQ(ctl.WaitEnd(runs[i]).state(), chaos::v1::RUN_STATE_ABORTED) << runs[i];
  }
  result_.figure = absl::StrCat("all 33 held dummies stopped ", Ms(all_paused),
                                " after the first submission; whole scenario ",
                                Ms(absl::Now() - start));
}

// Inject and revert a pause over and over through the agent's own API,
// then compare the agent's footprint with the one after a warm-up that
// filled its table of ended faults (--keep-ended 1000).
TEST_F(ReliabilityTest, TenThousandInjectRevertCyclesLeakNothing) {
  constexpr int kCycles = 10000;
  constexpr int kWarmUp = 1000;
  // Growth allowed after the warm-up: a few fds for gRPC's connections and
  // timers, and heap the allocator keeps in its arenas (see RELIABILITY.md).
  constexpr int kFdSlack = 4;
  constexpr long kRssSlackKb = 8 * 1024;
  result_ = {"10 000 inject/revert cycles",
             absl::StrCat("10 000 Inject + Revert of a pause through the agent's gRPC API, its "
                          "state directory on a tmpfs; "
                          "after a warm-up of ", kWarmUp, " cycles and at the end: open fds "
                          "(/proc/PID/fd, at most +", kFdSlack, "), child processes (none "
                          "more), files in the state directory (none more), RssAnon (at most +",
                          kRssSlackKb / 1024, " MiB), no tc qdisc of ours and no chaos_ nft "
                          "table in the agent's namespace, the dummy running"),
             "", "no growth after warm-up"};
  Testbed bed(1);
  // On disk each cycle waits for some six fsyncs (about 50 ms a cycle
  // here, 8 minutes in all); a tmpfs keeps the ledger's every write and
  // rename without the wait. Durability on disk is what the crash
  // scenarios check.
  bed.set_agent_state_dir(0, bed.MountTmpfs("state", 64 << 20) + "/state");
  bed.StartAgent(0, {"--keep-ended", "1000"});
  Dummy dummy(bed.dir(), "cycled");
  AgentClient agent(bed.agent(0).address());
  const pid_t pid = bed.agent(0).process().pid();
  ProcessFootprint warm;
  int warm_files = 0;
  int failures = 0;
  const absl::Time start = absl::Now();
  absl::Time warm_at;
  for (int i = 0; i < kCycles; ++i) {
    if (i == kWarmUp) {
      warm = FootprintOf(pid);
      warm_files = FilesUnder(bed.agent_state_dir(0));
      warm_at = absl::Now();
    }
    const std::string id = absl::StrCat("cycle-", i);
    if (!agent.InjectPause(id, "cycles", dummy.pidfile()).ok()) ++failures;
    if (i % 1000 == 0 && !WaitFor([&] { return dummy.stopped(); }, seconds(10))) ++failures;
    if (!agent.Revert(id).ok()) ++failures;
    if (i % 1000 == 0 && !WaitFor([&] { return !dummy.stopped(); }, seconds(10))) ++failures;
  }
  const absl::Duration took = absl::Now() - start;
  const ProcessFootprint end = FootprintOf(pid);
  const int end_files = FilesUnder(bed.agent_state_dir(0));
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(WaitFor([&] { return !dummy.stopped(); }, seconds(10)));
  EXPECT_LE(end.fds, warm.fds + kFdSlack);
  EXPECT_LE(end.children, warm.children);
  EXPECT_LE(end_files, warm_files);
  EXPECT_LE(end.rss_anon_kb, warm.rss_anon_kb + kRssSlackKb);
  const CommandResult tc = bed.InNamespace(0, {"/sbin/tc", "qdisc", "show"});
  EXPECT_FALSE(absl::StrContains(tc.output, "ca05:")) << tc.output;
  const CommandResult nft = bed.InNamespace(0, {"/usr/sbin/nft", "list", "tables"});
  EXPECT_FALSE(absl::StrContains(nft.output, "chaos_")) << nft.output;
  result_.figure = absl::StrCat(
      kCycles, " cycles in ", Ms(took), " (",
      absl::StrFormat("%.2f ms",
                      absl::ToDoubleMilliseconds(absl::Now() - warm_at) / (kCycles - kWarmUp)),
      " a cycle after warm-up); fds ", warm.fds, " -> ", end.fds, ", children ", warm.children,
      " -> ", end.children, ", state files ", warm_files, " -> ", end_files, ", RssAnon ",
      warm.rss_anon_kb, " -> ", end.rss_anon_kb, " kB");
}

}  // namespace
}  // namespace chaos::testing
