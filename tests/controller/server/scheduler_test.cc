// Scheduler driven by a FakeClock against a real HistoryStore and a launcher
// double: firings start runs, FORBID skips and records overlaps, ALLOW
// does not, blackouts and missed firings are recorded, history is pruned,
// and bad schedules are refused with the field named. Also HistoryStore on
// its own: survives reopening, refuses a corrupt file, counts runs by state.
// Firings are counted in the controller's metrics, skips by reason.
// Across controllers on one store: a firing is claimed before it starts, a
// refused claim starts nothing, and a claim left by a dead controller is
// settled (recorded missed, or its run recorded started) without a restart.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>

#include "controller/metrics/metrics.h"
#include "controller/store/sqlite_history_store.h"
#include "controller/server/scheduler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::controller {
namespace {

const char* kExperiment = R"(name: sched-burn
description: d
hypothesis: h
method:
  - id: burn
    duration: 1s
    fault:
      cpuBurn:
        workers: 1
        loadPercent: 10
)";

class FakeLauncher : public RunLauncher {
 public:
  explicit FakeLauncher(HistoryStore* h) : history_(h) {}
  absl::Status Check(const chaos::v1::Schedule&) override { return check_; }
  absl::StatusOr<std::string> Launch(const chaos::v1::Schedule& s) override {
    const std::string id = absl::StrCat(s.name(), "-", tag_, "-", ++count_);
    chaos::v1::Run run;
    run.set_run_id(id);
    run.set_experiment_name("sched-burn");
    run.set_state(chaos::v1::RUN_STATE_RUNNING);
    run.set_started_at_unix_ms(count_);
    run.set_schedule(s.name());
    auto st = history_->InsertRun(run, s.experiment_yaml());
    if (!st.ok()) return st;
    active_.insert(id);
    return id;
  }
  bool IsActive(const std::string& id) override {
    if (on_is_active) on_is_active();
    return active_.count(id) > 0;
  }
  void EndAll() {
    for (const std::string& id : active_) {
      auto run = history_->GetRun(id);
      ASSERT_TRUE(run.ok());
      run->set_state(chaos::v1::RUN_STATE_PASSED);
      ASSERT_TRUE(history_->UpdateRun(*run).ok());
    }
    active_.clear();
  }
  int count_ = 0;
  std::string tag_ = "run";  // in run ids: another launcher's differ
  absl::Status check_;  // what Check answers
  std::set<std::string> active_;
  HistoryStore* history_;
  // Runs inside IsActive: between a tick's read and its claim.
  std::function<void()> on_is_active;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sched-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto h = SqliteHistoryStore::Open(dir_ + "/history.db");
    ASSERT_TRUE(h.ok()) << h.status();
    history_ = std::move(*h);
    launcher_ = std::make_unique<FakeLauncher>(history_.get());
    scheduler_ = std::make_unique<Scheduler>(history_.get(), launcher_.get(), &clock_, &metrics_);
  }
  void TearDown() override {
    scheduler_.reset();
    history_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  chaos::v1::Schedule Every5(const std::string& name) {
    chaos::v1::Schedule s;
    s.set_name(name);
    s.set_cron("*/5 * * * *");
    s.set_time_zone("Europe/Berlin");
    s.set_experiment_yaml(kExperiment);
    return s;
  }
  // Schedule "burn" (every 5 min), its 10:05 firing claimed by a
  // controller that then died (considered until 10:05:01); the clock still
  // at 10:01.
  HistoryStore::StoredSchedule ClaimedAndLeft() {
    EXPECT_TRUE(scheduler_->Create(Every5("burn")).ok());
    auto read = history_->GetSchedule("burn");
    EXPECT_TRUE(read.ok());
    HistoryStore::StoredSchedule claimed = *read;
    claimed.considered_until_ms = (1767607260 + 4 * 60 + 1) * 1000LL;  // 10:05:01
    claimed.claimed_fire_ms = (1767607260 + 4 * 60) * 1000LL;          // 10:05
    EXPECT_TRUE(history_->SwapSchedule(*read, claimed).ok());
    return claimed;
  }

  std::vector<std::string> Kinds(const std::string& name) {
    auto ev = history_->ListScheduleEvents(name, 100);
    EXPECT_TRUE(ev.ok());
    std::vector<std::string> out;
    for (auto it = ev->rbegin(); it != ev->rend(); ++it) out.push_back(it->kind());
    return out;
  }

  std::string dir_;
  // 2026-01-05 (a Monday) 10:01 UTC = 11:01 in Berlin.
  FakeClock clock_{absl::FromUnixSeconds(1767607260)};
  ControllerMetrics metrics_;
  std::unique_ptr<HistoryStore> history_;
  std::unique_ptr<FakeLauncher> launcher_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, FiresAtCronTimesAndForbidSkipsOverlap) {
  auto created = scheduler_->Create(Every5("burn"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->next_fire_unix_ms(), (1767607260 + 4 * 60) * 1000LL);  // 10:05Z
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 0);  // nothing due yet
  clock_.Advance(absl::Minutes(4) + absl::Seconds(1));  // 10:05:01
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);  // same firing not started twice
  clock_.Advance(absl::Minutes(5));  // 10:10:01, first run still active
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
  EXPECT_EQ(Kinds("burn"), (std::vector<std::string>{"started", "skipped"}));
  auto ev = history_->ListScheduleEvents("burn", 1);
  ASSERT_TRUE(ev.ok());
  EXPECT_NE(ev->front().message().find("previous run burn-run-1 is still running"),
            std::string::npos)
      << ev->front().message();
  launcher_->EndAll();
  clock_.Advance(absl::Minutes(5));
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 2);
  auto runs = history_->ListRuns({.experiment = "", .state = chaos::v1::RUN_STATE_UNSPECIFIED, .schedule = "burn", .limit = 100});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 2u);  // each started run is an ordinary run in the history
}

