// Integration tests (root): MemoryPressure holds real memory in a child,
// checked through /proc/<pid>/status and /proc/<pid>/stat.
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "faults/memory_pressure.h"
#include "gtest/gtest.h"
#include "tests/faults/real_host.h"

namespace chaos::faults {
namespace {

using testing::ProcState;

uint64_t StatusKb(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view v = line;
    if (absl::ConsumePrefix(&v, key + ":")) {
      v = absl::StripAsciiWhitespace(v);
      absl::ConsumeSuffix(&v, " kB");
      uint64_t kb = 0;
      (void)absl::SimpleAtoi(v, &kb);
      return kb;
    }
  }
  return 0;
}

uint64_t SelfRssKb() { return StatusKb(getpid(), "VmRSS"); }

TEST(MemoryPressureReal, HoldsLockedMemoryQuietlyInAChildAndRevertFreesIt) {
  constexpr uint64_t kBytes = 128ull << 20;
  const uint64_t self_rss_before = SelfRssKb();
  MemoryPressureParams p;
  p.bytes = kBytes;
  p.lock = true;
  UndoState recorded;
  MemoryPressure mem(p);
  ASSERT_TRUE(mem.Inject([&](const UndoState& u) {
    recorded = u;
    return absl::OkStatus();
  }).ok());
  ASSERT_TRUE(mem.holder().has_value());
  const pid_t pid = mem.holder()->pid;
  auto info = ReadProcessInfo(pid);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->comm, "chaos-mem");
  EXPECT_GE(StatusKb(pid, "VmRSS"), kBytes / 1024);
  EXPECT_GE(StatusKb(pid, "VmLck"), kBytes / 1024);
  // The agent's own RSS did not take the memory.
  EXPECT_LT(SelfRssKb(), self_rss_before + (kBytes / 1024) / 4);
  // Holding is quiet: the child sleeps and burns no CPU.
  const uint64_t ticks0 = info->cpu_ticks;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto later = ReadProcessInfo(pid);
  ASSERT_TRUE(later.ok());
  EXPECT_LE(later->cpu_ticks - ticks0, 1u);
  EXPECT_EQ(later->state, 'S');
  // A restarted agent adopts and frees it.
  MemoryPressure adopted(p);
  ASSERT_TRUE(adopted.Adopt(recorded).ok());
  ASSERT_TRUE(adopted.Revert().ok());
  EXPECT_FALSE(ProcessAlive(info->id));
  EXPECT_TRUE(mem.Revert().ok());  // already gone
  EXPECT_EQ(ProcState(pid), 0) << "holder left behind";
}

TEST(MemoryPressureReal, PercentOfAvailable) {
  auto avail = RealMemoryOs().AvailableBytes();
  ASSERT_TRUE(avail.ok());
  MemoryPressureParams p;
  p.percent_of_available = 1;
  MemoryPressure mem(p);
  ASSERT_TRUE(mem.Inject([](const UndoState&) { return absl::OkStatus(); }).ok());
  const uint64_t want = mem.requested_bytes();
  EXPECT_GT(want, *avail / 200);
  EXPECT_LT(want, *avail / 50);
  EXPECT_GE(StatusKb(mem.holder()->pid, "VmRSS") * 1024, want);
  const pid_t pid = mem.holder()->pid;
  ASSERT_TRUE(mem.Revert().ok());
  EXPECT_EQ(ProcState(pid), 0);
}

}  // namespace
}  // namespace chaos::faults
