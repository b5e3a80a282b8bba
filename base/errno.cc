#include "base/errno.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace chaos::base {

absl::Status ErrnoToStatus(int err, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace chaos::base
