// Reading typed values out of YAML for the experiment language (experiment
// files, inventories). Every error is added to Diagnostics at the node's
// line and column, prefixed with the value's path ("method[2].wait"); the
// path only names the value in messages.
//
// A Get* function stores the value and returns true when the node has the
// right type and range. Otherwise it adds one diagnostic and leaves *out as
// it was, so the caller's default stands. yaml-cpp throws on malformed text
// (and on some misuse of nodes); ParseYamlText is the one place that
// catches it. Stateless and thread-compatible.
#ifndef CHAOS_EXPERIMENTS_YAML_FIELDS_H_
#define CHAOS_EXPERIMENTS_YAML_FIELDS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "experiments/diagnostics.h"
#include "yaml-cpp/yaml.h"

namespace chaos::experiments {

// Parses `text` and hands the document to `parse`. A YAML exception, thrown
// by the parser or later by `parse`, becomes one diagnostic
// "malformed YAML: ..." at its position, and the result is false. Errors
// that `parse` reports itself do not change the result.
bool ParseYamlText(const std::string& text, const std::function<void(const YAML::Node&)>& parse,
                   Diagnostics* diags);

// "path.key", or "key" when `path` is "" (the top level of a document).
std::string FieldPath(const std::string& path, const std::string& key);

// Reads one field: its value and its path.
using FieldParser = std::function<void(const YAML::Node& value, const std::string& path)>;
// A FieldParser's parameter types, for short lambdas: [&](NodeRef v, PathRef p).
using NodeRef = const YAML::Node&;
using PathRef = const std::string&;
// The fields a mapping may have, in the order its messages list them.
using FieldTable = std::vector<std::pair<std::string, FieldParser>>;

// The FieldParser that stores a field's value with `get`, one of the Get*
// functions below: {"url", FieldInto(&GetString, &check.url, diags)}.
template <typename T>
FieldParser FieldInto(bool (*get)(const YAML::Node&, const std::string&, T*, Diagnostics*),
                      T* out, Diagnostics* diags) {
  return [=](const YAML::Node& value, const std::string& path) { get(value, path, out, diags); };
}

// Calls the parser of each key of the mapping `node`, in the file's order.
// A key not in `fields` is "path.key: unknown field (known: a, b)" at the
// key; a node that is not a mapping is "path: expected a mapping (fields:
// a, b)" and nothing is called.
void ForFields(const YAML::Node& node, const std::string& path, const FieldTable& fields,
               Diagnostics* diags);

// Calls `item` for each element of the list `node` with its path
// "path[i]"; anything but a list is "path: expected a list".
void ForItems(const YAML::Node& node, const std::string& path,
              const std::function<void(const YAML::Node&, const std::string&)>& item,
              Diagnostics* diags);

// "path: unknown field (known: a, b)" at `key`, the node of the key.
void AddUnknownField(const YAML::Node& key, const std::string& path,
                     const std::vector<std::string>& known, Diagnostics* diags);

// "path.key: required" at `node` when `node` is a mapping without `key`.
// Not a mapping: nothing (ForFields has said so).
void RequireField(const YAML::Node& node, const std::string& path, const std::string& key,
                  Diagnostics* diags);

// A scalar, as text: "path: expected a string" otherwise.
bool GetString(const YAML::Node& node, const std::string& path, std::string* out,
               Diagnostics* diags);

// A duration with its unit ("150ms", "5m"; see ParseDuration in yaml_proto.h).
bool GetDuration(const YAML::Node& node, const std::string& path, absl::Duration* out,
                 Diagnostics* diags);
bool GetDuration(const YAML::Node& node, const std::string& path,
                 std::optional<absl::Duration>* out, Diagnostics* diags);

// An integer in [lo, hi]: "path: expected an integer" or "path: must be
// lo..hi, got v" otherwise.
bool GetInt(const YAML::Node& node, const std::string& path, int64_t lo, int64_t hi,
            int64_t* out, Diagnostics* diags);
// The same into a narrower integer type; [lo, hi] must fit in T.
template <typename T>
bool GetInt(const YAML::Node& node, const std::string& path, int64_t lo, int64_t hi, T* out,
            Diagnostics* diags) {
  int64_t v = 0;
  if (!GetInt(node, path, lo, hi, &v, diags)) return false;
  *out = static_cast<T>(v);
  return true;
}
// FieldInto for an integer in [lo, hi].
template <typename T>
FieldParser IntFieldInto(int64_t lo, int64_t hi, T* out, Diagnostics* diags) {
  return [=](const YAML::Node& value, const std::string& path) {
    GetInt(value, path, lo, hi, out, diags);
  };
}

// One string, or a list of strings; appends to *out every element that is
// a string, and returns false if any is not.
bool GetStringList(const YAML::Node& node, const std::string& path,
                   std::vector<std::string>* out, Diagnostics* diags);

// A mapping of strings; sets every entry whose value is a string. False
// only when `node` is not a mapping.
bool GetStringMap(const YAML::Node& node, const std::string& path,
                  std::map<std::string, std::string>* out, Diagnostics* diags);

// One of the words `choices` (in order): its index, or
// "path: \"word\" is not one of: a, b" and nullopt.
std::optional<size_t> GetChoice(const YAML::Node& node, const std::string& path,
                                const std::vector<std::string>& choices, Diagnostics* diags);
// The same, storing the value paired with the word.
template <typename T>
bool GetChoice(const YAML::Node& node, const std::string& path,
               const std::vector<std::pair<std::string, T>>& choices, T* out,
               Diagnostics* diags) {
  std::vector<std::string> words;
  for (const auto& choice : choices) words.push_back(choice.first);
  const std::optional<size_t> i = GetChoice(node, path, words, diags);
  if (i) *out = choices[*i].second;
  return i.has_value();
}

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_YAML_FIELDS_H_
