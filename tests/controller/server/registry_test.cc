// AgentRegistry on a FakeClock: lost after the missed heartbeats, live again
// on the next one, last-seen times, bad addresses, target resolution, and
// the agents kept in a (real SQLite) store for the next controller.
#include "controller/server/registry.h"

#include "controller/store/sqlite_history_store.h"
#include "experiments/experiment.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

chaos::v1::RegisterAgentRequest Req(const std::string& address) {
  chaos::v1::RegisterAgentRequest r;
  r.set_address(address);
  r.set_hostname("h");
  (*r.mutable_labels())["zone"] = "a";
  return r;
}

TEST(RegistryTest, AgentsGetLostAfterMissedHeartbeatsAndComeBack) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  AgentRegistry registry(&clock, absl::Milliseconds(200), 3);
  ASSERT_TRUE(registry.Register(Req("10.0.0.1:7070")).ok());
  ASSERT_TRUE(registry.Register(Req("10.0.0.2:7070")).ok());
  clock.Advance(absl::Milliseconds(600));  // exactly 3 intervals: not yet lost
  ASSERT_TRUE(registry.Register(Req("10.0.0.2:7070")).ok());
  EXPECT_EQ(registry.LiveAddresses(), (std::vector<std::string>{"10.0.0.1:7070", "10.0.0.2:7070"}));
  clock.Advance(absl::Milliseconds(1));
  auto list = registry.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(list[0].lost());
  EXPECT_EQ(list[0].last_seen_unix_ms(), 1000 * 1000);
  EXPECT_FALSE(list[1].lost());
  EXPECT_EQ(list[1].last_seen_unix_ms(), 1000 * 1000 + 600);
  EXPECT_EQ(list[1].labels().at("zone"), "a");
  EXPECT_EQ(registry.LiveAddresses(), (std::vector<std::string>{"10.0.0.2:7070"}));
  ASSERT_TRUE(registry.Register(Req("10.0.0.1:7070")).ok());
  EXPECT_EQ(registry.LiveAddresses().size(), 2u);
}

// With a cap of 2 heartbeats a second, the interval each agent is told
// grows with the registered agents once they would exceed it (3 agents:
// 1.5 s), and each agent is lost after the missed intervals it was told.
TEST(RegistryTest, TheIntervalGrowsWithTheFleetUnderTheHeartbeatCap) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  AgentRegistry registry(&clock, absl::Seconds(1), 3, kMaxAgents, nullptr,
                         /*max_heartbeats_per_second=*/2);
  EXPECT_EQ(*registry.Register(Req("10.0.0.1:1")), absl::Seconds(1));
  EXPECT_EQ(*registry.Register(Req("10.0.0.2:1")), absl::Seconds(1));
  EXPECT_EQ(*registry.Register(Req("10.0.0.3:1")), absl::Milliseconds(1500));
  EXPECT_EQ(*registry.Register(Req("10.0.0.4:1")), absl::Seconds(2));
  EXPECT_EQ(*registry.Register(Req("10.0.0.4:1")), absl::Seconds(2));  // a heartbeat
  clock.Advance(absl::Milliseconds(3001));  // past 3 x 1 s, within 3 x 1.5 s
  EXPECT_EQ(registry.LiveAddresses(), (std::vector<std::string>{"10.0.0.3:1", "10.0.0.4:1"}));
  clock.Advance(absl::Milliseconds(1500));  // 4.501 s: past 3 x 1.5 s, within 3 x 2 s
  EXPECT_EQ(registry.LiveAddresses(), (std::vector<std::string>{"10.0.0.4:1"}));
  EXPECT_EQ(*registry.Register(Req("10.0.0.1:1")), absl::Seconds(2));  // back, told 2 s

  // 1 / 0.0001 = 10000 s, more than the hour an interval may be.
  AgentRegistry tiny(&clock, absl::Seconds(1), 3, kMaxAgents, nullptr, 0.0001);
  EXPECT_EQ(*tiny.Register(Req("10.0.0.1:1")), absl::Hours(1));

  AgentRegistry uncapped(&clock, absl::Seconds(1));  // 0: the interval as configured
  for (const char* a : {"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1"}) {
    EXPECT_EQ(*uncapped.Register(Req(a)), absl::Seconds(1));
  }
}

TEST(RegistryTest, BadAddressesAreInvalidArgument) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  AgentRegistry registry(&clock, absl::Seconds(1));
  for (const char* bad : {"", "host", ":7070", "host:0", "host:70000", "host:x"}) {
    absl::Status s = registry.Register(Req(bad)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message().rfind("address: ", 0), 0u) << s.message();
  }
  EXPECT_TRUE(registry.List().empty());
}

