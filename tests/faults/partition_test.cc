// Partition on the host kernel, inside a network namespace of the test's
// own (the UML kernel has no nf_tables for inet): matching traffic is
// dropped, the rest flows, the control channel is excluded, and revert
// removes exactly our table.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>

#include "absl/strings/match.h"
#include "faults/partition.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/kernel/net_test_util.h"

namespace chaos::faults {
namespace {

using ::chaos::testing::Shell;
using ::chaos::testing::TcpListener;
using ::testing::HasSubstr;

PartitionParams Valid() {
  PartitionParams p;
  p.fault_id = "exp-1:f.2";
  p.ports = {8080};
  return p;
}

TEST(PartitionParamsTest, BadFieldsAreNamed) {
  EXPECT_TRUE(Valid().Validate().ok());
  PartitionParams p = Valid();
  p.ports = {0};
  EXPECT_THAT(std::string(p.Validate().message()),
              HasSubstr("partition.ports: port must be 1..65535, got 0"));
  p = Valid();
  p.cidrs = {"10.0.0.0/40"};
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("partition.cidrs: malformed CIDR"));
  p = Valid();
  p.exclude_cidrs = {"x"};
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("partition.exclude_cidrs"));
  p = Valid();
  p.exclude_ports = {65536};
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("partition.exclude_ports"));
  p = Valid();
  p.ports.clear();
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("partition.cidrs/ports"));
  p = Valid();
  p.fault_id = "a b";
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("partition.fault_id"));
  EXPECT_EQ(Valid().Validate().code(), absl::StatusCode::kOk);
  EXPECT_EQ(PartitionTableName("exp-1:f.2"), "chaos_exp_1_f_2");
}

// True when a TCP connect to addr:port completes within timeout_ms.
bool Connects(uint32_t addr, uint16_t port, int timeout_ms = 300) {
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a = chaos::testing::Loopback(port);
  a.sin_addr.s_addr = htonl(addr);
  int rc = connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
  bool ok = rc == 0;
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{c, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
      ok = err == 0;
    }
  }
  close(c);
  return ok;
}

constexpr uint32_t kLo1 = 0x7F000001, kLo2 = 0x7F000002;

class PartitionNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "cannot unshare the network namespace";
    Shell("ip link set lo up");
    absl::Status avail = PartitionAvailable();
    ASSERT_TRUE(avail.ok()) << avail;
    // Someone else's table, which must survive everything we do.
    Shell("nft add table inet bystander; nft add chain inet bystander c '{ type filter hook "
          "input priority 0 ; }'");
    before_ = Shell("nft list ruleset");
    ASSERT_TRUE(absl::StrContains(before_, "bystander")) << before_;
  }
  std::string before_;
};

UndoRecorder Keep(UndoState* last) {
  return [last](const UndoState& u) {
    *last = u;
    return absl::OkStatus();
  };
}

TEST_F(PartitionNetnsTest, DropsMatchingPortOnlyAndRevertsExactly) {
  TcpListener blocked, open;
  ASSERT_GE(blocked.fd, 0);
  ASSERT_GE(open.fd, 0);
  ASSERT_TRUE(Connects(kLo1, blocked.port));
  PartitionParams p;
  p.fault_id = "exp-1:f.2";
  p.ports = {blocked.port};
  Partition fault(p);
  UndoState undo;
  absl::Status s = fault.Inject(Keep(&undo));
  ASSERT_TRUE(s.ok()) << s << "\n" << fault.Script();
  EXPECT_EQ(undo.at("table"), "chaos_exp_1_f_2");
  const std::string during = Shell("nft list ruleset");
  EXPECT_TRUE(absl::StrContains(during, "table inet chaos_exp_1_f_2")) << during;
  EXPECT_FALSE(Connects(kLo1, blocked.port));
  EXPECT_TRUE(Connects(kLo1, open.port));
  ASSERT_TRUE(fault.Revert().ok());
  EXPECT_EQ(Shell("nft list ruleset"), before_);
  EXPECT_TRUE(Connects(kLo1, blocked.port));
  ASSERT_TRUE(fault.Revert().ok());  // twice is fine
  EXPECT_EQ(Shell("nft list ruleset"), before_);
}

