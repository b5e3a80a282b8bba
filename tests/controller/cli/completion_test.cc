// Shell completion for chaosctl: the candidates the binary computes from its
// own declarations, run ids from a real controller, and the bash and zsh
// scripts in deploy/completion/ run by the real shells.
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kScripts = std::string(CHAOS_SOURCE_DIR) + "/deploy/completion";

// What `chaosctl __complete WORDS...` answers, one candidate per element.
std::vector<std::string> Complete(const std::vector<std::string>& words) {
  std::vector<std::string> argv = {ChaosctlBinary(), "__complete"};
  argv.insert(argv.end(), words.begin(), words.end());
  const CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return NonEmptyLines(r.output);
}

TEST(CompletionTest, SubcommandsAndAliasesByPrefix) {
  EXPECT_THAT(Complete({"ru"}), ElementsAre("run", "runs"));
  EXPECT_THAT(Complete({"hi"}), ElementsAre("history"));
  EXPECT_THAT(Complete({"schedule", ""}), ElementsAre("add", "list", "pause", "resume", "rm"));
  EXPECT_THAT(Complete({"gate", "c"}), ElementsAre("confirm"));
  EXPECT_THAT(Complete({"fo"}), ElementsAre("forget-agent"));
  EXPECT_THAT(Complete({"forget-agent", "--con"}), ElementsAre("--controller"));
  EXPECT_THAT(Complete({"nonsense"}), IsEmpty());
}

TEST(CompletionTest, FlagsOfTheSubcommandThenTheGlobalOnes) {
  EXPECT_THAT(Complete({"run", "--d"}), ElementsAre("--detach", "--dry-run"));
  const std::vector<std::string> flags = Complete({"halt", "--"});
  EXPECT_THAT(flags, Contains("--agent"));
  EXPECT_THAT(flags, Contains("--reason"));
  EXPECT_THAT(flags, Contains("--tls-cert"));  // global, after the subcommand
  EXPECT_THAT(flags, Not(Contains("--detach")));
}

TEST(CompletionTest, ValuesOfAFlagAndFilesWhereAFileGoes) {
  EXPECT_THAT(Complete({"-o", ""}), ElementsAre("table", "json"));
  EXPECT_THAT(Complete({"--output", "j"}), ElementsAre("json"));
  EXPECT_THAT(Complete({"run", ""}), ElementsAre(":files"));
  EXPECT_THAT(Complete({"run", "--agents", ""}), ElementsAre(":files"));
  // run's own --output is a directory, not the global table|json.
  EXPECT_THAT(Complete({"run", "x.yaml", "--output", ""}), ElementsAre(":files"));
  EXPECT_THAT(Complete({"run", "--tls-ca=ca.pem", "x.yaml", "--agent", ""}), IsEmpty());
  // Past the file, nothing more goes there.
  EXPECT_THAT(Complete({"validate", "x.yaml", ""}), IsEmpty());
}

TEST(CompletionTest, RunIdsComeFromTheControllerTheLineNames) {
  TempDir dir;
  ControllerProcess controller(dir.path() + "/ctl");
  AgentProcess agent(dir.path() + "/agent", {"--controller", controller.address()});
  const std::string file = dir.path() + "/wait.yaml";
  std::ofstream(file) << "name: wait\nmethod:\n  - {id: pause, wait: 10ms}\n";
  CommandResult run;
  for (int i = 0; i < 200; ++i) {  // until the agent has registered
    run = RunCommand({ChaosctlBinary(), "run", file, "--controller", controller.address()});
    if (run.exit_code == 0) break;
    usleep(100000);
  }
  ASSERT_EQ(run.exit_code, 0) << run.output << controller.log();
  // "run ID of EXPERIMENT ..." comes first.
  const std::vector<std::string> words =
      absl::StrSplit(run.output.substr(0, run.output.find('\n')), ' ');
  ASSERT_GT(words.size(), 1u) << run.output;
  const std::string id = words[1];
  EXPECT_THAT(Complete({"show", "--controller", controller.address(), ""}), Contains(id));
  EXPECT_THAT(Complete({"abort", "--controller=" + controller.address(), id.substr(0, 3)}),
              Contains(id));
  EXPECT_THAT(Complete({"show", "--controller", controller.address(), "no-such-prefix"}),
              IsEmpty());
  // No controller on the line, or one that does not answer: no run ids.
  EXPECT_THAT(Complete({"show", ""}), IsEmpty());
  EXPECT_THAT(Complete({"show", "--controller", "127.0.0.1:1", ""}), IsEmpty());
}

