// Unit tests of MemoryPressure against a fake host.
#include "faults/memory_pressure.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/fake_os.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;
using testing::FakeMemoryOs;
using testing::Recorder;

TEST(MemoryPressureValidate, EachBadFieldIsNamed) {
  MemoryPressureParams p;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("memory_pressure.size:"));
  p.bytes = 0;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("memory_pressure.bytes:"));
  p.bytes = 10;
  p.percent_of_available = 5;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("memory_pressure.size:"));
  p.bytes.reset();
  for (double bad : {0.0, -1.0, 100.5}) {
    p.percent_of_available = bad;
    EXPECT_EQ(p.Validate().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.Validate().message()),
                HasSubstr("memory_pressure.percent_of_available:"));
  }
  p.percent_of_available = 100;
  EXPECT_TRUE(p.Validate().ok());
}

TEST(MemoryPressure, PercentOfAvailableRecordsHolderAndRevertFrees) {
  FakeMemoryOs os;
  os.available = 1000 << 20;
  MemoryPressureParams p;
  p.percent_of_available = 25;
  p.lock = true;
  MemoryPressure mem(p, os);
  Recorder rec;
  ASSERT_TRUE(mem.Inject(rec.fn()).ok());
  EXPECT_EQ(mem.requested_bytes(), 250u << 20);
  ASSERT_EQ(rec.states.size(), 2u);
  EXPECT_EQ(rec.states[0].at("holder"), "");  // intent before the child
  EXPECT_EQ(rec.states[1].at("holder"), "5000:77");
  EXPECT_TRUE(os.last_lock);
  EXPECT_EQ(mem.Status().details["locked_bytes"], absl::StrCat(250u << 20));
  ASSERT_TRUE(mem.Revert().ok());
  EXPECT_TRUE(os.holders.empty());
  EXPECT_TRUE(mem.Revert().ok());
}

TEST(MemoryPressure, RefusesMoreThanAvailableAndReportsChildFailure) {
  FakeMemoryOs os;
  os.available = 100;
  MemoryPressureParams p;
  p.bytes = 200;
  MemoryPressure too_big(p, os);
  Recorder rec;
  absl::Status s = too_big.Inject(rec.fn());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("memory_pressure.bytes:"));
  EXPECT_TRUE(rec.states.empty());
  os.available = 1000;
  os.start_error = absl::ResourceExhaustedError("holder could not mlock");
  MemoryPressure failing(p, os);
  EXPECT_EQ(failing.Inject(rec.fn()).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(os.holders.empty());
  EXPECT_TRUE(failing.Revert().ok());
}

TEST(MemoryPressure, LedgerFailureAfterStartStopsTheHolder) {
  FakeMemoryOs os;
  MemoryPressureParams p;
  p.bytes = 4096;
  MemoryPressure mem(p, os);
  Recorder rec;
  rec.fail_at = 2;
  EXPECT_EQ(mem.Inject(rec.fn()).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(os.holders.empty());
}

TEST(MemoryPressure, AdoptRevertsAfterRestart) {
  FakeMemoryOs os;
  MemoryPressureParams p;
  p.bytes = 4096;
  MemoryPressure first(p, os);
  Recorder rec;
  ASSERT_TRUE(first.Inject(rec.fn()).ok());
  MemoryPressure second(p, os);
  ASSERT_TRUE(second.Adopt(rec.states.back()).ok());
  ASSERT_TRUE(second.Revert().ok());
  EXPECT_TRUE(os.holders.empty());
  MemoryPressure empty(p, os);
  ASSERT_TRUE(empty.Adopt({{"holder", ""}}).ok());
  EXPECT_TRUE(empty.Revert().ok());
  EXPECT_EQ(empty.Adopt({{"holder", "1:2,3:4"}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.Adopt({}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace chaos::faults
