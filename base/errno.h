// ErrnoToStatus: an errno value as a canonical absl::Status.
#ifndef CHAOS_BASE_ERRNO_H_
#define CHAOS_BASE_ERRNO_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace chaos::base {

// The canonical code for `err` (ENOENT -> NOT_FOUND, EACCES ->
// PERMISSION_DENIED, ...) with the message "what: strerror(err)".
absl::Status ErrnoToStatus(int err, absl::string_view what);

}  // namespace chaos::base

#endif  // CHAOS_BASE_ERRNO_H_
