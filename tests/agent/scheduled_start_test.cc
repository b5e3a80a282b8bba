// Scheduled starts (InjectRequest.starts_in) on a real Agent and a real
// process: nothing touches the host before the start, the agent's timer
// (Tick, driven here with chosen times) injects at the start with the
// planned end, and a revert, a halt or a lapsed lease before the start
// cancels it for good.
#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/agent.h"
#include "gtest/gtest.h"
#include "tests/faults/real_host.h"
#include "tests/test_util.h"

namespace chaos::agent {
namespace {

using chaos::testing::TempDir;
using faults::testing::ChildReaper;
using faults::testing::ProcState;
using faults::testing::SpawnSleep;
using faults::testing::WaitState;

class ScheduledStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    victim_ = SpawnSleep(8700000 + getpid() % 10000);
    reaper_.pids.push_back(victim_);
    ASSERT_TRUE(WaitState(victim_, 'S'));
    AgentOptions options;
    options.state_dir = dir_.path() + "/state";
    options.max_active_faults = 2;
    auto agent = Agent::Create(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = std::move(*agent);  // not Start()ed: the test drives Tick
  }

  // A 10-minute pause of the victim that starts `starts_in` after receipt.
  chaos::v1::InjectRequest Pause(const std::string& id, absl::Duration starts_in,
                                 absl::Duration lease = absl::Minutes(10)) {
    chaos::v1::InjectRequest req;
    req.mutable_spec()->set_fault_id(id);
    req.mutable_spec()->set_experiment_id("exp");
    req.mutable_spec()->mutable_duration()->set_seconds(600);
    req.mutable_spec()->mutable_process_pause()->mutable_target()->set_pid(victim_);
    req.mutable_starts_in()->set_seconds(absl::ToInt64Seconds(starts_in));
    req.mutable_lease()->set_seconds(absl::ToInt64Seconds(lease));
    return req;
  }

  std::optional<chaos::v1::FaultStatus> Listed(const std::string& id) {
    for (chaos::v1::FaultStatus& s : agent_->List("", true)) {
      if (s.spec().fault_id() == id) return s;
    }
    return std::nullopt;
  }

  // Inject, checked to be SCHEDULED; returns its start.
  absl::Time Schedule(const chaos::v1::InjectRequest& req) {
    auto s = agent_->Inject(req, "test");
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return absl::InfinitePast();
    EXPECT_EQ(s->state(), chaos::v1::FAULT_STATE_SCHEDULED);
    EXPECT_EQ(s->injected_at_unix_ms(), 0);
    return absl::FromUnixMillis(s->starts_at_unix_ms());
  }

  TempDir dir_;
  ChildReaper reaper_;
  pid_t victim_ = 0;
  std::unique_ptr<Agent> agent_;
};

TEST_F(ScheduledStartTest, NothingHappensBeforeTheStartAndTheTimerInjectsAtIt) {
  const absl::Time before = absl::Now();
  const absl::Time start = Schedule(Pause("p1", absl::Seconds(60)));
  EXPECT_GE(start, absl::FromUnixMillis(absl::ToUnixMillis(before + absl::Seconds(60))));
  EXPECT_LE(start, absl::Now() + absl::Seconds(60));
  // The same request again answers the scheduled fault (idempotent by id).
  auto again = agent_->Inject(Pause("p1", absl::Seconds(60)), "test");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(absl::FromUnixMillis(again->starts_at_unix_ms()), start);

  agent_->Tick(start - absl::Milliseconds(5));
  EXPECT_EQ(ProcState(victim_), 'S') << "paused before its start";
  EXPECT_EQ(agent_->active_faults(), 0u);
  EXPECT_EQ(Listed("p1")->state(), chaos::v1::FAULT_STATE_SCHEDULED);
  // A pending start holds its experiment's lease like an active fault.
  chaos::v1::KeepAliveRequest keep;
  keep.set_experiment_id("exp");
  keep.mutable_lease()->set_seconds(600);
  EXPECT_TRUE(agent_->KeepAlive(keep).ok());

  agent_->Tick(start + absl::Milliseconds(1));
  EXPECT_TRUE(WaitState(victim_, 'T'));
  auto active = Listed("p1");
  ASSERT_TRUE(active.has_value());
  EXPECT_EQ(active->state(), chaos::v1::FAULT_STATE_ACTIVE);
  EXPECT_GT(active->injected_at_unix_ms(), 0);
  // It ends at the planned end, counted from the start, not from the Tick.
  EXPECT_EQ(active->expires_at_unix_ms(), absl::ToUnixMillis(start + absl::Seconds(600)));

  auto reverted = agent_->Revert("p1", "test");
  ASSERT_TRUE(reverted.ok()) << reverted.status();
  EXPECT_TRUE(WaitState(victim_, 'S'));
}

TEST_F(ScheduledStartTest, ARevertBeforeTheStartCancelsItForGood) {
  const absl::Time start = Schedule(Pause("p2", absl::Seconds(60)));
  auto cancelled = agent_->Revert("p2", "test");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_TRUE(absl::StrContains(cancelled->reason(), "cancelled before its start"))
      << cancelled->reason();
  // A second revert answers the cancellation, as for a fault reverted before.
  auto again = agent_->Revert("p2", "test");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), chaos::v1::FAULT_STATE_REVERTED);
  agent_->Tick(start + absl::Milliseconds(1));
  EXPECT_EQ(ProcState(victim_), 'S');
  EXPECT_EQ(Listed("p2")->state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_EQ(Listed("p2")->injected_at_unix_ms(), 0);
  // A retried inject of the same id answers the cancellation; it does not
  // schedule the fault again.
  auto retried = agent_->Inject(Pause("p2", absl::Seconds(60)), "test");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state(), chaos::v1::FAULT_STATE_REVERTED);
  agent_->Tick(start + absl::Seconds(1));
  EXPECT_EQ(ProcState(victim_), 'S');
}

