// CommandPolicy on its own: what a policy file allows (executables by
// their real path, arguments by RE2 full match), what it refuses and how
// the refusal names the rule, symbolic links resolved on both sides, every
// command place of an experiment checked, and bad files refused with one
// line naming the file and the field.
#include "controller/policy/command_policy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/paths.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The real path of an executable of this machine, for expected messages.
std::string Real(const std::string& path) {
  absl::StatusOr<std::string> real = base::RealPath(path);
  EXPECT_TRUE(real.ok()) << real.status();
  return real.value_or(path);
}

class CommandPolicyTest : public ::testing::Test {
 protected:
  // Parses `yaml` with "DIR" replaced by the test's directory.
  CommandPolicy Policy(const std::string& yaml) {
    absl::StatusOr<CommandPolicy> p = CommandPolicy::Parse(Here(yaml), "policy.yaml");
    EXPECT_TRUE(p.ok()) << p.status();
    return p.value_or(CommandPolicy());
  }
  std::string Here(const std::string& s) { return absl::StrReplaceAll(s, {{"DIR", dir_.path()}}); }
  // The refusal's message, or "allowed".
  std::string Verdict(const CommandPolicy& p, std::vector<std::string> argv) {
    for (std::string& a : argv) a = Here(a);
    absl::Status s = p.CheckCommand(argv, "step \"x\"");
    if (s.ok()) return "allowed";
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
    return std::string(s.message());
  }
  // The error Load() gives for a file holding `text`.
  std::string LoadError(const std::string& text) {
    const std::string file = dir_.path() + "/bad.yaml";
    std::ofstream(file) << Here(text);
    absl::StatusOr<CommandPolicy> p = CommandPolicy::Load(file);
    EXPECT_FALSE(p.ok());
    const std::string message(p.status().message());
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    EXPECT_THAT(message, StartsWith(file + ":"));
    return message;
  }

  chaos::testing::TempDir dir_;
};

TEST_F(CommandPolicyTest, WithoutAFileEveryCommandIsRefusedAndTheRefusalSaysHowToAllowIt) {
  const std::string why = Verdict(CommandPolicy(), {"true"});
  EXPECT_THAT(why, StartsWith("command \"true\" (step \"x\"): the controller runs no command"));
  EXPECT_THAT(why, HasSubstr("--command-policy FILE"));
  EXPECT_THAT(why, HasSubstr("chaosctl run FILE --agent ADDR"));
  EXPECT_THAT(CommandPolicy().Summary(), HasSubstr("no --command-policy"));
}

TEST_F(CommandPolicyTest, AnEmptyFileAllowsNothing) {
  const CommandPolicy p = Policy("");
  EXPECT_EQ(Verdict(p, {"/bin/true"}),
            "command \"/bin/true\" (step \"x\", resolved to " + Real("/bin/true") +
                "): not in the controller's command policy (--command-policy FILE)");
}

TEST_F(CommandPolicyTest, ExecutablesMatchByTheirRealPathFoundLikeTheEngineFindsThem) {
  const CommandPolicy p = Policy("commands:\n  - path: /bin/true\n");
  EXPECT_EQ(Verdict(p, {"true"}), "allowed");  // PATH lookup, then realpath
  EXPECT_EQ(Verdict(p, {"/bin/true"}), "allowed");
  EXPECT_EQ(Verdict(p, {Real("/bin/true")}), "allowed");
  EXPECT_EQ(Verdict(p, {"sh"}), "command \"sh\" (step \"x\", resolved to " + Real("/bin/sh") +
                                    "): not in the controller's command policy "
                                    "(--command-policy FILE)");
  EXPECT_THAT(Verdict(p, {"no-such-command-here"}),
              HasSubstr("not found on the controller (no-such-command-here: command not found "
                        "in PATH), so its command policy cannot allow it"));
}

