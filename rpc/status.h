// Conversions between absl::Status and grpc::Status (the canonical codes
// 0-16 are the same in both), and the client context every call uses.
#ifndef CHAOS_RPC_STATUS_H_
#define CHAOS_RPC_STATUS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace chaos::rpc {

// For handlers: the domain's status on the wire, code and message kept.
grpc::Status ToGrpc(const absl::Status& s);
// For clients: a call's status as a domain status.
absl::Status FromGrpc(const grpc::Status& s);
// "UNAVAILABLE: failed to connect to all addresses": a call's status for
// people, with the code's canonical name.
std::string StatusText(const grpc::Status& s);

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithTimeout(absl::Duration timeout);

// For the first call on a new channel: runs `call` with a context of
// `timeout`, and on UNAVAILABLE once more, waiting for the channel to
// connect (at most `timeout`, capped at 3 s). A failed first connection
// is not always a peer's absence: it may be restarting, and this gRPC can
// report a connect still in progress as failed (it reads errno after other
// calls; the message then names a stale errno such as "No such file or
// directory"). When the second try fails too, the first status is
// returned, since it says why the connection failed.
grpc::Status CallReconnecting(absl::Duration timeout,
                              const std::function<grpc::Status(grpc::ClientContext*)>& call);

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_STATUS_H_