TEST_F(SchedulerTest, FiringsAreCountedInTheMetricsSkipsByReason) {
  ASSERT_TRUE(scheduler_->Create(Every5("burn")).ok());
  clock_.Advance(absl::Minutes(4) + absl::Seconds(1));  // 10:05:01: started
  scheduler_->Tick();
  clock_.Advance(absl::Minutes(5));  // 10:10:01: the first run is still active
  scheduler_->Tick();
  launcher_->EndAll();
  // Down for three hours: 10:15 to 13:05 are missed, 13:10 starts.
  clock_.Advance(absl::Hours(3));
  scheduler_->Tick();
  ASSERT_EQ(launcher_->count_, 2);
  const std::string page = metrics_.Render({});
  EXPECT_THAT(page, ::testing::HasSubstr("chaos_controller_schedule_fires_total 2\n"));
  EXPECT_THAT(page, ::testing::HasSubstr(
                        "chaos_controller_schedule_skips_total{reason=\"missed\"} 35\n"
                        "chaos_controller_schedule_skips_total{reason=\"blackout\"} 0\n"
                        "chaos_controller_schedule_skips_total{reason=\"concurrency\"} 1\n"
                        "chaos_controller_schedule_skips_total{reason=\"failed\"} 0\n"));
  // The history counts the runs by state: one ended, one still running.
  auto counts = history_->CountRunsByState();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts, (std::map<chaos::v1::RunState, int64_t>{
                         {chaos::v1::RUN_STATE_RUNNING, 1}, {chaos::v1::RUN_STATE_PASSED, 1}}));
}

TEST_F(SchedulerTest, AllowStartsOverlappingRuns) {
  auto s = Every5("overlap");
  s.set_concurrency_policy(chaos::v1::CONCURRENCY_POLICY_ALLOW);
  ASSERT_TRUE(scheduler_->Create(s).ok());
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Minutes(5));
    scheduler_->Tick();
  }
  EXPECT_EQ(launcher_->count_, 3);
  EXPECT_EQ(launcher_->active_.size(), 3u);
}

