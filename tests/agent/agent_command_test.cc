// Commands on the target host, driven for real: chaos-agent processes with
// a policy file, their RunCommand RPC, and chaosctl runs whose command
// steps, probes and rollback actions name a target group. Whether a
// command ran, and whether a killed one is gone, is checked from outside:
// files it would have made, and its pid.
#include <signal.h>
#include <unistd.h>

#include <dirent.h>

#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/agent_client.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The policy of these tests' agents: what each test may run. DIR is the
// test's directory.
constexpr char kPolicy[] = R"(maxDuration: 10m
commands:
  - path: /usr/bin/touch
    args: ["DIR/allowed-[a-z-]+"]
  - path: /bin/echo
    moreArgs: "[a-z-]+"
  - path: /bin/sh
    args: ["-c", 'pwd; echo "\$GREETING"']
  - path: /bin/sh
    args: ["-c", "exit 3"]
  - path: /bin/sh
    args: ["-c", 'echo \$\$ > DIR/pid-[a-z]+; exec sleep 300']
  - path: /bin/sh
    args: ["-c", 'echo \$PPID >> DIR/ran']
  - path: /bin/sh
    args: ["-c", 'sleep 300 & echo \$! > DIR/pid-[a-z]+; wait']
commandEnv: [GREETING]
)";

// Whether `pid` runs; a zombie (killed, not yet reaped) does not.
bool Running(pid_t pid) {
  const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');
  return !stat.empty() && paren != std::string::npos && stat.substr(paren + 2, 1) != "Z";
}

bool GoneWithin(pid_t pid, absl::Duration limit) {
  return WaitFor([pid] { return !Running(pid); }, limit);
}

// The pid a command wrote to `file`, once it has: 0 after 10 s without.
pid_t AwaitPid(const std::string& file) {
  pid_t pid = 0;
  WaitFor([&] { return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(file)), &pid); },
          absl::Seconds(10));
  return pid;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

class AgentCommandTest : public ::testing::Test {
 protected:
  std::string Here(const std::string& s) const {
    return absl::StrReplaceAll(s, {{"DIR", dir_.path()}});
  }
  // An agent with kPolicy (or `policy`), its state in a directory of its own.
  std::unique_ptr<AgentProcess> StartAgent(const std::string& policy = kPolicy) {
    const std::string name = absl::StrCat(dir_.path(), "/agent", agents_++);
    const std::string file = name + ".policy.yaml";
    std::ofstream(file) << Here(policy);
    return std::make_unique<AgentProcess>(name, std::vector<std::string>{"--policy", file});
  }
  chaos::v1::RunCommandRequest Request(const std::string& id, std::vector<std::string> argv,
                                       const std::string& experiment = "exp") const {
    chaos::v1::RunCommandRequest req;
    for (const std::string& a : argv) req.add_argv(Here(a));
    req.set_command_id(id);
    req.set_experiment_id(experiment);
    req.set_caller("agent_command_test");
    req.mutable_timeout()->set_seconds(60);
    return req;
  }
  // The sleeper of kPolicy, writing its pid to DIR/pid-<name>.
  chaos::v1::RunCommandRequest Sleeper(const std::string& name,
                                       const std::string& experiment = "exp") const {
    return Request(name, {"/bin/sh", "-c", "echo $$ > DIR/pid-" + name + "; exec sleep 300"},
                   experiment);
  }
  std::string PidFile(const std::string& name) const { return dir_.path() + "/pid-" + name; }

  TempDir dir_;
  int agents_ = 0;
};

// A RunCommand call on a thread of its own, for commands that block.
class AsyncCall {
 public:
  AsyncCall(chaos::v1::Agent::Stub* stub, chaos::v1::RunCommandRequest req)
      : thread_([this, stub, req = std::move(req)] {
          status_ = stub->RunCommand(&ctx_, req, &resp_);
        }) {}
  ~AsyncCall() {
    if (thread_.joinable()) {
      ctx_.TryCancel();
      thread_.join();
    }
  }
  void Cancel() { ctx_.TryCancel(); }
  // Waits for the answer.
  const grpc::Status& status() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  const chaos::v1::RunCommandResponse& response() {
    status();
    return resp_;
  }

