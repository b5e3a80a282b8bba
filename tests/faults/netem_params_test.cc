// Host-side tests of the network faults: parameter validation (messages name
// the field) and what happens on a kernel without the needed pieces.
#include <sched.h>

#include "absl/strings/match.h"
#include "faults/net_scope.h"
#include "faults/netem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;

NetemParams Valid() {
  NetemParams p;
  p.interface = "lo";
  p.delay = absl::Milliseconds(100);
  return p;
}

void ExpectInvalid(const NetemParams& p, const std::string& message) {
  absl::Status s = p.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(message));
}

TEST(NetemParamsTest, ValidParamsPass) {
  NetemParams p = Valid();
  p.jitter = absl::Milliseconds(10);
  p.distribution = "normal";
  p.loss_percent = 100;
  p.destination_cidrs = {"10.0.0.0/8", "fd00::/8", "192.168.1.7"};
  p.ports = {80, 65535};
  p.exclude_cidrs = {"10.1.2.3/32"};
  p.exclude_ports = {7070};
  EXPECT_TRUE(p.Validate().ok()) << p.Validate();
}

TEST(NetemParamsTest, BadFieldsAreNamed) {
  NetemParams p = Valid();
  p.interface = "";
  ExpectInvalid(p, "netem.interface: required");
  p = Valid();
  p.loss_percent = 140;
  ExpectInvalid(p, "netem.loss_percent: must be 0..100, got 140");
  p = Valid();
  p.duplicate_percent = -1;
  ExpectInvalid(p, "netem.duplicate_percent: must be 0..100, got -1");
  p = Valid();
  p.corrupt_percent = 100.5;
  ExpectInvalid(p, "netem.corrupt_percent");
  p = Valid();
  p.delay = absl::Milliseconds(-5);
  ExpectInvalid(p, "netem.delay: must be 0..100s, got -5ms");
  p = Valid();
  p.jitter = absl::Milliseconds(-1);
  ExpectInvalid(p, "netem.jitter");
  p = Valid();
  p.distribution = "cauchy";
  ExpectInvalid(p, "netem.distribution");
  p = Valid();
  p.distribution = "normal";
  ExpectInvalid(p, "netem.distribution: needs a jitter");
  p = Valid();
  p.delay = absl::ZeroDuration();
  p.reorder_percent = 10;
  ExpectInvalid(p, "netem.reorder_percent: needs a delay");
  p = Valid();
  p.destination_cidrs = {"10.0.0.0/33"};
  ExpectInvalid(p, "netem.destination_cidrs: malformed CIDR \"10.0.0.0/33\"");
  p = Valid();
  p.destination_cidrs = {"not-an-ip"};
  ExpectInvalid(p, "netem.destination_cidrs");
  p = Valid();
  p.exclude_cidrs = {"10.0.0.1/x"};
  ExpectInvalid(p, "netem.exclude_cidrs");
  p = Valid();
  p.ports = {0};
  ExpectInvalid(p, "netem.ports: port must be 1..65535, got 0");
  p = Valid();
  p.exclude_ports = {70000};
  ExpectInvalid(p, "netem.exclude_ports: port must be 1..65535, got 70000");
  p = Valid();
  p.rate_bytes_per_second = uint64_t{1} << 40;
  ExpectInvalid(p, "netem.rate_bytes_per_second");
}

TEST(NetScopeTest, CidrsAreCanonical) {
  auto c = ParseCidr("f", "10.1.2.3/8");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "10.0.0.0/8");
  c = ParseCidr("f", "fd00::1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "fd00::1/128");
  EXPECT_FALSE(ParseCidr("f", "10.0.0.0/").ok());
  EXPECT_FALSE(ParseCidr("f", "10.0.0.0/-1").ok());
  EXPECT_FALSE(ParseCidr("f", "::/129").ok());
}

// The rest changes qdiscs, so it works in a network namespace of its own.
class NetemHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "cannot unshare the network namespace";
  }
};

TEST_F(NetemHostTest, UnknownInterfaceNamesTheField) {
  NetemParams p = Valid();
  p.interface = "nosuch0";
  Netem fault(p);
  bool recorded = false;
  absl::Status s = fault.Inject([&](const UndoState&) {
    recorded = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("netem.interface: no interface named"));
  EXPECT_FALSE(recorded);
}

// On a kernel without netem (like the build hosts) the capability probe and
// Inject both say what is missing, and nothing is left behind.
TEST_F(NetemHostTest, MissingKernelSupportIsAFailedPrecondition) {
  absl::Status avail = NetemAvailable();
  if (avail.ok()) GTEST_SKIP() << "this kernel has netem, prio, u32 and tbf";
  EXPECT_EQ(avail.code(), absl::StatusCode::kFailedPrecondition) << avail;
  EXPECT_THAT(std::string(avail.message()), HasSubstr("module sch_"));
  std::string before, after;
  ASSERT_TRUE(SnapshotTcTree("lo", &before).ok());
  for (bool scoped : {false, true}) {
    NetemParams p = Valid();
    if (scoped) p.ports = {8080};
    Netem fault(p);
    UndoState last;
    absl::Status s = fault.Inject([&](const UndoState& u) {
      last = u;
      return absl::OkStatus();
    });
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("module sch_")) << s;
    ASSERT_TRUE(SnapshotTcTree("lo", &after).ok());
    EXPECT_EQ(after, before);
    EXPECT_TRUE(fault.Revert().ok());
  }
}

}  // namespace
}  // namespace chaos::faults
