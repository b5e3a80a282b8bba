#include "base/paths.h"

#include "absl/strings/str_split.h"

namespace chaos::base {

bool HasDotDot(absl::string_view path) {
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") return true;
  }
  return false;
}

}  // namespace chaos::base
