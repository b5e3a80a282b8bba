// The agent's fault factory for the network kinds: wire specs map to the
// faults/ parameter structs, bad input names the field, the control channel
// is excluded, and Capabilities() reports what this kernel lacks.
#include "agent/fault_factory.h"
#include "faults/netem.h"
#include "faults/partition.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::agent {
namespace {

using ::testing::HasSubstr;

TEST(NetFactoryTest, NetemBadInputNamesTheField) {
  chaos::v1::FaultSpec spec;
  spec.set_fault_id("f1");
  spec.mutable_netem()->set_interface("lo");
  spec.mutable_netem()->set_loss_percent(140);
  auto f = MakeFault(spec);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(f.status().message()),
              HasSubstr("netem.loss_percent: must be 0..100, got 140"));
  spec.mutable_netem()->set_loss_percent(10);
  spec.mutable_netem()->mutable_delay()->set_seconds(-1);
  f = MakeFault(spec);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("netem.delay: must be 0..100s, got -1s"));
  spec.mutable_netem()->clear_delay();
  spec.mutable_netem()->add_destination_cidrs("10.0.0.0/99");
  f = MakeFault(spec);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("netem.destination_cidrs"));
  spec.mutable_netem()->clear_destination_cidrs();
  spec.mutable_netem()->add_ports(0);
  f = MakeFault(spec);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("netem.ports"));
  spec.mutable_netem()->clear_ports();
  EXPECT_TRUE(MakeFault(spec).ok());
}

TEST(NetFactoryTest, PartitionBadInputNamesTheField) {
  chaos::v1::FaultSpec spec;
  spec.set_fault_id("f2");
  spec.mutable_partition()->add_ports(70000);
  auto f = MakeFault(spec);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("partition.ports"));
  spec.mutable_partition()->clear_ports();
  spec.mutable_partition()->add_cidrs("10.0.0.0/8");
  EXPECT_TRUE(MakeFault(spec).ok());
}

TEST(NetFactoryTest, ControlChannelIsValidatedIntoTheFault) {
  SetControlChannel({{"not-a-cidr"}, {7070}});
  chaos::v1::FaultSpec spec;
  spec.set_fault_id("f3");
  spec.mutable_netem()->set_interface("lo");
  auto f = MakeFault(spec);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("netem.exclude_cidrs"));
  SetControlChannel({{"10.9.8.7"}, {7070}});
  EXPECT_TRUE(MakeFault(spec).ok());
  SetControlChannel({});
}

TEST(NetFactoryTest, CapabilitiesMatchTheProbes) {
  const absl::Status netem = faults::NetemAvailable();
  const absl::Status partition = faults::PartitionAvailable();
  bool saw_netem = false, saw_partition = false;
  for (const auto& c : Capabilities()) {
    if (c.kind() == "netem") {
      saw_netem = true;
      EXPECT_EQ(c.available(), netem.ok());
      if (!netem.ok()) {
        EXPECT_THAT(c.reason(), HasSubstr("module sch_"));
      }
    }
    if (c.kind() == "partition") {
      saw_partition = true;
      EXPECT_EQ(c.available(), partition.ok()) << c.reason();
    }
  }
  EXPECT_TRUE(saw_netem);
  EXPECT_TRUE(saw_partition);
}

}  // namespace
}  // namespace chaos::agent
