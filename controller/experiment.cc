#include "controller/experiment.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/yaml_proto.h"
#include "google/protobuf/descriptor.h"

namespace chaos::controller {
namespace {

using google::protobuf::FieldDescriptor;

bool ValidStepId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

// Reads a scalar string; reports a type error otherwise.
bool GetString(const YAML::Node& node, const std::string& path, std::string* out,
               Diagnostics* diags) {
  if (!node.IsScalar()) {
    diags->Add(node, absl::StrCat(path, ": expected a string"));
    return false;
  }
  *out = node.Scalar();
  return true;
}

std::vector<std::string> KindKeys() {
  std::vector<std::string> keys;
  const auto* oneof = chaos::v1::FaultSpec::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < oneof->field_count(); ++i) keys.push_back(oneof->field(i)->json_name());
  return keys;
}

void ParseFault(const YAML::Node& node, const std::string& path, Step* step,
                Diagnostics* diags) {
  const auto keys = KindKeys();
  if (!node.IsMap() || node.size() != 1) {
    diags->Add(node, absl::StrCat(path, ": expected exactly one fault kind (one of: ",
                                  absl::StrJoin(keys, ", "), ")"));
    return;
  }
  const std::string kind = node.begin()->first.Scalar();
  const auto* desc = chaos::v1::FaultSpec::descriptor();
  const FieldDescriptor* f = nullptr;
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* c = desc->field(i);
    if (c->real_containing_oneof() != nullptr && (c->json_name() == kind || c->name() == kind)) {
      f = c;
    }
  }
  if (f == nullptr) {
    diags->Add(node.begin()->first, absl::StrCat(path, ": unknown fault kind \"", kind,
                                                 "\" (known: ", absl::StrJoin(keys, ", "), ")"));
    return;
  }
  chaos::v1::FaultSpec spec;
  const size_t errors_before = diags->items().size();
  YamlToProto(node, path, &spec, diags);
  if (diags->items().size() == errors_before) step->fault = std::move(spec);
}

void ParseStep(const YAML::Node& node, size_t index, Step* step, Diagnostics* diags) {
  const std::string path = absl::StrCat("method[", index, "]");
  step->line = node.Mark().line + 1;
  if (!node.IsMap()) {
    diags->Add(node, absl::StrCat(path, ": expected a mapping with id and a fault or wait"));
    return;
  }
  std::optional<absl::Duration> duration;
  YAML::Node duration_node;
  bool has_wait = false;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string p = absl::StrCat(path, ".", key);
    if (key == "id") {
      if (GetString(kv.second, p, &step->id, diags) && !ValidStepId(step->id)) {
        diags->Add(kv.second, absl::StrCat(p, ": \"", step->id,
                                           "\" must be 1-64 letters, digits, - or _"));
      }
    } else if (key == "fault") {
      ParseFault(kv.second, p, step, diags);
    } else if (key == "duration") {
      std::string s;
      if (GetString(kv.second, p, &s, diags)) {
        auto d = ParseDuration(s);
        if (!d.ok()) diags->Add(kv.second, absl::StrCat(p, ": ", d.status().message()));
        else duration = *d;
      }
      duration_node = kv.second;
    } else if (key == "wait") {
      has_wait = true;
      std::string s;
      if (GetString(kv.second, p, &s, diags)) {
        auto d = ParseDuration(s);
        if (!d.ok()) diags->Add(kv.second, absl::StrCat(p, ": ", d.status().message()));
        else step->wait = *d;
      }
    } else if (key == "after") {
      if (kv.second.IsScalar()) {
        step->after.push_back(kv.second.Scalar());
      } else if (kv.second.IsSequence()) {
        for (const auto& a : kv.second) {
          std::string s;
          if (GetString(a, p, &s, diags)) step->after.push_back(s);
        }
      } else {
        diags->Add(kv.second, absl::StrCat(p, ": expected a step id or a list of them"));
      }
    } else {
      diags->Add(kv.first, absl::StrCat(p, ": unknown field (known: id, fault, duration, "
                                           "wait, after)"));
    }
  }
  if (step->id.empty() && !node["id"]) diags->Add(node, absl::StrCat(path, ".id: required"));
  const bool has_fault = static_cast<bool>(node["fault"]);
  if (has_fault && has_wait) {
    diags->Add(node, absl::StrCat(path, ": a step is either a fault or a wait, not both"));
  } else if (!has_fault && !has_wait) {
    diags->Add(node, absl::StrCat(path, ": needs a fault or a wait"));
  }
  if (has_fault && !duration && !node["duration"]) {
    diags->Add(node, absl::StrCat(path, ".duration: required for a fault step"));
  }
  if (has_wait && node["duration"]) {
    diags->Add(duration_node, absl::StrCat(path, ".duration: not used by a wait step"));
  }
  if (duration && *duration <= absl::ZeroDuration()) {
    diags->Add(duration_node, absl::StrCat(path, ".duration: must be greater than 0"));
  }
  if (step->fault && duration) {
    const absl::Duration d = *duration;
    step->fault->mutable_duration()->set_seconds(absl::ToInt64Seconds(d));
    step->fault->mutable_duration()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(absl::ToInt64Seconds(d)))));
  }
}

