// Leadership against a real one-member etcd on loopback: CheckLeading, the
// check a leader's runner makes before each inject, holds while the lease
// is renewed and refuses once it has gone unrenewed for its TTL (etcd
// paused with SIGSTOP, as a partition looks from the leader).
#include "controller/store/leadership.h"

#include <memory>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/etcd_cluster.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

TEST(LeadershipTest, CheckLeadingRefusesOnceTheLeaseWentUnrenewedForItsTtl) {
  chaos::testing::EtcdCluster cluster(1);
  etcd::ClientOptions o;
  o.endpoints = cluster.endpoints();
  // A renewal to the paused member hangs this long before it fails and
  // the keep-alive declares the leadership lost: CheckLeading refuses
  // well before, by the time since the last renewal alone.
  o.timeout = absl::Seconds(10);
  auto client = etcd::Client::Connect(o);
  ASSERT_TRUE(client.ok()) << client.status();
  Leadership leadership(client->get(), "/lead-test/", absl::Seconds(1), nullptr);
  EXPECT_EQ(leadership.CheckLeading().code(), absl::StatusCode::kFailedPrecondition)
      << "a standby does not lead";
  auto key = leadership.Lead("test pid 1 at 127.0.0.1:1");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(leadership.CheckLeading().ok());
  // Renewed every third of the TTL: it keeps holding.
  absl::SleepFor(absl::Seconds(2));
  EXPECT_TRUE(leadership.CheckLeading().ok());

  cluster.Pause(0);
  absl::Status refused;
  EXPECT_TRUE(chaos::testing::WaitFor(
      [&] {
        refused = leadership.CheckLeading();
        return !refused.ok();
      },
      absl::Seconds(30)));
  cluster.Resume(0);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "another controller may lead now"))
      << refused;
}

}  // namespace
}  // namespace chaos::controller