TEST_F(CommandPolicyTest, ArgumentsFullMatchTheirPatternsInOrder) {
  const CommandPolicy p = Policy(R"(commands:
  - path: /usr/bin/touch
    args: ["-c", "DIR/[a-z]+"]
)");
  EXPECT_EQ(Verdict(p, {"touch", "-c", "DIR/abc"}), "allowed");
  // A full match: a pattern found inside the argument is not enough.
  EXPECT_EQ(Verdict(p, {"touch", "-c", "DIR/abc/../../etc"}),
            Here("command \"touch\" (step \"x\", resolved to " + Real("/usr/bin/touch") +
                 "): argument 2 \"DIR/abc/../../etc\" does not match /DIR/[a-z]+/ of rule "
                 "\"/usr/bin/touch\""));
  EXPECT_THAT(Verdict(p, {"touch", "-a", "DIR/abc"}),
              HasSubstr("argument 1 \"-a\" does not match /-c/ of rule \"/usr/bin/touch\""));
  EXPECT_THAT(Verdict(p, {"touch", "-c"}),
              HasSubstr("rule \"/usr/bin/touch\" takes 2 argument(s), got 1"));
  EXPECT_THAT(Verdict(p, {"touch", "-c", "DIR/a", "DIR/b"}),
              HasSubstr("rule \"/usr/bin/touch\" takes 2 argument(s), got 3"));
  // Arguments are shown escaped, on one line.
  EXPECT_THAT(Verdict(p, {"touch", "-c", "a\nb"}), HasSubstr("argument 2 \"a\\nb\""));
}

TEST_F(CommandPolicyTest, MoreArgsTakesAnyNumberOfFurtherArguments) {
  const CommandPolicy p = Policy(R"(commands:
  - path: /usr/bin/touch
    moreArgs: "DIR/[a-z]+"
  - path: /bin/true
)");
  EXPECT_EQ(Verdict(p, {"touch"}), "allowed");
  EXPECT_EQ(Verdict(p, {"touch", "DIR/a", "DIR/b", "DIR/c"}), "allowed");
  EXPECT_THAT(Verdict(p, {"touch", "DIR/a", "/etc/passwd"}),
              HasSubstr(Here("argument 2 \"/etc/passwd\" does not match /DIR/[a-z]+/ (moreArgs) "
                             "of rule \"/usr/bin/touch\"")));
  EXPECT_THAT(Verdict(p, {"true", "x"}),
              HasSubstr("rule \"/bin/true\" takes 0 argument(s), got 1"));
}

TEST_F(CommandPolicyTest, SeveralRulesForOneExecutableAreAlternativesNamedByIndex) {
  const CommandPolicy p = Policy(R"(commands:
  - path: /usr/bin/touch
    args: [start]
  - path: /usr/bin/touch
    args: [stop]
)");
  EXPECT_EQ(Verdict(p, {"touch", "start"}), "allowed");
  EXPECT_EQ(Verdict(p, {"touch", "stop"}), "allowed");
  EXPECT_THAT(Verdict(p, {"touch", "kill"}),
              HasSubstr("argument 1 \"kill\" does not match /start/ of rule \"/usr/bin/touch\" "
                        "(commands[0]); argument 1 \"kill\" does not match /stop/ of rule "
                        "\"/usr/bin/touch\" (commands[1])"));
}

TEST_F(CommandPolicyTest, SymbolicLinksAreResolvedOnBothSides) {
  const std::string link = dir_.path() + "/tool";
  ASSERT_EQ(symlink("/bin/true", link.c_str()), 0);
  // The rule names the link; it allows what the link led to when loaded,
  // run under the rule's name.
  const CommandPolicy p = Policy("commands:\n  - path: DIR/tool\n");
  EXPECT_EQ(Verdict(p, {"DIR/tool"}), "allowed");
  // Re-pointing the link later does not widen the policy: the command is
  // judged by where the link leads now.
  ASSERT_EQ(unlink(link.c_str()), 0);
  ASSERT_EQ(symlink("/bin/sh", link.c_str()), 0);
  EXPECT_EQ(Verdict(p, {"DIR/tool", "-c", "id"}),
            Here("command \"DIR/tool\" (step \"x\", resolved to " + Real("/bin/sh") +
                 "): not in the controller's command policy (--command-policy FILE)"));
  // A link named like an allowed command escapes nothing either.
  const CommandPolicy only_true = Policy("commands:\n  - path: /bin/true\n");
  const std::string fake = dir_.path() + "/true";
  ASSERT_EQ(symlink("/bin/sh", fake.c_str()), 0);
  EXPECT_THAT(Verdict(only_true, {"DIR/true"}),
              HasSubstr("resolved to " + Real("/bin/sh") + "): not in the controller's"));
}

