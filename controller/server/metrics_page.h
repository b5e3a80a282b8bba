// The controller's /metrics page: ControllerMetrics (controller/metrics/)
// with the figures read at each scrape, the history's runs by state (every
// state, 0 included) and the registry's live and lost agents. Without a
// history (a corrupt database) the runs family is left out.
// Thread safety: as safe as its parts (all safe for concurrent use).
#ifndef CHAOS_CONTROLLER_SERVER_METRICS_PAGE_H_
#define CHAOS_CONTROLLER_SERVER_METRICS_PAGE_H_

#include <string>

#include "controller/metrics/metrics.h"
#include "controller/store/history_store.h"
#include "controller/server/registry.h"

namespace chaos::controller {

// `history` may be null.
std::string RenderMetricsPage(const ControllerMetrics& metrics, HistoryStore* history,
                              AgentRegistry& registry);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_SERVER_METRICS_PAGE_H_
