// ControllerMetrics: what the engine and the server record, as the
// /metrics page shows it. The page itself, scraped from a real controller
// and checked by promtool, is in tests/controller/server/metrics_e2e_test.cc.
#include "controller/metrics/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ControllerMetricsTest, EveryFamilyIsListedBeforeAnythingHappens) {
  ControllerMetrics m;
  const std::string page = m.Render({{{"passed", 0}, {"failed", 0}}, 0, 0});
  EXPECT_THAT(page, HasSubstr("# TYPE chaos_controller_runs gauge\n"
                              "chaos_controller_runs{state=\"passed\"} 0\n"
                              "chaos_controller_runs{state=\"failed\"} 0\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_agents{state=\"live\"} 0\n"
                              "chaos_controller_agents{state=\"lost\"} 0\n"));
  EXPECT_THAT(page, HasSubstr("# TYPE chaos_controller_active_faults gauge\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_rollback_failures_total{part=\"revert\"} 0\n"
                              "chaos_controller_rollback_failures_total{part=\"action\"} 0\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_revert_retries_pending 0\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_inject_duration_seconds_bucket{le=\"0.001\"} 0\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_revert_duration_seconds_bucket{le=\"10\"} 0\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_schedule_fires_total 0\n"));
  for (const char* reason : {"missed", "blackout", "concurrency", "failed"}) {
    EXPECT_THAT(page, HasSubstr(std::string("chaos_controller_schedule_skips_total{reason=\"") +
                                reason + "\"} 0\n"));
  }
}

TEST(ControllerMetricsTest, WithoutAHistoryTheRunsFamilyIsLeftOut) {
  ControllerMetrics m;
  EXPECT_THAT(m.Render({{}, 1, 2}), Not(HasSubstr("chaos_controller_runs")));
  EXPECT_THAT(m.Render({{}, 1, 2}), HasSubstr("chaos_controller_agents{state=\"lost\"} 2\n"));
}

TEST(ControllerMetricsTest, ActiveFaultsReturnToZeroByKindAndAgent) {
  ControllerMetrics m;
  m.FaultInjected("cpuBurn", "10.0.0.1:7070");
  m.FaultInjected("cpuBurn", "10.0.0.1:7070");
  m.FaultInjected("netem", "host\"2:7070");
  const std::string burn =
      "chaos_controller_active_faults{kind=\"cpuBurn\",agent=\"10.0.0.1:7070\"}";
  // The agent's double quote, escaped.
  const std::string netem =
      "chaos_controller_active_faults{kind=\"netem\",agent=\"host\\\"2:7070\"}";
  EXPECT_THAT(m.Render({}), HasSubstr(burn + " 2\n" + netem + " 1\n"));
  m.FaultReleased("cpuBurn", "10.0.0.1:7070");
  m.FaultReleased("cpuBurn", "10.0.0.1:7070");
  m.FaultReleased("cpuBurn", "10.0.0.1:7070");  // never below zero
  m.FaultReleased("netem", "host\"2:7070");
  EXPECT_THAT(m.Render({}), HasSubstr(burn + " 0\n" + netem + " 0\n"));
}

TEST(ControllerMetricsTest, LatenciesLandInTheirBuckets) {
  ControllerMetrics m;
  m.ObserveInject(absl::Milliseconds(3));
  m.ObserveInject(absl::Seconds(20));  // beyond the last bucket: +Inf only
  m.ObserveRevert(absl::Milliseconds(40));
  const std::string page = m.Render({});
  EXPECT_THAT(page, HasSubstr("chaos_controller_inject_duration_seconds_bucket{le=\"0.0025\"} 0\n"
                              "chaos_controller_inject_duration_seconds_bucket{le=\"0.005\"} 1\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_inject_duration_seconds_bucket{le=\"10\"} 1\n"
                              "chaos_controller_inject_duration_seconds_bucket{le=\"+Inf\"} 2\n"
                              "chaos_controller_inject_duration_seconds_sum 20.00"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_inject_duration_seconds_count 2\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_revert_duration_seconds_bucket{le=\"0.025\"} 0\n"
                              "chaos_controller_revert_duration_seconds_bucket{le=\"0.05\"} 1\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_revert_duration_seconds_count 1\n"));
}

TEST(ControllerMetricsTest, CountsRollbackFailuresRetriesAndScheduleFirings) {
  ControllerMetrics m;
  m.RollbackFailed(RollbackPart::kRevert);
  m.RollbackFailed(RollbackPart::kAction);
  m.RollbackFailed(RollbackPart::kAction);
  m.RevertRetryWaiting();
  m.RevertRetryWaiting();
  m.RevertRetryStarted();
  m.ScheduleFired();
  m.ScheduleSkipped(SkipReason::kMissed, 3);
  m.ScheduleSkipped(SkipReason::kConcurrency);
  const std::string page = m.Render({});
  EXPECT_THAT(page, HasSubstr("chaos_controller_rollback_failures_total{part=\"revert\"} 1\n"
                              "chaos_controller_rollback_failures_total{part=\"action\"} 2\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_revert_retries_pending 1\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_schedule_fires_total 1\n"));
  EXPECT_THAT(page, HasSubstr("chaos_controller_schedule_skips_total{reason=\"missed\"} 3\n"
                              "chaos_controller_schedule_skips_total{reason=\"blackout\"} 0\n"
                              "chaos_controller_schedule_skips_total{reason=\"concurrency\"} 1\n"
                              "chaos_controller_schedule_skips_total{reason=\"failed\"} 0\n"));
}

}  // namespace
}  // namespace chaos::controller
