// LeaseTable: holds, renewals and expiry, on a clock the test controls.
#include "agent/lease_table.h"

#include "gtest/gtest.h"

namespace chaos::agent {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST(LeaseTableTest, LeaseLapsesAtItsDeadlineNotBefore) {
  LeaseTable leases;
  EXPECT_EQ(leases.Hold("exp", absl::Seconds(10), kT0), kT0 + absl::Seconds(10));
  EXPECT_TRUE(leases.Lapsed(kT0 + absl::Seconds(10) - absl::Milliseconds(1)).empty());
  EXPECT_EQ(leases.Lapsed(kT0 + absl::Seconds(10)), std::vector<std::string>{"exp"});
  EXPECT_EQ(leases.Deadline("exp"), kT0 + absl::Seconds(10));
  EXPECT_EQ(leases.Deadline("other"), std::nullopt);
}

TEST(LeaseTableTest, HoldLengthensButNeverShortens) {
  LeaseTable leases;
  leases.Hold("exp", absl::Seconds(10), kT0);
  // A shorter hold later still ends before the current deadline: kept.
  EXPECT_EQ(leases.Hold("exp", absl::Seconds(2), kT0 + absl::Seconds(1)), kT0 + absl::Seconds(10));
  // A longer one moves it.
  EXPECT_EQ(leases.Hold("exp", absl::Seconds(30), kT0 + absl::Seconds(1)),
            kT0 + absl::Seconds(31));
  EXPECT_EQ(leases.size(), 1u);
}

TEST(LeaseTableTest, RenewKeepsOrReplacesTheLength) {
  LeaseTable leases;
  leases.Hold("exp", absl::Seconds(10), kT0);
  // 0: renewed by the lease's own length.
  auto d = leases.Renew("exp", absl::ZeroDuration(), kT0 + absl::Seconds(5));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, kT0 + absl::Seconds(15));
  // A new length replaces it, and may shorten the lease.
  d = leases.Renew("exp", absl::Seconds(1), kT0 + absl::Seconds(6));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, kT0 + absl::Seconds(7));
  d = leases.Renew("exp", absl::ZeroDuration(), kT0 + absl::Milliseconds(6500));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, kT0 + absl::Milliseconds(7500)) << "the new length stays";
  EXPECT_EQ(leases.Renew("nobody", absl::ZeroDuration(), kT0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(LeaseTableTest, ALapsedLeaseCannotBeRenewedBeforeTheTimerActs) {
  LeaseTable leases;
  leases.Hold("a", absl::Seconds(1), kT0);
  leases.Hold("b", absl::Seconds(1), kT0);
  const absl::Time later = kT0 + absl::Seconds(2);
  EXPECT_EQ(leases.Lapsed(later), (std::vector<std::string>{"a", "b"}));
  // A keep-alive for "b" arrives after its deadline, before the drop.
  auto renewed = leases.Renew("b", absl::ZeroDuration(), later);
  EXPECT_EQ(renewed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(renewed.status().message().find("lease of experiment b lapsed"), std::string::npos);
  leases.DropIfLapsed("a", later);
  leases.DropIfLapsed("b", later);
  leases.DropIfLapsed("never-held", later);
  EXPECT_EQ(leases.Deadline("a"), std::nullopt);
  EXPECT_EQ(leases.Deadline("b"), std::nullopt);
  EXPECT_EQ(leases.size(), 0u);
}

TEST(LeaseTableTest, DropIfLapsedKeepsALeaseRenewedInTime) {
  LeaseTable leases;
  leases.Hold("b", absl::Seconds(1), kT0);
  // Renewed just before its deadline; a drop decided on an older reading
  // of the clock must not take it.
  ASSERT_TRUE(leases.Renew("b", absl::ZeroDuration(), kT0 + absl::Milliseconds(900)).ok());
  leases.DropIfLapsed("b", kT0 + absl::Seconds(1));
  EXPECT_EQ(leases.Deadline("b"), kT0 + absl::Milliseconds(1900));
}

}  // namespace
}  // namespace chaos::agent