TEST_F(PartitionNetnsTest, DropsMatchingCidrOnly) {
  int fd2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = chaos::testing::Loopback(0);
  a.sin_addr.s_addr = htonl(kLo2);
  ASSERT_EQ(bind(fd2, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd2, 16), 0);
  socklen_t len = sizeof a;
  getsockname(fd2, reinterpret_cast<sockaddr*>(&a), &len);
  const uint16_t port2 = ntohs(a.sin_port);
  TcpListener l1;
  PartitionParams p;
  p.fault_id = "cidr";
  p.cidrs = {"127.0.0.2/32"};
  p.direction = PartitionDirection::kEgress;
  Partition fault(p);
  UndoState undo;
  absl::Status s = fault.Inject(Keep(&undo));
  ASSERT_TRUE(s.ok()) << s;
  const std::string during = Shell("nft list table inet chaos_cidr");
  EXPECT_FALSE(absl::StrContains(during, "hook input")) << during;  // egress only
  EXPECT_FALSE(Connects(kLo2, port2));
  EXPECT_TRUE(Connects(kLo1, l1.port));
  ASSERT_TRUE(fault.Revert().ok());
  EXPECT_TRUE(Connects(kLo2, port2));
  EXPECT_EQ(Shell("nft list ruleset"), before_);
  close(fd2);
}

TEST_F(PartitionNetnsTest, IngressOnlyAndIpv6) {
  // Ingress only, an IPv6 CIDR: connects to [::1] die (the SYN arrives from
  // ::1), IPv4 loopback is untouched, and there is no output chain.
  int fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 a6{};
  a6.sin6_family = AF_INET6;
  a6.sin6_addr = in6addr_loopback;
  if (bind(fd6, reinterpret_cast<sockaddr*>(&a6), sizeof a6) != 0) {
    close(fd6);
    GTEST_SKIP() << "no IPv6 loopback in this namespace";
  }
  ASSERT_EQ(listen(fd6, 16), 0);
  socklen_t len = sizeof a6;
  getsockname(fd6, reinterpret_cast<sockaddr*>(&a6), &len);
  auto connects6 = [&] {
    int c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = connect(c, reinterpret_cast<sockaddr*>(&a6), sizeof a6);
    bool ok = rc == 0;
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{c, POLLOUT, 0};
      int err = 1;
      socklen_t l = sizeof err;
      ok = poll(&p, 1, 300) == 1 && getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &l) == 0 &&
           err == 0;
    }
    close(c);
    return ok;
  };
  ASSERT_TRUE(connects6());
  TcpListener l4;
  PartitionParams p;
  p.fault_id = "v6";
  p.cidrs = {"::1/128"};
  p.direction = PartitionDirection::kIngress;
  Partition fault(p);
  UndoState undo;
  absl::Status s = fault.Inject(Keep(&undo));
  ASSERT_TRUE(s.ok()) << s << "\n" << fault.Script();
  const std::string during = Shell("nft list table inet chaos_v6");
  EXPECT_TRUE(absl::StrContains(during, "ip6 saddr ::1 drop")) << during;
  EXPECT_FALSE(absl::StrContains(during, "hook output")) << during;
  EXPECT_FALSE(connects6());
  EXPECT_TRUE(Connects(kLo1, l4.port));
  ASSERT_TRUE(fault.Revert().ok());
  EXPECT_TRUE(connects6());
  EXPECT_EQ(Shell("nft list ruleset"), before_);
  close(fd6);
}

TEST_F(PartitionNetnsTest, ControlChannelIsExcluded) {
  TcpListener agent, other;
  PartitionParams p;
  p.fault_id = "ctl";
  p.cidrs = {"127.0.0.0/8"};
  p.exclude_ports = {agent.port};
  Partition fault(p);
  UndoState undo;
  absl::Status s = fault.Inject(Keep(&undo));
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(Connects(kLo1, agent.port));
  EXPECT_FALSE(Connects(kLo1, other.port));
  ASSERT_TRUE(fault.Revert().ok());
  EXPECT_EQ(Shell("nft list ruleset"), before_);
}

TEST_F(PartitionNetnsTest, ExistingTableIsRefusedAndKept) {
  Shell("nft add table inet chaos_taken");
  const std::string with_taken = Shell("nft list ruleset");
  PartitionParams p;
  p.fault_id = "taken";
  p.ports = {9};
  Partition fault(p);
  UndoState undo;
  absl::Status s = fault.Inject(Keep(&undo));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(undo.empty());
  EXPECT_TRUE(fault.Revert().ok());
  EXPECT_EQ(Shell("nft list ruleset"), with_taken);
}

TEST_F(PartitionNetnsTest, AnotherObjectRevertsFromTheUndoState) {
  PartitionParams p;
  p.fault_id = "adopt";
  p.ports = {9};
  UndoState undo;
  {
    Partition fault(p);
    ASSERT_TRUE(fault.Inject(Keep(&undo)).ok());
  }
  Partition adopted(PartitionParams{});
  ASSERT_TRUE(adopted.Adopt(undo).ok());
  ASSERT_TRUE(adopted.Revert().ok());
  EXPECT_EQ(Shell("nft list ruleset"), before_);
}

}  // namespace
}  // namespace chaos::faults
