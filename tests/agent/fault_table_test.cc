// FaultTable: the state machine of one fault, journaled in a real ledger,
// driven through a scripted fake fault.
#include "agent/fault_table.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::agent {
namespace {

using chaos::testing::TempDir;
using chaos::v1::FaultState;

// A fault that records its calls and fails or blocks where told.
struct Script {
  absl::Status inject = absl::OkStatus();
  absl::Status revert = absl::OkStatus();
  absl::Notification* block_inject = nullptr;  // waits for it in Inject
  absl::Notification* in_inject = nullptr;     // notified on entering Inject
  std::function<void()> before_touching_host;  // runs after the undo is recorded
  std::function<void()> in_revert;             // runs as Revert starts
  int injects = 0;
  int reverts = 0;
};

class FakeFault : public faults::Fault {
 public:
  explicit FakeFault(Script* script) : script_(script) {}
  absl::Status Inject(const faults::UndoRecorder& record) override {
    ++script_->injects;
    if (script_->in_inject) script_->in_inject->Notify();
    if (script_->block_inject) script_->block_inject->WaitForNotification();
    if (absl::Status s = record({{"token", "42"}}); !s.ok()) return s;
    if (script_->before_touching_host) script_->before_touching_host();
    return script_->inject;
  }
  absl::Status Revert() override {
    ++script_->reverts;
    if (script_->in_revert) script_->in_revert();
    return script_->revert;
  }
  absl::Status Adopt(const faults::UndoState&) override { return absl::OkStatus(); }
  faults::FaultStatus Status() const override { return {"fake fault", {{"token", "42"}}}; }

 private:
  Script* script_;
};

chaos::v1::FaultSpec Spec(const std::string& id, int seconds = 30) {
  chaos::v1::FaultSpec spec;
  spec.set_fault_id(id);
  spec.set_experiment_id("exp");
  spec.mutable_duration()->set_seconds(seconds);
  spec.mutable_cpu_burn()->set_workers(1);
  return spec;
}

class FaultTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ledger = FaultLedger::Open(dir_.path());
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    table_ = std::make_unique<FaultTable>(ledger_.get(), 1000, &counters_);
  }

  absl::StatusOr<chaos::v1::FaultStatus> Inject(const std::string& id, Script* script) {
    return table_->Inject(Spec(id), std::make_unique<FakeFault>(script), "test",
                          absl::Seconds(15));
  }

  // The ledger's record of `id`, as a restarted agent would read it.
  chaos::v1::LedgerRecord Journaled(const std::string& id) {
    auto loaded = ledger_->Load();
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    for (const auto& r : loaded->records) {
      if (r.status().spec().fault_id() == id) return r;
    }
    ADD_FAILURE() << id << " is not in the ledger";
    return {};
  }

  TempDir dir_;
  std::unique_ptr<FaultLedger> ledger_;
  AgentCounters counters_;
  std::unique_ptr<FaultTable> table_;
};

