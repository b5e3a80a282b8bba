// The controller's command policy and request limits as real processes
// over real gRPC on 127.0.0.1: chaos-controller (with and without
// --command-policy), a chaos-agent registered with it, and chaosctl.
// A refused experiment leaves no run in the history and no fault on the
// agent (ListFaults with ended faults included); an allowed one runs to its
// end. Bad policy files stop the controller with one line; oversize
// requests are refused naming the limit.
#include <unistd.h>

#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "chaos/v1/controller.grpc.pb.h"
#include "controller/server/clock.h"
#include "controller/store/sqlite_history_store.h"
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "controller/server/scheduler.h"
#include "controller/server/service.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/credentials.h"
#include "rpc/status.h"
#include "tests/agent_client.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using ::testing::HasSubstr;
using chaos::testing::AgentProcess;
using chaos::testing::ChaosctlBinary;
using chaos::testing::CommandResult;
using chaos::testing::ControllerBinary;
using chaos::testing::ControllerProcess;
using chaos::testing::TempDir;

constexpr absl::Duration kCallTimeout = absl::Seconds(10);

// A fault step and, beside it (no `after`), whatever `extra` adds: were the
// commands not refused up front, the burn would be injected.
std::string Experiment(const std::string& extra) {
  return absl::StrCat(R"(name: policed
method:
  - {id: burn, duration: 1s, fault: {cpuBurn: {workers: 1, loadPercent: 10}}}
)",
                      extra);
}

class CommandPolicyE2E : public ::testing::Test {
 protected:
  // A controller with `flags` and one agent registered with it (with
  // `agent_flags` too).
  void Start(std::vector<std::string> flags, std::vector<std::string> agent_flags = {}) {
    flags.insert(flags.end(), {"--heartbeat-interval-ms", "200"});
    controller_ = std::make_unique<ControllerProcess>(dir_.path() + "/ctl", flags);
    stub_ = chaos::v1::Controller::NewStub(rpc::OpenChannel(controller_->address(), rpc::TransportOptions()));
    agent_flags.insert(agent_flags.end(), {"--controller", controller_->address()});
    agent_ = std::make_unique<AgentProcess>(dir_.path() + "/agent", agent_flags);
    agent_stub_ = chaos::testing::AgentStub(agent_->address());
    for (int i = 0; i < 1200 && LiveAgents() == 0; ++i) absl::SleepFor(absl::Milliseconds(25));
    ASSERT_EQ(LiveAgents(), 1) << agent_->log();
  }
  // Writes `text` (with DIR replaced by the test's directory) to a file.
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << Here(text);
    return path;
  }
  std::string Here(const std::string& s) { return absl::StrReplaceAll(s, {{"DIR", dir_.path()}}); }
  CommandResult Chaosctl(std::vector<std::string> args) {
    args.insert(args.begin(), ChaosctlBinary());
    args.insert(args.end(), {"--controller", controller_->address()});
    return chaos::testing::RunCommand(args, 120);
  }
  int LiveAgents() {
    chaos::v1::ListAgentsResponse resp;
    if (!stub_->ListAgents(rpc::ContextWithTimeout(kCallTimeout).get(), {}, &resp).ok()) return 0;
    int n = 0;
    for (const auto& a : resp.agents()) n += !a.lost();
    return n;
  }
  std::vector<chaos::v1::Run> Runs() {
    chaos::v1::ListRunsResponse resp;
    grpc::Status s = stub_->ListRuns(rpc::ContextWithTimeout(kCallTimeout).get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.runs().begin(), resp.runs().end()};
  }
  // Every fault the agent ever recorded, ended ones included.
  int FaultsEver() {
    chaos::v1::ListFaultsRequest req;
    req.set_include_ended(true);
    chaos::v1::ListFaultsResponse resp;
    grpc::Status s =
        agent_stub_->ListFaults(rpc::ContextWithTimeout(kCallTimeout).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.faults_size();
  }
  grpc::Status Submit(const std::string& yaml) {
    chaos::v1::SubmitRunRequest req;
    req.set_experiment_yaml(yaml);
    chaos::v1::Run run;
    return stub_->SubmitRun(rpc::ContextWithTimeout(kCallTimeout).get(), req, &run);
  }

  TempDir dir_;
  std::unique_ptr<ControllerProcess> controller_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<chaos::v1::Controller::Stub> stub_;
  std::unique_ptr<chaos::v1::Agent::Stub> agent_stub_;
};