 private:
  grpc::ClientContext ctx_;
  chaos::v1::RunCommandResponse resp_;
  grpc::Status status_;
  std::thread thread_;
};

TEST_F(AgentCommandTest, ACommandThePolicyDoesNotAllowIsRefusedNamingTheRuleAndNothingRuns) {
  auto agent = StartAgent();
  auto stub = AgentStub(agent->address());
  grpc::ClientContext ctx;
  chaos::v1::RunCommandResponse resp;
  grpc::Status s = stub->RunCommand(&ctx, Request("c1", {"/usr/bin/touch", "DIR/marker"}), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            Here("policy commands: command \"/usr/bin/touch\": argument 1 \"DIR/marker\" does "
                 "not match /DIR/allowed-[a-z-]+/ of rule \"/usr/bin/touch\""));
  EXPECT_FALSE(Exists(dir_.path() + "/marker")) << "a refused command ran";
  EXPECT_THAT(agent->log(), HasSubstr("audit action=command-refuse command=c1 experiment=exp"));

  // An executable no rule names, under a shell's name.
  grpc::ClientContext ctx2;
  s = stub->RunCommand(&ctx2, Request("c2", {"sh", "-c", "touch DIR/marker"}), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), StartsWith("policy commands: command \"sh\" (resolved to "));
  EXPECT_FALSE(Exists(dir_.path() + "/marker"));

  // An agent whose policy lists no command runs none, and says how to allow one.
  auto plain = StartAgent("maxDuration: 10m\n");
  grpc::ClientContext ctx3;
  s = AgentStub(plain->address())
          ->RunCommand(&ctx3, Request("c3", {"/usr/bin/touch", "DIR/allowed-x"}), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), StartsWith("policy commands: this agent runs no command"));
  EXPECT_THAT(s.error_message(), HasSubstr("under commands: in the agent's --policy file"));
  EXPECT_FALSE(Exists(dir_.path() + "/allowed-x"));
}

