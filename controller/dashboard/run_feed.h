// RunFeed: one dashboard client's stream of server-sent events
// (text/event-stream), pushed as things happen rather than polled:
//   event: hello    once, first: (re)load the lists, then apply what follows
//   event: run      a run started or ended (chaos.v1.Run as JSON, no report)
//   event: journal  a run's journal event (chaos.v1.RunEvent as JSON), the
//                   same events, in the same order, as WatchRun streams
//   event: agents   the registry's agents (chaos.v1.AgentInfo as JSON), when
//                   one is added or lost or found again, and every few
//                   seconds for their last-seen time
// and a comment line while nothing happens, so that proxies keep the
// connection. A client that falls too far behind (kMaxQueued events) is cut
// off; its browser reconnects and starts again from `hello`.
//
// Thread safety: the RunManager calls the RunsWatcher side under its lock;
// Next() runs on the HTTP server's thread. The feed unregisters itself in
// its destructor: the RunManager must outlive it.
#ifndef CHAOS_CONTROLLER_DASHBOARD_RUN_FEED_H_
#define CHAOS_CONTROLLER_DASHBOARD_RUN_FEED_H_

#include <deque>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "rpc/http_server.h"

namespace chaos::controller {

class RunFeed final : public RunsWatcher {
 public:
  static constexpr size_t kMaxQueued = 10000;

  RunFeed(RunManager* runs, AgentRegistry* registry);
  ~RunFeed() override;

  // One turn of the stream (rpc::HttpStream): waits up to a second for
  // something to send, sends it; false when the stream must end.
  bool Next(const rpc::HttpWrite& write);

  void OnRunStarted(const chaos::v1::Run& run) override;
  void OnRunEvent(const chaos::v1::RunEvent& event) override;
  void OnRunEnded(const chaos::v1::Run& run) override;

 private:
  void Push(std::string event) ABSL_LOCKS_EXCLUDED(mu_);
  // The agents event, when the registry changed or it is due.
  std::string AgentsUpdate(absl::Time now);

  RunManager* const runs_;
  AgentRegistry* const registry_;
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  bool overflow_ ABSL_GUARDED_BY(mu_) = false;
  // Used by Next() only (one thread at a time).
  bool greeted_ = false;
  std::string agents_shape_;
  absl::Time agents_sent_ = absl::InfinitePast();
  absl::Time last_write_ = absl::Now();
};

// One server-sent event: "event: NAME\ndata: DATA\n\n" (DATA on one line).
std::string ServerSentEvent(const std::string& name, const std::string& data);

// A message as one line of JSON, proto field names, defaults included.
std::string ProtoJson(const google::protobuf::Message& message);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_DASHBOARD_RUN_FEED_H_
