#include "controller/metrics/metrics.h"

namespace chaos::controller {
namespace {

constexpr const char* kSkipReasons[] = {"missed", "blackout", "concurrency", "failed"};
constexpr const char* kRollbackParts[] = {"revert", "action"};

}  // namespace

const std::vector<double>& RpcLatencyBuckets() {
  static const std::vector<double> buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

ControllerMetrics::ControllerMetrics()
    : inject_seconds_(RpcLatencyBuckets()), revert_seconds_(RpcLatencyBuckets()) {}

void ControllerMetrics::ObserveInject(absl::Duration took) {
  inject_seconds_.Observe(absl::ToDoubleSeconds(took));
}

void ControllerMetrics::ObserveRevert(absl::Duration took) {
  revert_seconds_.Observe(absl::ToDoubleSeconds(took));
}

void ControllerMetrics::FaultInjected(const std::string& kind, const std::string& agent) {
  absl::MutexLock lock(&mu_);
  ++active_faults_[{kind, agent}];
}

void ControllerMetrics::FaultReleased(const std::string& kind, const std::string& agent) {
  absl::MutexLock lock(&mu_);
  int64_t& n = active_faults_[{kind, agent}];
  if (n > 0) --n;
}

void ControllerMetrics::RevertRetryWaiting() { ++revert_retries_pending_; }
void ControllerMetrics::RevertRetryStarted() { --revert_retries_pending_; }

void ControllerMetrics::RollbackFailed(RollbackPart part) {
  ++rollback_failures_[static_cast<size_t>(part)];
}

void ControllerMetrics::ScheduleFired() { ++schedule_fires_; }

void ControllerMetrics::ScheduleSkipped(SkipReason reason, uint64_t firings) {
  schedule_skips_[static_cast<size_t>(reason)] += firings;
}

void ControllerMetrics::RenderFaults(base::PrometheusText& out) const {
  out.Family("chaos_controller_active_faults", "gauge",
             "Faults the controller's live runs injected and have not reverted.");
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, n] : active_faults_) {
      out.Sample("chaos_controller_active_faults", {{"kind", key.first}, {"agent", key.second}},
                 static_cast<double>(n));
    }
  }
  out.Family("chaos_controller_rollback_failures_total", "counter",
             "Fault reverts that failed after every attempt, and rollback actions that failed.");
  for (size_t i = 0; i < rollback_failures_.size(); ++i) {
    out.Sample("chaos_controller_rollback_failures_total", {{"part", kRollbackParts[i]}},
               static_cast<double>(rollback_failures_[i].load()));
  }
  out.Single("chaos_controller_revert_retries_pending", "gauge",
             "Fault reverts that failed an attempt and wait to be tried again.",
             static_cast<double>(revert_retries_pending_.load()));
  out.HistogramFamily("chaos_controller_inject_duration_seconds",
                      "Duration of Inject RPCs to agents, whatever they answered.",
                      inject_seconds_.Read());
  out.HistogramFamily("chaos_controller_revert_duration_seconds",
                      "Duration of Revert RPCs to agents (each attempt), whatever they answered.",
                      revert_seconds_.Read());
}

void ControllerMetrics::RenderSchedules(base::PrometheusText& out) const {
  out.Single("chaos_controller_schedule_fires_total", "counter",
             "Schedule firings that started a run.", static_cast<double>(schedule_fires_.load()));
  out.Family("chaos_controller_schedule_skips_total", "counter",
             "Schedule firings that started no run, by reason.");
  for (size_t i = 0; i < schedule_skips_.size(); ++i) {
    out.Sample("chaos_controller_schedule_skips_total", {{"reason", kSkipReasons[i]}},
               static_cast<double>(schedule_skips_[i].load()));
  }
}

std::string ControllerMetrics::Render(const ScrapedFigures& scraped) const {
  base::PrometheusText out;
  if (!scraped.runs_by_state.empty()) {
    out.Family("chaos_controller_runs", "gauge", "Runs in the history, by state.");
    for (const auto& [state, n] : scraped.runs_by_state) {
      out.Sample("chaos_controller_runs", {{"state", state}}, static_cast<double>(n));
    }
  }
  out.Family("chaos_controller_agents", "gauge",
             "Registered agents, live or lost (no heartbeat for --missed-heartbeats intervals).");
  out.Sample("chaos_controller_agents", {{"state", "live"}},
             static_cast<double>(scraped.agents_live));
  out.Sample("chaos_controller_agents", {{"state", "lost"}},
             static_cast<double>(scraped.agents_lost));
  RenderFaults(out);
  RenderSchedules(out);
  return out.text();
}

}  // namespace chaos::controller