// Without --command-policy no command runs through the controller: a
// command step, a command probe and a rollback action are each refused
// before anything is recorded or injected, and the refusal says how to
// allow it.
TEST_F(CommandPolicyE2E, WithoutAPolicyEveryCommandIsRefusedBeforeAnythingHappens) {
  Start({});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  - {id: check, command: {run: [\"true\"]}}\n", "command \"true\" (step \"check\")"},
      {"probes:\n  alive: {command: {run: [\"true\"]}}\nsteadyState: {before: [alive]}\n",
       "command \"true\" (probe \"alive\")"},
      {"rollbackActions:\n  - {run: [\"true\"]}\n", "command \"true\" (rollbackActions[0])"},
  };
  for (const auto& [extra, names] : cases) {
    const CommandResult r = Chaosctl({"run", Write("e.yaml", Experiment(extra))});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("refused (PERMISSION_DENIED): " + names +
                                    ": the controller runs no command from an experiment"));
    EXPECT_THAT(r.output, HasSubstr("start chaos-controller with --command-policy FILE"));
  }
  // A dry run is refused the same way.
  chaos::v1::SubmitRunRequest req;
  req.set_experiment_yaml(Experiment(cases[0].first));
  req.set_dry_run(true);
  chaos::v1::Run run;
  EXPECT_EQ(stub_->SubmitRun(rpc::ContextWithTimeout(kCallTimeout).get(), req, &run).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Runs().empty());
  EXPECT_EQ(FaultsEver(), 0);
  // The same experiment without commands runs: only commands are policed.
  const CommandResult ok = Chaosctl({"run", Write("plain.yaml", Experiment(""))});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(FaultsEver(), 1);
}

// With a policy, what it lists runs to the end (a command probe, a command
// step and a rollback action); an argument that does not match, a command
// not listed, and a symbolic link posing as an allowed command are refused
// naming the rule, with nothing recorded or injected.
TEST_F(CommandPolicyE2E, ThePolicyAllowsExactlyWhatItListsAndNamesTheRuleThatRefuses) {
  Start({"--command-policy", Write("policy.yaml", R"(commands:
  - path: /bin/true
  - path: /usr/bin/touch
    args: ["DIR/[a-z-]+"]
)")});
  const std::string allowed = Experiment(R"(  - {id: mark, command: {run: [touch, DIR/step-ran]}}
probes:
  alive: {command: {run: ["true"]}, interval: 100ms}
steadyState: {before: [alive], after: [alive]}
rollbackActions:
  - {run: [touch, DIR/rolled-back]}
)");
  CommandResult r = Chaosctl({"run", Write("allowed.yaml", allowed)});
  ASSERT_EQ(r.exit_code, 0) << r.output << controller_->log();
  EXPECT_EQ(access((dir_.path() + "/step-ran").c_str(), F_OK), 0);
  EXPECT_EQ(access((dir_.path() + "/rolled-back").c_str(), F_OK), 0);
  ASSERT_EQ(Runs().size(), 1u);
  EXPECT_EQ(Runs()[0].state(), chaos::v1::RUN_STATE_PASSED);
  EXPECT_EQ(FaultsEver(), 1);

  // An argument the rule's pattern does not match in full.
  r = Chaosctl({"run", Write("arg.yaml", Experiment(
                                             "  - {id: mark, command: {run: [touch, "
                                             "DIR/Bad_Name]}}\n"))});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(Here("(step \"mark\", resolved to ")));
  EXPECT_THAT(r.output, HasSubstr(Here("argument 1 \"DIR/Bad_Name\" does not match "
                                       "/DIR/[a-z-]+/ of rule \"/usr/bin/touch\"")));
  // A command the policy does not list, in a rollback action.
  r = Chaosctl(
      {"run", Write("sh.yaml", Experiment("rollbackActions:\n  - {run: [sh, -c, id]}\n"))});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("command \"sh\" (rollbackActions[0], resolved to "));
  EXPECT_THAT(r.output,
              HasSubstr("): not in the controller's command policy (--command-policy FILE)"));
  // A link named like an allowed command, leading to a shell.
  ASSERT_EQ(symlink("/bin/sh", (dir_.path() + "/true").c_str()), 0);
  r = Chaosctl({"run", Write("link.yaml", Experiment("  - {id: esc, command: {run: [DIR/true, -c, "
                                                     "\"touch DIR/escaped\"]}}\n"))});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(Here("command \"DIR/true\" (step \"esc\", resolved to ")));
  EXPECT_NE(access((dir_.path() + "/escaped").c_str(), F_OK), 0);

  EXPECT_EQ(Runs().size(), 1u) << "a refused run was recorded";
  EXPECT_EQ(FaultsEver(), 1) << "a refused run injected";
}

