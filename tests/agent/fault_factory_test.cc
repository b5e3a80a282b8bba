// The factory maps chaos.v1 specs onto the fault parameter structs and
// passes field-named errors through.
#include "agent/fault_factory.h"

#include <map>

#include "faults/netem.h"
#include "faults/partition.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::agent {
namespace {

using ::testing::HasSubstr;

std::string Error(const chaos::v1::FaultSpec& spec, const FactoryOptions& o = {}) {
  auto f = MakeFault(spec, o);
  return f.ok() ? "OK" : std::string(f.status().message());
}

TEST(FaultFactory, ProcessKillAndPause) {
  chaos::v1::FaultSpec spec;
  spec.mutable_duration()->set_seconds(30);
  auto* k = spec.mutable_process_kill();
  k->mutable_target()->set_name("nginx");
  EXPECT_EQ(Error(spec), "OK");
  k->set_signal(99);
  EXPECT_THAT(Error(spec), HasSubstr("process_kill.signal: unknown signal 99"));
  k->set_signal(0);
  k->mutable_target()->set_cmdline_regex("(");
  EXPECT_THAT(Error(spec), HasSubstr("process_kill.target.cmdline_regex: does not compile"));
  k->mutable_target()->set_pidfile("relative.pid");
  EXPECT_THAT(Error(spec), HasSubstr("process_kill.target.pidfile: must be an absolute path"));
  k->mutable_target()->set_name("");
  EXPECT_THAT(Error(spec), HasSubstr("process_kill.target.name: empty"));
  k->mutable_target()->set_pid(0);
  EXPECT_THAT(Error(spec), HasSubstr("process_kill.target.pid: must be > 1"));
  k->mutable_target()->set_pid(1234);
  k->mutable_target()->set_percent(150);
  EXPECT_THAT(Error(spec), HasSubstr("process_kill.target.percent: must be 1..100"));
  k->mutable_target()->set_percent(0);
  k->mutable_interval()->set_seconds(-1);
  EXPECT_THAT(Error(spec), HasSubstr("process_kill.interval:"));
  k->mutable_interval()->set_seconds(1);
  EXPECT_EQ(Error(spec), "OK");

  chaos::v1::FaultSpec pause;
  pause.mutable_process_pause()->mutable_target();
  EXPECT_THAT(Error(pause), HasSubstr("process_pause.target: set exactly one"));
  pause.mutable_process_pause()->mutable_target()->set_pid(4321);
  EXPECT_EQ(Error(pause), "OK");
}

TEST(FaultFactory, DiskFill) {
  chaos::v1::FaultSpec spec;
  spec.set_fault_id("f/1");
  auto* d = spec.mutable_disk_fill();
  d->set_directory("/mnt/x");
  EXPECT_THAT(Error(spec), HasSubstr("disk_fill.size: set one of"));
  d->set_target_percent(120);
  EXPECT_THAT(Error(spec), HasSubstr("disk_fill.target_percent:"));
  d->set_bytes(1 << 20);
  EXPECT_EQ(Error(spec), "OK");
  d->set_directory("x/y");
  EXPECT_THAT(Error(spec), HasSubstr("disk_fill.directory: must be an absolute path"));
}

TEST(FaultFactory, MemoryPressure) {
  chaos::v1::FaultSpec spec;
  auto* m = spec.mutable_memory_pressure();
  EXPECT_THAT(Error(spec), HasSubstr("memory_pressure.size:"));
  m->set_percent_of_available(-2);
  EXPECT_THAT(Error(spec), HasSubstr("memory_pressure.percent_of_available:"));
  m->set_bytes(4096);
  EXPECT_EQ(Error(spec), "OK");
}

TEST(FaultFactory, CpuBurnClosedLoop) {
  chaos::v1::FaultSpec spec;
  auto* c = spec.mutable_cpu_burn();
  c->set_target_total_percent(150);
  EXPECT_THAT(Error(spec), HasSubstr("cpu_burn.target_total_percent:"));
  c->set_target_total_percent(40);
  c->set_cgroup("/etc");
  EXPECT_THAT(Error(spec), HasSubstr("cpu_burn.cgroup:"));
  c->clear_cgroup();
  c->mutable_ramp()->set_seconds(-5);
  EXPECT_THAT(Error(spec), HasSubstr("cpu_burn.ramp:"));
  c->mutable_ramp()->set_seconds(5);
  EXPECT_EQ(Error(spec), "OK");
}

TEST(FaultFactory, CapabilitiesListTheNewKinds) {
  // Host faults are always available to root; network kinds as the kernel says.
  std::map<std::string, bool> want = {
      {"cpu_burn", true},         {"process_kill", true}, {"process_pause", true},
      {"disk_fill", true},        {"memory_pressure", true}, {"data_loss", true},
      {"netem", faults::NetemAvailable().ok()},
      {"partition", faults::PartitionAvailable().ok()}};
  std::map<std::string, bool> got;
  for (const auto& c : Capabilities()) {
    got[c.kind()] = c.available();
    if (!c.available()) {
      EXPECT_FALSE(c.reason().empty()) << c.kind();
    }
  }
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace chaos::agent
