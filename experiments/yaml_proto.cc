#include "experiments/yaml_proto.h"

#include <cctype>
#include <cmath>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "experiments/yaml_fields.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "proto/duration.h"

namespace chaos::experiments {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::StatusOr<absl::Duration> ParseDuration(const std::string& text) {
  const std::string t(absl::StripAsciiWhitespace(text));
  if (t == "0") return absl::ZeroDuration();
  absl::Duration d;
  if (t.empty() || std::isdigit(static_cast<unsigned char>(t.back())) ||
      !absl::ParseDuration(t, &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not a duration (write a number and a unit: 150ms, 30s, 5m, 1h)"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("duration \"", text, "\" is negative"));
  }
  // Longer would not fit the wire (google.protobuf.Duration): the agent
  // would refuse the fault that the file was said to allow.
  if (d > absl::Seconds(kMaxDurationSeconds)) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration \"", text, "\" is longer than 10000 years"));
  }
  return d;
}

namespace {

// Sets `f` to `v`, or appends `v` when `f` is repeated.
template <typename T, typename Arg = T>
void Store(Message* msg, const FieldDescriptor* f, T v,
           void (Reflection::*set)(Message*, const FieldDescriptor*, Arg) const,
           void (Reflection::*add)(Message*, const FieldDescriptor*, Arg) const) {
  const Reflection* r = msg->GetReflection();
  (r->*(f->is_repeated() ? add : set))(msg, f, std::move(v));
}

// Each StoreX below stores the scalar `s` in `f` and returns "", or returns
// what `s` should have been ("an integer in range").

template <typename T>
std::string StoreInteger(const std::string& s, Message* msg, const FieldDescriptor* f,
                         void (Reflection::*set)(Message*, const FieldDescriptor*, T) const,
                         void (Reflection::*add)(Message*, const FieldDescriptor*, T) const) {
  if (std::is_unsigned_v<T> && !s.empty() && s[0] == '-') return "a non-negative integer";
  T v;
  if (!absl::SimpleAtoi(s, &v)) {
    return std::is_unsigned_v<T> ? "a non-negative integer in range" : "an integer in range";
  }
  Store(msg, f, v, set, add);
  return "";
}

template <typename T>
std::string StoreNumber(const std::string& s, Message* msg, const FieldDescriptor* f,
                        void (Reflection::*set)(Message*, const FieldDescriptor*, T) const,
                        void (Reflection::*add)(Message*, const FieldDescriptor*, T) const) {
  double v;
  if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) return "a number";
  Store(msg, f, static_cast<T>(v), set, add);
  return "";
}

std::string StoreBool(const std::string& s, Message* msg, const FieldDescriptor* f) {
  if (s != "true" && s != "false") return "true or false";
  Store(msg, f, s == "true", &Reflection::SetBool, &Reflection::AddBool);
  return "";
}

// "WhenRestored" -> "WHEN_RESTORED": the prefix of the enum's value names.
std::string UpperSnake(const std::string& camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    if (i > 0 && absl::ascii_isupper(camel[i]) && !absl::ascii_isupper(camel[i - 1])) {
      out.push_back('_');
    }
    out.push_back(absl::ascii_toupper(camel[i]));
  }
  return out;
}

// Accepts FULL_NAME, or the part after the enum's prefix, any case, dashes
// for underscores.
std::string StoreEnum(const std::string& s, Message* msg, const FieldDescriptor* f) {
  const EnumDescriptor* e = f->enum_type();
  const std::string want = absl::AsciiStrToUpper(absl::StrReplaceAll(s, {{"-", "_"}}));
  const std::string prefix = UpperSnake(e->name()) + "_";
  std::vector<std::string> names;
  for (int i = 0; i < e->value_count(); ++i) {
    const std::string& full = e->value(i)->name();
    std::string shortname = full.rfind(prefix, 0) == 0 ? full.substr(prefix.size()) : full;
    if (shortname == "UNSPECIFIED") continue;
    if (want == full || want == shortname) {
      Store(msg, f, e->value(i)->number(), &Reflection::SetEnumValue, &Reflection::AddEnumValue);
      return "";
    }
    names.push_back(absl::AsciiStrToLower(absl::StrReplaceAll(shortname, {{"_", "-"}})));
  }
  return absl::StrCat("one of: ", absl::StrJoin(names, ", "));
}