TEST_F(AgentCommandTest, AnAllowedCommandRunsOnTheAgentAndItsOutputComesBack) {
  auto agent = StartAgent();
  auto stub = AgentStub(agent->address());
  {
    grpc::ClientContext ctx;
    chaos::v1::RunCommandResponse resp;
    grpc::Status s =
        stub->RunCommand(&ctx, Request("touch", {"/usr/bin/touch", "DIR/allowed-file"}), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.exit_code(), 0);
    EXPECT_TRUE(Exists(dir_.path() + "/allowed-file"));
  }
  {
    chaos::v1::RunCommandRequest req =
        Request("greet", {"/bin/sh", "-c", "pwd; echo \"$GREETING\""});
    (*req.mutable_env())["GREETING"] = "hello from the agent";
    req.set_working_dir(dir_.path());
    grpc::ClientContext ctx;
    chaos::v1::RunCommandResponse resp;
    grpc::Status s = stub->RunCommand(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.exit_code(), 0);
    EXPECT_EQ(resp.output(), dir_.path() + "\nhello from the agent\n");
    EXPECT_FALSE(resp.output_truncated());
    EXPECT_FALSE(resp.timed_out());
    EXPECT_FALSE(resp.cancelled());
    EXPECT_GT(resp.duration().nanos() + resp.duration().seconds(), 0);
  }
  {
    // A failing command is an answer, not an RPC error.
    grpc::ClientContext ctx;
    chaos::v1::RunCommandResponse resp;
    ASSERT_TRUE(stub->RunCommand(&ctx, Request("three", {"/bin/sh", "-c", "exit 3"}), &resp).ok());
    EXPECT_EQ(resp.exit_code(), 3);
  }
  {
    // A variable the policy does not list.
    chaos::v1::RunCommandRequest req = Request("preload", {"/bin/echo", "x"});
    (*req.mutable_env())["LD_PRELOAD"] = dir_.path() + "/evil.so";
    grpc::ClientContext ctx;
    chaos::v1::RunCommandResponse resp;
    grpc::Status s = stub->RunCommand(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(s.error_message(),
              "policy commandEnv: variable LD_PRELOAD may not be set (allowed: GREETING)");
  }
  const std::string log = agent->log();
  EXPECT_THAT(log, HasSubstr("audit action=command-start command=greet experiment=exp"));
  EXPECT_THAT(log, HasSubstr("audit action=command-end command=greet experiment=exp"));
  EXPECT_THAT(log, HasSubstr("result=\"exit 3 after"));
}

TEST_F(AgentCommandTest, BadRequestsAreInvalidArgumentNamingTheField) {
  auto agent = StartAgent();
  auto stub = AgentStub(agent->address());
  auto call = [&](const chaos::v1::RunCommandRequest& req) {
    grpc::ClientContext ctx;
    chaos::v1::RunCommandResponse resp;
    grpc::Status s = stub->RunCommand(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    return s.error_message();
  };
  chaos::v1::RunCommandRequest req = Request("bad", {"/usr/bin/touch", "DIR/allowed-bad"});
  req.set_working_dir("relative/dir");
  EXPECT_EQ(call(req), "working_dir: \"relative/dir\" is not an absolute path");
  EXPECT_THAT(call(Request("bad", {})), StartsWith("argv: required"));
  req = Request("bad", {"/usr/bin/touch", "DIR/allowed-bad"});
  req.mutable_timeout()->set_seconds(3600);
  EXPECT_EQ(call(req), "timeout: 1h exceeds the agent policy's maxDuration of 10m");
  req.clear_timeout();
  EXPECT_EQ(call(req), "timeout: required and must be > 0");
  req = Request("", {"/usr/bin/touch", "DIR/allowed-bad"});
  EXPECT_EQ(call(req), "command_id: required");
  req = Request("bad", {"/usr/bin/touch", std::string("DIR/allowed-bad\0x", 17)});
  EXPECT_EQ(call(req), "argv[1]: contains a NUL byte");
  EXPECT_FALSE(Exists(dir_.path() + "/allowed-bad")) << "a bad request ran its command";
}

TEST_F(AgentCommandTest, HaltKillsARunningCommandAndRefusesNewOnesUntilResume) {
  auto agent = StartAgent();
  auto stub = AgentStub(agent->address());
  AsyncCall sleeper(stub.get(), Sleeper("halt"));
  const pid_t pid = AwaitPid(PidFile("halt"));
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(Running(pid));
  const CommandResult halt = RunCommand(
      {ChaosctlBinary(), "halt", "--agent", agent->address(), "--reason", "drill over"});
  ASSERT_EQ(halt.exit_code, 0) << halt.output;
  EXPECT_THAT(halt.output, HasSubstr("  command halt killed\n"));
  EXPECT_TRUE(GoneWithin(pid, absl::Seconds(5))) << "halt left the command running";
  ASSERT_TRUE(sleeper.status().ok()) << sleeper.status().error_message();
  EXPECT_TRUE(sleeper.response().cancelled());
  EXPECT_THAT(sleeper.response().stop_reason(), HasSubstr("halt by "));
  EXPECT_THAT(sleeper.response().stop_reason(), HasSubstr("drill over"));

  grpc::ClientContext ctx;
  chaos::v1::RunCommandResponse resp;
  const chaos::v1::RunCommandRequest later =
      Request("later", {"/usr/bin/touch", "DIR/allowed-later"});
  grpc::Status s = stub->RunCommand(&ctx, later, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("agent is halted"));
  EXPECT_FALSE(Exists(dir_.path() + "/allowed-later"));
  {
    grpc::ClientContext rctx;
    chaos::v1::ResumeResponse rresp;
    ASSERT_TRUE(stub->Resume(&rctx, {}, &rresp).ok());
  }
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub->RunCommand(&ctx2, later, &resp).ok());
  EXPECT_TRUE(Exists(dir_.path() + "/allowed-later"));
}

// RevertExperiment ends what a run left on the agent: its faults and its
// commands, and no other run's.
TEST_F(AgentCommandTest, RevertExperimentKillsThatRunsCommandsAndNoOthers) {
  auto agent = StartAgent();
  auto stub = AgentStub(agent->address());
  AsyncCall mine(stub.get(), Sleeper("mine", "run-a"));
  AsyncCall theirs(stub.get(), Sleeper("theirs", "run-b"));
  const pid_t mine_pid = AwaitPid(PidFile("mine"));
  const pid_t their_pid = AwaitPid(PidFile("theirs"));
  ASSERT_GT(mine_pid, 0);
  ASSERT_GT(their_pid, 0);
  {
    // The commands hold their run's lease: KeepAlive finds it.
    grpc::ClientContext ctx;
    chaos::v1::KeepAliveRequest req;
    req.set_experiment_id("run-a");
    chaos::v1::KeepAliveResponse resp;
    ASSERT_TRUE(stub->KeepAlive(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.running_commands(), 1u);
    EXPECT_EQ(resp.active_faults(), 0u);
  }
  {
    grpc::ClientContext ctx;
    chaos::v1::RevertExperimentRequest req;
    req.set_experiment_id("run-a");
    chaos::v1::RevertExperimentResponse resp;
    ASSERT_TRUE(stub->RevertExperiment(&ctx, req, &resp).ok());
    EXPECT_THAT(resp.stopped_commands(), ::testing::ElementsAre("mine"));
  }
  EXPECT_TRUE(GoneWithin(mine_pid, absl::Seconds(5)));
  EXPECT_TRUE(mine.response().cancelled());
  EXPECT_THAT(mine.response().stop_reason(), StartsWith("experiment reverted by "));
  EXPECT_TRUE(Running(their_pid)) << "another run's command was killed";
  theirs.Cancel();
  EXPECT_TRUE(GoneWithin(their_pid, absl::Seconds(5))) << "a cancelled call left its command";
  EXPECT_EQ(theirs.status().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(agent->log(), "command=theirs experiment=run-b"
                                                                   " caller="); },
                      absl::Seconds(5)));
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(agent->log(), "the call was cancelled"); },
                      absl::Seconds(5)))
      << agent->log();
}

