// Conversions between google.protobuf.Duration (the wire) and absl::Duration
// (the code), in one place for the agent and the controller.
#ifndef CHAOS_PROTO_DURATION_H_
#define CHAOS_PROTO_DURATION_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace chaos {

inline absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

inline void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(seconds))));
}

}  // namespace chaos

#endif  // CHAOS_PROTO_DURATION_H_
