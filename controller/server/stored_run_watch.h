// StoredRunWatches: WatchRun answered from the history alone, by a standby
// (docs/CONTROLLER.md "High availability"): the run is driven by the
// leader, which appends its journal to the shared store.
//
// Each watch streams the run's journal as recorded, then the events the
// leader appends (by seq). One thread, started by the first watch, reads
// the store for the watches: when the store's feed (HistoryStore::
// FollowRuns, an etcd watch) says their run was written, and, with a store
// that has no feed, every `interval`. The feed runs while some watch is
// open. Each read asks for the run's state and the events after those
// already sent. A watch finishes OK once the run's stored state has ended
// and every event recorded before that is sent; NOT_FOUND for an unknown
// run; with the store's error when it cannot be read (UNAVAILABLE when
// etcd cannot be reached). So a watcher on a standby sees what a watcher
// on the leader sees, a store round trip later.
//
// The store is read on this object's thread, never on gRPC's (a blocking
// etcd call there can starve the gRPC threads that would answer it), and
// without holding the lock Watch() takes.
// Thread safety: Watch() from gRPC's threads. Destroy it after the server
// that serves its watches has shut down.
#ifndef CHAOS_CONTROLLER_SERVER_STORED_RUN_WATCH_H_
#define CHAOS_CONTROLLER_SERVER_STORED_RUN_WATCH_H_

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chaos/v1/controller.pb.h"
#include "controller/store/history_store.h"

namespace chaos::controller {

class StoredRunWatch;

class StoredRunWatches {
 public:
  // `history` outlives this. `interval`: how often a store without a feed
  // is read.
  StoredRunWatches(HistoryStore* history, absl::Duration interval);
  ~StoredRunWatches();

  // A new watch of `run_id`; gRPC deletes it when the call is done.
  grpc::ServerWriteReactor<chaos::v1::RunEvent>* Watch(const std::string& run_id);

 private:
  friend class StoredRunWatch;
  void Remove(StoredRunWatch* watch);     // from the watch's OnDone
  void Changed(const std::string& run_id);  // from the feed
  void Loop();
  // Waits until some watch is due to be read, or none is open, or to stop.
  struct Batch {
    bool stop = false;
    bool idle = false;  // no watch is open
    std::vector<StoredRunWatch*> due;
  };
  Batch Next(bool following);
  std::unique_ptr<HistoryStore::RunFeed> Follow();

  HistoryStore* const history_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  std::set<StoredRunWatch*> watches_ ABSL_GUARDED_BY(mu_);
  // The runs written since their watches were read ("": every run), and
  // the watches being read now (Remove() waits for them).
  std::set<std::string> changed_ ABSL_GUARDED_BY(mu_);
  std::set<StoredRunWatch*> reading_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mu_);  // started by the first Watch()
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_SERVER_STORED_RUN_WATCH_H_
