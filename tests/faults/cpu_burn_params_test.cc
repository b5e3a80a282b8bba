// Unit tests of CpuBurn's validation and closed-loop control law.
#include "faults/cpu_burn.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;

TEST(CpuBurnValidate, EachBadFieldIsNamed) {
  CpuBurnParams p;
  EXPECT_TRUE(p.Validate().ok());
  p.workers = 0;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("cpu_burn.workers:"));
  p.workers = 1;
  p.cpus = {100000};
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("cpu_burn.cpus:"));
  p.cpus.clear();
  p.load_percent = 101;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("cpu_burn.load_percent:"));
  p.load_percent = 50;
  p.target_total_percent = 0;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("cpu_burn.target_total_percent:"));
  p.target_total_percent.reset();
  p.cgroup = "/sys/fs/cgroup/cpuacct/x";
  EXPECT_THAT(std::string(p.Validate().message()),
              HasSubstr("cpu_burn.cgroup: only meaningful with target_total_percent"));
  p.target_total_percent = 30;
  p.cgroup = "/sys/fs/cgroup/../../etc";
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("cpu_burn.cgroup: must be"));
  p.cgroup = "";
  p.ramp = absl::Seconds(-1);
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("cpu_burn.ramp:"));
  p.ramp = absl::Seconds(10);
  EXPECT_TRUE(p.Validate().ok());
}

TEST(CpuBurn, InvalidParamsStartNothing) {
  CpuBurnParams p;
  p.load_percent = 0;
  CpuBurn burn(p);
  int records = 0;
  EXPECT_EQ(burn.Inject([&](const UndoState&) {
    ++records;
    return absl::OkStatus();
  }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(records, 0);
  EXPECT_TRUE(burn.burners().empty());
}

TEST(NextWorkerLoad, ConvergesOnAPlantAndClamps) {
  // A host of 4 CPUs with 10% foreign load and 2 workers: the total is
  // 10 + load * 2 / 4. The law must settle where total == target.
  double load = 0;
  for (int i = 0; i < 50; ++i) {
    const double total = 10 + load * 2 / 4;
    load = NextWorkerLoad(load, 40, total, 4, 2);
  }
  EXPECT_NEAR(10 + load * 2 / 4, 40, 0.01);
  // Foreign load alone above target: the workers go to zero, not below.
  EXPECT_EQ(NextWorkerLoad(5, 20, 90, 4, 2), 0);
  // Cannot reach the target: capped at 100.
  EXPECT_EQ(NextWorkerLoad(99, 100, 10, 4, 1), 100);
}

}  // namespace
}  // namespace chaos::faults
