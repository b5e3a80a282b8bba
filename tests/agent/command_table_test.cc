// CommandTable: admission (ids, the cap, closed while halted and for good
// once stopping), Stop() by predicate with the first reason kept, and the
// wait for stopped commands to end.
#include "agent/command_table.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::agent {
namespace {

RunningCommand Command(const std::string& id, const std::string& experiment) {
  return {id, experiment, "test", std::make_shared<CommandSwitch>()};
}

TEST(CommandTableTest, AdmitsDistinctIdsUpToTheCap) {
  CommandTable table(2);
  ASSERT_TRUE(table.Add(Command("a", "e1")).ok());
  EXPECT_EQ(table.Add(Command("a", "e2")).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(table.Add(Command("b", "e2")).ok());
  absl::Status full = table.Add(Command("c", "e1"));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(), "the agent already runs 2 commands (max_running_commands)");
  EXPECT_EQ(table.Count(), 2u);
  EXPECT_EQ(table.Count("e1"), 1u);
  EXPECT_THAT(table.Experiments(), ::testing::ElementsAre("e1", "e2"));
  table.Remove("a");
  table.Remove("never-added");
  EXPECT_TRUE(table.Add(Command("a", "e1")).ok());  // an ended command's id is free again
}

TEST(CommandTableTest, StopFlipsTheSelectedSwitchesKeepingTheFirstReason) {
  CommandTable table(8);
  RunningCommand a = Command("a", "e1"), b = Command("b", "e2");
  ASSERT_TRUE(table.Add(a).ok());
  ASSERT_TRUE(table.Add(b).ok());
  a.stop->Stop("the call was cancelled");
  EXPECT_THAT(table.Stop([](const RunningCommand& c) { return c.experiment_id == "e1"; },
                         "experiment reverted", absl::ZeroDuration()),
              ::testing::ElementsAre("a"));
  EXPECT_TRUE(a.stop->stopped());
  EXPECT_EQ(a.stop->reason(), "the call was cancelled");
  EXPECT_FALSE(b.stop->stopped());
  EXPECT_EQ(b.stop->reason(), "");
}

TEST(CommandTableTest, StopWaitsForTheStoppedCommandsToEnd) {
  CommandTable table(8);
  RunningCommand a = Command("a", "e1");
  ASSERT_TRUE(table.Add(a).ok());
  std::thread runner([&] {
    while (!a.stop->stopped()) absl::SleepFor(absl::Milliseconds(5));
    absl::SleepFor(absl::Milliseconds(100));
    table.Remove("a");
  });
  const absl::Time start = absl::Now();
  table.Stop([](const RunningCommand&) { return true; }, "halt", absl::Seconds(10));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(table.Count(), 0u);
  runner.join();
}

TEST(CommandTableTest, ClosedRefusesWithItsReasonUntilReopenedUnlessForGood) {
  CommandTable table(8);
  table.Close(absl::FailedPreconditionError("agent is halted"));
  EXPECT_EQ(table.Add(Command("a", "e")).message(), "agent is halted");
  table.Reopen();
  EXPECT_TRUE(table.Add(Command("a", "e")).ok());
  table.Close(absl::UnavailableError("the agent is stopping"), /*for_good=*/true);
  table.Reopen();
  table.Close(absl::FailedPreconditionError("agent is halted"));
  EXPECT_EQ(table.Add(Command("b", "e")).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace chaos::agent