TEST_F(SchedulerTest, BlackoutWindowsStartNothing) {
  auto s = Every5("quiet");
  auto* b = s.add_blackouts();
  b->set_days("Mon");
  b->set_hours("11");  // 11:00-11:59 Berlin = 10:00-10:59Z in January
  ASSERT_TRUE(scheduler_->Create(s).ok());
  clock_.Advance(absl::Minutes(5));
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 0);
  EXPECT_EQ(Kinds("quiet"), (std::vector<std::string>{"blackout"}));
  clock_.Set(absl::FromUnixSeconds(1767607260 + 3600));  // 12:01 Berlin
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
}

TEST_F(SchedulerTest, MissedFiringsAfterDowntimeHonourTheStartingDeadline) {
  auto s = Every5("late");
  s.set_starting_deadline_seconds(120);
  ASSERT_TRUE(scheduler_->Create(s).ok());
  // Down for an hour; the latest firing (11:00Z) is 30 s old: within 120 s.
  clock_.Set(absl::FromUnixSeconds(1767607260 - 60 + 3600 + 30));
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
  EXPECT_EQ(Kinds("late"), (std::vector<std::string>{"missed", "started"}));
  launcher_->EndAll();
  // Down again; the latest firing is 4 min old: beyond the deadline.
  clock_.Advance(absl::Minutes(34));
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
  EXPECT_EQ(Kinds("late"), (std::vector<std::string>{"missed", "started", "missed", "missed"}));
}

TEST_F(SchedulerTest, PausedSchedulesDoNotFireAndResumeDoesNotCatchUp) {
  ASSERT_TRUE(scheduler_->Create(Every5("p")).ok());
  ASSERT_TRUE(scheduler_->SetPaused("p", true).ok());
  clock_.Advance(absl::Minutes(30));
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 0);
  ASSERT_TRUE(scheduler_->SetPaused("p", false).ok());
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 0);
  clock_.Advance(absl::Minutes(5));
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
}

TEST_F(SchedulerTest, HistoryLimitPrunesOldEndedRuns) {
  auto s = Every5("limited");
  s.set_history_limit(2);
  ASSERT_TRUE(scheduler_->Create(s).ok());
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Minutes(5));
    scheduler_->Tick();
    launcher_->EndAll();
  }
  EXPECT_EQ(launcher_->count_, 5);
  auto runs = history_->ListRuns({.experiment = "", .state = chaos::v1::RUN_STATE_UNSPECIFIED, .schedule = "limited", .limit = 100});
  ASSERT_TRUE(runs.ok());
  // Pruning runs right after a start, when the newest run was still active.
  EXPECT_EQ(runs->size(), 3u);
  EXPECT_EQ(runs->front().run_id(), "limited-run-5");
}

// Two controllers' schedulers on one store (as after a leader change): a
// firing one of them handled is not started again by the other.
TEST_F(SchedulerTest, ASecondSchedulerOnTheSameStoreDoesNotFireAHandledFiringAgain) {
  ASSERT_TRUE(scheduler_->Create(Every5("burn")).ok());
  FakeLauncher other_launcher(history_.get());
  other_launcher.tag_ = "other";
  Scheduler other(history_.get(), &other_launcher, &clock_);
  clock_.Advance(absl::Minutes(4) + absl::Seconds(1));  // 10:05:01
  scheduler_->Tick();
  other.Tick();
  EXPECT_EQ(launcher_->count_, 1);
  EXPECT_EQ(other_launcher.count_, 0);
  launcher_->EndAll();
  clock_.Advance(absl::Minutes(5));  // 10:10:01: the other one now handles it
  other.Tick();
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
  EXPECT_EQ(other_launcher.count_, 1);
  EXPECT_EQ(Kinds("burn"), (std::vector<std::string>{"started", "started"}));
}

// The race the claim closes: another scheduler claims and starts the firing
// after this tick read the schedule and before it claimed; this tick's
// claim is refused and it starts nothing.
TEST_F(SchedulerTest, AFailedClaimStartsNothing) {
  ASSERT_TRUE(scheduler_->Create(Every5("burn")).ok());
  clock_.Advance(absl::Minutes(4) + absl::Seconds(1));  // 10:05:01: a first run
  scheduler_->Tick();
  launcher_->EndAll();
  FakeLauncher other_launcher(history_.get());
  other_launcher.tag_ = "other";
  Scheduler other(history_.get(), &other_launcher, &clock_);
  launcher_->on_is_active = [&] {
    launcher_->on_is_active = nullptr;
    other.Tick();
  };
  clock_.Advance(absl::Minutes(5));  // 10:10:01
  scheduler_->Tick();
  EXPECT_EQ(other_launcher.count_, 1);
  EXPECT_EQ(launcher_->count_, 1) << "the 10:10 firing started twice";
  EXPECT_EQ(Kinds("burn"), (std::vector<std::string>{"started", "started"}));
  auto st = history_->GetSchedule("burn");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->claimed_fire_ms, 0);
  EXPECT_EQ(st->schedule.last_run_id(), "burn-other-1");
}

