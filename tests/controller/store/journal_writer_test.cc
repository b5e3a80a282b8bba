// JournalWriter on a real SQLite history: the events queued while a write
// is under way go out together in the next write, at most
// kMaxEventsPerWrite at a time, in the order they were queued, and each
// caller returns once its event is written and published.
#include "controller/store/journal_writer.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "controller/store/sqlite_history_store.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

chaos::v1::RunEvent Event(uint32_t seq) {
  chaos::v1::RunEvent e;
  e.set_run_id("burn-1");
  e.set_seq(seq);
  e.set_type("revert");
  return e;
}

class JournalWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteHistoryStore::Open(dir_.path() + "/history.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    chaos::v1::Run run;
    run.set_run_id("burn-1");
    ASSERT_TRUE(store_->InsertRun(run, "").ok());
  }

  // Queues events 2..`last` while the writer holds event 1's write (in its
  // publish), then lets it go on; each event is waited for on a thread of
  // its own. Returns the sizes of the batches published, in order.
  std::vector<size_t> QueueDuringTheFirstWrite(uint32_t last) {
    absl::Notification first_written, go_on;
    std::vector<size_t> sizes;
    std::vector<uint32_t> published;
    JournalWriter writer(store_.get(), [&](const std::vector<chaos::v1::RunEvent>& batch,
                                           const absl::Status& written) {
      EXPECT_TRUE(written.ok()) << written;
      sizes.push_back(batch.size());  // one publish at a time
      for (const auto& e : batch) published.push_back(e.seq());
      if (!first_written.HasBeenNotified()) {
        first_written.Notify();
        go_on.WaitForNotification();
      }
    });
    std::vector<std::thread> callers;
    callers.emplace_back([&, t = writer.Queue(Event(1))] { writer.Wait(t); });
    first_written.WaitForNotification();
    for (uint32_t seq = 2; seq <= last; ++seq) {
      callers.emplace_back([&, t = writer.Queue(Event(seq))] { writer.Wait(t); });
    }
    go_on.Notify();
    for (std::thread& t : callers) t.join();
    std::vector<uint32_t> in_order;
    for (uint32_t seq = 1; seq <= last; ++seq) in_order.push_back(seq);
    EXPECT_EQ(published, in_order);
    return sizes;
  }

  // The seqs of the events the store holds, in journal order.
  std::vector<uint32_t> Stored() {
    std::vector<uint32_t> out;
    auto events = store_->ListEvents("burn-1");
    EXPECT_TRUE(events.ok()) << events.status();
    if (events.ok()) {
      for (const auto& e : *events) out.push_back(e.seq());
    }
    return out;
  }

  chaos::testing::TempDir dir_;
  std::unique_ptr<HistoryStore> store_;
};

TEST_F(JournalWriterTest, EventsQueuedDuringAWriteGoOutTogetherInTheNext) {
  EXPECT_EQ(QueueDuringTheFirstWrite(6), (std::vector<size_t>{1, 5}));
  EXPECT_EQ(Stored(), (std::vector<uint32_t>{1, 2, 3, 4, 5, 6}));
}

TEST_F(JournalWriterTest, AWriteTakesAtMostItsLimit) {
  EXPECT_EQ(QueueDuringTheFirstWrite(250), (std::vector<size_t>{1, 100, 100, 49}));
  EXPECT_EQ(Stored().size(), 250u);
}

// A write that fails is published with its error, and its callers return.
TEST_F(JournalWriterTest, AFailedWriteIsPublishedWithItsError) {
  std::vector<absl::Status> statuses;
  JournalWriter writer(store_.get(), [&](const std::vector<chaos::v1::RunEvent>&,
                                         const absl::Status& written) {
    statuses.push_back(written);
  });
  writer.Wait(writer.Queue(Event(1)));
  writer.Wait(writer.Queue(Event(1)));  // the same (run, seq) again: refused
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_TRUE(statuses[0].ok()) << statuses[0];
  EXPECT_FALSE(statuses[1].ok());
  EXPECT_EQ(Stored(), (std::vector<uint32_t>{1}));
}

}  // namespace
}  // namespace chaos::controller
