// FaultLedger: records survive a reopen; torn or corrupt files are
// quarantined, never used.
#include "agent/ledger.h"

#include <fstream>

#include "base/files.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::agent {
namespace {

chaos::v1::LedgerRecord Record(const std::string& id) {
  chaos::v1::LedgerRecord r;
  r.mutable_status()->mutable_spec()->set_fault_id(id);
  r.mutable_status()->mutable_spec()->set_experiment_id("exp");
  r.mutable_status()->mutable_spec()->mutable_cpu_burn()->set_workers(1);
  r.mutable_status()->set_state(chaos::v1::FAULT_STATE_ACTIVE);
  (*r.mutable_undo())["burners"] = "123:456";
  return r;
}

TEST(LedgerTest, RecordsSurviveReopen) {
  chaos::testing::TempDir dir;
  {
    auto ledger = FaultLedger::Open(dir.path());
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ASSERT_TRUE((*ledger)->Put(Record("a")).ok());
    ASSERT_TRUE((*ledger)->Put(Record("b")).ok());
    ASSERT_TRUE((*ledger)->Remove("b").ok());
    ASSERT_TRUE((*ledger)->Remove("never-there").ok());
  }
  auto ledger = FaultLedger::Open(dir.path());
  ASSERT_TRUE(ledger.ok());
  auto loaded = (*ledger)->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].status().spec().fault_id(), "a");
  EXPECT_EQ(loaded->records[0].undo().at("burners"), "123:456");
  EXPECT_TRUE(loaded->quarantined.empty());
}

// What a revert writes (base::Sync::kLazy) replaces the record whole, as a
// durable write does; an empty file, what a crash of the host can leave of
// it on some file systems, is quarantined and reported, never used.
TEST(LedgerTest, ALazyWriteReplacesTheRecordWholeAndAnEmptyFileIsQuarantined) {
  chaos::testing::TempDir dir;
  {
    auto ledger = FaultLedger::Open(dir.path());
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ASSERT_TRUE((*ledger)->Put(Record("a")).ok());
    chaos::v1::LedgerRecord reverted = Record("a");
    reverted.mutable_status()->set_state(chaos::v1::FAULT_STATE_REVERTED);
    reverted.clear_undo();
    ASSERT_TRUE((*ledger)->Put(reverted, base::Sync::kLazy).ok());
  }
  std::ofstream(dir.path() + "/ledger/empty.rec") << "";
  auto ledger = FaultLedger::Open(dir.path());
  ASSERT_TRUE(ledger.ok());
  auto loaded = (*ledger)->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].status().state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_TRUE(loaded->records[0].undo().empty());
  ASSERT_EQ(loaded->quarantined.size(), 1u);
  EXPECT_NE(loaded->quarantined[0].find("empty.rec"), std::string::npos);
  auto names = base::ListDirectory(dir.path() + "/ledger");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"a.rec"});  // no temporary file left
}

TEST(LedgerTest, CorruptRecordIsQuarantinedAndOthersStillLoad) {
  chaos::testing::TempDir dir;
  auto ledger = FaultLedger::Open(dir.path());
  ASSERT_TRUE(ledger.ok());
  ASSERT_TRUE((*ledger)->Put(Record("good")).ok());
  ASSERT_TRUE((*ledger)->Put(Record("flipped")).ok());
  {  // flip one payload byte
    const std::string path = dir.path() + "/ledger/flipped.rec";
    std::string data = chaos::testing::ReadFileOrEmpty(path);
    data[data.size() - 3] ^= 0x5a;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  }
  std::ofstream(dir.path() + "/ledger/truncated.rec") << "CHAOS";
  std::ofstream(dir.path() + "/ledger/partial.rec.tmp") << "half a write";
  auto loaded = (*ledger)->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].status().spec().fault_id(), "good");
  ASSERT_EQ(loaded->quarantined.size(), 2u);
  EXPECT_NE(chaos::testing::ReadFileOrEmpty(dir.path() + "/quarantine/flipped.rec"), "");
  EXPECT_NE(chaos::testing::ReadFileOrEmpty(dir.path() + "/quarantine/truncated.rec"), "");
  EXPECT_EQ(chaos::testing::ReadFileOrEmpty(dir.path() + "/ledger/partial.rec.tmp"), "");
}

TEST(LedgerTest, RejectsUnsafeIdsAndRelativeStateDir) {
  chaos::testing::TempDir dir;
  auto ledger = FaultLedger::Open(dir.path());
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ((*ledger)->Put(Record("../escape")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FaultLedger::Open("relative/dir").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace chaos::agent