// A controller that claimed the 10:05 firing and died before starting it
// (no run of it is recorded): the next tick, within the firing's starting
// deadline, starts it, once, and the schedule goes on.
TEST_F(SchedulerTest, AClaimLeftByADeadControllerIsStartedOnceWithinItsDeadline) {
  ClaimedAndLeft();
  clock_.Advance(absl::Minutes(4) + absl::Seconds(30));  // 10:05:30, within 60 s
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
  auto events = history_->ListScheduleEvents("burn", 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind(), "started");
  EXPECT_THAT((*events)[0].message(),
              ::testing::HasSubstr("claimed by a controller that stopped before starting it"));
  EXPECT_EQ(history_->GetSchedule("burn")->claimed_fire_ms, 0);
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
  clock_.Advance(absl::Minutes(5));  // 10:10:30: its run still going (FORBID)
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 1);
  EXPECT_EQ(Kinds("burn"), (std::vector<std::string>{"started", "skipped"}));
}

// The same, found past the firing's starting deadline: recorded "missed",
// not started.
TEST_F(SchedulerTest, AClaimLeftByADeadControllerPastItsDeadlineIsRecordedMissed) {
  ClaimedAndLeft();
  clock_.Advance(absl::Minutes(6));  // 10:07, 2 min late
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 0);
  auto events = history_->ListScheduleEvents("burn", 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind(), "missed");
  EXPECT_THAT((*events)[0].message(), ::testing::HasSubstr("beyond the starting deadline"));
  EXPECT_EQ(history_->GetSchedule("burn")->claimed_fire_ms, 0);
}

// A claimer that recorded its failed start, then stopped before clearing
// the claim: the claim is cleared, the firing not started again.
TEST_F(SchedulerTest, AClaimWhoseFailureWasRecordedIsOnlyCleared) {
  const HistoryStore::StoredSchedule claimed = ClaimedAndLeft();
  chaos::v1::ScheduleEvent failed;
  failed.set_at_unix_ms(claimed.considered_until_ms);
  failed.set_kind("failed");
  failed.set_message("firing at 10:05: UNAVAILABLE");
  ASSERT_TRUE(history_->AppendScheduleEvent("burn", failed).ok());
  clock_.Advance(absl::Minutes(4) + absl::Seconds(30));  // 10:05:30
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 0);
  EXPECT_EQ(Kinds("burn"), (std::vector<std::string>{"failed"}));
  EXPECT_EQ(history_->GetSchedule("burn")->claimed_fire_ms, 0);
}

// A controller that started the claimed firing's run and died before
// recording it: the run is recorded "started" once, and not started again.
TEST_F(SchedulerTest, ARunStartedByADeadControllerIsRecordedOnceNotStartedAgain) {
  const HistoryStore::StoredSchedule claimed = ClaimedAndLeft();
  chaos::v1::Run run;
  run.set_run_id("burn-by-the-dead");
  run.set_state(chaos::v1::RUN_STATE_RUNNING);
  run.set_started_at_unix_ms(claimed.considered_until_ms);
  run.set_schedule("burn");
  ASSERT_TRUE(history_->InsertRun(run, kExperiment).ok());
  clock_.Advance(absl::Minutes(4) + absl::Seconds(30));
  scheduler_->Tick();
  scheduler_->Tick();
  EXPECT_EQ(launcher_->count_, 0);
  auto events = history_->ListScheduleEvents("burn", 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind(), "started");
  EXPECT_EQ((*events)[0].run_id(), "burn-by-the-dead");
  auto st = history_->GetSchedule("burn");
  EXPECT_EQ(st->claimed_fire_ms, 0);
  EXPECT_EQ(st->schedule.last_run_id(), "burn-by-the-dead");
}

