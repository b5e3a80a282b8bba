// base/paths.h: the containment test every path check of a root uses.
#include "base/paths.h"

#include "gtest/gtest.h"

namespace chaos::base {
namespace {

TEST(PathsTest, IsWithinComparesWholeComponents) {
  EXPECT_TRUE(IsWithin("/srv/a", "/srv/a"));
  EXPECT_TRUE(IsWithin("/srv/a/b", "/srv/a"));
  EXPECT_FALSE(IsWithin("/srv/ab", "/srv/a"));
  EXPECT_FALSE(IsWithin("/srv", "/srv/a"));
  EXPECT_TRUE(IsWithin("/etc", "/"));
  EXPECT_TRUE(IsWithin("/", "/"));
  EXPECT_FALSE(IsWithin("relative", "/"));
}

TEST(PathsTest, HasDotDotFindsOnlyWholeComponents) {
  EXPECT_TRUE(HasDotDot("/srv/../etc"));
  EXPECT_TRUE(HasDotDot(".."));
  EXPECT_FALSE(HasDotDot("/srv/..x/a..b"));
}

}  // namespace
}  // namespace chaos::base
