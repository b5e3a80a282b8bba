// Policy: parsing with positions, and each rule refusing with its name.
#include "agent/policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::agent {
namespace {

chaos::v1::FaultSpec Spec() {
  chaos::v1::FaultSpec spec;
  spec.set_fault_id("f");
  spec.set_experiment_id("e");
  spec.mutable_duration()->set_seconds(60);
  return spec;
}

TEST(PolicyTest, EachRuleRefusesWithItsName) {
  auto p = Policy::Parse(R"(
kinds: [cpu_burn, disk_fill, process_kill]
maxCpuPercent: 50
maxDuration: 5m
fillRoots: [/var/tmp, /data/]
maxFillPercent: 80
protectedProcesses: [postgres]
)",
                         "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();

  auto burn = Spec();
  burn.mutable_cpu_burn()->set_load_percent(90);
  EXPECT_EQ(p->Check(burn).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(p->Check(burn).message().find("policy maxCpuPercent"), std::string::npos);
  burn.mutable_cpu_burn()->set_load_percent(50);
  EXPECT_TRUE(p->Check(burn).ok());
  burn.mutable_duration()->set_seconds(600);
  EXPECT_NE(p->Check(burn).message().find("policy maxDuration"), std::string::npos);

  auto net = Spec();
  net.mutable_netem()->set_interface("lo");
  EXPECT_NE(p->Check(net).message().find("policy kinds"), std::string::npos);

  auto fill = Spec();
  fill.mutable_disk_fill()->set_directory("/etc");
  EXPECT_NE(p->Check(fill).message().find("policy fillRoots"), std::string::npos);
  fill.mutable_disk_fill()->set_directory("/data/db");
  fill.mutable_disk_fill()->set_target_percent(90);
  EXPECT_NE(p->Check(fill).message().find("policy maxFillPercent"), std::string::npos);
  fill.mutable_disk_fill()->set_target_percent(70);
  EXPECT_TRUE(p->Check(fill).ok());
  fill.mutable_disk_fill()->set_directory("/database");  // a prefix, not a child
  EXPECT_NE(p->Check(fill).message().find("policy fillRoots"), std::string::npos);

  auto kill = Spec();
  kill.mutable_process_kill()->mutable_target()->set_name("postgres");
  EXPECT_NE(p->Check(kill).message().find("policy protectedProcesses"), std::string::npos);
}

TEST(PolicyTest, DataLossOnlyBelowADataRoot) {
  auto loss = Spec();
  loss.mutable_data_loss()->add_paths("/srv/pg/main");
  // The default policy names no data root: data loss is refused.
  EXPECT_NE(Policy::Default().Check(loss).message().find(
                "policy dataRoots: path /srv/pg/main is not below any data root"),
            std::string::npos);
  auto p = Policy::Parse("dataRoots: [/srv/pg/, /var/lib/redis]\n", "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Check(loss).ok());
  EXPECT_EQ(p->ToFactoryOptions("/state").data_roots,
            (std::vector<std::string>{"/srv/pg", "/var/lib/redis"}));
  loss.mutable_data_loss()->add_paths("/srv/pg");  // the root itself
  EXPECT_NE(p->Check(loss).message().find("policy dataRoots: path /srv/pg is not below"),
            std::string::npos);
  loss.mutable_data_loss()->set_paths(1, "/srv/pgx");  // a prefix, not a child
  EXPECT_EQ(p->Check(loss).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(Policy::Parse("dataRoots: [srv]\n", "p.yaml").status().message().find(
                "p.yaml:1:12: dataRoots: \"srv\" must be an absolute path"),
            std::string::npos);
}

TEST(PolicyTest, BadFilesNameTheFieldAndPosition) {
  auto p = Policy::Parse("kinds: [cpu_burn]\nmaxCpu: 3\n", "p.yaml");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("p.yaml:2:1: maxCpu: unknown policy field"),
            std::string::npos)
      << p.status();
  p = Policy::Parse("kinds: [teleport]\n", "p.yaml");
  EXPECT_NE(p.status().message().find("unknown kind \"teleport\""), std::string::npos);
  p = Policy::Parse("fillRoots: [relative]\n", "p.yaml");
  EXPECT_NE(p.status().message().find("fillRoots"), std::string::npos);
  p = Policy::Parse("maxCpuPercent: lots\n", "p.yaml");
  EXPECT_FALSE(p.ok());
  // NaN passed both range comparisons (agent_policy_fuzzer's range check
  // fails on it).
  p = Policy::Parse("maxFillPercent: .nan\n", "p.yaml");
  EXPECT_EQ(p.status().message(), "p.yaml:1:17: maxFillPercent: must be 0..100");
  EXPECT_FALSE(Policy::Load("/nonexistent/policy.yaml").ok());
}

TEST(PolicyTest, MaxProcessesPerFaultDefaultsToFiveAndIsRaisedPerHost) {
  Policy d = Policy::Default();
  EXPECT_EQ(d.max_processes_per_fault, 5u);
  EXPECT_TRUE(d.CheckProcessCount(40, 5).ok());  // count 5 among 40 matches
  absl::Status s = d.CheckProcessCount(12, 12);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "policy maxProcessesPerFault: selector matches 12 processes and would signal 12, "
            "cap is 5");
  auto p = Policy::Parse("maxProcessesPerFault: 20\n", "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->CheckProcessCount(12, 12).ok());
  for (const char* bad : {"maxProcessesPerFault: 0\n", "maxProcessesPerFault: many\n"}) {
    p = Policy::Parse(bad, "p.yaml");
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(p.status().message().find("p.yaml:1:"), std::string::npos) << p.status();
  }
  p = Policy::Parse("maxProcessesPerFault: 0\n", "p.yaml");
  EXPECT_NE(p.status().message().find("maxProcessesPerFault: must be 1..100000"),
            std::string::npos)
      << p.status();
}

// `commands` is the same allow-list as the controller's command policy:
// nothing without rules, and a refusal that names the rule.
TEST(PolicyTest, CommandsAreRefusedUntilARuleAllowsThemAndTheRefusalNamesTheRule) {
  absl::Status s = Policy::Default().CheckCommand({"/bin/true"}, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()),
              testing::StartsWith("policy commands: this agent runs no command: its policy "
                                  "allows none (list the executable"));
  EXPECT_FALSE(Policy::Parse("commands: []\n", "p.yaml")->CheckCommand({"/bin/true"}, {}).ok());

  auto p = Policy::Parse(R"(commands:
  - path: /usr/bin/touch
    args: ["-c"]
    moreArgs: "/var/tmp/[a-z]+"
  - path: /bin/true
commandEnv: [LANG]
)",
                         "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->CheckCommand({"touch", "-c", "/var/tmp/a", "/var/tmp/b"}, {}).ok());
  EXPECT_TRUE(p->CheckCommand({"true"}, {{"LANG", "C"}}).ok());
  s = p->CheckCommand({"touch", "-c", "/etc/passwd"}, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()),
              testing::AllOf(testing::StartsWith("policy commands: command \"touch\""),
                             testing::HasSubstr("argument 2 \"/etc/passwd\" does not match "
                                                "//var/tmp/[a-z]+/ (moreArgs) of rule "
                                                "\"/usr/bin/touch\"")));
  EXPECT_THAT(std::string(p->CheckCommand({"/bin/sh", "-c", "id"}, {}).message()),
              testing::HasSubstr("): not in the agent's policy (commands: in its --policy file)"));
  EXPECT_THAT(std::string(p->CheckCommand({"no-such-program-here"}, {}).message()),
              testing::HasSubstr("not found on this host"));
  s = p->CheckCommand({"true"}, {{"LD_PRELOAD", "/tmp/x.so"}});
  EXPECT_EQ(s.message(), "policy commandEnv: variable LD_PRELOAD may not be set (allowed: LANG)");
  EXPECT_EQ(Policy::Parse("commands: [{path: /bin/true}]\n", "p.yaml")
                ->CheckCommand({"true"}, {{"LANG", "C"}})
                .message(),
            "policy commandEnv: variable LANG may not be set (the policy allows none)");
}

TEST(PolicyTest, BadCommandRulesNameTheFieldAndPosition) {
  auto error = [](const std::string& yaml) {
    absl::StatusOr<Policy> p = Policy::Parse(yaml, "p.yaml");
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
    return std::string(p.status().message());
  };
  EXPECT_EQ(error("commands: /bin/true\n"),
            "p.yaml:1:11: commands: expected a list of rules (path, args, moreArgs)");
  EXPECT_EQ(error("commands:\n  - path: bin/true\n"),
            "p.yaml:2:11: commands[0].path: \"bin/true\" is not an absolute path");
  EXPECT_EQ(error("commands:\n  - path: /no/such/tool\n"),
            "p.yaml:2:11: commands[0].path: /no/such/tool: No such file or directory");
  EXPECT_EQ(error("commands:\n  - path: /etc/passwd\n"),
            "p.yaml:2:11: commands[0].path: /etc/passwd is not an executable file");
  EXPECT_EQ(error("commands:\n  - args: [x]\n"), "p.yaml:2:5: commands[0].path: required");
  EXPECT_EQ(error("commands:\n  - path: /bin/true\n    arg: [x]\n"),
            "p.yaml:3:5: commands[0].arg: unknown field (known: path, args, moreArgs)");
  EXPECT_EQ(error("commands:\n  - path: /bin/true\n    args: [\"(\"]\n"),
            "p.yaml:3:12: commands[0].args[0]: bad pattern \"(\": missing ): (");
  EXPECT_THAT(error("commands:\n  - path: /bin/true\n    moreArgs: [x]\n"),
              testing::HasSubstr("commands[0].moreArgs: expected a string"));
  EXPECT_EQ(error("commands: [/bin/true]\n"),
            "p.yaml:1:12: commands[0]: expected a mapping (fields: path, args, moreArgs)");
  EXPECT_EQ(error("commandEnv: [LD-PRELOAD]\n"),
            "p.yaml:1:13: commandEnv: \"LD-PRELOAD\" is not a variable name "
            "([A-Za-z_][A-Za-z0-9_]*)");
}

TEST(PolicyTest, DefaultAllowsEveryKindButFillsOnlyVarTmp) {
  Policy p = Policy::Default();
  auto fill = Spec();
  fill.mutable_disk_fill()->set_directory("/var/tmp/x");
  EXPECT_TRUE(p.Check(fill).ok());
  fill.mutable_disk_fill()->set_directory("/");
  EXPECT_FALSE(p.Check(fill).ok());
}

}  // namespace
}  // namespace chaos::agent
