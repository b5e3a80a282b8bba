// Identifiers that name files, journal entries and ledger records: fault
// ids, run (experiment) ids, schedule names, step ids. Each is 1 to
// `max_length` characters, letters, digits and the given punctuation, and
// never "." or "..", so an id is always safe as a file name.
#ifndef CHAOS_BASE_IDS_H_
#define CHAOS_BASE_IDS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace chaos::base {

struct IdRule {
  size_t max_length;
  absl::string_view punctuation;  // allowed besides letters and digits
};

// Fault ids, run ids and experiment ids, as the agent accepts them.
inline constexpr IdRule kFaultIdRule{128, "._:-"};
// Names people choose: schedules.
inline constexpr IdRule kNameRule{64, "._-"};
// Step ids in an experiment file (they become part of fault ids).
inline constexpr IdRule kStepIdRule{64, "_-"};

bool IsValidId(absl::string_view id, const IdRule& rule = kFaultIdRule);

// INVALID_ARGUMENT naming `field` and what is wrong: "field: required",
// "field: longer than 128 characters", "field: character '/' not allowed
// (use letters, digits and . _ : -)", "field: invalid" (for . and ..).
[[nodiscard]] absl::Status ValidateId(absl::string_view field, absl::string_view id,
                                      const IdRule& rule = kFaultIdRule);

}  // namespace chaos::base

#endif  // CHAOS_BASE_IDS_H_
