// Unit tests of CpuBurn's validation and closed-loop control law.
#include "faults/cpu_burn.h"

#include <chrono>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/fake_os.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;
using testing::Recorder;

// Burners that do not run: records starts and stops, and simulates a host
// of `ncpu` CPUs with `foreign_percent` of other load, where each burner
// adds its load / ncpu to the total. Each Sample() advances one second.
class FakeBurnerOs : public BurnerOs {
 public:
  int ncpu = 4;
  double foreign_percent = 10;
  int fail_start_at = 0;  // 1-based
  bool fail_move = false;
  std::vector<ProcessId> running;
  std::vector<pid_t> stopped;
  const std::atomic<uint32_t>* load = nullptr;
  int starts = 0;
  std::mutex mu;
  CpuSample plant;

  absl::StatusOr<ProcessId> StartBurner(int, const std::atomic<uint32_t>* l) override {
    ++starts;
    if (starts == fail_start_at) return absl::ResourceExhaustedError("fork: no memory");
    load = l;
    running.push_back({static_cast<pid_t>(9000 + starts), 55});
    return running.back();
  }
  absl::Status StopBurner(const ProcessId& id) override {
    stopped.push_back(id.pid);
    std::erase_if(running, [&](const ProcessId& r) { return r == id; });
    return absl::OkStatus();
  }
  absl::StatusOr<CpuSample> Sample(const std::string&) override {
    std::lock_guard<std::mutex> lock(mu);
    const double per_worker = load ? load->load() / 10.0 : 0;
    const double total_percent =
        foreign_percent + per_worker * static_cast<double>(running.size()) / ncpu;
    plant.total_ns += 1e9 * ncpu;
    plant.busy_ns += 1e9 * ncpu * total_percent / 100;
    return plant;
  }
  bool IsCgroup(const std::string& c) override { return c == "/sys/fs/cgroup/cpuacct/x"; }
  absl::Status MoveToCgroup(const std::string&, pid_t) override {
    return fail_move ? absl::FailedPreconditionError("cannot move") : absl::OkStatus();
  }
  int OnlineCpus() override { return ncpu; }
};

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

// The host's /proc/stat, read the way the closed loop reads it. Its parser
// once kept a view of a temporary string (use after free): the ASan build
// of this test (make test, build-asan) is what catches that.
TEST(RealBurnerOs, SamplesTheHostsCpuTime) {
  absl::StatusOr<CpuSample> sample = RealBurnerOs().Sample("");
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_GT(sample->total_ns, 0);
  EXPECT_LE(sample->busy_ns, sample->total_ns);
}

TEST(CpuBurn, RecordsEachBurnerAndRevertStopsExactlyThem) {
  FakeBurnerOs os;
  CpuBurnParams p;
  p.workers = 3;
  CpuBurn burn(p, os);
  Recorder rec;
  ASSERT_TRUE(burn.Inject(rec.fn()).ok());
  ASSERT_EQ(rec.states.size(), 4u);
  EXPECT_EQ(rec.states[0].at("burners"), "");
  EXPECT_EQ(rec.states[3].at("burners"), "9001:55,9002:55,9003:55");
  EXPECT_EQ(burn.Status().details["pids"], "9001,9002,9003");
  ASSERT_TRUE(burn.Revert().ok());
  EXPECT_THAT(os.stopped, ::testing::ElementsAre(9001, 9002, 9003));
  EXPECT_TRUE(burn.Revert().ok());
  EXPECT_EQ(os.stopped.size(), 3u);
}

TEST(CpuBurn, FailureHalfwayStopsWhatStarted) {
  FakeBurnerOs os;
  os.fail_start_at = 3;
  CpuBurnParams p;
  p.workers = 4;
  CpuBurn burn(p, os);
  Recorder rec;
  EXPECT_EQ(burn.Inject(rec.fn()).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(os.running.empty());
  EXPECT_EQ(os.stopped.size(), 2u);
  // A ledger failure after the first burner stops it too.
  FakeBurnerOs os2;
  Recorder rec2;
  rec2.fail_at = 2;
  CpuBurn burn2(p, os2);
  EXPECT_EQ(burn2.Inject(rec2.fn()).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(os2.running.empty());
  // So does a cgroup that refuses the burner.
  FakeBurnerOs os3;
  os3.fail_move = true;
  p.target_total_percent = 20;
  p.cgroup = "/sys/fs/cgroup/cpuacct/x";
  CpuBurn burn3(p, os3);
  EXPECT_EQ(burn3.Inject(rec.fn()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(os3.running.empty());
  p.cgroup = "/sys/fs/cgroup/cpuacct/missing";
  CpuBurn burn4(p, os3);
  EXPECT_EQ(burn4.Inject(rec.fn()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(os3.starts, 1);
}

TEST(CpuBurn, AdoptThenRevertStopsRecordedBurners) {
  FakeBurnerOs os;
  CpuBurn burn(CpuBurnParams{}, os);
  ASSERT_TRUE(burn.Adopt({{"burners", "700:1,701:2"}}).ok());
  ASSERT_TRUE(burn.Revert().ok());
  EXPECT_THAT(os.stopped, ::testing::ElementsAre(700, 701));
  EXPECT_EQ(burn.Adopt({}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CpuBurn, ClosedLoopSettlesOnTheSimulatedHost) {
  FakeBurnerOs os;  // 4 CPUs, 10% foreign load
  CpuBurnParams p;
  p.workers = 2;
  p.target_total_percent = 40;  // needs 60% per worker
  CpuBurn burn(p, os);
  Recorder rec;
  ASSERT_TRUE(burn.Inject(rec.fn()).ok());
  // The controller samples every 100 ms; 30 periods are plenty.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const double load = os.load->load() / 10.0;
  EXPECT_NEAR(load, 60, 1.0);
  EXPECT_EQ(burn.Status().details["mode"], "closed_loop");
  ASSERT_TRUE(burn.Revert().ok());
}

}  // namespace
}  // namespace chaos::faults
