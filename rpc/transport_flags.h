// The transport flags, declared once for all three binaries:
//   --tls-cert FILE --tls-key FILE --tls-ca FILE   mutual TLS (all three or none)
//   --tls-reload-interval SECONDS                  how often the files are re-read
//   --insecure                                     daemons only: plaintext off loopback
//   --authz FILE                                   daemons only: identities -> roles
//                                                  (rpc/authz.h; default DefaultRoles)
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
  std::string authz;
};

enum class Endpoint { kAgent, kController, kClient };

// Declares the flags on `app`, bound to `flags`; --insecure and --authz for
// daemons only.
void AddTransportFlags(CLI::App& app, TransportFlags& flags, Endpoint endpoint);

// Plaintext when no TLS flag is given; mutual TLS when all three are
// (the files checked, see CheckTlsFiles). INVALID_ARGUMENT naming the
// missing flags when only some are given. A daemon with TLS gets the roles
// of --authz (its error as is), else DefaultRoles for `endpoint`; --authz
// without TLS is INVALID_ARGUMENT (plaintext has no identities).
[[nodiscard]] absl::StatusOr<TransportOptions> TransportFromFlags(const TransportFlags& flags,
                                                                  Endpoint endpoint);

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_TRANSPORT_FLAGS_H_
