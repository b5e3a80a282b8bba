// Election: leader election with etcd's own election service
// (v3election): campaign, observe, resign. Each candidate campaigns under a
// lease of its own; the leader is the candidate whose key under the
// election's name was created first, and it stays leader while its lease
// lives (kept alive by its owner) and it has not resigned.
//
// The leader's key is also its fencing token: LeaderCompare(key) holds
// only while that key exists with that create revision, so a write in a
// Txn guarded by it is refused by etcd once the leader's lease has lapsed
// or it resigned, even when the deposed leader does not know it yet (a
// paused process, a partition).
//
// Thread safety: any thread; Cancel() ends a Campaign or Observe in progress.
#ifndef CHAOS_ETCD_ELECTION_H_
#define CHAOS_ETCD_ELECTION_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "etcd/client.h"
#include "etcd/etcdserverpb/rpc.pb.h"
#include "etcd/v3electionpb/v3election.pb.h"

namespace chaos::etcd {

using LeaderKey = v3electionpb::LeaderKey;

// The compare that holds while `leader` leads.
etcdserverpb::Compare LeaderCompare(const LeaderKey& leader);

class Election {
 public:
  // `client` outlives the election.
  Election(Client* client, std::string name) : client_(client), name_(std::move(name)) {}

  // Blocks until this candidate, under `lease`, leads with `value`; its
  // leader key. CANCELLED after Cancel(); UNAVAILABLE when the member it
  // waits on is lost (campaign again: a candidate's key is reused, so a
  // retry keeps its place in line).
  [[nodiscard]] absl::StatusOr<LeaderKey> Campaign(int64_t lease, const std::string& value);
  // The leader now; NOT_FOUND when there is none.
  [[nodiscard]] absl::StatusOr<KeyValue> Leader();
  // Calls `on_leader` with the leader now and each new one, until Cancel()
  // (CANCELLED) or the member is lost (UNAVAILABLE).
  [[nodiscard]] absl::Status Observe(const std::function<void(const KeyValue&)>& on_leader);
  // Gives up leadership (the key is deleted; the next candidate leads).
  [[nodiscard]] absl::Status Resign(const LeaderKey& leader);
  // Ends Campaign and Observe, now and later.
  void Cancel() { cancel_.Cancel(); }

  const std::string& name() const { return name_; }

 private:
  Client* client_;
  std::string name_;
  Cancellation cancel_;
};

}  // namespace chaos::etcd

#endif  // CHAOS_ETCD_ELECTION_H_
