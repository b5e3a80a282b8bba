// Path checks for paths that come from requests and files: a fault may
// touch only what its policy allows, and ".." must never climb out of an
// allowed directory.
#ifndef CHAOS_BASE_PATHS_H_
#define CHAOS_BASE_PATHS_H_

#include "absl/strings/string_view.h"

namespace chaos::base {

// True when some '/'-separated component of `path` is exactly "..".
bool HasDotDot(absl::string_view path);

}  // namespace chaos::base

#endif  // CHAOS_BASE_PATHS_H_
