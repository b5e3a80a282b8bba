// The largest request message each daemon accepts, decided in one place
// for both servers (ServerBuilder::SetMaxReceiveMessageSize). gRPC refuses
// a larger message itself with RESOURCE_EXHAUSTED ("Received message larger
// than max (N vs. M)") before any handler runs; the handlers then bound
// each field (the controller's controller/server/request_limits.h).
#ifndef CHAOS_RPC_LIMITS_H_
#define CHAOS_RPC_LIMITS_H_

namespace chaos::rpc {

// chaos-agent: fault specs and ids are small.
inline constexpr int kAgentMaxRequestBytes = 1 << 20;  // 1 MiB
// chaos-controller: an experiment's text (at most 1 MiB) with its
// variables (at most 256 x 4 KiB) fits.
inline constexpr int kControllerMaxRequestBytes = 4 << 20;  // 4 MiB

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_LIMITS_H_
