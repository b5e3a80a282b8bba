// Integration tests (root): DiskFill on real scratch filesystems (a small
// tmpfs, and a loop-mounted ext2 image, which has no fallocate), checked
// with statvfs.
#include <dirent.h>
#include <sys/statvfs.h>
#include <sys/stat.h>

#include "faults/disk_fill.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/real_host.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;
using testing::FillFiles;
using testing::ScratchMount;

constexpr uint64_t kMiB = 1 << 20;

UndoRecorder Ignore() {
  return [](const UndoState&) { return absl::OkStatus(); };
}

struct Usage {
  uint64_t total, used, available;
};
Usage StatUsage(const std::string& dir) {
  struct statvfs st {};
  EXPECT_EQ(statvfs(dir.c_str(), &st), 0);
  return {uint64_t{st.f_blocks} * st.f_frsize,
          uint64_t{st.f_blocks - st.f_bfree} * st.f_frsize,
          uint64_t{st.f_bavail} * st.f_frsize};
}

DiskFillParams Params(const std::string& dir) {
  DiskFillParams p;
  p.directory = dir;
  p.tag = "itest";
  p.allowed_roots = {"/tmp"};
  p.state_dir = "/var/lib";  // on another filesystem than the scratch mount
  return p;
}

TEST(DiskFillReal, FillsBytesAndRevertFreesThem) {
  ScratchMount m("size=64m");
  ASSERT_TRUE(m.ok());
  const Usage before = StatUsage(m.dir());
  DiskFillParams p = Params(m.dir());
  p.bytes = 16 * kMiB;
  UndoState recorded;
  DiskFill fill(p);
  ASSERT_TRUE(fill.Inject([&](const UndoState& u) {
    recorded = u;
    return absl::OkStatus();
  }).ok());
  const Usage during = StatUsage(m.dir());
  EXPECT_GE(during.used - before.used, 16 * kMiB);
  EXPECT_LE(during.used - before.used, 16 * kMiB + kMiB);
  EXPECT_EQ(fill.achieved_bytes(), 16 * kMiB);
  EXPECT_EQ(FillFiles(m.dir()), 1);
  EXPECT_EQ(fill.Status().details["method"], "fallocate");
  // Another agent process adopts and reverts.
  DiskFill adopted(p);
  ASSERT_TRUE(adopted.Adopt(recorded).ok());
  ASSERT_TRUE(adopted.Revert().ok());
  EXPECT_EQ(StatUsage(m.dir()).used, before.used);
  EXPECT_EQ(FillFiles(m.dir()), 0);
  EXPECT_TRUE(fill.Revert().ok());  // already gone
}

TEST(DiskFillReal, TargetPercentAndLeaveFree) {
  ScratchMount m("size=64m");
  ASSERT_TRUE(m.ok());
  DiskFillParams p = Params(m.dir());
  p.size = DiskFillParams::Size::kTargetPercent;
  p.target_percent = 50;
  DiskFill pct(p);
  ASSERT_TRUE(pct.Inject(Ignore()).ok());
  Usage u = StatUsage(m.dir());
  const double percent = 100.0 * u.used / u.total;
  EXPECT_GE(percent, 50.0);
  EXPECT_LE(percent, 50.5);
  ASSERT_TRUE(pct.Revert().ok());

  p.size = DiskFillParams::Size::kLeaveFreeBytes;
  p.leave_free_bytes = 8 * kMiB;
  DiskFill leave(p);
  ASSERT_TRUE(leave.Inject(Ignore()).ok());
  u = StatUsage(m.dir());
  EXPECT_LE(u.available, 8 * kMiB);
  EXPECT_GE(u.available, 8 * kMiB - kMiB / 2);
  ASSERT_TRUE(leave.Revert().ok());
  EXPECT_EQ(FillFiles(m.dir()), 0);
}

TEST(DiskFillReal, FullFilesystemIsPartialSuccess) {
  ScratchMount m("size=32m");
  ASSERT_TRUE(m.ok());
  const Usage before = StatUsage(m.dir());
  DiskFillParams p = Params(m.dir());
  p.bytes = 128 * kMiB;
  DiskFill fill(p);
  ASSERT_TRUE(fill.Inject(Ignore()).ok());
  EXPECT_TRUE(fill.partial());
  const Usage during = StatUsage(m.dir());
  EXPECT_LE(during.available, kMiB);  // full to within the last chunk
  EXPECT_EQ(fill.Status().details["partial"], "true");
  ASSERT_TRUE(fill.Revert().ok());
  EXPECT_EQ(StatUsage(m.dir()).used, before.used);
  EXPECT_EQ(FillFiles(m.dir()), 0);
}

TEST(DiskFillReal, WritesWhereFallocateIsUnsupported) {
  ScratchMount m = ScratchMount::Ext2(48);
  ASSERT_TRUE(m.ok()) << "mkfs.ext2 / loop mount failed";
  const Usage before = StatUsage(m.dir());
  DiskFillParams p = Params(m.dir());
  p.bytes = 8 * kMiB;
  DiskFill fill(p);
  ASSERT_TRUE(fill.Inject(Ignore()).ok());
  EXPECT_EQ(fill.Status().details["method"], "write");
  EXPECT_GE(StatUsage(m.dir()).used - before.used, 8 * kMiB);
  ASSERT_TRUE(fill.Revert().ok());
  EXPECT_EQ(FillFiles(m.dir()), 0);
  // And running out of space while writing keeps the partial fill.
  p.bytes = 100 * kMiB;
  DiskFill full(p);
  ASSERT_TRUE(full.Inject(Ignore()).ok());
  EXPECT_TRUE(full.partial());
  EXPECT_GT(full.achieved_bytes(), 30 * kMiB);
  ASSERT_TRUE(full.Revert().ok());
  EXPECT_EQ(StatUsage(m.dir()).used, before.used);
}

TEST(DiskFillReal, RefusesStateFilesystemAndOutsideRoots) {
  ScratchMount m("size=16m");
  ASSERT_TRUE(m.ok());
  DiskFillParams p = Params(m.dir());
  p.bytes = kMiB;
  p.state_dir = m.dir();
  DiskFill state(p);
  absl::Status s = state.Inject(Ignore());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("agent's state"));
  p = Params(m.dir());
  p.bytes = kMiB;
  p.allowed_roots = {"/srv"};
  DiskFill outside(p);
  EXPECT_EQ(outside.Inject(Ignore()).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(FillFiles(m.dir()), 0);
}

}  // namespace
}  // namespace chaos::faults
