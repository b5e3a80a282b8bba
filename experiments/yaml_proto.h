// YamlToProto: fills a protobuf message from a YAML mapping, through
// reflection, so every fault kind of the protocol can be written in an
// experiment file without the controller knowing its internals.
//
// Field names are the proto's JSON names (camelCase) or its own names
// (snake_case). Unknown fields, wrong types, out-of-range numbers, unknown
// enum values and two members of one oneof are errors with the node's
// position. google.protobuf.Duration fields take strings like "150ms",
// "30s", "5m", "1h30m". Enum values may omit the enum's prefix and be
// written in lower case with dashes ("both" for DIRECTION_BOTH).
#ifndef CHAOS_EXPERIMENTS_YAML_PROTO_H_
#define CHAOS_EXPERIMENTS_YAML_PROTO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "experiments/diagnostics.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "yaml-cpp/yaml.h"

namespace chaos::experiments {

// Appends errors to `diags` and fills what it can of `message`.
void YamlToProto(const YAML::Node& node, const std::string& path,
                 google::protobuf::Message* message, Diagnostics* diags);

// The field of `message` that `key` names, by its own name or its JSON
// name; nullptr when none does.
const google::protobuf::FieldDescriptor* FindFieldByYamlName(
    const google::protobuf::Descriptor& message, const std::string& key);

// "150ms", "30s", "5m", "1h30m" -> duration >= 0 and at most 10000 years
// (what google.protobuf.Duration holds). A bare number is an error (the
// unit must be written) except "0".
absl::StatusOr<absl::Duration> ParseDuration(const std::string& text);

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_YAML_PROTO_H_