// A command holds its run's lease like a fault: renewed it lives, lapsed
// the agent kills it on its own.
TEST_F(AgentCommandTest, ALapsedLeaseKillsTheCommand) {
  auto agent = StartAgent();
  auto stub = AgentStub(agent->address());
  chaos::v1::RunCommandRequest req = Sleeper("lease", "run-l");
  req.mutable_lease()->set_seconds(1);
  AsyncCall call(stub.get(), req);
  const pid_t pid = AwaitPid(PidFile("lease"));
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 8; ++i) {  // 2.4 s of renewals, over twice the lease
    grpc::ClientContext ctx;
    chaos::v1::KeepAliveRequest ka;
    ka.set_experiment_id("run-l");
    chaos::v1::KeepAliveResponse resp;
    ASSERT_TRUE(stub->KeepAlive(&ctx, ka, &resp).ok());
    absl::SleepFor(absl::Milliseconds(300));
  }
  EXPECT_TRUE(Running(pid)) << "a renewed lease lapsed";
  EXPECT_TRUE(GoneWithin(pid, absl::Seconds(5))) << "a lapsed lease left the command running";
  ASSERT_TRUE(call.status().ok()) << call.status().error_message();
  EXPECT_TRUE(call.response().cancelled());
  EXPECT_EQ(call.response().stop_reason(), "lease expired: no keep-alive for experiment run-l");
}

TEST_F(AgentCommandTest, StoppingTheAgentKillsItsCommands) {
  auto agent = StartAgent();
  auto stub = AgentStub(agent->address());
  AsyncCall call(stub.get(), Sleeper("stop"));
  const pid_t pid = AwaitPid(PidFile("stop"));
  ASSERT_GT(pid, 0);
  agent->process().Signal(SIGTERM);
  EXPECT_EQ(agent->process().Wait(), 0) << agent->log();
  EXPECT_FALSE(Running(pid)) << "the agent stopped and left its command running";
}

