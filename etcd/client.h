// Client: etcd's v3 gRPC API (KV, Txn, leases), spoken directly over
// gRPC with the wire-compatible subset of etcd's protos in proto/etcd/.
// No HTTP gateway, no etcdctl. It is the ground the controller's etcd store
// stands on; watches are in watch.h and leader election in election.h.
//
// Endpoints: every member's host:port has a channel of its own (connected
// on first use). A call goes to the member that answered last; when that member
// is UNAVAILABLE (down, or unreachable), the call is tried on the others in
// turn, and the one that answers becomes the current one. A call that
// reached a member but got no answer within the timeout (a member without
// quorum holds requests until then) is not retried: it fails with
// UNAVAILABLE naming the member, and the next call starts at the next
// member. So the outcome of a write that failed is unknown: it may have
// been applied. Callers that must know guard their writes with Txn compares
// (a revision, a version, the leader's key), which make a retry safe.
//
// Errors: UNAVAILABLE when no member answered (each named with its error),
// or when etcd answers that it has no leader or timed out; the etcd's own
// refusal otherwise (INVALID_ARGUMENT, FAILED_PRECONDITION, ...), its
// message prefixed with the member's address.
//
// Thread safety: every method may be called from any thread.
#ifndef CHAOS_ETCD_CLIENT_H_
#define CHAOS_ETCD_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "etcd/v3electionpb/v3election.grpc.pb.h"
#include "rpc/credentials.h"

namespace chaos::etcd {

// Ends a waiting call (Client::WaitOnCurrentMember) from another thread;
// once cancelled, it stays so and every later wait returns CANCELLED at once.
class Cancellation {
 public:
  void Cancel();
  bool cancelled() const;

 private:
  friend class Client;
  // False (and `context` not kept) when already cancelled.
  bool Attach(grpc::ClientContext* context);
  void Detach();

  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

struct ClientOptions {
  std::vector<std::string> endpoints;  // host:port of each member, at least one
  rpc::TransportOptions transport;     // plaintext, or mutual TLS with etcd's CA
  absl::Duration timeout = absl::Seconds(5);  // of one unary call on one member
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // the store's revision when the key was created
  int64_t mod_revision = 0;     // ... when it was last written
  int64_t version = 0;          // writes since it was created
  int64_t lease = 0;            // 0: none
};

struct Range {
  std::vector<KeyValue> kvs;  // in key order
  int64_t revision = 0;       // the store's revision the read saw
};

// The end of the range holding every key that starts with `prefix`
// (etcd's range_end convention): the prefix with its last byte incremented,
// "\0" (every key) for an empty prefix.
std::string PrefixEnd(const std::string& prefix);

KeyValue FromProto(const mvccpb::KeyValue& kv);

class Client {
 public:
  // Checks the options (INVALID_ARGUMENT naming `endpoints` or an address)
  // and that some member answers a read (UNAVAILABLE naming each member and
  // its error otherwise).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Client>> Connect(ClientOptions options);

  // The key, or nullopt when it does not exist.
  [[nodiscard]] absl::StatusOr<std::optional<KeyValue>> Get(const std::string& key);
  // Every key under `prefix`, at most `limit` of them (0: no limit), as of
  // `revision` (0: now; an older one reads what was there then, OUT_OF_RANGE
  // once etcd has compacted it away). `keys_only`: values left empty.
  [[nodiscard]] absl::StatusOr<Range> GetPrefix(const std::string& prefix, int64_t limit = 0,
                                                int64_t revision = 0, bool keys_only = false);
  // Every key in [key, range_end), like GetPrefix.
  [[nodiscard]] absl::StatusOr<Range> GetRange(const std::string& key,
                                               const std::string& range_end, int64_t limit = 0,
                                               int64_t revision = 0, bool keys_only = false);
  // The store's revision after the write.
  [[nodiscard]] absl::StatusOr<int64_t> Put(const std::string& key, const std::string& value,
                                            int64_t lease = 0);
  // How many keys were deleted.
  [[nodiscard]] absl::StatusOr<int64_t> Delete(const std::string& key);
  [[nodiscard]] absl::StatusOr<int64_t> DeletePrefix(const std::string& prefix);
  // One atomic transaction; `succeeded` in the answer says which branch ran.
  [[nodiscard]] absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& txn);

  // A lease of `ttl` (whole seconds, at least 1) and its id.
  [[nodiscard]] absl::StatusOr<int64_t> GrantLease(absl::Duration ttl);
  // Renews `lease` once; its new time to live. NOT_FOUND when it has
  // expired or been revoked.
  [[nodiscard]] absl::StatusOr<absl::Duration> KeepAliveOnce(int64_t lease);
  // Revokes `lease`, deleting its keys. OK when it had already expired.
  [[nodiscard]] absl::Status RevokeLease(int64_t lease);

  const ClientOptions& options() const { return options_; }

  // For watch.h and election.h: runs `call` on one member after another
  // (see the header comment) until one answers or none is left. `call`
  // gets the member's channel and a context with the client's deadline.
  using MemberCall = std::function<grpc::Status(const std::shared_ptr<grpc::Channel>& channel,
                                                grpc::ClientContext* context)>;
  [[nodiscard]] absl::Status OnSomeMember(const std::string& what, const MemberCall& call);
  // For calls that wait by design (a campaign, an observation, a watch):
  // runs `call` once, on the current member, without a deadline, until it
  // returns or `cancel` is cancelled (CANCELLED then). A member that fails
  // makes the next call start at the next one.
  [[nodiscard]] absl::Status WaitOnCurrentMember(const std::string& what, Cancellation* cancel,
                                                 const MemberCall& call);

 private:
  explicit Client(ClientOptions options);
  absl::Status MemberStatus(size_t member, const std::string& what, const grpc::Status& status);

  ClientOptions options_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::atomic<size_t> current_{0};
};

}  // namespace chaos::etcd

#endif  // CHAOS_ETCD_CLIENT_H_
