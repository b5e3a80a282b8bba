#include "controller/server/stored_run_watch.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "controller/server/run_event_writer.h"
#include "proto/run_state.h"
#include "rpc/status.h"

namespace chaos::controller {

// One watch: what the store held at each Poll(). Poll() runs on the
// StoredRunWatches thread, the rest on gRPC's.
class StoredRunWatch final : public RunEventWriter {
 public:
  StoredRunWatch(StoredRunWatches* owner, std::string run_id)
      : owner_(owner), run_id_(std::move(run_id)) {}

  const std::string& run_id() const { return run_id_; }

  // Reads the run and queues the events recorded since the last Poll().
  void Poll(HistoryStore& history) {
    // The state first: every event recorded before the run ended is then
    // in the list read after it.
    absl::StatusOr<chaos::v1::Run> run = history.GetRun(run_id_);
    absl::StatusOr<std::vector<chaos::v1::RunEvent>> events =
        run.ok() ? history.ListEvents(run_id_, queued_seq_) : run.status();
    if (!events.ok()) return Fail(rpc::ToGrpc(events.status()));
    if (!events->empty()) queued_seq_ = events->back().seq();
    Write(std::move(*events), !Unfinished(run->state()));
  }

  void OnDone() override {
    owner_->Remove(this);  // waits out a Poll() in progress (a no-op once finished)
    delete this;
  }

 private:
  StoredRunWatches* const owner_;
  const std::string run_id_;
  int64_t queued_seq_ = 0;  // Poll()'s own
};

namespace {

class RefusedWatch final : public grpc::ServerWriteReactor<chaos::v1::RunEvent> {
 public:
  explicit RefusedWatch(const absl::Status& s) { Finish(rpc::ToGrpc(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

StoredRunWatches::StoredRunWatches(HistoryStore* history, absl::Duration interval)
    : history_(history), interval_(interval) {}

StoredRunWatches::~StoredRunWatches() {
  std::thread thread;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

grpc::ServerWriteReactor<chaos::v1::RunEvent>* StoredRunWatches::Watch(
    const std::string& run_id) {
  if (run_id.empty()) return new RefusedWatch(absl::InvalidArgumentError("run_id: required"));
  auto* watch = new StoredRunWatch(this, run_id);
  absl::MutexLock lock(&mu_);
  watches_.insert(watch);
  changed_.insert(run_id);  // its first read comes at once
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  return watch;
}

void StoredRunWatches::Remove(StoredRunWatch* watch) {
  absl::MutexLock lock(&mu_);
  watches_.erase(watch);
  auto read = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !reading_.contains(watch); };
  mu_.Await(absl::Condition(&read));
}

void StoredRunWatches::Changed(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  changed_.insert(run_id);
}

std::unique_ptr<HistoryStore::RunFeed> StoredRunWatches::Follow() {
  absl::StatusOr<std::unique_ptr<HistoryStore::RunFeed>> feed =
      history_->FollowRuns([this](const std::string& run_id) { Changed(run_id); });
  return feed.ok() ? std::move(*feed) : nullptr;  // without: read every interval_
}

StoredRunWatches::Batch StoredRunWatches::Next(bool following) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !changed_.empty(); };
  const bool timed = !following && !watches_.empty();
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready),
                            timed ? interval_ : absl::InfiniteDuration())) {
    changed_.insert("");
  }
  Batch batch;
  batch.stop = stop_;
  if (stop_) return batch;
  batch.idle = watches_.empty();
  for (StoredRunWatch* watch : watches_) {
    if (changed_.contains("") || changed_.contains(watch->run_id())) batch.due.push_back(watch);
  }
  changed_.clear();
  reading_.insert(batch.due.begin(), batch.due.end());
  return batch;
}

void StoredRunWatches::Loop() {
  std::unique_ptr<HistoryStore::RunFeed> feed;
  for (Batch batch = Next(false); !batch.stop; batch = Next(feed != nullptr)) {
    if (batch.idle) {
      feed.reset();  // outside mu_: the feed's thread takes it
      continue;
    }
    // The feed starts before the reads, so nothing written after them is
    // missed.
    if (feed == nullptr) feed = Follow();
    for (StoredRunWatch* watch : batch.due) watch->Poll(*history_);
    absl::MutexLock lock(&mu_);
    reading_.clear();
  }
  // `feed` ends here, outside mu_.
}

}  // namespace chaos::controller
