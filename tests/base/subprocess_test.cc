// base::RunCommand with its options: environment over ours, working
// directory, the output cap and its flag, and a cancel that takes the
// command's whole process group with it.
#include "base/subprocess.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::base {
namespace {

// Whether `pid` runs: a zombie (killed, not yet reaped by whoever adopted
// it) does not; allows the kill a moment to land.
bool Alive(pid_t pid) {
  for (int i = 0; i < 40; ++i) {
    const std::string stat = chaos::testing::ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
    const size_t paren = stat.rfind(')');
    if (stat.empty() || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z")) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(25));
  }
  return true;
}

TEST(SubprocessTest, EnvironmentIsOursWithTheOptionsSetOverIt) {
  setenv("CHAOS_SUBPROCESS_KEPT", "kept", 1);
  setenv("CHAOS_SUBPROCESS_OVER", "ours", 1);
  CommandOptions options;
  options.timeout = absl::Seconds(10);
  options.env = {{"CHAOS_SUBPROCESS_OVER", "theirs"}, {"CHAOS_SUBPROCESS_NEW", "a b"}};
  const CommandOutcome out = RunCommand(
      {"/bin/sh", "-c",
       "echo \"$CHAOS_SUBPROCESS_KEPT/$CHAOS_SUBPROCESS_OVER/$CHAOS_SUBPROCESS_NEW\""},
      options);
  EXPECT_TRUE(out.ok()) << out.Summary();
  EXPECT_EQ(out.output, "kept/theirs/a b\n");
  unsetenv("CHAOS_SUBPROCESS_KEPT");
  unsetenv("CHAOS_SUBPROCESS_OVER");
}

TEST(SubprocessTest, RunsInTheWorkingDirectoryOrSaysWhyNot) {
  chaos::testing::TempDir dir;
  CommandOptions options;
  options.timeout = absl::Seconds(10);
  options.working_dir = dir.path();
  CommandOutcome out = RunCommand({"/bin/pwd"}, options);
  EXPECT_TRUE(out.ok()) << out.Summary();
  EXPECT_EQ(absl::StripTrailingAsciiWhitespace(out.output), dir.path());
  options.working_dir = dir.path() + "/missing";
  out = RunCommand({"/bin/pwd"}, options);
  EXPECT_EQ(out.error, "chdir " + dir.path() + "/missing: No such file or directory");
  EXPECT_FALSE(out.ok());
}

TEST(SubprocessTest, KeepsTheFirst64KiBAndSaysWhenMoreWasDropped) {
  CommandOutcome out =
      RunCommand({"/bin/sh", "-c", "head -c 70000 /dev/zero | tr '\\0' x"}, absl::Seconds(10));
  EXPECT_TRUE(out.ok()) << out.Summary();
  EXPECT_EQ(out.output.size(), kMaxCommandOutput);
  EXPECT_TRUE(out.output_truncated);
  out = RunCommand({"/bin/sh", "-c", "head -c 65536 /dev/zero | tr '\\0' x"}, absl::Seconds(10));
  EXPECT_EQ(out.output.size(), kMaxCommandOutput);
  EXPECT_FALSE(out.output_truncated);
}

// What the command started in its group goes with it.
TEST(SubprocessTest, CancelKillsTheCommandsWholeProcessGroup) {
  chaos::testing::TempDir dir;
  const std::string pidfile = dir.path() + "/pid";
  CancelToken cancel;
  CommandOptions options;
  options.timeout = absl::Seconds(60);
  options.cancel = &cancel;
  std::thread canceller([&] {
    for (int i = 0; i < 200 && chaos::testing::ReadFileOrEmpty(pidfile).empty(); ++i) {
      absl::SleepFor(absl::Milliseconds(25));
    }
    cancel.Cancel();
  });
  const CommandOutcome out = RunCommand(
      {"/bin/sh", "-c", "sleep 300 & echo $! > " + pidfile + "; wait"}, options);
  canceller.join();
  EXPECT_TRUE(out.cancelled);
  EXPECT_LT(out.took, absl::Seconds(10));
  pid_t sleeper = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      absl::StripAsciiWhitespace(chaos::testing::ReadFileOrEmpty(pidfile)), &sleeper));
  EXPECT_FALSE(Alive(sleeper)) << "the background sleep " << sleeper << " outlived the cancel";
}

// What on_start records is there before the command can act: the command
// (which would create a file at once) has not run while on_start holds it,
// even well after the fork, and runs once on_start returns.
TEST(SubprocessTest, TheCommandWaitsForOnStartBeforeItRuns) {
  chaos::testing::TempDir dir;
  const std::string marker = dir.path() + "/ran";
  CommandOptions options;
  options.timeout = absl::Seconds(30);
  bool ran_before = true;
  pid_t started = 0, group = 0;
  options.on_start = [&](pid_t pid) {
    started = pid;
    group = getpgid(pid);
    absl::SleepFor(absl::Milliseconds(300));  // ample time for the touch
    ran_before = access(marker.c_str(), F_OK) == 0;
  };
  const CommandOutcome out = RunCommand({"/usr/bin/touch", marker}, options);
  EXPECT_EQ(out.exit_code, 0) << out.error << out.output;
  EXPECT_FALSE(ran_before) << "the command ran before on_start returned";
  EXPECT_GT(started, 0);
  EXPECT_EQ(group, started) << "its process group did not exist yet";
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace chaos::base