std::string StoreScalar(const std::string& s, Message* msg, const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return StoreInteger<int32_t>(s, msg, f, &Reflection::SetInt32, &Reflection::AddInt32);
    case FieldDescriptor::CPPTYPE_INT64:
      return StoreInteger<int64_t>(s, msg, f, &Reflection::SetInt64, &Reflection::AddInt64);
    case FieldDescriptor::CPPTYPE_UINT32:
      return StoreInteger<uint32_t>(s, msg, f, &Reflection::SetUInt32, &Reflection::AddUInt32);
    case FieldDescriptor::CPPTYPE_UINT64:
      return StoreInteger<uint64_t>(s, msg, f, &Reflection::SetUInt64, &Reflection::AddUInt64);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return StoreNumber<double>(s, msg, f, &Reflection::SetDouble, &Reflection::AddDouble);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return StoreNumber<float>(s, msg, f, &Reflection::SetFloat, &Reflection::AddFloat);
    case FieldDescriptor::CPPTYPE_BOOL:
      return StoreBool(s, msg, f);
    case FieldDescriptor::CPPTYPE_STRING:
      Store<std::string>(msg, f, s, &Reflection::SetString, &Reflection::AddString);
      return "";
    case FieldDescriptor::CPPTYPE_ENUM:
      return StoreEnum(s, msg, f);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

// A scalar field, or one element of a repeated one.
void SetScalar(const YAML::Node& node, const std::string& path, Message* msg,
               const FieldDescriptor* f, Diagnostics* diags) {
  if (!node.IsScalar()) {
    diags->Add(node, absl::StrCat(path, ": expected a ", f->type_name(), " value"));
    return;
  }
  const std::string s = node.Scalar();
  const std::string expected = StoreScalar(s, msg, f);
  if (!expected.empty()) diags->Add(node, absl::StrCat(path, ": \"", s, "\" is not ", expected));
}

void SetField(const YAML::Node& node, const std::string& path, Message* msg,
              const FieldDescriptor* f, Diagnostics* diags);

void SetMessageValue(const YAML::Node& node, const std::string& path, Message* sub,
                     Diagnostics* diags) {
  if (sub->GetDescriptor()->full_name() == "google.protobuf.Duration") {
    if (!node.IsScalar()) {
      diags->Add(node, absl::StrCat(path, ": expected a duration such as 30s"));
      return;
    }
    auto d = ParseDuration(node.Scalar());
    if (!d.ok()) {
      diags->Add(node, absl::StrCat(path, ": ", d.status().message()));
      return;
    }
    google::protobuf::Duration wire;
    ToProto(*d, &wire);
    sub->CopyFrom(wire);
    return;
  }
  YamlToProto(node, path, sub, diags);
}

void SetField(const YAML::Node& node, const std::string& path, Message* msg,
              const FieldDescriptor* f, Diagnostics* diags) {
  const Reflection* r = msg->GetReflection();
  if (f->is_map()) {
    if (!node.IsMap()) {
      diags->Add(node, absl::StrCat(path, ": expected a mapping"));
      return;
    }
    for (const auto& kv : node) {
      Message* entry = r->AddMessage(msg, f);
      const Descriptor* ed = entry->GetDescriptor();
      SetScalar(kv.first, path, entry, ed->FindFieldByName("key"), diags);
      SetScalar(kv.second, FieldPath(path, kv.first.Scalar()), entry,
                ed->FindFieldByName("value"), diags);
    }
    return;
  }
  if (f->is_repeated()) {
    if (!node.IsSequence()) {
      diags->Add(node, absl::StrCat(path, ": expected a list"));
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string p = absl::StrCat(path, "[", i, "]");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        SetMessageValue(node[i], p, r->AddMessage(msg, f), diags);
      } else {
        SetScalar(node[i], p, msg, f, diags);
      }
    }
    return;
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    SetMessageValue(node, path, r->MutableMessage(msg, f), diags);
  } else {
    SetScalar(node, path, msg, f, diags);
  }
}

}  // namespace

const FieldDescriptor* FindFieldByYamlName(const Descriptor& message, const std::string& key) {
  if (const FieldDescriptor* f = message.FindFieldByName(key)) return f;
  for (int i = 0; i < message.field_count(); ++i) {
    if (message.field(i)->json_name() == key) return message.field(i);
  }
  return nullptr;
}

void YamlToProto(const YAML::Node& node, const std::string& path, Message* msg,
                 Diagnostics* diags) {
  if (node.IsNull()) return;  // "cpuBurn:" with nothing means all defaults
  if (!node.IsMap()) {
    diags->Add(node, absl::StrCat(path, ": expected a mapping of fields"));
    return;
  }
  const Descriptor* d = msg->GetDescriptor();
  const Reflection* r = msg->GetReflection();
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const FieldDescriptor* f = FindFieldByYamlName(*d, key);
    const std::string p = FieldPath(path, key);
    if (f == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < d->field_count(); ++i) known.push_back(d->field(i)->json_name());
      AddUnknownField(kv.first, p, known, diags);
      continue;
    }
    if (const auto* oneof = f->real_containing_oneof()) {
      if (const FieldDescriptor* set = r->GetOneofFieldDescriptor(*msg, oneof)) {
        diags->Add(kv.first, absl::StrCat(p, ": conflicts with ", set->json_name(),
                                          " (only one of them may be given)"));
        continue;
      }
    }
    SetField(kv.second, p, msg, f, diags);
  }
}

}  // namespace chaos::experiments
