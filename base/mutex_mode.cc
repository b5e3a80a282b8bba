#include "base/mutex_mode.h"

#include "absl/synchronization/mutex.h"

namespace chaos::base {

void UseReleaseMutexes() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

}  // namespace chaos::base
