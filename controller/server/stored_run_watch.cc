#include "controller/server/stored_run_watch.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "proto/run_state.h"
#include "rpc/status.h"

namespace chaos::controller {

// One watch: what the store held at each Poll(), written one event at a
// time. Poll() runs on the StoredRunWatches thread, the rest on gRPC's.
class StoredRunWatch final : public grpc::ServerWriteReactor<chaos::v1::RunEvent> {
 public:
  StoredRunWatch(StoredRunWatches* owner, std::string run_id)
      : owner_(owner), run_id_(std::move(run_id)) {}

  // Reads the run and its new events, then writes or finishes.
  void Poll(HistoryStore& history) {
    // The state first: every event recorded before the run ended is then
    // in the list read after it.
    absl::StatusOr<chaos::v1::Run> run = history.GetRun(run_id_);
    absl::StatusOr<std::vector<chaos::v1::RunEvent>> events =
        run.ok() ? history.ListEvents(run_id_) : run.status();
    absl::MutexLock lock(&mu_);
    if (!events.ok()) {
      if (!writing_) End(rpc::ToGrpc(events.status()));
      return;
    }
    for (chaos::v1::RunEvent& e : *events) {
      if (e.seq() <= queued_seq_) continue;
      queued_seq_ = e.seq();
      queue_.push_back(std::move(e));
    }
    ended_ = !Unfinished(run->state());
    if (!writing_) Next();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) return End(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    Next();
  }
  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) End(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    owner_->Remove(this);  // waits out a Poll() in progress
    delete this;
  }

 private:
  // Writes the next queued event, or finishes once the run ended; else
  // waits for the next Poll().
  void Next() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    if (cancelled_) return End(grpc::Status::CANCELLED);
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      StartWrite(&current_);
      return;
    }
    if (ended_) End(grpc::Status::OK);
  }
  void End(const grpc::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(s);
  }

  StoredRunWatches* const owner_;
  const std::string run_id_;
  absl::Mutex mu_;
  std::deque<chaos::v1::RunEvent> queue_ ABSL_GUARDED_BY(mu_);
  chaos::v1::RunEvent current_ ABSL_GUARDED_BY(mu_);
  int64_t queued_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;  // the run's stored state ended
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

namespace {

class RefusedWatch final : public grpc::ServerWriteReactor<chaos::v1::RunEvent> {
 public:
  explicit RefusedWatch(const absl::Status& s) { Finish(rpc::ToGrpc(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

StoredRunWatches::StoredRunWatches(HistoryStore* history, absl::Duration interval)
    : history_(history), interval_(interval), thread_([this] { Loop(); }) {}

StoredRunWatches::~StoredRunWatches() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

grpc::ServerWriteReactor<chaos::v1::RunEvent>* StoredRunWatches::Watch(
    const std::string& run_id) {
  if (run_id.empty()) return new RefusedWatch(absl::InvalidArgumentError("run_id: required"));
  auto* watch = new StoredRunWatch(this, run_id);
  absl::MutexLock lock(&mu_);
  watches_.insert(watch);  // its first Poll() comes at once
  return watch;
}

void StoredRunWatches::Remove(StoredRunWatch* watch) {
  absl::MutexLock lock(&mu_);
  watches_.erase(watch);
}

void StoredRunWatches::Loop() {
  absl::MutexLock lock(&mu_);
  std::set<StoredRunWatch*> polled;
  while (!stop_) {
    for (StoredRunWatch* watch : watches_) watch->Poll(*history_);
    polled = watches_;
    // Wakes early for a new watch, or to stop.
    auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stop_ || !std::includes(polled.begin(), polled.end(), watches_.begin(),
                                     watches_.end());
    };
    if (watches_.empty()) {
      mu_.Await(absl::Condition(&changed));
    } else {
      mu_.AwaitWithTimeout(absl::Condition(&changed), interval_);
    }
  }
}

}  // namespace chaos::controller
