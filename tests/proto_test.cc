// The generated chaos.v1 code round-trips a request, oneof and all.
#include "chaos/v1/agent.pb.h"
#include "gtest/gtest.h"

namespace {

TEST(ProtoTest, InjectRequestRoundTrips) {
  chaos::v1::InjectRequest req;
  req.mutable_spec()->set_fault_id("run-1.burn");
  req.mutable_spec()->set_experiment_id("run-1");
  req.mutable_spec()->mutable_duration()->set_seconds(5);
  req.mutable_spec()->mutable_cpu_burn()->set_workers(2);
  req.mutable_spec()->mutable_cpu_burn()->set_load_percent(75);
  req.mutable_lease()->set_seconds(15);
  req.set_caller("test");

  std::string wire;
  ASSERT_TRUE(req.SerializeToString(&wire));
  chaos::v1::InjectRequest back;
  ASSERT_TRUE(back.ParseFromString(wire));
  EXPECT_EQ(back.spec().fault_id(), "run-1.burn");
  EXPECT_EQ(back.spec().kind_case(), chaos::v1::FaultSpec::kCpuBurn);
  EXPECT_EQ(back.spec().cpu_burn().workers(), 2u);
  EXPECT_EQ(back.spec().cpu_burn().load_percent(), 75u);
  EXPECT_EQ(back.spec().duration().seconds(), 5);
  EXPECT_EQ(back.lease().seconds(), 15);
  EXPECT_EQ(back.caller(), "test");
}

TEST(ProtoTest, SettingAnotherKindClearsTheFirst) {
  chaos::v1::FaultSpec spec;
  spec.mutable_cpu_burn()->set_workers(1);
  spec.mutable_disk_fill()->set_directory("/tmp");
  EXPECT_EQ(spec.kind_case(), chaos::v1::FaultSpec::kDiskFill);
  EXPECT_FALSE(spec.has_cpu_burn());
}

}  // namespace
