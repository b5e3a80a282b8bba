// The transport flags, declared once for all three binaries:
//   --tls-cert FILE --tls-key FILE --tls-ca FILE   mutual TLS (all three or none)
//   --tls-reload-interval SECONDS                  how often the files are re-read
//   --insecure                                     daemons only: plaintext off loopback
// and their translation into TransportOptions (rpc/credentials.h).
#ifndef CHAOS_RPC_TRANSPORT_FLAGS_H_
#define CHAOS_RPC_TRANSPORT_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "rpc/credentials.h"

namespace CLI {
class App;
}

namespace chaos::rpc {

struct TransportFlags {
  std::string cert, key, ca;
  int reload_interval_s = 10;
  bool insecure = false;
};

enum class Role { kDaemon, kClient };

// Declares the flags on `app`, bound to `flags`; --insecure for daemons only.
void AddTransportFlags(CLI::App& app, TransportFlags& flags, Role role);

// Plaintext when no TLS flag is given; mutual TLS when all three are
// (the files checked, see CheckTlsFiles). INVALID_ARGUMENT naming the
// missing flags when only some are given.
[[nodiscard]] absl::StatusOr<TransportOptions> TransportFromFlags(const TransportFlags& flags);

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_TRANSPORT_FLAGS_H_
