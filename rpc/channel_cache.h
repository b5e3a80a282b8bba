// ChannelCache: one client channel per address for the life of a process
// that calls the same agents again and again (the controller).
//
// Opening a channel per call costs a TCP connection and, with mutual TLS,
// a handshake on both sides: for HaltAll across a fleet, one per agent per
// call. gRPC lets a new channel reuse a connection only while another
// channel to the same address, with equal credentials, still holds it;
// keeping the channel keeps its connection. A channel whose connection is
// lost reconnects on its next call; its reconnect backoff is capped
// (kMaxReconnectBackoff) so that an agent back after a long outage is
// reached within seconds, as a fresh channel would be.
//
// An entry stays until Forget(): one channel per address the process
// called, each closing its connection after gRPC's idle timeout (30 min)
// without calls. Forget an address that will not be called again (a
// decommissioned agent): its channel closes once no call holds it, and a
// channel to a dead address stops retrying its connection.
//
// Thread-safe.
#ifndef CHAOS_RPC_CHANNEL_CACHE_H_
#define CHAOS_RPC_CHANNEL_CACHE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "rpc/credentials.h"

namespace chaos::rpc {

class ChannelCache {
 public:
  static constexpr absl::Duration kMaxReconnectBackoff = absl::Seconds(2);

  explicit ChannelCache(const TransportOptions& transport);

  ChannelCache(const ChannelCache&) = delete;
  ChannelCache& operator=(const ChannelCache&) = delete;

  // The channel to host:port, opened at the first call for that address.
  std::shared_ptr<grpc::Channel> Get(const std::string& address);
  // Drops the channel to `address`, if any; a later Get opens a new one.
  void Forget(const std::string& address);

 private:
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_CHANNEL_CACHE_H_
