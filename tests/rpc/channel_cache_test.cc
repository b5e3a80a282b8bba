// rpc::ChannelCache against a real TCP listener on 127.0.0.1 that accepts
// and at once closes every connection (an address where no agent
// answers): a kept channel keeps reconnecting to it without any call, and
// stops once the address is forgotten.
#include "rpc/channel_cache.h"

#include "chaos/v1/agent.grpc.pb.h"
#include "gtest/gtest.h"
#include "rpc/status.h"
#include "tests/test_util.h"

namespace chaos::rpc {
namespace {

TEST(ChannelCache, OneChannelPerAddressUntilForgotten) {
  ChannelCache cache(TransportOptions{});
  const auto a = cache.Get("127.0.0.1:1");
  EXPECT_EQ(cache.Get("127.0.0.1:1"), a);
  EXPECT_NE(cache.Get("127.0.0.1:2"), a);
  cache.Forget("127.0.0.1:1");
  EXPECT_NE(cache.Get("127.0.0.1:1"), a);
  cache.Forget("never-opened:1");  // nothing to forget: no error
}

TEST(ChannelCache, AForgottenAddressIsNoLongerReconnectedTo) {
  chaos::testing::ClosingListener dead;
  ChannelCache cache(TransportOptions{});
  {
    auto stub = chaos::v1::Agent::NewStub(cache.Get(dead.address()));
    chaos::v1::DescribeRequest req;
    chaos::v1::DescribeResponse resp;
    grpc::Status s = stub->Describe(ContextWithTimeout(absl::Seconds(5)).get(), req, &resp);
    EXPECT_FALSE(s.ok());
  }
  // Kept, the channel reconnects with no call in flight (backoff <= 2 s).
  const int after_call = dead.accepted();
  ASSERT_TRUE(chaos::testing::WaitFor([&] { return dead.accepted() >= after_call + 2; },
                                      absl::Seconds(60)));
  cache.Forget(dead.address());
  absl::SleepFor(absl::Milliseconds(500));  // an attempt already under way
  const int forgotten_at = dead.accepted();
  absl::SleepFor(3 * ChannelCache::kMaxReconnectBackoff);
  EXPECT_EQ(dead.accepted(), forgotten_at);
}

}  // namespace
}  // namespace chaos::rpc
