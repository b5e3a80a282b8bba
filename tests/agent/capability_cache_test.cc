// Capabilities are probed once and cached; Describe probes again only when
// asked to (DescribeRequest.refresh_capabilities).
#include "agent/capability_cache.h"

#include <atomic>

#include "agent/agent.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::agent {
namespace {

// A probe that counts its calls and reports netem as the call number says.
CapabilityCache::Probe CountingProbe(std::atomic<int>* calls) {
  return [calls] {
    const int n = ++*calls;
    chaos::v1::FaultCapability netem;
    netem.set_kind("netem");
    netem.set_available(n > 1);
    if (n == 1) netem.set_reason("module sch_netem missing");
    return CapabilityCache::Capabilities{netem};
  };
}

TEST(CapabilityCacheTest, ProbesOnFirstUseAndOnRefreshOnly) {
  std::atomic<int> calls{0};
  CapabilityCache cache(CountingProbe(&calls));
  EXPECT_EQ(calls, 0) << "nothing is probed before it is needed";
  EXPECT_FALSE(cache.Get().at(0).available());
  EXPECT_FALSE(cache.Get().at(0).available());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(cache.Refresh().at(0).available());
  EXPECT_TRUE(cache.Get().at(0).available()) << "the refreshed result is kept";
  EXPECT_EQ(calls, 2);
}

TEST(AgentDescribeTest, ProbesAtStartUpAndAgainOnlyOnRefresh) {
  chaos::testing::TempDir dir;
  std::atomic<int> calls{0};
  AgentOptions options;
  options.state_dir = dir.path() + "/state";
  options.probe_capabilities = CountingProbe(&calls);
  auto agent = Agent::Create(options);
  ASSERT_TRUE(agent.ok()) << agent.status();
  (*agent)->Start();
  EXPECT_EQ(calls, 1) << "start-up probes once";
  for (int i = 0; i < 3; ++i) {
    auto d = (*agent)->Describe();
    ASSERT_EQ(d.capabilities_size(), 1);
    EXPECT_FALSE(d.capabilities(0).available());
    EXPECT_EQ(d.capabilities(0).reason(), "module sch_netem missing");
  }
  EXPECT_EQ(calls, 1) << "Describe without refresh must not probe";
  auto refreshed = (*agent)->Describe(/*refresh_capabilities=*/true);
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(refreshed.capabilities_size(), 1);
  EXPECT_TRUE(refreshed.capabilities(0).available());
  EXPECT_TRUE((*agent)->Describe().capabilities(0).available());
  EXPECT_EQ(calls, 2);
  (*agent)->Shutdown();
}

}  // namespace
}  // namespace chaos::agent
