// Inventory: a file listing agents and their labels, for target selection.
//
//   agents:
//     - address: 10.0.0.5:7070
//       labels: {role: web, zone: a}
//
// Errors carry file:line:column; unknown fields are errors. A file over
// kMaxInventoryBytes is refused before it is parsed.
#ifndef CHAOS_EXPERIMENTS_INVENTORY_H_
#define CHAOS_EXPERIMENTS_INVENTORY_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiments/diagnostics.h"

namespace chaos::experiments {

inline constexpr size_t kMaxInventoryBytes = size_t{1} << 20;  // 1 MiB

struct InventoryAgent {
  std::string address;
  std::map<std::string, std::string> labels;
};

std::optional<std::vector<InventoryAgent>> LoadInventory(const std::string& path,
                                                          Diagnostics* diags);

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_INVENTORY_H_
