// Conversions between google.protobuf.Duration (the wire) and absl::Duration
// (the code), in one place for the agent and the controller.
#ifndef CHAOS_PROTO_DURATION_H_
#define CHAOS_PROTO_DURATION_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"

namespace chaos {

inline absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

inline void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(seconds))));
}

// The longest google.protobuf.Duration: 10000 years, in seconds.
inline constexpr int64_t kMaxDurationSeconds = 315576000000;

// OK when `d` is a Duration protobuf defines: |seconds| <= 10000 years,
// |nanos| < 1e9, and seconds and nanos never of opposite signs.
// INVALID_ARGUMENT naming `field` otherwise.
inline absl::Status ValidateDuration(const std::string& field, const google::protobuf::Duration& d) {
  const bool valid = std::llabs(d.seconds()) <= kMaxDurationSeconds &&
                     std::abs(d.nanos()) < 1000000000 &&
                     !(d.seconds() > 0 && d.nanos() < 0) && !(d.seconds() < 0 && d.nanos() > 0);
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": not a valid duration (seconds ", d.seconds(), ", nanos ", d.nanos(),
      "): seconds within +-315576000000, nanos within +-999999999, both of one sign"));
}

// ValidateDuration for every Duration set anywhere in `message`, each named
// by its field path ("spec.cpu_burn.ramp"). For a request at the service
// boundary, before any field is read.
inline absl::Status ValidateDurations(const google::protobuf::Message& message,
                                      const std::string& path = "") {
  if (const auto* d = dynamic_cast<const google::protobuf::Duration*>(&message)) {
    return ValidateDuration(path, *d);
  }
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string name = path.empty() ? f->name() : absl::StrCat(path, ".", f->name());
    if (!f->is_repeated()) {
      absl::Status s = ValidateDurations(reflection->GetMessage(message, f), name);
      if (!s.ok()) return s;
      continue;
    }
    for (int i = 0; i < reflection->FieldSize(message, f); ++i) {
      absl::Status s = ValidateDurations(reflection->GetRepeatedMessage(message, f, i),
                                         absl::StrCat(name, "[", i, "]"));
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace chaos

#endif  // CHAOS_PROTO_DURATION_H_
