#include "experiments/inventory.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "experiments/yaml_fields.h"
#include "yaml-cpp/yaml.h"

namespace chaos::experiments {
namespace {

// One entry of `agents:`; its address is checked by the caller.
InventoryAgent ParseAgent(const YAML::Node& node, const std::string& path, Diagnostics* diags) {
  InventoryAgent agent;
  auto wrong_type = [diags](NodeRef v, PathRef p) {
    diags->Add(v, absl::StrCat(p, ": wrong type"));
  };
  ForFields(node, path,
            {{"address", [&](NodeRef v, PathRef p) {
                if (v.IsScalar()) agent.address = v.Scalar();
                else wrong_type(v, p);
              }},
             {"labels", [&](NodeRef v, PathRef p) {
                if (v.IsMap()) GetStringMap(v, p, &agent.labels, diags);
                else wrong_type(v, p);
              }}},
            diags);
  return agent;
}

std::optional<std::vector<InventoryAgent>> ParseDocument(const YAML::Node& root,
                                                         Diagnostics* diags) {
  if (!root.IsMap() || !root["agents"] || !root["agents"].IsSequence()) {
    diags->Add(root, "an inventory is a mapping with an `agents` list");
    return std::nullopt;
  }
  ForFields(root, "", {{"agents", [](NodeRef, PathRef) {}}}, diags);  // unknown keys only
  std::vector<InventoryAgent> agents;
  std::set<std::string> seen;
  const YAML::Node list = root["agents"];
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& node = list[i];
    const std::string path = absl::StrCat("agents[", i, "]");
    if (!node.IsMap()) {
      diags->Add(node, absl::StrCat(path, ": expected a mapping with address and labels"));
      continue;
    }
    InventoryAgent agent = ParseAgent(node, path, diags);
    if (agent.address.empty() || agent.address.find(':') == std::string::npos) {
      diags->Add(node, absl::StrCat(path, ".address: required, as host:port"));
    } else if (!seen.insert(agent.address).second) {
      diags->Add(node, absl::StrCat(path, ".address: ", agent.address, " is listed twice"));
    }
    agents.push_back(std::move(agent));
  }
  if (!diags->empty()) return std::nullopt;
  return agents;
}

}  // namespace

std::optional<std::vector<InventoryAgent>> LoadInventory(const std::string& path,
                                                          Diagnostics* diags) {
  std::optional<std::string> text = ReadInputFile(path, kMaxInventoryBytes, "inventory", diags);
  if (!text) return std::nullopt;
  return ParseInventory(*text, diags);
}

std::optional<std::vector<InventoryAgent>> ParseInventory(const std::string& text,
                                                           Diagnostics* diags) {
  std::optional<std::vector<InventoryAgent>> agents;
  ParseYamlText(text, [&](const YAML::Node& root) { agents = ParseDocument(root, diags); },
                diags);
  return agents;
}

}  // namespace chaos::experiments
