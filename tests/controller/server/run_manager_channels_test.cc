// The run manager keeps one channel per agent (rpc::ChannelCache), which
// reconnects on its own while kept: an agent that leaves the registry,
// forgotten by an admin or to make room in a full registry, has its
// channel closed, so a decommissioned host is no longer dialled. Against a
// real TCP listener on 127.0.0.1 that accepts and closes every connection.
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "controller/store/sqlite_history_store.h"
#include "gtest/gtest.h"
#include "rpc/channel_cache.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

// Calls every registered agent once (Describe), which opens and keeps a
// channel to each, then waits until `dead` sees the kept channel
// reconnect twice with no call in flight.
void DialUntilKept(RunManager& runs, const chaos::testing::ClosingListener& dead) {
  const std::vector<AgentDescription> described = runs.DescribeEveryAgent(absl::Seconds(2));
  ASSERT_EQ(described.size(), 1u);
  const int after_call = dead.accepted();
  ASSERT_TRUE(chaos::testing::WaitFor([&] { return dead.accepted() >= after_call + 2; },
                                      absl::Seconds(60)));
}

// No connection to `dead` for three of the channel's longest backoffs.
void ExpectNoLongerDialled(const chaos::testing::ClosingListener& dead) {
  absl::SleepFor(absl::Milliseconds(500));  // an attempt already under way
  const int forgotten_at = dead.accepted();
  absl::SleepFor(3 * rpc::ChannelCache::kMaxReconnectBackoff);
  EXPECT_EQ(dead.accepted(), forgotten_at);
}

chaos::v1::RegisterAgentRequest Req(const std::string& address) {
  chaos::v1::RegisterAgentRequest r;
  r.set_address(address);
  return r;
}

class RunManagerChannels : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteHistoryStore::Open(dir_.path() + "/history.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  chaos::testing::TempDir dir_;
  std::unique_ptr<HistoryStore> store_;
  FakeClock clock_{absl::FromUnixSeconds(1000)};
  chaos::testing::ClosingListener dead_;
};

TEST_F(RunManagerChannels, AForgottenAgentIsNoLongerDialled) {
  AgentRegistry registry(&clock_, absl::Seconds(1));
  ASSERT_TRUE(registry.Register(Req(dead_.address())).ok());
  RunManager runs(store_.get(), &registry, {});
  DialUntilKept(runs, dead_);
  clock_.Advance(absl::Seconds(4));  // lost
  ASSERT_TRUE(registry.ForgetLost(dead_.address()).ok());
  ExpectNoLongerDialled(dead_);
}

TEST_F(RunManagerChannels, AnAgentForgottenToMakeRoomIsNoLongerDialled) {
  AgentRegistry registry(&clock_, absl::Seconds(1), 3, /*capacity=*/1);
  ASSERT_TRUE(registry.Register(Req(dead_.address())).ok());
  RunManager runs(store_.get(), &registry, {});
  DialUntilKept(runs, dead_);
  clock_.Advance(absl::Seconds(4));  // lost
  ASSERT_TRUE(registry.Register(Req("127.0.0.1:1")).ok());  // takes its place
  ASSERT_EQ(registry.List().size(), 1u);
  ExpectNoLongerDialled(dead_);
}

}  // namespace
}  // namespace chaos::controller
