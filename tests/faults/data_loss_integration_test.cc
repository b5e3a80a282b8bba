// Integration test (root): DataLoss refuses what a rename cannot move
// atomically, a mount point below a data root, and moves nothing.
#include <sys/stat.h>

#include <fstream>

#include "faults/data_loss.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/real_host.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;
using testing::ScratchMount;

TEST(DataLossReal, AMountPointBelowTheRootIsRefusedAndNothingMoves) {
  ScratchMount m("size=4m");
  ASSERT_TRUE(m.ok());
  const std::string root = m.dir();
  std::ofstream(root + "/kept") << "data";
  const std::string mount_point = root + "/mnt";
  ASSERT_EQ(mkdir(mount_point.c_str(), 0755), 0);
  ScratchMount inner("size=1m");
  ASSERT_TRUE(inner.ok());
  ASSERT_EQ(system(("mount --bind " + inner.dir() + " " + mount_point).c_str()), 0);
  DataLossParams p;
  p.paths = {root + "/kept", mount_point};
  p.tag = "itest";
  p.allowed_roots = {root};
  DataLoss across(p);
  absl::Status s = across.Inject([](const UndoState&) { return absl::OkStatus(); });
  EXPECT_EQ(system(("umount " + mount_point).c_str()), 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("data_loss.paths[1]: " + mount_point +
                                     " is on another filesystem than its data root"));
  struct stat st;
  EXPECT_EQ(stat((root + "/kept").c_str(), &st), 0);
  EXPECT_NE(stat((root + "/.chaos-quarantine-itest").c_str(), &st), 0);
}

}  // namespace
}  // namespace chaos::faults
