// RunEventWriter: the writing half of a WatchRun call, shared by the
// leader's watch (events from the run manager) and a standby's
// (stored_run_watch.h, events read from the store).
//
// Events queued from any thread are written one at a time, in order. The
// call finishes OK once the run has ended and every queued event is
// written; with the status given to Fail() once the write in flight is
// done; CANCELLED when the client goes away.
//
// Thread safety: Write() and Fail() from any thread; gRPC calls the rest.
// The subclass implements OnDone() (and deletes itself there).
#ifndef CHAOS_CONTROLLER_SERVER_RUN_EVENT_WRITER_H_
#define CHAOS_CONTROLLER_SERVER_RUN_EVENT_WRITER_H_

#include <deque>
#include <optional>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "chaos/v1/controller.pb.h"

namespace chaos::controller {

class RunEventWriter : public grpc::ServerWriteReactor<chaos::v1::RunEvent> {
 public:
  void OnWriteDone(bool ok) final;
  void OnCancel() final;

 protected:
  // Queues `events` after those queued (`before_queued`: before them) and,
  // with `ended`, says the run has ended: nothing follows them.
  void Write(std::vector<chaos::v1::RunEvent> events, bool ended, bool before_queued = false);
  // Ends the call with `s` instead of what remains queued.
  void Fail(const grpc::Status& s);

 private:
  void Next() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void End(const grpc::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::deque<chaos::v1::RunEvent> queue_ ABSL_GUARDED_BY(mu_);
  chaos::v1::RunEvent current_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> failed_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_SERVER_RUN_EVENT_WRITER_H_
