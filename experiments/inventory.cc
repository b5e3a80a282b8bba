#include "experiments/inventory.h"

#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "yaml-cpp/yaml.h"

namespace chaos::experiments {

std::optional<std::vector<InventoryAgent>> LoadInventory(const std::string& path,
                                                          Diagnostics* diags) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    diags->AddNoPosition(absl::StrCat("cannot read inventory file: ", std::strerror(errno)));
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    diags->Add(e.mark, absl::StrCat("malformed YAML: ", e.msg));
    return std::nullopt;
  }
  std::vector<InventoryAgent> agents;
  std::set<std::string> seen;
  if (!root.IsMap() || !root["agents"] || !root["agents"].IsSequence()) {
    diags->Add(root, "an inventory is a mapping with an `agents` list");
    return std::nullopt;
  }
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "agents") {
      diags->Add(kv.first, absl::StrCat(kv.first.Scalar(), ": unknown field (known: agents)"));
    }
  }
  const YAML::Node list = root["agents"];
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& n = list[i];
    const std::string p = absl::StrCat("agents[", i, "]");
    if (!n.IsMap()) {
      diags->Add(n, absl::StrCat(p, ": expected a mapping with address and labels"));
      continue;
    }
    InventoryAgent a;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      if (key == "address" && kv.second.IsScalar()) {
        a.address = kv.second.Scalar();
      } else if (key == "labels" && kv.second.IsMap()) {
        for (const auto& l : kv.second) {
          if (!l.second.IsScalar()) {
            diags->Add(l.second, absl::StrCat(p, ".labels.", l.first.Scalar(), ": expected a string"));
            continue;
          }
          a.labels[l.first.Scalar()] = l.second.Scalar();
        }
      } else if (key == "address" || key == "labels") {
        diags->Add(kv.second, absl::StrCat(p, ".", key, ": wrong type"));
      } else {
        diags->Add(kv.first, absl::StrCat(p, ".", key, ": unknown field (known: address, labels)"));
      }
    }
    if (a.address.empty() || a.address.find(':') == std::string::npos) {
      diags->Add(n, absl::StrCat(p, ".address: required, as host:port"));
    } else if (!seen.insert(a.address).second) {
      diags->Add(n, absl::StrCat(p, ".address: ", a.address, " is listed twice"));
    }
    agents.push_back(std::move(a));
  }
  if (!diags->empty()) return std::nullopt;
  return agents;
}

}  // namespace chaos::experiments
