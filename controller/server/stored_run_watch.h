// StoredRunWatches: WatchRun answered from the history alone, by a standby
// (docs/CONTROLLER.md "High availability"): the run is driven by the
// leader, which appends its journal to the shared store.
//
// Each watch streams the run's journal as recorded, then the events the
// leader appends (by seq): one thread reads the store for every open watch
// each `interval`. A watch finishes OK once the run's stored state has
// ended and every event recorded before that is sent; NOT_FOUND for an
// unknown run; with the store's error when it cannot be read (UNAVAILABLE
// when etcd cannot be reached). So a watcher on a standby sees what a
// watcher on the leader sees, up to `interval` later.
//
// The store is read on this object's thread, never on gRPC's (a blocking
// etcd call there can starve the gRPC threads that would answer it).
// Thread safety: Watch() from gRPC's threads. Destroy it after the server
// that serves its watches has shut down.
#ifndef CHAOS_CONTROLLER_SERVER_STORED_RUN_WATCH_H_
#define CHAOS_CONTROLLER_SERVER_STORED_RUN_WATCH_H_

#include <set>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chaos/v1/controller.pb.h"
#include "controller/store/history_store.h"

namespace chaos::controller {

class StoredRunWatch;

class StoredRunWatches {
 public:
  // `history` outlives this.
  StoredRunWatches(HistoryStore* history, absl::Duration interval);
  ~StoredRunWatches();

  // A new watch of `run_id`; gRPC deletes it when the call is done.
  grpc::ServerWriteReactor<chaos::v1::RunEvent>* Watch(const std::string& run_id);

 private:
  friend class StoredRunWatch;
  void Remove(StoredRunWatch* watch);  // from the watch's OnDone
  void Loop();

  HistoryStore* const history_;
  const absl::Duration interval_;
  absl::Mutex mu_;  // held while the store is read for the watches
  std::set<StoredRunWatch*> watches_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_SERVER_STORED_RUN_WATCH_H_