// An agent killed outright takes its command's first process with it, but
// not what that process started in the background; the command's journal
// record lets the next start of the agent kill that too.
TEST_F(AgentCommandTest, WhatACommandLeftBehindAnAgentKilledOutrightIsKilledAtItsNextStart) {
  const std::string state = dir_.path() + "/state";
  const std::string policy = dir_.path() + "/policy.yaml";
  std::ofstream(policy) << Here(kPolicy);
  auto agent = std::make_unique<AgentProcess>(state, std::vector<std::string>{"--policy", policy});
  auto stub = AgentStub(agent->address());
  AsyncCall call(stub.get(), Request("bg", {"/bin/sh", "-c",
                                            "sleep 300 & echo $! > DIR/pid-bg; wait"}));
  const pid_t sleeper = AwaitPid(PidFile("bg"));
  ASSERT_GT(sleeper, 0);
  agent->process().Signal(SIGKILL);
  agent->process().Wait();
  EXPECT_FALSE(call.status().ok());
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_TRUE(Running(sleeper)) << "the background process died with the agent: nothing to test";

  auto restarted =
      std::make_unique<AgentProcess>(state, std::vector<std::string>{"--policy", policy});
  EXPECT_TRUE(GoneWithin(sleeper, absl::Seconds(5))) << restarted->log();
  EXPECT_THAT(restarted->log(), HasSubstr("audit action=command-recover command=bg experiment=exp"));
  EXPECT_THAT(restarted->log(),
              HasSubstr("recovery: killed 1 process(es) left by commands of an earlier run"));
}

// chaosctl runs: commands with a target run on the agents, through RunCommand.

struct RunResult {
  CommandResult command;
  nlohmann::json report;
};

// Runs chaosctl on `yaml` (DIR replaced) against `agents`, the JSON report
// written to DIR/out-<name>.
class ChaosctlRunTest : public AgentCommandTest {
 protected:
  std::vector<std::string> Argv(const std::string& name, const std::string& yaml,
                                const std::vector<const AgentProcess*>& agents) {
    const std::string file = absl::StrCat(dir_.path(), "/", name, ".yaml");
    std::ofstream(file) << Here(yaml);
    std::vector<std::string> argv = {ChaosctlBinary(), "run", file, "--output", Out(name)};
    for (const AgentProcess* a : agents) {
      argv.push_back("--agent");
      argv.push_back(a->address());
    }
    return argv;
  }
  std::string Out(const std::string& name) const {
    return absl::StrCat(dir_.path(), "/out-", name);
  }
  nlohmann::json Report(const std::string& name) const {
    DIR* d = opendir(Out(name).c_str());
    nlohmann::json report;
    while (d != nullptr) {
      dirent* e = readdir(d);
      if (e == nullptr) break;
      if (absl::EndsWith(e->d_name, ".json")) {
        report = nlohmann::json::parse(ReadFileOrEmpty(Out(name) + "/" + e->d_name), nullptr,
                                       /*allow_exceptions=*/false);
      }
    }
    if (d != nullptr) closedir(d);
    return report;
  }
  RunResult RunExperiment(const std::string& name, const std::string& yaml,
                    const std::vector<const AgentProcess*>& agents) {
    RunResult r;
    r.command = RunCommand(Argv(name, yaml, agents), 120);
    r.report = Report(name);
    return r;
  }
};

// The events of `report` of `type`, as "AGENT: MESSAGE".
std::vector<std::string> Events(const nlohmann::json& report, const std::string& type) {
  std::vector<std::string> out;
  if (!report.contains("events")) return out;
  for (const auto& e : report["events"]) {
    if (e.value("type", "") == type) {
      out.push_back(e.value("agent", "") + ": " + e.value("message", ""));
    }
  }
  return out;
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& l : lines) {
    if (absl::StrContains(l, text)) return true;
  }
  return false;
}

