// Inventory: a file listing agents and their labels, for target selection.
//
//   agents:
//     - address: 10.0.0.5:7070
//       labels: {role: web, zone: a}
//
// Errors carry file:line:column; unknown fields are errors.
#ifndef CHAOS_EXPERIMENTS_INVENTORY_H_
#define CHAOS_EXPERIMENTS_INVENTORY_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiments/diagnostics.h"

namespace chaos::experiments {

struct InventoryAgent {
  std::string address;
  std::map<std::string, std::string> labels;
};

std::optional<std::vector<InventoryAgent>> LoadInventory(const std::string& path,
                                                          Diagnostics* diags);

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_INVENTORY_H_
