// What a fault's wire state (chaos.v1.FaultState) says about the host, in
// one place for the agent and the controller.
#ifndef CHAOS_PROTO_FAULT_STATE_H_
#define CHAOS_PROTO_FAULT_STATE_H_

#include "chaos/v1/faults.pb.h"

namespace chaos {

// Injecting, active or reverting: the agent holds the fault and its timer,
// lease and halt still act on it.
inline bool IsActive(chaos::v1::FaultState state) {
  return state == chaos::v1::FAULT_STATE_INJECTING || state == chaos::v1::FAULT_STATE_ACTIVE ||
         state == chaos::v1::FAULT_STATE_REVERTING;
}

// Active, or failed (a revert that failed may have left it in place): the
// fault may still be affecting the host, so a run that ends must report it.
inline bool MayAffectHost(chaos::v1::FaultState state) {
  return IsActive(state) || state == chaos::v1::FAULT_STATE_FAILED;
}

}  // namespace chaos

#endif  // CHAOS_PROTO_FAULT_STATE_H_