// The candidates bash offers for the line `chaosctl ARGS` (cursor at the
// end), through deploy/completion/chaosctl.bash.
std::vector<std::string> Bash(const std::string& args, const std::string& cwd) {
  const std::string line = absl::StrCat(ChaosctlBinary(), " ", args);
  const std::string script = absl::StrCat(
      "cd '", cwd, "' && source '", kScripts, "/chaosctl.bash' && complete -p chaosctl >&2 && ",
      "COMP_LINE='", line, "'; COMP_POINT=${#COMP_LINE}; _chaosctl; ",
      "printf '%s\\n' \"${COMPREPLY[@]}\"");
  const CommandResult r = RunCommand({"/bin/bash", "--norc", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> lines = NonEmptyLines(r.output);
  // The first line is `complete -p`: the function is bound to chaosctl.
  EXPECT_FALSE(lines.empty());
  if (!lines.empty()) {
    EXPECT_EQ(lines[0], "complete -F _chaosctl chaosctl");
    lines.erase(lines.begin());
  }
  return lines;
}

TEST(CompletionTest, BashScriptOffersWhatTheBinaryComputes) {
  TempDir dir;
  std::ofstream(dir.path() + "/drill.yaml") << "name: x\n";
  EXPECT_THAT(Bash("ru", dir.path()), ElementsAre("run", "runs"));
  EXPECT_THAT(Bash("run --dr", dir.path()), ElementsAre("--dry-run"));
  EXPECT_THAT(Bash("run dr", dir.path()), ElementsAre("drill.yaml"));
  // HOST:PORT stays one word: the flag after it is still completed.
  EXPECT_THAT(Bash("--controller 127.0.0.1:1 schedule p", dir.path()), ElementsAre("pause"));
}

// The candidates zsh's completion system is given for `chaosctl WORDS`
// (the last word under the cursor) by deploy/completion/_chaosctl: compadd
// and _files are stood in for, since they work only inside a completion
// widget.
std::vector<std::string> Zsh(const std::vector<std::string>& words) {
  std::vector<std::string> quoted;
  for (const std::string& w : words) quoted.push_back(absl::StrCat("'", w, "'"));
  const std::string script = absl::StrCat(
      "compadd() { [[ $1 == -a ]] && print -l -- \"${(@P)2}\" }; _files() { print FILES }; ",
      "words=('", ChaosctlBinary(), "' ", absl::StrJoin(quoted, " "), "); CURRENT=",
      words.size() + 1, "; source '", kScripts, "/_chaosctl'");
  const CommandResult r = RunCommand({"/usr/bin/zsh", "-f", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return NonEmptyLines(r.output);
}

TEST(CompletionTest, ZshScriptOffersWhatTheBinaryComputes) {
  ASSERT_EQ(access("/usr/bin/zsh", X_OK), 0) << "zsh is not installed (`make deps` does it)";
  EXPECT_THAT(Zsh({"ru"}), ElementsAre("run", "runs"));
  EXPECT_THAT(Zsh({"-o", ""}), ElementsAre("table", "json"));
  EXPECT_THAT(Zsh({"validate", ""}), ElementsAre("FILES"));
  EXPECT_THAT(Zsh({"nonsense"}), IsEmpty());
}

}  // namespace
}  // namespace chaos::testing
