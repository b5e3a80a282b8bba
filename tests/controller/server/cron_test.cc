// CronSpec against a table of expressions and expected next times, DST
// changes in named zones included, and precise errors for bad input.
#include "controller/server/cron.h"

#include "gtest/gtest.h"

namespace chaos::controller {
namespace {

absl::Time Utc(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << rfc3339 << ": " << err;
  return t;
}

struct Case {
  const char* expr;
  const char* zone;
  const char* after;     // RFC 3339
  const char* expected;  // RFC 3339, UTC
};

const Case kCases[] = {
    {"* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"},
    {"* * * * *", "UTC", "2026-01-01T00:00:59Z", "2026-01-01T00:01:00Z"},
    {"*/15 * * * *", "UTC", "2026-01-01T00:07:00Z", "2026-01-01T00:15:00Z"},
    {"*/15 * * * *", "UTC", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"},
    {"5-10/2 3 * * *", "UTC", "2026-01-01T03:06:00Z", "2026-01-01T03:07:00Z"},
    {"10/20 * * * *", "UTC", "2026-01-01T00:31:00Z", "2026-01-01T00:50:00Z"},
    {"0 9 * * MON-FRI", "UTC", "2026-01-02T10:00:00Z", "2026-01-05T09:00:00Z"},  // Fri -> Mon
    {"0 9 * * mon-fri", "UTC", "2026-01-05T08:00:00Z", "2026-01-05T09:00:00Z"},
    {"0 0 * JAN,JUL sun", "UTC", "2026-01-05T00:00:00Z", "2026-01-11T00:00:00Z"},
    {"0 12 * * 7", "UTC", "2026-01-05T00:00:00Z", "2026-01-11T12:00:00Z"},  // 7 is Sunday
    {"0 0 * feb-mar/1 Sat,Sun", "UTC", "2026-01-05T00:00:00Z", "2026-02-01T00:00:00Z"},
    // Both day fields restricted: either matches (Friday Jan 2 before the 15th).
    {"30 4 1,15 * 5", "UTC", "2026-01-01T05:00:00Z", "2026-01-02T04:30:00Z"},
    // Day of week "*": only the day of month counts.
    {"30 4 15 * *", "UTC", "2026-01-01T05:00:00Z", "2026-01-15T04:30:00Z"},
    // Day of month "*/2" starts with "*": AND semantics (odd days that are Mondays).
    {"0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
    {"0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
    {"@yearly", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    {"@hourly", "UTC", "2026-06-01T00:00:00Z", "2026-06-01T01:00:00Z"},
    {"59 23 31 DEC *", "UTC", "2026-06-01T00:00:00Z", "2026-12-31T23:59:00Z"},
    // Named zones without a change: Berlin in winter is UTC+1.
    {"0 22 * * 1-5", "Europe/Berlin", "2026-01-01T00:00:00Z", "2026-01-01T21:00:00Z"},
    // America/New_York springs forward on 2026-03-08: 02:00 EST -> 03:00 EDT.
    // A skipped local time fires once at the change (07:00Z).
    {"0 2 * * *", "America/New_York", "2026-03-07T17:00:00Z", "2026-03-08T07:00:00Z"},
    {"30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"},
    {"0 9 * * *", "America/New_York", "2026-03-07T15:00:00Z", "2026-03-08T13:00:00Z"},
    // A job every 15 minutes runs 01:45 EST then 03:00 EDT: 15 real minutes.
    {"*/15 * * * *", "America/New_York", "2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z"},
    // Falls back on 2026-11-01: 01:30 happens twice and fires once, the first time.
    {"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"},
    {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
    // Europe/Berlin springs forward on 2026-03-29 at 02:00 CET (01:00Z).
    {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
    {"0 9 * * SUN", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T07:00:00Z"},
    // And falls back on 2026-10-25 at 03:00 CEST (01:00Z).
    {"0 4 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T03:00:00Z"},
};

TEST(CronTest, NextTimesMatchTheTable) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(absl::StrCat(c.expr, " in ", c.zone, " after ", c.after));
    auto spec = CronSpec::Parse(c.expr);
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto tz = LoadZone(c.zone, "time_zone");
    ASSERT_TRUE(tz.ok()) << tz.status();
    auto next = spec->Next(Utc(c.after), *tz);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(absl::FormatTime(absl::RFC3339_full, *next, absl::UTCTimeZone()),
              absl::FormatTime(absl::RFC3339_full, Utc(c.expected), absl::UTCTimeZone()));
  }
}

TEST(CronTest, SuccessiveFiresAcrossSpringForwardAreStrictlyIncreasing) {
  auto spec = CronSpec::Parse("*/30 * * * *");
  ASSERT_TRUE(spec.ok());
  auto tz = LoadZone("America/New_York", "time_zone");
  ASSERT_TRUE(tz.ok());
  absl::Time t = Utc("2026-03-08T05:00:00Z");  // 00:00 EST
  std::vector<std::string> got;
  for (int i = 0; i < 6; ++i) {
    auto next = spec->Next(t, *tz);
    ASSERT_TRUE(next.ok());
    ASSERT_GT(*next, t);
    t = *next;
    got.push_back(absl::FormatTime("%H:%M %Z", t, *tz));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"00:30 EST", "01:00 EST", "01:30 EST", "03:00 EDT",
                                           "03:30 EDT", "04:00 EDT"}));
}

TEST(CronTest, InvalidExpressionsNameTheField) {
  const std::pair<const char*, const char*> kBad[] = {
      {"61 * * * *", "minute field \"61\": value 61 out of range 0-59"},
      {"* 24 * * *", "hour field"},
      {"* * 0 * *", "day-of-month field"},
      {"* * * 13 *", "month field"},
      {"* * * * MON-FOO", "day-of-week field \"MON-FOO\": \"FOO\" is not a number or a name"},
      {"* * * *", "has 4 field(s); want 5"},
      {"* * * * * *", "has 6 field(s)"},
      {"*/0 * * * *", "step \"0\" must be a positive number"},
      {"5-1 * * * *", "range 5-1 runs backwards"},
      {"1,,2 * * * *", "empty list item"},
      {"0 0 30 2 *", "never occurs"},
      {"@fortnightly", "unknown macro"},
      {"", "has 0 field(s)"},
  };
  for (const auto& [expr, want] : kBad) {
    auto spec = CronSpec::Parse(expr);
    ASSERT_FALSE(spec.ok()) << expr;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << expr;
    EXPECT_NE(spec.status().message().find(want), std::string::npos)
        << expr << " -> " << spec.status().message();
  }
}

TEST(CronTest, UnknownZoneIsInvalidArgumentNamingTheField) {
  auto tz = LoadZone("Mars/Olympus_Mons", "time_zone");
  ASSERT_FALSE(tz.ok());
  EXPECT_EQ(tz.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tz.status().message().find("time_zone: unknown time zone \"Mars/Olympus_Mons\""),
            std::string::npos);
}

TEST(CronTest, SingleFieldsForBlackouts) {
  auto days = ParseCronField("day-of-week", "Sat,7");
  ASSERT_TRUE(days.ok());
  EXPECT_TRUE((*days)[6]);
  EXPECT_TRUE((*days)[0]);
  EXPECT_FALSE((*days)[7]);
  EXPECT_FALSE((*days)[1]);
  EXPECT_FALSE(ParseCronField("hour", "9-25").ok());
}

}  // namespace
}  // namespace chaos::controller
