// TryModprobe with a stand-in `modprobe` first on PATH: the modules not yet
// loaded are asked for all at once, a loaded one (in /sys/module) is not,
// and none twice.
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "faults/netlink_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::faults {
namespace {

using ::chaos::testing::NonEmptyLines;
using ::chaos::testing::ReadFileOrEmpty;
using ::chaos::testing::TempDir;
using ::testing::UnorderedElementsAre;

// Records its module, then waits (up to 30 s) until $EXPECT modules have
// started; one left waiting alone writes its name to "alone". A barrier,
// so the test needs no clock: started one after another, the first waits
// alone.
constexpr char kFakeModprobe[] = R"sh(#!/bin/sh
echo "$2" >> "$DIR/calls"
touch "$DIR/started-$2"
i=0
while [ $i -lt 300 ]; do
  [ "$(ls "$DIR" | grep -c '^started-')" -ge "$EXPECT" ] && exit 0
  sleep 0.1
  i=$((i + 1))
done
echo "$2" >> "$DIR/alone"
exit 1
)sh";

TEST(TryModprobeTest, AsksForTheMissingModulesAtOnceAndEachOnlyOnce) {
  TempDir dir;
  const std::string bin = absl::StrCat(dir.path(), "/bin");
  ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
  std::ofstream(bin + "/modprobe") << kFakeModprobe;
  ASSERT_EQ(chmod((bin + "/modprobe").c_str(), 0755), 0);
  absl::StatusOr<std::vector<std::string>> modules = base::ListDirectory("/sys/module");
  ASSERT_TRUE(modules.ok() && !modules->empty()) << "/sys/module lists no module";
  const std::string loaded = modules->front();
  const std::string path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
  setenv("PATH", absl::StrCat(bin, ":", path).c_str(), 1);
  setenv("DIR", dir.path().c_str(), 1);
  setenv("EXPECT", "3", 1);

  TryModprobe({"chaos_test_a", loaded, "chaos_test_b", "chaos_test_c"});
  TryModprobe({"chaos_test_b"});  // tried already

  setenv("PATH", path.c_str(), 1);
  EXPECT_THAT(NonEmptyLines(ReadFileOrEmpty(dir.path() + "/calls")),
              UnorderedElementsAre("chaos_test_a", "chaos_test_b", "chaos_test_c"));
  EXPECT_EQ(ReadFileOrEmpty(dir.path() + "/alone"), "")
      << "modprobe ran one after another, not at once";
}

}  // namespace
}  // namespace chaos::faults
