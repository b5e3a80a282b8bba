// Unit tests of DiskFill against a fake filesystem.
#include "faults/disk_fill.h"

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/fake_os.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::FakeFileOs;
using testing::Recorder;

constexpr uint64_t kGiB = 1ull << 30;

DiskFillParams Params(uint64_t bytes) {
  DiskFillParams p;
  p.directory = "/mnt/scratch";
  p.bytes = bytes;
  p.tag = "t1";
  p.allowed_roots = {"/mnt", "/tmp"};
  p.state_dir = "/var/lib/chaos";
  return p;
}

TEST(DiskFillValidate, EachBadFieldIsNamed) {
  struct Case {
    std::function<void(DiskFillParams&)> mutate;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](DiskFillParams& p) { p.directory = ""; }, "disk_fill.directory: required"},
      {[](DiskFillParams& p) { p.directory = "mnt/x"; }, "disk_fill.directory: must be an absolute"},
      {[](DiskFillParams& p) { p.directory = "/mnt/../etc"; },
       "disk_fill.directory: must not contain \"..\""},
      {[](DiskFillParams& p) { p.bytes = 0; }, "disk_fill.bytes: must be > 0"},
      {[](DiskFillParams& p) {
         p.size = DiskFillParams::Size::kTargetPercent;
         p.target_percent = 101;
       },
       "disk_fill.target_percent:"},
      {[](DiskFillParams& p) {
         p.size = DiskFillParams::Size::kTargetPercent;
         p.target_percent = -3;
       },
       "disk_fill.target_percent:"},
      {[](DiskFillParams& p) { p.tag = "a/b"; }, "disk_fill.tag:"},
      {[](DiskFillParams& p) { p.allowed_roots = {"tmp"}; }, "disk_fill.allowed_roots:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    DiskFillParams p = Params(kGiB);
    c.mutate(p);
    EXPECT_EQ(p.Validate().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.Validate().message()), HasSubstr(c.message));
    FakeFileOs os;
    DiskFill fill(p, os);
    Recorder rec;
    EXPECT_FALSE(fill.Inject(rec.fn()).ok());
    EXPECT_TRUE(rec.states.empty());
    EXPECT_TRUE(os.files.empty());
  }
}

TEST(DiskFill, RefusesOutsideRootsAndStateFilesystem) {
  FakeFileOs os;
  os.dirs.insert("/etc");
  os.dirs.insert("/mnt/scratch2");
  Recorder rec;
  DiskFillParams p = Params(kGiB);
  p.directory = "/etc";
  DiskFill outside(p, os);
  absl::Status s = outside.Inject(rec.fn());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("outside the allowed fill roots"));
  // A symlink inside a root that points outside it is resolved first.
  os.links["/mnt/escape"] = "/etc";
  p.directory = "/mnt/escape";
  DiskFill escape(p, os);
  EXPECT_EQ(escape.Inject(rec.fn()).code(), absl::StatusCode::kPermissionDenied);
  // "/mnt/scratch2" is not under "/mnt/scratch".
  p.allowed_roots = {"/mnt/scratch"};
  p.directory = "/mnt/scratch2";
  DiskFill prefix(p, os);
  EXPECT_EQ(prefix.Inject(rec.fn()).code(), absl::StatusCode::kPermissionDenied);
  // The state directory's filesystem (device 1) is refused unless allowed.
  p = Params(kGiB);
  p.allowed_roots = {"/"};
  p.directory = "/var/lib/chaos";
  DiskFill state(p, os);
  s = state.Inject(rec.fn());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("agent's state"));
  EXPECT_TRUE(rec.states.empty());
  EXPECT_TRUE(os.files.empty());
  p.allow_state_filesystem = true;
  DiskFill allowed(p, os);
  EXPECT_TRUE(allowed.Inject(rec.fn()).ok());
  EXPECT_TRUE(allowed.Revert().ok());
  // Missing directory.
  p = Params(kGiB);
  p.directory = "/mnt/nope";
  DiskFill missing(p, os);
  s = missing.Inject(rec.fn());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), StartsWith("disk_fill.directory: "));
}

TEST(DiskFill, RecordsPathBeforeCreatingAndRevertDeletes) {
  FakeFileOs os;
  Recorder rec;
  DiskFill fill(Params(3 * kGiB + 12345), os);
  ASSERT_TRUE(fill.Inject(rec.fn()).ok());
  ASSERT_EQ(rec.states.size(), 1u);
  const std::string path = rec.states[0].at("path");
  EXPECT_THAT(path, StartsWith("/mnt/scratch/.chaos-fill-t1-"));
  EXPECT_EQ(fill.path(), path);
  EXPECT_EQ(os.files.at(path), 3 * kGiB + 12345);
  EXPECT_EQ(fill.achieved_bytes(), 3 * kGiB + 12345);
  EXPECT_FALSE(fill.partial());
  EXPECT_EQ(os.fallocate_calls, 4);  // 1 GiB chunks
  FaultStatus st = fill.Status();
  EXPECT_EQ(st.details["method"], "fallocate");
  EXPECT_EQ(st.details["used_percent_before"], "40.00");
  ASSERT_TRUE(fill.Revert().ok());
  EXPECT_TRUE(os.files.empty());
  EXPECT_EQ(os.used, 40ull << 30);
  EXPECT_TRUE(fill.Revert().ok());  // already gone is OK
}

