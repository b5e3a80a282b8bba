// CronSpec: a standard five-field cron expression (minute hour day-of-month
// month day-of-week), evaluated in a named time zone.
//
// Syntax, as Vixie cron: each field is "*" or a comma list of items; an
// item is N, A-B, "*/S", "A-B/S" or "A/S" (A to the field's maximum, step
// S). Months take JAN..DEC and days of week SUN..SAT (case-insensitive);
// day of week 7 is Sunday too. The macros @yearly (@annually), @monthly,
// @weekly, @daily (@midnight) and @hourly are accepted.
// Day of month and day of week: when both are restricted (neither field
// starts with "*"), a day matches if EITHER matches; otherwise both must.
//
// Daylight-saving changes: a local time that does not exist (the hour
// skipped in spring) fires once at the instant the clocks change; a local
// time that occurs twice (the hour repeated in autumn) fires once, at its
// first occurrence.
//
// Parse errors are INVALID_ARGUMENT naming the field and the offending
// text. CronSpec is an immutable value: safe to share between threads.
#ifndef CHAOS_CONTROLLER_CRON_H_
#define CHAOS_CONTROLLER_CRON_H_

#include <bitset>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace chaos::controller {

class CronSpec {
 public:
  [[nodiscard]] static absl::StatusOr<CronSpec> Parse(const std::string& text);

  // The first firing time strictly after `after`, in zone `tz`. NOT_FOUND
  // if there is none within the next eight years (e.g. "0 0 31 2 *").
  [[nodiscard]] absl::StatusOr<absl::Time> Next(absl::Time after, absl::TimeZone tz) const;

  // Whether a local civil minute matches (ignores DST rules).
  bool Matches(const absl::CivilMinute& m) const;

  const std::string& text() const { return text_; }

 private:
  bool DayMatches(const absl::CivilDay& d) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool dom_star_ = false;
  bool dow_star_ = false;
};

// Parses one cron field on its own ("Mon-Fri", "9-17", "*"): used for
// blackout windows. `field` is "hour" or "day-of-week". Bits are set for
// matching values (day of week 7 folds onto 0).
[[nodiscard]] absl::StatusOr<std::bitset<60>> ParseCronField(const std::string& field,
                                                             const std::string& text);

// Loads a named zone ("Europe/Berlin", "UTC"); INVALID_ARGUMENT naming
// `field_name` when the zone is unknown.
[[nodiscard]] absl::StatusOr<absl::TimeZone> LoadZone(const std::string& name,
                                                      const std::string& field_name);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_CRON_H_
