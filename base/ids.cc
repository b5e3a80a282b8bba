#include "base/ids.h"

#include <cctype>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace chaos::base {

absl::Status ValidateId(absl::string_view field, absl::string_view id, const IdRule& rule) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (id.size() > rule.max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": longer than ", rule.max_length, " characters"));
  }
  for (char c : id) {
    if (!isalnum(static_cast<unsigned char>(c)) &&
        rule.punctuation.find(c) == absl::string_view::npos) {
      std::string allowed;
      for (char p : rule.punctuation) absl::StrAppend(&allowed, " ", std::string(1, p));
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": character '", std::string(1, c),
                       "' not allowed (use letters, digits and", allowed, ")"));
    }
  }
  if (id == "." || id == "..") return absl::InvalidArgumentError(absl::StrCat(field, ": invalid"));
  return absl::OkStatus();
}

bool IsValidId(absl::string_view id, const IdRule& rule) {
  return ValidateId("id", id, rule).ok();
}

}  // namespace chaos::base