TEST(DiskFill, SizesFromStatvfs) {
  FakeFileOs os;  // 100 GiB, 40 used
  os.reserved = 5 * kGiB;
  Recorder rec;
  DiskFillParams p = Params(0);
  p.size = DiskFillParams::Size::kTargetPercent;
  p.target_percent = 75;
  DiskFill pct(p, os);
  ASSERT_TRUE(pct.Inject(rec.fn()).ok());
  EXPECT_EQ(pct.requested_bytes(), 35 * kGiB);
  EXPECT_EQ(os.used, 75 * kGiB);
  ASSERT_TRUE(pct.Revert().ok());

  p.target_percent = 30;  // already above
  DiskFill above(p, os);
  absl::Status s = above.Inject(rec.fn());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("disk_fill.target_percent: "));

  p.size = DiskFillParams::Size::kLeaveFreeBytes;
  p.leave_free_bytes = 10 * kGiB;  // available = 60 - 5 = 55
  DiskFill leave(p, os);
  ASSERT_TRUE(leave.Inject(rec.fn()).ok());
  EXPECT_EQ(leave.requested_bytes(), 45 * kGiB);
  ASSERT_TRUE(leave.Revert().ok());

  p.leave_free_bytes = 80 * kGiB;
  DiskFill too_much(p, os);
  s = too_much.Inject(rec.fn());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("disk_fill.leave_free_bytes: "));
  EXPECT_TRUE(os.files.empty());
}

TEST(DiskFill, EnospcKeepsWhatItGot) {
  FakeFileOs os;
  os.total = 10 * kGiB;
  os.used = 7 * kGiB + 300;  // 3 GiB - 300 bytes free
  Recorder rec;
  DiskFill fill(Params(5 * kGiB), os);
  ASSERT_TRUE(fill.Inject(rec.fn()).ok());
  EXPECT_TRUE(fill.partial());
  // Chunks halve down to 1 MiB: within 1 MiB of full.
  EXPECT_GT(fill.achieved_bytes(), 3 * kGiB - (1u << 20) - 300);
  EXPECT_LE(fill.achieved_bytes(), 3 * kGiB);
  EXPECT_EQ(os.files.at(fill.path()), fill.achieved_bytes());
  EXPECT_THAT(fill.Status().summary, HasSubstr("partially filled"));
  EXPECT_EQ(fill.Status().details["partial"], "true");
  ASSERT_TRUE(fill.Revert().ok());
  EXPECT_EQ(os.used, 7 * kGiB + 300);
}

TEST(DiskFill, FallsBackToWritingWithoutFallocate) {
  FakeFileOs os;
  os.supports_fallocate = false;
  Recorder rec;
  DiskFill fill(Params(kGiB), os);
  ASSERT_TRUE(fill.Inject(rec.fn()).ok());
  EXPECT_EQ(os.write_calls, 1);
  EXPECT_EQ(fill.achieved_bytes(), kGiB);
  EXPECT_EQ(fill.Status().details["method"], "write");
  ASSERT_TRUE(fill.Revert().ok());
  // ... and a full disk while writing is partial success too.
  os.total = 41 * kGiB;
  DiskFill full(Params(5 * kGiB), os);
  ASSERT_TRUE(full.Inject(rec.fn()).ok());
  EXPECT_TRUE(full.partial());
  EXPECT_EQ(full.achieved_bytes(), kGiB);
  ASSERT_TRUE(full.Revert().ok());
}

TEST(DiskFill, OtherErrorsLeaveNothingBehind) {
  FakeFileOs os;
  os.fail_fallocate_errno = EIO;
  Recorder rec;
  DiskFill fill(Params(kGiB), os);
  absl::Status s = fill.Inject(rec.fn());
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("fallocate"));
  EXPECT_TRUE(os.files.empty());
  // A failed ledger write creates nothing.
  os.fail_fallocate_errno = 0;
  rec.fail_at = static_cast<int>(rec.states.size()) + 1;
  DiskFill unrecorded(Params(kGiB), os);
  EXPECT_EQ(unrecorded.Inject(rec.fn()).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(os.files.empty());
}

TEST(DiskFill, AdoptRevertsAfterRestartAndRefusesForeignPaths) {
  FakeFileOs os;
  Recorder rec;
  DiskFill first(Params(kGiB), os);
  ASSERT_TRUE(first.Inject(rec.fn()).ok());
  // Another agent process adopts the recorded state.
  DiskFill second(Params(kGiB), os);
  ASSERT_TRUE(second.Adopt(rec.states.back()).ok());
  ASSERT_TRUE(second.Revert().ok());
  EXPECT_TRUE(os.files.empty());
  // Recorded but never created (crash in between): OK.
  DiskFill third(Params(kGiB), os);
  ASSERT_TRUE(third.Adopt({{"path", "/mnt/scratch/.chaos-fill-x-1"}}).ok());
  EXPECT_TRUE(third.Revert().ok());
  // A corrupt or hostile record cannot delete arbitrary files.
  DiskFill fourth(Params(kGiB), os);
  EXPECT_EQ(fourth.Adopt({{"path", "/etc/passwd"}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fourth.Adopt({{"path", "/mnt/../.chaos-fill-x"}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fourth.Adopt({}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(DiskFill, RevertFailureIsReported) {
  FakeFileOs os;
  Recorder rec;
  DiskFill fill(Params(kGiB), os);
  ASSERT_TRUE(fill.Inject(rec.fn()).ok());
  os.fail_unlink = true;
  EXPECT_EQ(fill.Revert().code(), absl::StatusCode::kPermissionDenied);
  os.fail_unlink = false;
  EXPECT_TRUE(fill.Revert().ok());
  EXPECT_TRUE(os.files.empty());
}

}  // namespace
}  // namespace chaos::faults