// A full registry forgets its lost agents to make room, and refuses a new
// agent only when every one it holds is live; known agents still heartbeat.
TEST(RegistryTest, AFullRegistryForgetsLostAgentsAndRefusesBeyondItsCapacity) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  AgentRegistry registry(&clock, absl::Seconds(1), 3, /*capacity=*/2);
  ASSERT_TRUE(registry.Register(Req("10.0.0.1:1")).ok());
  ASSERT_TRUE(registry.Register(Req("10.0.0.2:1")).ok());
  absl::Status full = registry.Register(Req("10.0.0.3:1")).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(), "address: the registry holds 2 live agents, its limit; none is lost");
  EXPECT_TRUE(registry.Register(Req("10.0.0.2:1")).ok());  // a heartbeat of a known agent
  clock.Advance(absl::Seconds(3) + absl::Milliseconds(1));  // both lost
  ASSERT_TRUE(registry.Register(Req("10.0.0.3:1")).ok());
  EXPECT_EQ(registry.LiveAddresses(), (std::vector<std::string>{"10.0.0.3:1"}));
  EXPECT_EQ(registry.List().size(), 1u);
}

// Whoever keeps something per agent (the run manager's channels) hears of
// each agent that leaves: forgotten by an admin, or to make room in a full
// registry; not of one refused, nor after it stops listening.
TEST(RegistryTest, EachAgentThatLeavesIsAnnouncedOnce) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  AgentRegistry registry(&clock, absl::Seconds(1), 3, /*capacity=*/3);
  std::vector<std::string> heard;
  registry.OnForgotten([&](const std::string& address) { heard.push_back(address); });
  ASSERT_TRUE(registry.Register(Req("10.0.0.1:1")).ok());
  ASSERT_TRUE(registry.Register(Req("10.0.0.2:1")).ok());
  ASSERT_TRUE(registry.Register(Req("10.0.0.3:1")).ok());
  clock.Advance(absl::Seconds(3) + absl::Milliseconds(1));  // all three lost
  ASSERT_TRUE(registry.Register(Req("10.0.0.3:1")).ok());   // 10.0.0.3:1 live again
  EXPECT_EQ(registry.ForgetLost("10.0.0.3:1").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(registry.ForgetLost("10.0.0.1:1").ok());
  EXPECT_EQ(heard, (std::vector<std::string>{"10.0.0.1:1"}));
  ASSERT_TRUE(registry.Register(Req("10.0.0.4:1")).ok());  // room without forgetting
  EXPECT_EQ(heard, (std::vector<std::string>{"10.0.0.1:1"}));
  ASSERT_TRUE(registry.Register(Req("10.0.0.5:1")).ok());  // full: 10.0.0.2:1 goes
  EXPECT_EQ(heard, (std::vector<std::string>{"10.0.0.1:1", "10.0.0.2:1"}));

  registry.OnForgotten(nullptr);
  clock.Advance(absl::Seconds(3) + absl::Milliseconds(1));
  ASSERT_TRUE(registry.ForgetLost("10.0.0.4:1").ok());
  EXPECT_EQ(heard.size(), 2u);
}

// A registry with a store keeps each agent's address, hostname and labels;
// the next controller's registry loads them as lost (never heard by it),
// and they are live again at their first heartbeat to it. Forgotten agents
// leave the store too.
TEST(RegistryTest, TheNextControllerKnowsTheStoredAgentsAsLostUntilTheyHeartbeat) {
  testing::TempDir dir;
  auto store = SqliteHistoryStore::Open(dir.path() + "/history.db");
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(absl::FromUnixSeconds(1000));
  {
    AgentRegistry first(&clock, absl::Seconds(1), 3, /*capacity=*/2, store->get());
    ASSERT_TRUE(first.Register(Req("10.0.0.1:1")).ok());
    chaos::v1::RegisterAgentRequest relabelled = Req("10.0.0.2:1");
    ASSERT_TRUE(first.Register(relabelled).ok());
    (*relabelled.mutable_labels())["zone"] = "b";
    ASSERT_TRUE(first.Register(relabelled).ok());
  }
  auto stored = (*store)->ListAgents();
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[1].labels().at("zone"), "b");
  EXPECT_EQ((*stored)[1].last_seen_unix_ms(), 0);

  clock.Advance(absl::Hours(1));
  AgentRegistry next(&clock, absl::Seconds(1), 3, /*capacity=*/2, store->get());
  ASSERT_TRUE(next.Load().ok());
  auto list = next.List();
  ASSERT_EQ(list.size(), 2u);
  for (const auto& info : list) {
    EXPECT_TRUE(info.lost()) << info.address();
    EXPECT_EQ(info.last_seen_unix_ms(), 0) << info.address();
    EXPECT_EQ(info.hostname(), "h");
  }
  EXPECT_EQ(list[1].labels().at("zone"), "b");
  EXPECT_TRUE(next.LiveAddresses().empty());

  ASSERT_TRUE(next.Register(Req("10.0.0.1:1")).ok());
  EXPECT_EQ(next.LiveAddresses(), (std::vector<std::string>{"10.0.0.1:1"}));
  // Full: a new agent makes room by forgetting the lost one, in the store too.
  ASSERT_TRUE(next.Register(Req("10.0.0.3:1")).ok());
  stored = (*store)->ListAgents();
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].address(), "10.0.0.1:1");
  EXPECT_EQ((*stored)[1].address(), "10.0.0.3:1");
}

