// ControllerMetrics: what the controller has done since it started, for
// its /metrics page (docs/CONTROLLER.md, "Metrics"). The run engine and
// the server update it; Render() writes it, with the figures read from
// elsewhere at scrape time (runs by state, agents), in the Prometheus text
// format (base/prometheus.h).
//
// Plain C++: nothing here knows gRPC, the history or the registry. A
// caller without metrics (a local `chaosctl run`) passes a null pointer
// where a ControllerMetrics* is taken.
//
// Thread safety: safe for concurrent use; every update is an atomic
// increment or a short critical section.
#ifndef CHAOS_CONTROLLER_METRICS_METRICS_H_
#define CHAOS_CONTROLLER_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/prometheus.h"

namespace chaos::controller {

// Why a schedule's firing started no run (scheduler.h).
enum class SkipReason { kMissed, kBlackout, kConcurrency, kFailed };
// What of a rollback failed: a fault's revert (after every attempt), or a
// rollback action.
enum class RollbackPart { kRevert, kAction };

// Figures read at scrape time by whoever renders the page.
struct ScrapedFigures {
  // Every run state by its name ("passed"), with how many runs the history
  // holds in it; empty when the history is unavailable (the family is then
  // left out).
  std::vector<std::pair<std::string, int64_t>> runs_by_state;
  int64_t agents_live = 0;
  int64_t agents_lost = 0;
};

class ControllerMetrics {
 public:
  ControllerMetrics();

  // The duration of one Inject or Revert RPC to an agent, whatever it
  // answered.
  void ObserveInject(absl::Duration took);
  void ObserveRevert(absl::Duration took);
  // A fault a run injected (the agent said so), and its end for the run:
  // reverted, or no longer the run's because the run ended without it.
  void FaultInjected(const std::string& kind, const std::string& agent);
  void FaultReleased(const std::string& kind, const std::string& agent);
  // A revert attempt failed and another follows after a pause: pending from
  // RevertRetryWaiting() until RevertRetryStarted().
  void RevertRetryWaiting();
  void RevertRetryStarted();
  void RollbackFailed(RollbackPart part);
  void ScheduleFired();
  void ScheduleSkipped(SkipReason reason, uint64_t firings = 1);

  std::string Render(const ScrapedFigures& scraped) const;

 private:
  void RenderFaults(base::PrometheusText& out) const;
  void RenderSchedules(base::PrometheusText& out) const;

  base::Histogram inject_seconds_;
  base::Histogram revert_seconds_;
  mutable absl::Mutex mu_;
  // (kind, agent) -> faults held; a pair stays listed at 0 once seen.
  std::map<std::pair<std::string, std::string>, int64_t> active_faults_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> revert_retries_pending_{0};
  std::array<std::atomic<uint64_t>, 2> rollback_failures_{};
  std::atomic<uint64_t> schedule_fires_{0};
  std::array<std::atomic<uint64_t>, 4> schedule_skips_{};
};

// The buckets of the inject and revert histograms, in seconds: 1 ms to 10 s
// (the engine's default RPC timeout).
const std::vector<double>& RpcLatencyBuckets();

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_METRICS_METRICS_H_