void CheckOrder(const std::vector<Step>& steps, const YAML::Node& method, Diagnostics* diags) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].id.empty()) continue;
    if (!index.emplace(steps[i].id, i).second) {
      diags->Add(method[i], absl::StrCat("method[", i, "].id: duplicate step id \"",
                                         steps[i].id, "\""));
    }
  }
  bool refs_ok = true;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const std::string& a : steps[i].after) {
      if (!index.contains(a)) {
        refs_ok = false;
        diags->Add(method[i]["after"], absl::StrCat("method[", i, "].after: no step has id \"",
                                                    a, "\""));
      }
    }
  }
  if (!refs_ok) return;
  // Cycle detection by depth-first search.
  std::vector<int> color(steps.size(), 0);
  std::vector<std::string> trail;
  std::function<bool(size_t)> visit = [&](size_t i) {
    color[i] = 1;
    trail.push_back(steps[i].id);
    for (const std::string& a : steps[i].after) {
      size_t j = index[a];
      if (color[j] == 1) {
        trail.push_back(a);
        return true;
      }
      if (color[j] == 0 && visit(j)) return true;
    }
    color[i] = 2;
    trail.pop_back();
    return false;
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    if (color[i] == 0 && visit(i)) {
      diags->Add(method[i], absl::StrCat("method: steps wait for each other in a cycle: ",
                                         absl::StrJoin(trail, " -> ")));
      return;
    }
  }
}

}  // namespace

std::string FaultKindKey(const chaos::v1::FaultSpec& spec) {
  const auto* oneof = chaos::v1::FaultSpec::descriptor()->FindOneofByName("kind");
  const FieldDescriptor* f = spec.GetReflection()->GetOneofFieldDescriptor(spec, oneof);
  return f == nullptr ? "" : f->json_name();
}

absl::Duration Experiment::PlannedDuration() const {
  std::map<std::string, absl::Duration> end;
  std::function<absl::Duration(const Step&)> finish = [&](const Step& s) {
    if (auto it = end.find(s.id); it != end.end()) return it->second;
    absl::Duration start = absl::ZeroDuration();
    for (const std::string& a : s.after) {
      for (const Step& o : method) {
        if (o.id == a) start = std::max(start, finish(o));
      }
    }
    absl::Duration len = s.wait;
    if (s.fault) len = absl::Seconds(s.fault->duration().seconds()) +
                       absl::Nanoseconds(s.fault->duration().nanos());
    return end[s.id] = start + len;
  };
  absl::Duration total = absl::ZeroDuration();
  for (const Step& s : method) total = std::max(total, finish(s));
  return total;
}

std::optional<Experiment> ParseExperiment(const std::string& text, Diagnostics* diags) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diags->Add(e.mark, absl::StrCat("malformed YAML: ", e.msg));
    return std::nullopt;
  }
  if (!root.IsMap()) {
    diags->Add(root, "an experiment file must be a mapping with name and method");
    return std::nullopt;
  }
  Experiment exp;
  YAML::Node method;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "name") {
      GetString(kv.second, key, &exp.name, diags);
    } else if (key == "description") {
      GetString(kv.second, key, &exp.description, diags);
    } else if (key == "hypothesis") {
      GetString(kv.second, key, &exp.hypothesis, diags);
    } else if (key == "labels") {
      if (!kv.second.IsMap()) {
        diags->Add(kv.second, "labels: expected a mapping of strings");
      } else {
        for (const auto& l : kv.second) {
          std::string v;
          if (GetString(l.second, absl::StrCat("labels.", l.first.Scalar()), &v, diags)) {
            exp.labels[l.first.Scalar()] = v;
          }
        }
      }
    } else if (key == "method") {
      method = kv.second;
      if (!method.IsSequence()) {
        diags->Add(method, "method: expected a list of steps");
        method = YAML::Node();
      }
    } else if (key == "rollback") {
      std::string v;
      if (GetString(kv.second, key, &v, diags)) {
        if (v == "always") exp.rollback = RollbackPolicy::kAlways;
        else if (v == "on-abort") exp.rollback = RollbackPolicy::kOnAbort;
        else if (v == "never") exp.rollback = RollbackPolicy::kNever;
        else diags->Add(kv.second, absl::StrCat("rollback: \"", v,
                                                "\" is not one of: always, on-abort, never"));
      }
    } else {
      diags->Add(kv.first, absl::StrCat(key, ": unknown field (known: name, description, "
                                             "hypothesis, labels, method, rollback)"));
    }
  }
  if (!root["name"]) diags->Add(root, "name: required");
  if (!root["method"]) diags->Add(root, "method: required (a list of steps)");
  if (method && method.IsSequence()) {
    if (method.size() == 0) diags->Add(method, "method: needs at least one step");
    for (size_t i = 0; i < method.size(); ++i) {
      Step step;
      ParseStep(method[i], i, &step, diags);
      exp.method.push_back(std::move(step));
    }
    CheckOrder(exp.method, method, diags);
  }
  if (!diags->empty()) return std::nullopt;
  return exp;
}

std::optional<Experiment> LoadExperimentFile(const std::string& path, Diagnostics* diags) {
  std::ifstream in(path);
  if (!in) {
    diags->AddNoPosition(absl::StrCat("cannot read experiment file: ", std::strerror(errno)));
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseExperiment(ss.str(), diags);
}

}  // namespace chaos::controller