// A command with a target runs on the agents, under their policy: the
// controller's (none here) does not apply to it, and the agent's refusal
// names its rule.
TEST_F(CommandPolicyE2E, CommandsWithATargetRunOnTheAgentsUnderTheirPolicy) {
  Start({}, {"--policy", Write("agent-policy.yaml", R"(commands:
  - path: /usr/bin/touch
    args: ["DIR/on-agent-[a-z]+"]
)")});
  const std::string remote = R"(name: remote
targets: {hosts: {}}
method:
  - {id: mark, target: hosts, command: {run: [/usr/bin/touch, DIR/on-agent-step]}}
rollbackActions:
  - {run: [/usr/bin/touch, DIR/on-agent-rollback], target: hosts}
)";
  CommandResult r = Chaosctl({"run", Write("remote.yaml", remote)});
  ASSERT_EQ(r.exit_code, 0) << r.output << controller_->log() << agent_->log();
  EXPECT_EQ(access((dir_.path() + "/on-agent-step").c_str(), F_OK), 0);
  EXPECT_EQ(access((dir_.path() + "/on-agent-rollback").c_str(), F_OK), 0);
  EXPECT_THAT(agent_->log(), HasSubstr("audit action=command-end command="));

  r = Chaosctl({"run", Write("refused.yaml", R"(name: refused
targets: {hosts: {}}
method:
  - {id: mark, target: hosts, command: {run: [/usr/bin/touch, DIR/elsewhere]}}
)")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED: policy commands: command "
                                  "\"/usr/bin/touch\": argument 1"));
  EXPECT_NE(access((dir_.path() + "/elsewhere").c_str(), F_OK), 0);
}

// A schedule is checked when it is created, not only when it fires.
TEST_F(CommandPolicyE2E, AScheduleWithACommandThePolicyRefusesIsNotCreated) {
  Start({"--command-policy", Write("policy.yaml", "commands:\n  - path: /bin/true\n")});
  const std::string refused =
      Write("refused.yaml", Experiment("  - {id: mark, command: {run: [touch, DIR/x]}}\n"));
  CommandResult r = Chaosctl({"schedule", "add", "nightly", refused, "--cron", "0 3 * * *"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("refused (PERMISSION_DENIED): command \"touch\" (step \"mark\""));
  chaos::v1::ListSchedulesResponse list;
  ASSERT_TRUE(stub_->ListSchedules(rpc::ContextWithTimeout(kCallTimeout).get(), {}, &list).ok());
  EXPECT_EQ(list.schedules_size(), 0);
  const std::string allowed =
      Write("allowed.yaml", Experiment("  - {id: ok, command: {run: [\"true\"]}}\n"));
  r = Chaosctl({"schedule", "add", "nightly", allowed, "--cron", "0 3 * * *"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// A firing is checked against the policy of the controller that fires it:
// a schedule made under a policy that allowed its command fails to start,
// with nothing recorded but the refusal, under one that does not.
TEST(CommandPolicyScheduleTest, AFiringIsCheckedAgainstThePolicyOfTheDay) {
  TempDir dir;
  const std::string policy_file = dir.path() + "/policy.yaml";
  std::ofstream(policy_file) << "commands:\n  - path: /bin/true\n";
  absl::StatusOr<CommandPolicy> allow_true = CommandPolicy::Load(policy_file);
  ASSERT_TRUE(allow_true.ok()) << allow_true.status();
  auto history = SqliteHistoryStore::Open(dir.path() + "/history.db");
  ASSERT_TRUE(history.ok()) << history.status();
  FakeClock clock(absl::FromUnixSeconds(1767607230));  // 10:00:30Z
  AgentRegistry registry(&clock, absl::Hours(1));
  chaos::v1::Schedule s;
  s.set_name("every-minute");
  s.set_cron("* * * * *");
  s.set_experiment_yaml(Experiment("  - {id: ok, command: {run: [\"true\"]}}\n"));
  {
    RunManagerOptions then;
    then.command_policy = *allow_true;
    RunManager runs(history->get(), &registry, then);
    ManagerLauncher launcher(&runs);
    Scheduler scheduler(history->get(), &launcher, &clock);
    ASSERT_TRUE(scheduler.Create(s).ok());
  }
  RunManager runs(history->get(), &registry, {});  // restarted without --command-policy
  ManagerLauncher launcher(&runs);
  Scheduler scheduler(history->get(), &launcher, &clock);
  clock.Advance(absl::Seconds(31));  // 10:01:01
  scheduler.Tick();
  auto list = scheduler.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_GE(list->front().recent_events_size(), 1);
  const chaos::v1::ScheduleEvent& e = list->front().recent_events(0);
  EXPECT_EQ(e.kind(), "failed");
  EXPECT_THAT(e.message(), HasSubstr("PERMISSION_DENIED: command \"true\" (step \"ok\")"));
  auto recorded = runs.List({});
  ASSERT_TRUE(recorded.ok());
  EXPECT_TRUE(recorded->empty());
}

// A bad policy file stops the controller at start-up: exit 2 and one line
// naming the file, the position and the field.
TEST(CommandPolicyStartupTest, ABadPolicyFileStopsTheControllerWithOneLine) {
  TempDir dir;
  const std::string file = dir.path() + "/policy.yaml";
  auto start = [&](const std::string& text) {
    std::ofstream(file, std::ios::trunc) << text;
    return chaos::testing::RunCommand({ControllerBinary(), "--listen", "127.0.0.1:0",
                                       "--state-dir", dir.path() + "/ctl", "--command-policy",
                                       file});
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"commands:\n  - path: /bin/true\n    argz: [x]\n",
       ":3:5: commands[0].argz: unknown field (known: path, args, moreArgs)"},
      {"commands:\n  - path: bin/true\n", ":2:11: commands[0].path: \"bin/true\" is not an "
                                          "absolute path"},
      {"commands:\n  - path: /no/such/tool\n",
       ":2:11: commands[0].path: /no/such/tool: No such file or directory"},
      {"commands:\n  - path: /bin/true\n    args: [\"a(\"]\n",
       ":3:12: commands[0].args[0]: bad pattern \"a(\": missing ): a("},
      {std::string(1 << 20, '#') + "\n", ": 1048577 bytes, more than the limit of 1048576 bytes"},
  };
  for (const auto& [text, error] : cases) {
    const CommandResult r = start(text);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(r.output, "chaos-controller: --command-policy: " + file + error + "\n");
  }
  const CommandResult missing = chaos::testing::RunCommand(
      {ControllerBinary(), "--listen", "127.0.0.1:0", "--state-dir", dir.path() + "/ctl",
       "--command-policy", dir.path() + "/none.yaml"});
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_EQ(missing.output, "chaos-controller: --command-policy: " + dir.path() +
                                "/none.yaml: No such file or directory\n");
}

// Request limits: oversize text is refused naming the field and the limit,
// before it is parsed or recorded; a message over gRPC's limit never
// reaches a handler.
TEST_F(CommandPolicyE2E, OversizeRequestsAreRefusedNamingTheLimit) {
  Start({});
  std::string big = Experiment("");
  big.append(size_t{1} << 20, '#');
  grpc::Status s = Submit(big);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), absl::StrCat("experiment_yaml: ", big.size(),
                                            " bytes, more than the limit of 1048576 bytes"));
  chaos::v1::CreateScheduleRequest sched;
  sched.mutable_schedule()->set_name("big");
  sched.mutable_schedule()->set_cron("0 3 * * *");
  sched.mutable_schedule()->set_experiment_yaml(big);
  chaos::v1::Schedule created;
  s = stub_->CreateSchedule(rpc::ContextWithTimeout(kCallTimeout).get(), sched, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("experiment_yaml: "));
  EXPECT_THAT(s.error_message(), HasSubstr("more than the limit of 1048576 bytes"));

  chaos::v1::SubmitRunRequest req;
  req.set_experiment_yaml(Experiment(""));
  for (int i = 0; i < 257; ++i) (*req.mutable_variables())[absl::StrCat("V", i)] = "x";
  chaos::v1::Run run;
  s = stub_->SubmitRun(rpc::ContextWithTimeout(kCallTimeout).get(), req, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "variables: 257 entries, more than the limit of 256");
  req.clear_variables();
  (*req.mutable_variables())["LOAD"] = std::string(5000, '1');
  s = stub_->SubmitRun(rpc::ContextWithTimeout(kCallTimeout).get(), req, &run);
  EXPECT_EQ(s.error_message(),
            "variables[\"LOAD\"]: 5000 bytes, more than the limit of 4096 bytes");

  chaos::v1::AbortRunRequest abort;
  abort.set_run_id("x");
  abort.set_reason(std::string(5000, 'r'));
  s = stub_->AbortRun(rpc::ContextWithTimeout(kCallTimeout).get(), abort, &run);
  EXPECT_EQ(s.error_message(), "reason: 5000 bytes, more than the limit of 4096 bytes");

  chaos::v1::RegisterAgentRequest reg;
  reg.set_address("127.0.0.1:9");
  for (int i = 0; i < 65; ++i) (*reg.mutable_labels())[absl::StrCat("k", i)] = "v";
  chaos::v1::RegisterAgentResponse reg_resp;
  s = stub_->RegisterAgent(rpc::ContextWithTimeout(kCallTimeout).get(), reg, &reg_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "labels: 65 entries, more than the limit of 64");

  // Beyond the controller's 4 MiB message limit gRPC refuses by itself.
  s = Submit(std::string(5 << 20, '#'));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_TRUE(Runs().empty());
  EXPECT_EQ(FaultsEver(), 0);

  // chaosctl refuses a file over the same limit before sending it.
  const std::string file = dir_.path() + "/big.yaml";
  std::ofstream(file) << big;
  const CommandResult r = Chaosctl({"run", file});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(file + ": " + std::to_string(big.size()) +
                                  " bytes, more than the limit of 1048576 bytes"));
}

}  // namespace
}  // namespace chaos::controller
