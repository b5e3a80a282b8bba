// Inventory: a file listing agents and their labels, for target selection.
//
//   agents:
//     - address: 10.0.0.5:7070
//       labels: {role: web, zone: a}
//
// Errors carry file:line:column; unknown fields are errors. A file over
// kMaxInventoryBytes is refused before it is parsed. Stateless: safe to
// call from any thread.
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

// Reads and parses the file `path`; nullopt after adding every error to
// `diags`.
std::optional<std::vector<InventoryAgent>> LoadInventory(const std::string& path,
                                                          Diagnostics* diags);

// The same for the text of a file (no size limit of its own).
std::optional<std::vector<InventoryAgent>> ParseInventory(const std::string& text,
                                                           Diagnostics* diags);

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_INVENTORY_H_