TEST_F(ChaosctlRunTest, TargetedStepsProbesAndRollbackActionsRunOnEveryAgentOfTheGroup) {
  auto a1 = StartAgent();
  auto a2 = StartAgent();
  const RunResult r = RunExperiment("remote", R"(name: remote commands
targets:
  hosts: {}
probes:
  said-hello:
    command: {run: [/bin/echo, hello], target: hosts, output: "^hello"}
steadyState: {before: [said-hello], after: [said-hello]}
method:
  - {id: mark, target: hosts, command: {run: [/bin/sh, -c, "echo $PPID >> DIR/ran"]}}
  - {id: greet, target: hosts, after: [mark], command: {run: [/bin/echo, hello-from-the-agent]}}
rollbackActions:
  - {run: [/usr/bin/touch, DIR/allowed-by-rollback], target: hosts}
)", {a1.get(), a2.get()});
  EXPECT_EQ(r.command.exit_code, 0) << r.command.output;
  EXPECT_EQ(r.report.value("outcome", ""), "passed") << r.command.output;
  // The step ran once on each agent: each wrote its agent's pid.
  const std::vector<std::string> ran = NonEmptyLines(ReadFileOrEmpty(dir_.path() + "/ran"));
  EXPECT_EQ(std::set<std::string>(ran.begin(), ran.end()),
            (std::set<std::string>{std::to_string(a1->process().pid()),
                                   std::to_string(a2->process().pid())}));
  EXPECT_TRUE(Exists(dir_.path() + "/allowed-by-rollback"));
  // Each agent's outcome is journaled under its address, output included.
  const std::vector<std::string> commands = Events(r.report, "command");
  for (const AgentProcess* a : {a1.get(), a2.get()}) {
    EXPECT_TRUE(AnyContains(commands, a->address() + ": exit 0 after"));
    EXPECT_TRUE(AnyContains(commands, a->address() + ": /bin/echo hello-from-the-agent"));
  }
  EXPECT_TRUE(AnyContains(commands, ": hello-from-the-agent")) << r.command.output;
  EXPECT_TRUE(AnyContains(Events(r.report, "rollback"), a2->address() + ": action done: exit 0"));
  EXPECT_TRUE(AnyContains(Events(r.report, "probe"),
                          "steady-state-before: said-hello holds: exit 0 on 2 agent(s)"))
      << r.command.output;
}

TEST_F(ChaosctlRunTest, AStepTheAgentRefusesFailsTheRunNamingTheAgentAndTheRule) {
  auto agent = StartAgent();
  const RunResult r = RunExperiment("refused", R"(name: refused
targets: {hosts: {}}
method:
  - {id: touch, target: hosts, command: {run: [/usr/bin/touch, DIR/marker]}}
)", {agent.get()});
  EXPECT_EQ(r.command.exit_code, 1) << r.command.output;
  const std::string reason = r.report.value("reason", "");
  EXPECT_THAT(reason, HasSubstr("step touch: command failed on " + agent->address() +
                                ": PERMISSION_DENIED: policy commands: command "
                                "\"/usr/bin/touch\": argument 1"));
  EXPECT_THAT(reason, HasSubstr("of rule \"/usr/bin/touch\""));
  EXPECT_FALSE(Exists(dir_.path() + "/marker"));
}

// Ctrl-C on chaosctl while a command runs on the agent: the run cancels
// the call, and the agent kills the command.
TEST_F(ChaosctlRunTest, CtrlCKillsTheCommandOnTheAgentAndTheRunSaysInterrupted) {
  auto agent = StartAgent();
  const std::vector<std::string> argv = Argv("sigint", R"(name: long remote command
targets: {hosts: {}}
method:
  - id: sleep
    target: hosts
    command: {run: [/bin/sh, -c, "echo $$ > DIR/pid-ctrlc; exec sleep 300"], timeout: 10m}
)", {agent.get()});
  Subprocess chaosctl(argv, dir_.path() + "/chaosctl.log");
  const pid_t pid = AwaitPid(PidFile("ctrlc"));
  ASSERT_GT(pid, 0) << ReadFileOrEmpty(dir_.path() + "/chaosctl.log") << agent->log();
  ASSERT_TRUE(Running(pid));
  chaosctl.Signal(SIGINT);
  EXPECT_EQ(chaosctl.Wait(), 130) << ReadFileOrEmpty(dir_.path() + "/chaosctl.log");
  EXPECT_TRUE(GoneWithin(pid, absl::Seconds(5))) << "the command outlived the interrupted run";
  const nlohmann::json report = Report("sigint");
  EXPECT_EQ(report.value("outcome", ""), "interrupted");
  EXPECT_EQ(report.value("reason", ""), "interrupted by the operator (SIGINT)");
  EXPECT_TRUE(AnyContains(Events(report, "command"),
                          agent->address() + ": cancelled: the run is stopping"));
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(agent->log(), "the call was cancelled"); },
                      absl::Seconds(5)))
      << agent->log();
}

}  // namespace
}  // namespace chaos::testing
