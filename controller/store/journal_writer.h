// JournalWriter: appends the journal events of the controller's runs to a
// HistoryStore from many threads at once, the events queued meanwhile in
// one write (group commit, as LevelDB's DBImpl::Write gathers its
// writers into one batch).
//
// A run that reverts on 1000 agents journals 1000 events, from --fan-out
// threads at once. Written one by one, each waits for the write before it
// (SQLite's fsync, etcd's round trip and raft commit), so the journal
// alone bounds the rollback at 1000 times the store's write latency. Here
// a caller queues its event (Queue) and waits for it (Wait): the first
// waiter while no write is under way writes everything queued (up to
// HistoryStore::kMaxEventsPerWrite) in one AppendEvents, hands the batch
// to `publish`, and goes on until its own event is done; the others wait,
// and their events go in the next write. An event is durable (or its
// write failed) and published when Wait returns for it, as when each
// caller wrote its own.
//
// Events are written, and published, in the order they were queued: a
// caller that numbers a run's events under its own lock and queues them
// under that lock gets them in that order. `publish` is called with each
// batch and the write's status (an error: the batch may not have been
// written, e.g. etcd unreachable), on the writing thread, without this
// writer's lock held; it must not call Queue or Wait.
// Thread safety: safe for concurrent use.
#ifndef CHAOS_CONTROLLER_STORE_JOURNAL_WRITER_H_
#define CHAOS_CONTROLLER_STORE_JOURNAL_WRITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "chaos/v1/controller.pb.h"
#include "controller/store/history_store.h"

namespace chaos::controller {

class JournalWriter {
 public:
  using Publish =
      std::function<void(const std::vector<chaos::v1::RunEvent>& batch, const absl::Status& s)>;

  JournalWriter(HistoryStore* store, Publish publish);

  // Queues `event`; returns its ticket for Wait. Does not block on the
  // store: it may be called under the caller's own lock.
  uint64_t Queue(chaos::v1::RunEvent event) ABSL_LOCKS_EXCLUDED(mu_);

  // Returns once the event of `ticket` has been written (or its write
  // failed) and published; may write it, and others, itself.
  void Wait(uint64_t ticket) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  HistoryStore* const store_;
  const Publish publish_;
  absl::Mutex mu_;
  std::deque<chaos::v1::RunEvent> queued_ ABSL_GUARDED_BY(mu_);
  uint64_t tickets_ ABSL_GUARDED_BY(mu_) = 0;  // events ever queued
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;     // events written (or failed) and published
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_STORE_JOURNAL_WRITER_H_
