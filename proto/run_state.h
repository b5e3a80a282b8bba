// A run's wire state (chaos.v1.RunState) by the name people and metrics
// see, in one place for chaosctl and the controller, and whether it ended.
#ifndef CHAOS_PROTO_RUN_STATE_H_
#define CHAOS_PROTO_RUN_STATE_H_

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "chaos/v1/controller.pb.h"

namespace chaos {

// RUN_STATE_ROLLBACK_INCOMPLETE -> "rollback_incomplete".
inline std::string RunStateName(chaos::v1::RunState state) {
  std::string n = chaos::v1::RunState_Name(state);
  if (absl::StartsWith(n, "RUN_STATE_")) n = n.substr(10);
  return absl::AsciiStrToLower(n);
}

// Whether a run in `state` has yet to end (PENDING or RUNNING).
inline bool Unfinished(chaos::v1::RunState state) {
  return state == chaos::v1::RUN_STATE_PENDING || state == chaos::v1::RUN_STATE_RUNNING;
}

}  // namespace chaos

#endif  // CHAOS_PROTO_RUN_STATE_H_