TEST_F(SchedulerTest, BadSchedulesNameTheField) {
  auto s = Every5("bad");
  s.set_cron("*/5 * * *");
  EXPECT_EQ(scheduler_->Create(s).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(scheduler_->Create(s).status().message().find("cron: "), std::string::npos);
  s = Every5("bad");
  s.set_time_zone("Europe/Atlantis");
  EXPECT_EQ(scheduler_->Create(s).status().message(),
            "time_zone: unknown time zone \"Europe/Atlantis\"");
  s = Every5("bad");
  s.add_blackouts()->set_hours("25");
  EXPECT_NE(scheduler_->Create(s).status().message().find("blackouts[0].hours"),
            std::string::npos);
  s = Every5("bad name");
  EXPECT_NE(scheduler_->Create(s).status().message().find("name: "), std::string::npos);
  s = Every5("bad");
  s.set_experiment_yaml("name: x\nbogus: 1\n");
  EXPECT_NE(scheduler_->Create(s).status().message().find("experiment_yaml:"),
            std::string::npos);
  ASSERT_TRUE(scheduler_->Create(Every5("dup")).ok());
  auto dup = scheduler_->Create(Every5("dup"));
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "name: a schedule named \"dup\" exists");
  EXPECT_EQ(scheduler_->Delete("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(scheduler_->SetPaused("nope", true).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(scheduler_->Delete("dup").ok());
}

// What the launcher refuses about the experiment (the controller's command
// policy) refuses the schedule: nothing is stored.
TEST_F(SchedulerTest, WhatTheLauncherRefusesIsNotCreated) {
  launcher_->check_ = absl::PermissionDeniedError("command \"sh\" (step \"x\"): no");
  auto refused = scheduler_->Create(Every5("refused"));
  EXPECT_EQ(refused.status(), launcher_->check_);
  auto all = scheduler_->List();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  launcher_->check_ = absl::OkStatus();
  EXPECT_TRUE(scheduler_->Create(Every5("refused")).ok());
}

TEST(HistoryStoreTest, SurvivesReopenAndRefusesACorruptFile) {
  char tmpl[] = "/tmp/history-test-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/history.db";
  {
    auto h = SqliteHistoryStore::Open(path);
    ASSERT_TRUE(h.ok()) << h.status();
    chaos::v1::Run run;
    run.set_run_id("r1");
    run.set_experiment_name("e");
    run.set_state(chaos::v1::RUN_STATE_RUNNING);
    run.add_agents("127.0.0.1:1");
    run.add_agents("127.0.0.1:2");
    ASSERT_TRUE((*h)->InsertRun(run, "yaml").ok());
    EXPECT_EQ((*h)->InsertRun(run, "yaml").code(), absl::StatusCode::kAlreadyExists);
    chaos::v1::RunEvent e;
    e.set_run_id("r1");
    e.set_seq(1);
    e.set_type("inject");
    (*e.mutable_fields())["agent"] = "127.0.0.1:1";
    ASSERT_TRUE((*h)->AppendEvent(e).ok());
  }
  {
    auto h = SqliteHistoryStore::Open(path);
    ASSERT_TRUE(h.ok()) << h.status();
    auto run = (*h)->GetRun("r1");
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->agents_size(), 2);
    auto unfinished = (*h)->ListUnfinishedRuns();
    ASSERT_TRUE(unfinished.ok());
    EXPECT_EQ(unfinished->size(), 1u);
    auto events = (*h)->ListEvents("r1");
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->front().fields().at("agent"), "127.0.0.1:1");
    auto missing = (*h)->GetRun("r2");
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(missing.status().message(), "run_id: no run r2");
  }
  const std::string bad = dir + "/corrupt.db";
  std::ofstream(bad) << std::string(8192, 'x');
  auto h = SqliteHistoryStore::Open(bad);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(h.status().message().find(bad + " is corrupt"), std::string::npos)
      << h.status().message();
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace chaos::controller