// An admin forgets a lost agent, here and in the store; a live one is
// refused and stays. An agent forgotten that heartbeats again is new.
TEST(RegistryTest, ForgetLostDropsALostAgentEverywhereAndRefusesALiveOne) {
  testing::TempDir dir;
  auto store = SqliteHistoryStore::Open(dir.path() + "/history.db");
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(absl::FromUnixSeconds(1000));
  AgentRegistry registry(&clock, absl::Seconds(1), 3, kMaxAgents, store->get());
  ASSERT_TRUE(registry.Register(Req("10.0.0.1:1")).ok());
  ASSERT_TRUE(registry.Register(Req("10.0.0.2:1")).ok());
  clock.Advance(absl::Seconds(3) + absl::Milliseconds(1));
  ASSERT_TRUE(registry.Register(Req("10.0.0.2:1")).ok());  // 10.0.0.1:1 is lost

  absl::Status live = registry.ForgetLost("10.0.0.2:1");
  EXPECT_EQ(live.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(live.message(),
            "agent 10.0.0.2:1 is live and heartbeating: forgetting it would be undone at its "
            "next heartbeat; stop the agent first");
  EXPECT_EQ(registry.ForgetLost("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.ForgetLost("10.0.0.9:1").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(registry.ForgetLost("10.0.0.1:1").ok());
  EXPECT_EQ(registry.ForgetLost("10.0.0.1:1").message(),
            "address: no agent 10.0.0.1:1 is registered");

  auto list = registry.List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].address(), "10.0.0.2:1");
  auto stored = (*store)->ListAgents();
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].address(), "10.0.0.2:1");

  ASSERT_TRUE(registry.Register(Req("10.0.0.1:1")).ok());  // back in service
  EXPECT_EQ(registry.LiveAddresses().size(), 2u);
  stored = (*store)->ListAgents();
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->size(), 2u);
}

TEST(RegistryTest, TargetsAreTheLiveAgents) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  AgentRegistry registry(&clock, absl::Seconds(1));
  experiments::Experiment exp;
  exp.name = "e";
  auto none = ResolveTargets(exp, registry);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(registry.Register(Req("10.0.0.1:1")).ok());
  clock.Advance(absl::Seconds(10));
  ASSERT_TRUE(registry.Register(Req("10.0.0.2:1")).ok());
  auto targets = ResolveTargets(exp, registry);
  ASSERT_TRUE(targets.ok());
  EXPECT_EQ(*targets, (std::vector<std::string>{"10.0.0.2:1"}));
}

TEST(RegistryTest, AGroupChoosingMoreThanTheControllersLimitIsRefused) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  AgentRegistry registry(&clock, absl::Seconds(1));
  for (const char* a : {"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"}) {
    ASSERT_TRUE(registry.Register(Req(a)).ok());
  }
  experiments::Diagnostics diags;
  auto exp = experiments::ParseExperiment(R"(name: e
targets:
  zone: {selector: {zone: a}, maxPercent: 50}
method:
  - {id: all, duration: 1s, fault: {cpuBurn: {}}}
  - {id: some, target: zone, duration: 1s, fault: {cpuBurn: {}}}
)",
                                          &diags);
  ASSERT_TRUE(exp) << diags.Format("e");
  EXPECT_EQ(ResolveTargets(*exp, registry, 0)->size(), 3u);  // 0: no limit
  EXPECT_EQ(ResolveTargets(*exp, registry, 3)->size(), 3u);
  // The implicit group "all" (the first step) takes all 3.
  auto refused = ResolveTargets(*exp, registry, 2);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "experiment e: target group all would choose 3 of 3 matching agents, more than the "
            "controller's --max-agents-per-run 2 (cap the group with max or maxPercent)");
  exp->method.erase(exp->method.begin());  // only the capped group: 2 of 3
  EXPECT_TRUE(ResolveTargets(*exp, registry, 2).ok());
  refused = ResolveTargets(*exp, registry, 1);
  EXPECT_NE(refused.status().message().find("target group zone would choose 2 of 3"),
            std::string::npos)
      << refused.status();
  // Commands with a target touch their group's agents too.
  auto commands = experiments::ParseExperiment(R"(name: c
targets:
  every: {}
method:
  - {id: w, wait: 1s}
rollbackActions:
  - {run: ["true"], target: every}
)",
                                               &diags);
  ASSERT_TRUE(commands) << diags.Format("c");
  EXPECT_NE(ResolveTargets(*commands, registry, 2).status().message().find(
                "target group every would choose 3 of 3"),
            std::string::npos);
}

}  // namespace
}  // namespace chaos::controller