TEST_F(FaultTableTest, IntentAndUndoAreJournaledBeforeTheHostIsTouched) {
  Script script;
  FaultState journaled_state = chaos::v1::FAULT_STATE_UNSPECIFIED;
  std::string journaled_undo;
  script.before_touching_host = [&] {
    const auto r = Journaled("f1");
    journaled_state = r.status().state();
    journaled_undo = r.undo().count("token") ? r.undo().at("token") : "";
  };
  auto status = Inject("f1", &script);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(journaled_state, chaos::v1::FAULT_STATE_INJECTING);
  EXPECT_EQ(journaled_undo, "42");
  EXPECT_EQ(status->state(), chaos::v1::FAULT_STATE_ACTIVE);
  EXPECT_EQ(status->summary(), "fake fault");
  EXPECT_EQ(status->expires_at_unix_ms() - status->injected_at_unix_ms(), 30'000);
  // ACTIVE is the table's: the ledger keeps the intent and its undo state,
  // which recovery reverts all the same.
  EXPECT_EQ(Journaled("f1").status().state(), chaos::v1::FAULT_STATE_INJECTING);
  EXPECT_EQ(Journaled("f1").undo().at("token"), "42");
  EXPECT_EQ(Journaled("f1").lease_ms(), 15'000);
  EXPECT_EQ(counters_.injections, 1u);
}

TEST_F(FaultTableTest, ActiveToRevertedAndRevertIsIdempotent) {
  Script script;
  ASSERT_TRUE(Inject("f1", &script).ok());
  FaultTable::Ref fault = table_->Get("f1");
  ASSERT_NE(fault, nullptr);
  auto reverted = table_->Revert(fault, "test", "because");
  ASSERT_TRUE(reverted.ok()) << reverted.status();
  EXPECT_EQ(reverted->state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_EQ(reverted->reason(), "because");
  EXPECT_GT(reverted->reverted_at_unix_ms(), 0);
  const auto journaled = Journaled("f1");
  EXPECT_EQ(journaled.status().state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_TRUE(journaled.undo().empty());
  EXPECT_EQ(journaled.status().summary(), "fake fault");  // the whole record
  EXPECT_EQ(journaled.status().injected_at_unix_ms(), reverted->injected_at_unix_ms());
  // Again: the final status, and the host is not touched a second time.
  auto again = table_->Revert(fault, "test", "once more");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->reason(), "because");
  EXPECT_EQ(script.reverts, 1);
  EXPECT_EQ(counters_.reverts, 1u);
  EXPECT_EQ(table_->Get("never-seen"), nullptr);
}

// A crash while a revert runs leaves a record that recovery reverts: the
// ledger still holds the undo state then (REVERTING is the table's only).
TEST_F(FaultTableTest, WhileARevertRunsTheLedgerStillHoldsTheUndoState) {
  Script script;
  chaos::v1::LedgerRecord during;
  script.in_revert = [&] { during = Journaled("f1"); };
  ASSERT_TRUE(Inject("f1", &script).ok());
  ASSERT_TRUE(table_->Revert(table_->Get("f1"), "test", "because").ok());
  EXPECT_TRUE(IsLive(during)) << during.ShortDebugString();
  EXPECT_EQ(during.undo().at("token"), "42");
}

TEST_F(FaultTableTest, FailedInjectIsUndoneAndFinal) {
  Script script;
  script.inject = absl::FailedPreconditionError("no such module");
  auto status = Inject("f1", &script);
  EXPECT_EQ(status.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(script.reverts, 1) << "a failed inject is undone";
  const auto journaled = Journaled("f1");
  EXPECT_EQ(journaled.status().state(), chaos::v1::FAULT_STATE_FAILED);
  EXPECT_EQ(journaled.status().reason(), "inject failed: no such module");
  EXPECT_TRUE(journaled.undo().empty());
  EXPECT_FALSE(IsLive(journaled));
  // Reverting it later is OK, answers FAILED and touches nothing.
  auto reverted = table_->Revert(table_->Get("f1"), "test", "cleanup");
  ASSERT_TRUE(reverted.ok()) << reverted.status();
  EXPECT_EQ(reverted->state(), chaos::v1::FAULT_STATE_FAILED);
  EXPECT_EQ(script.reverts, 1);
  EXPECT_EQ(counters_.inject_failures, 1u);
}

TEST_F(FaultTableTest, FailedRevertKeepsTheUndoAndCanBeRetried) {
  Script script;
  ASSERT_TRUE(Inject("f1", &script).ok());
  script.revert = absl::InternalError("qdisc busy");
  FaultTable::Ref fault = table_->Get("f1");
  auto first = table_->Revert(fault, "test", "stop");
  EXPECT_EQ(first.status().code(), absl::StatusCode::kInternal);
  auto journaled = Journaled("f1");
  EXPECT_EQ(journaled.status().state(), chaos::v1::FAULT_STATE_FAILED);
  EXPECT_EQ(journaled.status().reason(), "revert failed: qdisc busy");
  EXPECT_EQ(journaled.undo().at("token"), "42");
  EXPECT_TRUE(IsLive(journaled)) << "it may still be on the host";
  EXPECT_EQ(journaled.status().revert_error(), "INTERNAL: qdisc busy");
  EXPECT_EQ(journaled.status().revert_attempts(), 1u);
  EXPECT_GT(journaled.status().next_retry_unix_ms(), 0);
  EXPECT_TRUE(RetryDue(journaled, absl::FromUnixMillis(journaled.status().next_retry_unix_ms())));
  EXPECT_FALSE(RetryDue(journaled, absl::FromUnixMillis(journaled.status().next_retry_unix_ms() - 1)));
  script.revert = absl::OkStatus();
  auto second = table_->Revert(fault, "test", "stop");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_TRUE(second->revert_error().empty());
  EXPECT_EQ(second->next_retry_unix_ms(), 0);
  EXPECT_EQ(script.reverts, 2);
  EXPECT_EQ(counters_.revert_failures, 1u);
}

TEST(RetryBackoffTest, DoublesFromInitialUpToTheCap) {
  RetryBackoff b{absl::Seconds(1), absl::Seconds(30)};
  EXPECT_EQ(b.After(1), absl::Seconds(1));
  EXPECT_EQ(b.After(2), absl::Seconds(2));
  EXPECT_EQ(b.After(5), absl::Seconds(16));
  EXPECT_EQ(b.After(6), absl::Seconds(30));
  EXPECT_EQ(b.After(1000), absl::Seconds(30));
}

TEST_F(FaultTableTest, AbandonEndsOnlyAFailedRevert) {
  Script script;
  ASSERT_TRUE(Inject("f1", &script).ok());
  FaultTable::Ref fault = table_->Get("f1");
  EXPECT_EQ(table_->Abandon(fault, "op", "why").status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "an active fault is reverted, not abandoned";
  script.revert = absl::InternalError("busy");
  EXPECT_FALSE(table_->Revert(fault, "test", "stop").ok());
  auto abandoned = table_->Abandon(fault, "op", "checked by hand");
  ASSERT_TRUE(abandoned.ok()) << abandoned.status();
  EXPECT_TRUE(abandoned->abandoned());
  EXPECT_EQ(abandoned->next_retry_unix_ms(), 0);
  EXPECT_NE(abandoned->reason().find("abandoned by op: checked by hand"), std::string::npos);
  EXPECT_FALSE(IsLive(Journaled("f1")));
  // Neither a Revert nor a second Abandon touches it again.
  script.revert = absl::OkStatus();
  auto again = table_->Revert(fault, "test", "stop");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->abandoned());
  EXPECT_TRUE(table_->Abandon(fault, "op", "twice").ok());
  EXPECT_EQ(script.reverts, 1);
}

TEST_F(FaultTableTest, UnjournalableIntentInjectsNothing) {
  // The ledger directory becomes a file: every write fails.
  std::filesystem::remove_all(dir_.path() + "/ledger");
  std::ofstream(dir_.path() + "/ledger") << "not a directory";
  Script script;
  auto status = Inject("f1", &script);
  EXPECT_EQ(status.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(script.injects, 0);
  EXPECT_EQ(table_->Get("f1"), nullptr);
}

TEST_F(FaultTableTest, FindAnswersTheSameSpecAndRefusesAnother) {
  Script script;
  ASSERT_TRUE(Inject("f1", &script).ok());
  auto same = table_->Find(Spec("f1"));
  ASSERT_TRUE(same.ok());
  ASSERT_TRUE(same->has_value());
  EXPECT_EQ((*same)->state(), chaos::v1::FAULT_STATE_ACTIVE);
  EXPECT_EQ(table_->Find(Spec("f1", 60)).status().code(), absl::StatusCode::kAlreadyExists);
  auto unknown = table_->Find(Spec("f2"));
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(FaultTableTest, RevertNeverWaitsBehindAnotherFaultsInject) {
  Script done;
  ASSERT_TRUE(Inject("active", &done).ok());
  absl::Notification entered, release;
  Script slow;
  slow.in_inject = &entered;
  slow.block_inject = &release;
  std::thread injecting([&] { EXPECT_TRUE(Inject("slow", &slow).ok()); });
  entered.WaitForNotification();
  // "slow" is mid-inject: its twin is refused, another fault reverts at once.
  Script twin;
  EXPECT_EQ(Inject("slow", &twin).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(twin.injects, 0);
  EXPECT_EQ(table_->Count([](const chaos::v1::LedgerRecord& r) {
              return r.status().state() == chaos::v1::FAULT_STATE_INJECTING;
            }),
            1u);
  auto reverted = table_->Revert(table_->Get("active"), "test", "now");
  EXPECT_TRUE(reverted.ok());
  EXPECT_EQ(reverted->state(), chaos::v1::FAULT_STATE_REVERTED);
  release.Notify();
  injecting.join();
}

TEST_F(FaultTableTest, SelectIsNewestFirstAndEndedFaultsArePruned) {
  table_ = std::make_unique<FaultTable>(ledger_.get(), 2, &counters_);
  Script script;
  for (const char* id : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(Inject(id, &script).ok());
    absl::SleepFor(absl::Milliseconds(2));  // distinct injected_at
  }
  auto all = [](const chaos::v1::LedgerRecord&) { return true; };
  std::vector<std::string> order;
  for (const auto& f : table_->Select(all)) {
    order.push_back(table_->RecordOf(f).status().spec().fault_id());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"d", "c", "b", "a"}));
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(table_->Revert(table_->Get(id), "test", "done").ok());
    absl::SleepFor(absl::Milliseconds(2));  // distinct reverted_at
  }
  // Two ended faults are remembered; the oldest is forgotten, also on disk.
  EXPECT_EQ(table_->Get("a"), nullptr);
  EXPECT_NE(table_->Get("b"), nullptr);
  EXPECT_NE(table_->Get("c"), nullptr);
  EXPECT_EQ(table_->Count(all), 3u);
  EXPECT_EQ(ledger_->Load()->records.size(), 3u);
}

TEST_F(FaultTableTest, RestoredRecordsAreRevertedOnlyWhenAFaultIsLeft) {
  chaos::v1::LedgerRecord done;
  *done.mutable_status()->mutable_spec() = Spec("done");
  done.mutable_status()->set_state(chaos::v1::FAULT_STATE_REVERTED);
  table_->Restore(done, nullptr);
  auto status = table_->Revert(table_->Get("done"), "test", "again");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), chaos::v1::FAULT_STATE_REVERTED);

  chaos::v1::LedgerRecord stuck = done;
  stuck.mutable_status()->mutable_spec()->set_fault_id("stuck");
  stuck.mutable_status()->set_state(chaos::v1::FAULT_STATE_FAILED);
  (*stuck.mutable_undo())["token"] = "42";
  Script script;
  table_->Restore(stuck, std::make_unique<FakeFault>(&script));
  status = table_->Revert(table_->Get("stuck"), "test", "retry");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_EQ(script.reverts, 1);
}

}  // namespace
}  // namespace chaos::agent
