#include "controller/store/journal_writer.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace chaos::controller {

JournalWriter::JournalWriter(HistoryStore* store, Publish publish)
    : store_(store), publish_(std::move(publish)) {}

uint64_t JournalWriter::Queue(chaos::v1::RunEvent event) {
  absl::MutexLock lock(&mu_);
  queued_.push_back(std::move(event));
  return ++tickets_;
}

void JournalWriter::Wait(uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  while (done_ < ticket) {
    auto idle_or_done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !writing_ || done_ >= ticket;
    };
    mu_.Await(absl::Condition(&idle_or_done));
    if (done_ >= ticket) break;
    // Nothing is being written and this event is not done: it is queued.
    writing_ = true;
    const size_t n = std::min(queued_.size(), HistoryStore::kMaxEventsPerWrite);
    std::vector<chaos::v1::RunEvent> batch(std::make_move_iterator(queued_.begin()),
                                           std::make_move_iterator(queued_.begin() + n));
    queued_.erase(queued_.begin(), queued_.begin() + n);
    mu_.Unlock();
    const absl::Status written = store_->AppendEvents(batch);
    publish_(batch, written);
    mu_.Lock();
    done_ += n;
    writing_ = false;
  }
}

}  // namespace chaos::controller