// One file under several names (busybox, pg_wrapper) may act on the name
// it is run as: a rule allows its file under its own name only.
TEST_F(CommandPolicyTest, AFileIsAllowedOnlyUnderTheNameItsRuleGives) {
  const CommandPolicy p = Policy("commands:\n  - path: /bin/true\n    moreArgs: \".*\"\n");
  const std::string other_name = dir_.path() + "/rm";
  ASSERT_EQ(symlink(Real("/bin/true").c_str(), other_name.c_str()), 0);
  EXPECT_EQ(Verdict(p, {"DIR/rm", "-rf", "/"}),
            Here("command \"DIR/rm\" (step \"x\", resolved to " + Real("/bin/true") +
                 "): rule \"/bin/true\" allows that file only when run as \"true\""));
  EXPECT_EQ(Verdict(p, {"true", "-rf", "/"}), "allowed");
}

TEST_F(CommandPolicyTest, CheckCoversProbesStepsAndRollbackActions) {
  const CommandPolicy p = Policy("commands:\n  - path: /bin/true\n");
  auto check = [&](const std::string& yaml) {
    experiments::Diagnostics diags;
    std::optional<experiments::Experiment> exp = experiments::ParseExperiment(yaml, &diags);
    EXPECT_TRUE(exp.has_value()) << diags.Format("x");
    absl::Status s = p.Check(*exp);
    return s.ok() ? std::string("allowed") : std::string(s.message());
  };
  const std::string probe = R"(name: e
probes:
  alive: {command: {run: [RUN]}}
steadyState: {before: [alive]}
method:
  - {id: w, wait: 1s}
)";
  EXPECT_EQ(check(absl::StrReplaceAll(probe, {{"RUN", "\"true\""}})), "allowed");
  EXPECT_THAT(check(absl::StrReplaceAll(probe, {{"RUN", "touch"}})),
              StartsWith("command \"touch\" (probe \"alive\", resolved to "));
  EXPECT_THAT(check("name: e\nmethod:\n  - {id: s1, command: {run: [\"true\"]}}\n"
                    "  - {id: s2, command: {run: [touch, x]}}\n"),
              StartsWith("command \"touch\" (step \"s2\", resolved to "));
  EXPECT_THAT(check("name: e\nmethod:\n  - {id: w, wait: 1s}\n"
                    "rollbackActions:\n  - {run: [\"true\"]}\n  - {run: [touch, x]}\n"),
              StartsWith("command \"touch\" (rollbackActions[1], resolved to "));
}

// A command with a target runs on that group's agents, under their own
// policies: the controller's policy leaves it out, and judges the rest.
TEST_F(CommandPolicyTest, CommandsWithATargetRunOnTheAgentsAndAreNotTheControllers) {
  auto check = [](const CommandPolicy& p, const std::string& yaml) {
    experiments::Diagnostics diags;
    std::optional<experiments::Experiment> exp = experiments::ParseExperiment(yaml, &diags);
    EXPECT_TRUE(exp.has_value()) << diags.Format("x");
    absl::Status s = p.Check(*exp);
    return s.ok() ? std::string("allowed") : std::string(s.message());
  };
  const std::string remote = R"(name: e
targets: {db: {selector: {role: db}}}
probes:
  alive: {command: {run: [pg_isready], target: db}}
steadyState: {before: [alive]}
method:
  - {id: s1, target: db, command: {run: [rm, -rf, /srv/pg]}}
rollbackActions:
  - {run: [systemctl, start, postgresql], target: db}
)";
  EXPECT_EQ(check(CommandPolicy(), remote), "allowed");
  EXPECT_EQ(check(Policy(""), remote), "allowed");
  EXPECT_THAT(check(Policy("commands:\n  - path: /bin/true\n"),
                    remote + "  - {run: [touch, x]}\n"),
              StartsWith("command \"touch\" (rollbackActions[1], resolved to "));
  EXPECT_THAT(
      check(CommandPolicy(), "name: e\nmethod:\n  - {id: s1, command: {run: [\"true\"]}}\n"),
      HasSubstr("give the command a target group"));
}

