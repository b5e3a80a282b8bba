// SanitizeUtf8: text from commands and agents made safe for JSON and HTML.
#ifndef CHAOS_BASE_UTF8_H_
#define CHAOS_BASE_UTF8_H_

#include <string>

#include "absl/strings/string_view.h"

namespace chaos::base {

// Returns `in` as valid UTF-8: every byte that does not start a well-formed
// sequence (overlong forms, surrogates and code points past U+10FFFF
// included) becomes U+FFFD. Command output and agent messages are not
// trusted to be UTF-8, and both JSON and HTML require it.
std::string SanitizeUtf8(absl::string_view in);

}  // namespace chaos::base

#endif  // CHAOS_BASE_UTF8_H_
