// The dashboard's static files (web/), embedded in the binary at build time
// by embed_assets.cmake: nothing is read from disk or fetched from
// elsewhere at run time.
#ifndef CHAOS_CONTROLLER_DASHBOARD_ASSETS_H_
#define CHAOS_CONTROLLER_DASHBOARD_ASSETS_H_

#include <string_view>
#include <vector>

namespace chaos::controller {

struct DashboardAsset {
  std::string_view name;  // "index.html", as in web/
  std::string_view data;
};

// Every file of web/, in name order.
const std::vector<DashboardAsset>& DashboardAssets();

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_DASHBOARD_ASSETS_H_
