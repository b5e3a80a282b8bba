#include "controller/server/cron.h"

#include <array>
#include <cctype>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"

namespace chaos::controller {
namespace {

struct FieldDef {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] is value min + i, or nullptr
  int name_count;
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

const FieldDef kFields[] = {
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, kMonthNames, 12},
    {"day-of-week", 0, 7, kDayNames, 7},
};

absl::Status FieldError(const FieldDef& f, const std::string& text, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("cron: ", f.name, " field \"", text, "\": ", why));
}

absl::StatusOr<int> ParseValue(const FieldDef& f, const std::string& field_text,
                               const std::string& v) {
  int n = 0;
  if (absl::SimpleAtoi(v, &n)) {
    if (n < f.min || n > f.max) {
      return FieldError(f, field_text,
                        absl::StrCat("value ", n, " out of range ", f.min, "-", f.max));
    }
    return n;
  }
  const std::string upper = absl::AsciiStrToUpper(v);
  for (int i = 0; i < f.name_count; ++i) {
    if (upper == f.names[i]) return f.min + i;
  }
  return FieldError(f, field_text, absl::StrCat("\"", v, "\" is not a number",
                                                f.name_count ? " or a name" : ""));
}

// Parses one field into bits indexed by value.
absl::StatusOr<std::bitset<60>> ParseField(const FieldDef& f, const std::string& text) {
  std::bitset<60> bits;
  if (text.empty()) return FieldError(f, text, "empty");
  for (absl::string_view item_view : absl::StrSplit(text, ',')) {
    const std::string item(item_view);
    if (item.empty()) return FieldError(f, text, "empty list item");
    std::string range = item;
    int step = 1;
    const size_t slash = item.find('/');
    if (slash != std::string::npos) {
      range = item.substr(0, slash);
      const std::string s = item.substr(slash + 1);
      if (!absl::SimpleAtoi(s, &step) || step <= 0) {
        return FieldError(f, text, absl::StrCat("step \"", s, "\" must be a positive number"));
      }
      if (step > f.max - f.min + 1) {
        return FieldError(f, text, absl::StrCat("step ", step, " larger than the field's range"));
      }
    }
    int lo, hi;
    if (range == "*") {
      lo = f.min;
      hi = f.max;
    } else {
      const size_t dash = range.find('-');
      if (dash == std::string::npos) {
        ASSIGN_OR_RETURN(lo, ParseValue(f, text, range));
        hi = slash != std::string::npos ? f.max : lo;  // "A/S": A to the maximum
      } else {
        ASSIGN_OR_RETURN(lo, ParseValue(f, text, range.substr(0, dash)));
        ASSIGN_OR_RETURN(hi, ParseValue(f, text, range.substr(dash + 1)));
        if (hi < lo) {
          return FieldError(f, text, absl::StrCat("range ", range, " runs backwards"));
        }
      }
    }
    for (int v = lo; v <= hi; v += step) bits.set(v);
  }
  return bits;
}

template <size_t N>
std::bitset<N> Narrow(const std::bitset<60>& b) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = b[i];
  return out;
}

int DaysInMonth(int month) {
  static constexpr int kDays[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month];
}

}  // namespace