TEST_F(CommandPolicyTest, CheckCoversADrillsCommandsWithTheCanarysMarker) {
  // /bin/echo takes one numeric argument: the canary's marker.
  const CommandPolicy p = Policy("commands:\n  - path: /bin/true\n"
                                 "  - path: /bin/echo\n    args: [\"[0-9]{13}\"]\n");
  auto check = [&](const std::string& drill) {
    experiments::Diagnostics diags;
    std::optional<experiments::Experiment> exp = experiments::ParseExperiment(
        absl::StrCat("name: d\nprobes:\n  up: {command: {run: [\"true\"]}}\n"
                     "recovery: {probes: [up]}\nmethod:\n"
                     "  - {id: b, command: {run: [\"true\"]}}\n"
                     "  - {id: f, duration: 1s, fault: {cpuBurn: {workers: 1}}}\n"
                     "  - {id: r, command: {run: [\"true\"]}}\n"
                     "drill:\n  disaster: f\n  restore: r\n  backup: b\n",
                     drill),
        &diags);
    EXPECT_TRUE(exp.has_value()) << diags.Format("x");
    absl::Status s = p.Check(*exp);
    return s.ok() ? std::string("allowed") : std::string(s.message());
  };
  EXPECT_EQ(check("  canary: {write: {run: [echo]}, read: {run: [\"true\"]}}\n"
                  "  manifest: {run: [\"true\"]}\n  backupSize: {run: [\"true\"]}\n"),
            "allowed");
  EXPECT_THAT(check("  canary: {write: {run: [echo, extra]}, read: {run: [\"true\"]}}\n"),
              StartsWith("command \"echo\" (drill.canary.write, resolved to "));
  EXPECT_THAT(check("  canary: {write: {run: [echo]}, read: {run: [touch, x]}}\n"),
              StartsWith("command \"touch\" (drill.canary.read, resolved to "));
  EXPECT_THAT(check("  manifest: {run: [touch, x]}\n"),
              StartsWith("command \"touch\" (drill.manifest, resolved to "));
  EXPECT_THAT(check("  backupSize: {run: [touch, x]}\n"),
              StartsWith("command \"touch\" (drill.backupSize, resolved to "));
}

TEST_F(CommandPolicyTest, BadFilesAreOneLineNamingTheFileAndTheField) {
  EXPECT_THAT(LoadError("command:\n  - path: /bin/true\n"),
              HasSubstr(":1:1: command: unknown field (known: commands)"));
  EXPECT_THAT(LoadError("commands:\n  - path: /bin/true\n    arg: [x]\n"),
              HasSubstr(":3:5: commands[0].arg: unknown field"));
  EXPECT_THAT(LoadError("commands:\n  - path: bin/true\n"),
              HasSubstr(":2:11: commands[0].path: \"bin/true\" is not an absolute path"));
  EXPECT_THAT(LoadError("commands:\n  - path: /no/such/tool\n"),
              HasSubstr("commands[0].path: /no/such/tool: No such file or directory"));
  EXPECT_THAT(LoadError("commands:\n  - args: [x]\n"), HasSubstr("commands[0].path: required"));
  std::ofstream(dir_.path() + "/plain") << "not a program\n";
  EXPECT_THAT(LoadError("commands:\n  - path: DIR/plain\n"),
              HasSubstr(Here("commands[0].path: DIR/plain is not an executable file")));
  EXPECT_THAT(LoadError("commands:\n  - path: /bin/true\n    args: [\"(\"]\n"),
              HasSubstr("commands[0].args[0]: bad pattern \"(\": missing )"));
  EXPECT_THAT(LoadError("commands:\n  - path: /bin/true\n    moreArgs: \"[z-a]\"\n"),
              HasSubstr("commands[0].moreArgs: bad pattern"));
  EXPECT_THAT(LoadError("commands: /bin/true\n"), HasSubstr("commands: expected a list"));
  EXPECT_THAT(LoadError("commands: [\n"), HasSubstr("malformed YAML"));
  // Several errors: the first, and how many more.
  EXPECT_THAT(LoadError("commands:\n  - path: a\n  - path: b\n"),
              HasSubstr("(and 1 more error(s) in the file)"));
  // Too big to read, and unreadable.
  EXPECT_THAT(LoadError(std::string(kMaxCommandPolicyBytes + 1, '#')),
              HasSubstr(": 1048577 bytes, more than the limit of 1048576 bytes"));
  absl::StatusOr<CommandPolicy> missing = CommandPolicy::Load(dir_.path() + "/none.yaml");
  EXPECT_EQ(missing.status().message(), dir_.path() + "/none.yaml: No such file or directory");
}

}  // namespace
}  // namespace chaos::controller
