// Fuzz target: an inventory file (experiments/inventory.h), parsed with
// ParseInventory. Any input ends in a list of agents or in diagnostics,
// never in a crash, a sanitizer report or a hang; every agent parsed has a
// host:port address, listed once.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "experiments/inventory.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chaos::experiments;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Diagnostics diags;
  auto agents = ParseInventory(text, &diags);
  FUZZ_CHECK(agents.has_value() == diags.empty());
  if (!agents) {
    (void)diags.Format("fuzz.yaml");
    return 0;
  }
  std::set<std::string> seen;
  for (const InventoryAgent& a : *agents) {
    FUZZ_CHECK(a.address.find(':') != std::string::npos);
    FUZZ_CHECK(seen.insert(a.address).second);
  }
  return 0;
}
