// Leadership: of the controllers that share an etcd store (the same
// cluster and prefix), one leads; the others are standbys.
//
// Lead() grants a lease of `ttl`, keeps it alive on a thread of its own
// (every third of the TTL) and campaigns under it with etcd's election
// (etcd/election.h, name PREFIX + "leader", value this controller's
// identity). It blocks until this controller leads: a standby waits there.
// A leader that dies stops renewing; etcd deletes its key when the lease
// lapses, and the next candidate leads.
//
// When the lease cannot be renewed within its TTL (etcd refuses it as
// expired, or cannot be reached for that long: a partition, a process
// paused with SIGSTOP), leadership is lost: `on_lost` runs once, on the
// keep-alive thread, and a Lead() still waiting starts again with a new
// lease. The
// store is fenced with the leader key (EtcdHistoryStore::SetFence), so a
// deposed leader's writes are refused even before it notices.
//
// The destructor stops the keep-alive and revokes the lease, so a leader
// that stops cleanly hands over at once.
// Thread safety: Cancel() and Leader() from any thread; the rest from one.
#ifndef CHAOS_CONTROLLER_STORE_LEADERSHIP_H_
#define CHAOS_CONTROLLER_STORE_LEADERSHIP_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "etcd/client.h"
#include "etcd/election.h"

namespace chaos::controller {

class Leadership {
 public:
  using OnLost = std::function<void(const std::string& why)>;
  // `client` outlives this; `ttl` is whole seconds, at least 1.
  Leadership(etcd::Client* client, const std::string& prefix, absl::Duration ttl,
             OnLost on_lost);
  ~Leadership();

  // Blocks until this controller leads, campaigning as `identity` (what
  // Leader() answers while it leads); its leader key (the fencing
  // token). CANCELLED after Cancel() or destruction; INVALID_ARGUMENT,
  // PERMISSION_DENIED or UNAUTHENTICATED from etcd as they come. Any
  // other failure (a member lost, no quorum) is logged and waited out: it
  // campaigns again, with a new lease when the old one lapsed.
  [[nodiscard]] absl::StatusOr<etcd::LeaderKey> Lead(const std::string& identity);
  // Ends a Lead() in progress (a standby told to stop).
  void Cancel();
  // OK while this controller surely leads: it leads and its lease was
  // last renewed less than the TTL ago, counted from when that renewal
  // was sent (etcd counts from when it arrived, later). Else
  // FAILED_PRECONDITION saying so: a leader paused past its lease and
  // resumed is refused here at once, before its keep-alive has asked etcd
  // and found the lease gone. No etcd call; any thread.
  [[nodiscard]] absl::Status CheckLeading();
  // The identity of the leader now; NOT_FOUND when none leads.
  [[nodiscard]] absl::StatusOr<std::string> Leader();

 private:
  // True when stopping (waits at most `d`).
  bool WaitForStop(absl::Duration d);
  bool LostWhileWaiting();
  void KeepAlive();
  void Lose(const std::string& why);
  void Renewed(std::chrono::steady_clock::time_point sent);
  absl::Duration SinceRenewal();

  etcd::Client* const client_;
  const std::string name_;
  const absl::Duration ttl_;
  const OnLost on_lost_;
  int64_t lease_ = 0;
  std::thread keeper_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool leading_ ABSL_GUARDED_BY(mu_) = false;
  std::string lost_ ABSL_GUARDED_BY(mu_);  // why, once lost
  // When the last renewal that etcd accepted was sent (or the grant).
  std::chrono::steady_clock::time_point renewed_ ABSL_GUARDED_BY(mu_);
  // Replaced (by Lead() only) when a standby's lease lapsed: a cancelled
  // election stays cancelled.
  std::unique_ptr<etcd::Election> election_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_STORE_LEADERSHIP_H_
