#include "controller/server/run_event_writer.h"

#include <utility>

namespace chaos::controller {

void RunEventWriter::Write(std::vector<chaos::v1::RunEvent> events, bool ended,
                           bool before_queued) {
  absl::MutexLock lock(&mu_);
  queue_.insert(before_queued ? queue_.begin() : queue_.end(),
                std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  ended_ = ended_ || ended;
  Next();
}

void RunEventWriter::Fail(const grpc::Status& s) {
  absl::MutexLock lock(&mu_);
  if (!failed_) failed_ = s;
  Next();
}

void RunEventWriter::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (!ok) failed_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  Next();
}

void RunEventWriter::OnCancel() {
  absl::MutexLock lock(&mu_);
  if (!failed_) failed_ = grpc::Status::CANCELLED;
  Next();
}

void RunEventWriter::Next() {
  if (writing_ || finished_) return;
  if (failed_) return End(*failed_);
  if (!queue_.empty()) {
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
    return;
  }
  if (ended_) End(grpc::Status::OK);
}

void RunEventWriter::End(const grpc::Status& s) {
  finished_ = true;
  Finish(s);
}

}  // namespace chaos::controller
