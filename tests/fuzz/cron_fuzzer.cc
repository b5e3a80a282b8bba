// Fuzz target: a schedule's cron expression (controller/server/cron.h):
// CronSpec::Parse, then Next() in UTC and in a zone with daylight saving,
// and ParseCronField for the blackout windows' fields. Any input ends in a
// spec or in INVALID_ARGUMENT, never in a crash, a sanitizer report or a
// hang; Next() answers a time strictly later, or NOT_FOUND.
#include <cstddef>
#include <cstdint>
#include <string>

#include "controller/server/cron.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void CheckNext(const chaos::controller::CronSpec& spec, absl::TimeZone tz) {
  const absl::Time after = absl::FromUnixSeconds(1700000000);  // 2023-11-14
  absl::StatusOr<absl::Time> next = spec.Next(after, tz);
  if (!next.ok()) {
    FUZZ_CHECK(absl::IsNotFound(next.status()));
    return;
  }
  FUZZ_CHECK(*next > after);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using chaos::controller::CronSpec;
  static const absl::TimeZone berlin = [] {
    absl::TimeZone tz;
    FUZZ_CHECK(absl::LoadTimeZone("Europe/Berlin", &tz));
    return tz;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* field : {"hour", "day-of-week"}) {
    auto bits = chaos::controller::ParseCronField(field, text);
    FUZZ_CHECK(bits.ok() || absl::IsInvalidArgument(bits.status()));
  }
  absl::StatusOr<CronSpec> spec = CronSpec::Parse(text);
  if (!spec.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(spec.status()));
    return 0;
  }
  CheckNext(*spec, absl::UTCTimeZone());
  CheckNext(*spec, berlin);
  return 0;
}
