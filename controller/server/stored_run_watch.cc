#include "controller/server/stored_run_watch.h"

#include <algorithm>
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

  // Reads the run and queues the events recorded since the last Poll().
  void Poll(HistoryStore& history) {
    // The state first: every event recorded before the run ended is then
    // in the list read after it.
    absl::StatusOr<chaos::v1::Run> run = history.GetRun(run_id_);
    absl::StatusOr<std::vector<chaos::v1::RunEvent>> events =
        run.ok() ? history.ListEvents(run_id_) : run.status();
    if (!events.ok()) return Fail(rpc::ToGrpc(events.status()));
    std::vector<chaos::v1::RunEvent> fresh;
    for (chaos::v1::RunEvent& e : *events) {
      if (e.seq() <= queued_seq_) continue;
      queued_seq_ = e.seq();
      fresh.push_back(std::move(e));
    }
    Write(std::move(fresh), !Unfinished(run->state()));
  }

  void OnDone() override {
    owner_->Remove(this);  // waits out a Poll() in progress
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