TEST_F(ScheduledStartTest, ALeaseThatLapsesBeforeTheStartCancelsIt) {
  const absl::Time start = Schedule(Pause("p3", absl::Seconds(60), absl::Seconds(5)));
  agent_->Tick(absl::Now() + absl::Seconds(10));  // the lease lapsed, no keep-alive
  auto s = Listed("p3");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_TRUE(absl::StrContains(s->reason(), "lease expired")) << s->reason();
  agent_->Tick(start + absl::Milliseconds(1));
  EXPECT_EQ(ProcState(victim_), 'S');
}

TEST_F(ScheduledStartTest, HaltCancelsAPendingStart) {
  const absl::Time start = Schedule(Pause("p4", absl::Seconds(60)));
  std::vector<chaos::v1::FaultStatus> outcome;
  ASSERT_TRUE(agent_->Halt("test", "game over", &outcome).ok());
  ASSERT_EQ(outcome.size(), 1u);
  EXPECT_EQ(outcome[0].state(), chaos::v1::FAULT_STATE_REVERTED);
  agent_->Resume("test");
  agent_->Tick(start + absl::Milliseconds(1));
  EXPECT_EQ(ProcState(victim_), 'S');
}

TEST_F(ScheduledStartTest, AStartThatCannotBeInjectedFailsNamingWhyAndTouchesNothing) {
  const absl::Time start = Schedule(Pause("p5", absl::Seconds(60)));
  kill(victim_, SIGKILL);  // the target is gone by the start
  waitpid(victim_, nullptr, 0);
  reaper_.pids.clear();
  agent_->Tick(start + absl::Milliseconds(1));
  auto s = Listed("p5");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->state(), chaos::v1::FAULT_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(s->reason(), absl::StrCat("no process with pid ", victim_)))
      << s->reason();
  EXPECT_EQ(s->injected_at_unix_ms(), 0);
  EXPECT_EQ(agent_->active_faults(), 0u);
}

TEST_F(ScheduledStartTest, PendingStartsCountTowardsTheCapAndBadStartsInIsRefused) {
  Schedule(Pause("p6", absl::Seconds(60)));
  auto second = Pause("p7", absl::Seconds(60));
  second.mutable_spec()->mutable_cpu_burn()->set_load_percent(5);  // replaces the pause
  Schedule(second);
  auto third = agent_->Inject(Pause("p8", absl::Seconds(60)), "test");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();

  for (int64_t seconds : {-1, 301}) {
    auto bad = Pause("bad", absl::Seconds(seconds));
    auto s = agent_->Inject(bad, "test");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << seconds;
    EXPECT_TRUE(absl::StrContains(s.status().message(), "starts_in")) << s.status();
  }
}

}  // namespace
}  // namespace chaos::agent
