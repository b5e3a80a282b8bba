// Path checks for paths that come from requests and files: a fault may
// touch only what its policy allows, ".." must never climb out of an
// allowed directory, and a symbolic link is judged by where it leads.
#ifndef CHAOS_BASE_PATHS_H_
#define CHAOS_BASE_PATHS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chaos::base {

// True when some '/'-separated component of `path` is exactly "..".
bool HasDotDot(absl::string_view path);

// True when `path` is `root` or lies below it, for clean absolute paths
// compared as strings: "/srv/a/b" is within "/srv/a", "/srv/ab" is not, and
// every absolute path is within "/".
bool IsWithin(absl::string_view path, absl::string_view root);

// The absolute path of `path` with every symbolic link, "." and ".."
// resolved (realpath(3)), relative paths against the working directory.
// The errno's code with "PATH: strerror" when it cannot be resolved (a
// missing component is NOT_FOUND).
[[nodiscard]] absl::StatusOr<std::string> RealPath(const std::string& path);

}  // namespace chaos::base

#endif  // CHAOS_BASE_PATHS_H_
