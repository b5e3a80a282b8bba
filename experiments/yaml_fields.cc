#include "experiments/yaml_fields.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "experiments/yaml_proto.h"

namespace chaos::experiments {

bool ParseYamlText(const std::string& text, const std::function<void(const YAML::Node&)>& parse,
                   Diagnostics* diags) {
  try {
    parse(YAML::Load(text));
    return true;
  } catch (const YAML::Exception& e) {
    diags->Add(e.mark, absl::StrCat("malformed YAML: ", e.msg));
    return false;
  }
}

std::string FieldPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

void ForFields(const YAML::Node& node, const std::string& path, const FieldTable& fields,
               Diagnostics* diags) {
  std::vector<std::string> known;
  for (const auto& field : fields) known.push_back(field.first);
  if (!node.IsMap()) {
    diags->Add(node, absl::StrCat(path, ": expected a mapping (fields: ",
                                  absl::StrJoin(known, ", "), ")"));
    return;
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string p = FieldPath(path, key);
    auto field = std::find_if(fields.begin(), fields.end(),
                              [&](const auto& f) { return f.first == key; });
    if (field == fields.end()) {
      AddUnknownField(kv.first, p, known, diags);
      continue;
    }
    field->second(kv.second, p);
  }
}

void ForItems(const YAML::Node& node, const std::string& path,
              const std::function<void(const YAML::Node&, const std::string&)>& item,
              Diagnostics* diags) {
  if (!node.IsSequence()) {
    diags->Add(node, absl::StrCat(path, ": expected a list"));
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) item(node[i], absl::StrCat(path, "[", i, "]"));
}

void AddUnknownField(const YAML::Node& key, const std::string& path,
                     const std::vector<std::string>& known, Diagnostics* diags) {
  diags->Add(key, absl::StrCat(path, ": unknown field (known: ", absl::StrJoin(known, ", "), ")"));
}

void RequireField(const YAML::Node& node, const std::string& path, const std::string& key,
                  Diagnostics* diags) {
  if (node.IsMap() && !node[key]) diags->Add(node, FieldPath(path, key) + ": required");
}

bool GetString(const YAML::Node& node, const std::string& path, std::string* out,
               Diagnostics* diags) {
  if (!node.IsScalar()) {
    diags->Add(node, absl::StrCat(path, ": expected a string"));
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool GetDuration(const YAML::Node& node, const std::string& path, absl::Duration* out,
                 Diagnostics* diags) {
  std::string s;
  if (!GetString(node, path, &s, diags)) return false;
  auto d = ParseDuration(s);
  if (!d.ok()) {
    diags->Add(node, absl::StrCat(path, ": ", d.status().message()));
    return false;
  }
  *out = *d;
  return true;
}

bool GetDuration(const YAML::Node& node, const std::string& path,
                 std::optional<absl::Duration>* out, Diagnostics* diags) {
  absl::Duration d;
  if (!GetDuration(node, path, &d, diags)) return false;
  *out = d;
  return true;
}

bool GetInt(const YAML::Node& node, const std::string& path, int64_t lo, int64_t hi,
            int64_t* out, Diagnostics* diags) {
  int64_t v = 0;
  if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &v)) {
    diags->Add(node, absl::StrCat(path, ": expected an integer"));
    return false;
  }
  if (v < lo || v > hi) {
    diags->Add(node, absl::StrCat(path, ": must be ", lo, "..", hi, ", got ", v));
    return false;
  }
  *out = v;
  return true;
}

bool GetStringList(const YAML::Node& node, const std::string& path,
                   std::vector<std::string>* out, Diagnostics* diags) {
  if (node.IsScalar()) {
    out->push_back(node.Scalar());
    return true;
  }
  if (!node.IsSequence()) {
    diags->Add(node, absl::StrCat(path, ": expected a string or a list of strings"));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < node.size(); ++i) {
    std::string s;
    if (GetString(node[i], absl::StrCat(path, "[", i, "]"), &s, diags)) out->push_back(s);
    else ok = false;
  }
  return ok;
}

bool GetStringMap(const YAML::Node& node, const std::string& path,
                  std::map<std::string, std::string>* out, Diagnostics* diags) {
  if (!node.IsMap()) {
    diags->Add(node, absl::StrCat(path, ": expected a mapping of strings"));
    return false;
  }
  for (const auto& kv : node) {
    std::string v;
    if (GetString(kv.second, FieldPath(path, kv.first.Scalar()), &v, diags)) {
      (*out)[kv.first.Scalar()] = v;
    }
  }
  return true;
}

std::optional<size_t> GetChoice(const YAML::Node& node, const std::string& path,
                                const std::vector<std::string>& choices, Diagnostics* diags) {
  std::string s;
  if (!GetString(node, path, &s, diags)) return std::nullopt;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == s) return i;
  }
  diags->Add(node, absl::StrCat(path, ": \"", s, "\" is not one of: ",
                                absl::StrJoin(choices, ", ")));
  return std::nullopt;
}

}  // namespace chaos::experiments
