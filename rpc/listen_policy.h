// Plaintext only where it is harmless. A daemon without TLS serves on a
// loopback address only (127.0.0.0/8, ::1, localhost, or a unix socket):
// anything else (0.0.0.0, [::], a host name, an interface address) is
// refused at start-up unless the operator says --insecure, in which case
// the daemon warns at start and once per distinct peer host that calls it.
// The agent's HTTP /metrics endpoint, which never has TLS, follows the same
// rule whatever the gRPC port does.
//
// Thread safety: the functions are pure; the interceptor's state is locked.
#ifndef CHAOS_RPC_LISTEN_POLICY_H_
#define CHAOS_RPC_LISTEN_POLICY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_builder.h"
#include "rpc/credentials.h"

namespace chaos::rpc {

// True for "127.0.0.1:7070", "127.1.2.3:0", "[::1]:7070", "localhost:7070",
// "unix:/run/x.sock"; false for "0.0.0.0:7070", "[::]:7070", ":7070",
// "host.example:7070", "10.1.2.3:7070".
bool IsLoopbackAddress(absl::string_view address);

// OK when `address` (the value of `flag`) is loopback or `insecure`;
// FAILED_PRECONDITION otherwise, one line naming the flag, the address and
// the way out. `tls_helps` says whether TLS flags would also do (gRPC
// ports) or not (the HTTP metrics port).
[[nodiscard]] absl::Status CheckPlaintextListen(absl::string_view flag, absl::string_view address,
                                                bool insecure, bool tls_helps);

// The check for a gRPC --listen: OK with TLS, else CheckPlaintextListen.
[[nodiscard]] absl::Status CheckListen(const std::string& address,
                                       const TransportOptions& transport);

// Adds `address` to `builder` with the transport's credentials, after
// CheckListen. Plaintext off loopback (--insecure) logs a warning now and
// installs an interceptor that warns once per distinct peer host. The
// port is written to *port when the server starts (see ServerBuilder).
[[nodiscard]] absl::Status AddListeningPort(grpc::ServerBuilder& builder,
                                            const std::string& address,
                                            const TransportOptions& transport, int* port);

// Where others reach a server that listens on `listen` ("host:port") and
// got `port`: the listen host, or `host_name` for a wildcard (0.0.0.0,
// [::], none), with `port`. "127.0.0.1:0", 7071 -> "127.0.0.1:7071".
std::string ReachableAddress(absl::string_view listen, int port, absl::string_view host_name);

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_LISTEN_POLICY_H_
