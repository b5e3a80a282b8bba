#include "experiments/yaml_proto.h"

#include <cctype>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"

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
  return d;
}

namespace {

std::string Scalar(const YAML::Node& node) { return node.Scalar(); }

template <typename T>
bool ParseInt(const std::string& s, T* out) {
  return absl::SimpleAtoi(s, out);
}

void SetScalar(const YAML::Node& node, const std::string& path, Message* msg,
               const FieldDescriptor* f, Diagnostics* diags) {
  const Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  if (!node.IsScalar()) {
    diags->Add(node, absl::StrCat(path, ": expected a ", f->type_name(), " value"));
    return;
  }
  const std::string s = Scalar(node);
  auto bad = [&](const std::string& what) {
    diags->Add(node, absl::StrCat(path, ": \"", s, "\" is not ", what));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!ParseInt(s, &v)) return bad("an integer in range");
      rep ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!ParseInt(s, &v)) return bad("an integer in range");
      rep ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!s.empty() && s[0] == '-') return bad("a non-negative integer");
      if (!ParseInt(s, &v)) return bad("a non-negative integer in range");
      rep ? r->AddUInt32(msg, f, v) : r->SetUInt32(msg, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!s.empty() && s[0] == '-') return bad("a non-negative integer");
      if (!ParseInt(s, &v)) return bad("a non-negative integer in range");
      rep ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) return bad("a number");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        rep ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
      } else {
        rep ? r->AddFloat(msg, f, static_cast<float>(v)) : r->SetFloat(msg, f, static_cast<float>(v));
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (s == "true") v = true;
      else if (s == "false") v = false;
      else return bad("true or false");
      rep ? r->AddBool(msg, f, v) : r->SetBool(msg, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      rep ? r->AddString(msg, f, s) : r->SetString(msg, f, s);
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumDescriptor* e = f->enum_type();
      // Accept FULL_NAME, or the part after the enum's prefix, any case,
      // dashes for underscores.
      std::string want = absl::AsciiStrToUpper(absl::StrReplaceAll(s, {{"-", "_"}}));
      std::vector<std::string> names;
      for (int i = 0; i < e->value_count(); ++i) {
        const std::string& full = e->value(i)->name();
        std::string prefix = absl::AsciiStrToUpper(e->name()) + "_";
        std::string shortname = full.rfind(prefix, 0) == 0 ? full.substr(prefix.size()) : full;
        if (shortname == "UNSPECIFIED") continue;
        names.push_back(absl::AsciiStrToLower(absl::StrReplaceAll(shortname, {{"_", "-"}})));
        if (want == full || want == shortname) {
          rep ? r->AddEnumValue(msg, f, e->value(i)->number())
              : r->SetEnumValue(msg, f, e->value(i)->number());
          return;
        }
      }
      return bad(absl::StrCat("one of: ", absl::StrJoin(names, ", ")));
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
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
    const Descriptor* desc = sub->GetDescriptor();
    const Reflection* r = sub->GetReflection();
    const int64_t secs = absl::IDivDuration(*d, absl::Seconds(1), &*d);
    r->SetInt64(sub, desc->FindFieldByName("seconds"), secs);
    r->SetInt32(sub, desc->FindFieldByName("nanos"),
                static_cast<int32_t>(absl::ToInt64Nanoseconds(*d)));
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
      SetScalar(kv.second, absl::StrCat(path, ".", kv.first.Scalar()), entry,
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
    const FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      for (int i = 0; i < d->field_count() && f == nullptr; ++i) {
        if (d->field(i)->json_name() == key) f = d->field(i);
      }
    }
    const std::string p = path.empty() ? key : absl::StrCat(path, ".", key);
    if (f == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < d->field_count(); ++i) known.push_back(d->field(i)->json_name());
      diags->Add(kv.first, absl::StrCat(p, ": unknown field (known: ", absl::StrJoin(known, ", "),
                                        ")"));
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
