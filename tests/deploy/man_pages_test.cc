// The manual pages the build generates (deploy/CMakeLists.txt): one per
// binary, rendered by man(1), naming every flag and subcommand the binary
// itself declares.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

// The page of `binary` as man(1) renders it, in ASCII and wide enough
// that no flag is broken across lines.
CommandResult Render(const std::string& binary) {
  const std::string page = absl::StrCat(CHAOS_BINARY_DIR, "/man/", binary, ".1");
  return RunCommand({"/usr/bin/env", "LC_ALL=C", "MANWIDTH=250", "/usr/bin/man",
                     "--no-hyphenation", "--no-justification", "-l", page});
}

// The long flags ("--x") that `help` names.
std::vector<std::string> LongFlags(const std::string& help) {
  std::vector<std::string> flags;
  for (absl::string_view word : absl::StrSplit(help, absl::ByAnyChar(" ,\n[]="))) {
    if (absl::StartsWith(word, "--") && word.size() > 2) flags.emplace_back(word);
  }
  return flags;
}

void ExpectPageNamesEveryFlag(const std::string& binary, const std::string& path) {
  const CommandResult page = Render(binary);
  ASSERT_EQ(page.exit_code, 0) << page.output;
  EXPECT_TRUE(absl::StrContains(page.output, "NAME")) << page.output;
  EXPECT_TRUE(absl::StrContains(page.output, "SEE ALSO")) << page.output;
  const CommandResult version = RunCommand({path, "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_TRUE(absl::StrContains(page.output, absl::StripAsciiWhitespace(version.output)))
      << "the page is not of this version: " << version.output;
  const CommandResult help = RunCommand({path, "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.output;
  const std::vector<std::string> flags = LongFlags(help.output);
  EXPECT_GT(flags.size(), 3u) << help.output;
  for (const std::string& flag : flags) {
    EXPECT_TRUE(absl::StrContains(page.output, flag)) << binary << ": no " << flag;
  }
}

TEST(ManPagesTest, AgentPageNamesEveryFlag) {
  ExpectPageNamesEveryFlag("chaos-agent", AgentBinary());
}

TEST(ManPagesTest, ControllerPageNamesEveryFlag) {
  ExpectPageNamesEveryFlag("chaos-controller", ControllerBinary());
}

TEST(ManPagesTest, ChaosctlPageNamesEveryFlagAndSubcommand) {
  ExpectPageNamesEveryFlag("chaosctl", ChaosctlBinary());
  const CommandResult page = Render("chaosctl");
  const CommandResult subcommands = RunCommand({ChaosctlBinary(), "__complete", ""});
  ASSERT_EQ(subcommands.exit_code, 0);
  for (const std::string& sub : NonEmptyLines(subcommands.output)) {
    EXPECT_TRUE(absl::StrContains(page.output, sub)) << "chaosctl: no " << sub;
  }
}

}  // namespace
}  // namespace chaos::testing
