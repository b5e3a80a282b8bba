#include "controller/server/metrics_page.h"

#include "proto/run_state.h"
#include "spdlog/spdlog.h"

namespace chaos::controller {
namespace {

// Every state but UNSPECIFIED, in the enum's order, with its count.
std::vector<std::pair<std::string, int64_t>> RunsByState(HistoryStore* history) {
  if (history == nullptr) return {};
  absl::StatusOr<std::map<chaos::v1::RunState, int64_t>> counts = history->CountRunsByState();
  if (!counts.ok()) {
    spdlog::error("metrics: {}", counts.status().ToString());
    return {};
  }
  std::vector<std::pair<std::string, int64_t>> out;
  const google::protobuf::EnumDescriptor* states = chaos::v1::RunState_descriptor();
  for (int i = 0; i < states->value_count(); ++i) {
    const auto state = static_cast<chaos::v1::RunState>(states->value(i)->number());
    if (state == chaos::v1::RUN_STATE_UNSPECIFIED) continue;
    const auto it = counts->find(state);
    out.emplace_back(RunStateName(state), it == counts->end() ? 0 : it->second);
  }
  return out;
}

}  // namespace

std::string RenderMetricsPage(const ControllerMetrics& metrics, HistoryStore* history,
                              AgentRegistry& registry) {
  ScrapedFigures scraped;
  scraped.runs_by_state = RunsByState(history);
  for (const chaos::v1::AgentInfo& agent : registry.List()) {
    ++(agent.lost() ? scraped.agents_lost : scraped.agents_live);
  }
  return metrics.Render(scraped);
}

}  // namespace chaos::controller