absl::StatusOr<std::bitset<60>> ParseCronField(const std::string& field, const std::string& text) {
  for (const FieldDef& f : kFields) {
    if (field == f.name) {
      ASSIGN_OR_RETURN(std::bitset<60> bits, ParseField(f, text));
      if (field == "day-of-week" && bits[7]) bits.set(0).reset(7);
      return bits;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("cron: no field named ", field));
}

absl::StatusOr<CronSpec> CronSpec::Parse(const std::string& text) {
  std::string expr(absl::StripAsciiWhitespace(text));
  static const std::pair<const char*, const char*> kMacros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  if (!expr.empty() && expr[0] == '@') {
    bool found = false;
    for (const auto& [name, body] : kMacros) {
      if (absl::AsciiStrToLower(expr) == name) {
        expr = body;
        found = true;
      }
    }
    if (!found) return absl::InvalidArgumentError(absl::StrCat("cron: unknown macro \"", expr, "\""));
  }
  std::vector<std::string> parts = absl::StrSplit(expr, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (parts.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron: \"", text, "\" has ", parts.size(),
        " field(s); want 5 (minute hour day-of-month month day-of-week)"));
  }
  CronSpec spec;
  spec.text_ = std::string(absl::StripAsciiWhitespace(text));
  std::array<std::bitset<60>, 5> bits;
  for (int i = 0; i < 5; ++i) {
    ASSIGN_OR_RETURN(bits[i], ParseField(kFields[i], parts[i]));
  }
  spec.minutes_ = Narrow<60>(bits[0]);
  spec.hours_ = Narrow<24>(bits[1]);
  spec.days_ = Narrow<32>(bits[2]);
  spec.months_ = Narrow<13>(bits[3]);
  if (bits[4][7]) bits[4].set(0);
  spec.weekdays_ = Narrow<7>(bits[4]);
  spec.dom_star_ = parts[2][0] == '*';
  spec.dow_star_ = parts[4][0] == '*';
  // A day of month that no chosen month has can never fire when the day of
  // week does not widen it ("0 0 30 2 *").
  if (spec.dow_star_ || spec.dom_star_) {
    bool possible = false;
    for (int m = 1; m <= 12; ++m) {
      if (!spec.months_[m]) continue;
      for (int d = 1; d <= DaysInMonth(m); ++d) possible |= spec.days_[d];
    }
    if (!possible) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cron: day-of-month field \"", parts[2], "\" never occurs in month field \"", parts[3],
          "\""));
    }
  }
  return spec;
}

bool CronSpec::DayMatches(const absl::CivilDay& d) const {
  if (!months_[d.month()]) return false;
  const bool dom = days_[d.day()];
  int wd = 0;
  switch (absl::GetWeekday(d)) {
    case absl::Weekday::sunday: wd = 0; break;
    case absl::Weekday::monday: wd = 1; break;
    case absl::Weekday::tuesday: wd = 2; break;
    case absl::Weekday::wednesday: wd = 3; break;
    case absl::Weekday::thursday: wd = 4; break;
    case absl::Weekday::friday: wd = 5; break;
    case absl::Weekday::saturday: wd = 6; break;
  }
  const bool dow = weekdays_[wd];
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

bool CronSpec::Matches(const absl::CivilMinute& m) const {
  return minutes_[m.minute()] && hours_[m.hour()] && DayMatches(absl::CivilDay(m));
}

absl::StatusOr<absl::Time> CronSpec::Next(absl::Time after, absl::TimeZone tz) const {
  absl::CivilMinute m = absl::CivilMinute(tz.At(after).cs) + 1;
  // Walks local civil minutes. A local time repeated by a DST change maps to
  // its first occurrence; when `after` lies in the second occurrence that
  // candidate is not strictly after it and is skipped below (fires once).
  const absl::CivilMinute limit = m + 8 * 366 * 24 * 60;
  while (m < limit) {
    const absl::CivilDay day(m);
    if (!DayMatches(day)) {
      m = absl::CivilMinute(day + 1);
      continue;
    }
    if (!hours_[m.hour()]) {
      m = absl::CivilMinute(absl::CivilHour(m) + 1);
      continue;
    }
    if (!minutes_[m.minute()]) {
      m += 1;
      continue;
    }
    const absl::TimeZone::TimeInfo info = tz.At(absl::CivilSecond(m));
    absl::Time t = info.pre;
    if (info.kind == absl::TimeZone::TimeInfo::SKIPPED) t = info.trans;
    if (t > after) return t;
    m += 1;
  }
  return absl::NotFoundError(absl::StrCat("cron: \"", text_, "\" does not fire in the next 8 years"));
}

absl::StatusOr<absl::TimeZone> LoadZone(const std::string& name, const std::string& field_name) {
  absl::TimeZone tz;
  if (name.empty()) return absl::UTCTimeZone();
  if (!absl::LoadTimeZone(name, &tz)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field_name, ": unknown time zone \"", name, "\""));
  }
  return tz;
}

}  // namespace chaos::controller
