// The one place that decides transport credentials for every gRPC hop:
// chaosctl -> controller, controller -> agent, chaosctl -> agent and
// agent -> controller (registration). Handlers never see credentials.
//
// Two modes, chosen once per process from --tls-cert/--tls-key/--tls-ca
// (rpc/transport_flags.h):
// - plaintext (no TLS flags): daemons serve it on loopback only unless
//   --insecure (rpc/listen_policy.h);
// - mutual TLS: a server requires a client certificate and verifies it
//   against the CA (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
//   a client verifies the server's certificate against the same CA and the
//   host name it dialled (DNS or IP SAN). The minimum version is TLS 1.2:
//   gRPC 1.51 offers no setter for it, and its TLS stack knows only 1.2 and
//   1.3. The certificate, key and CA are re-read from disk every
//   reload interval (gRPC's FileWatcherCertificateProvider), so rotated
//   files take effect for new connections without a restart.
//
// Thread safety: a TransportOptions is immutable once built; copies share
// one file watcher, and every function here may be called from any thread.
#ifndef CHAOS_RPC_CREDENTIALS_H_
#define CHAOS_RPC_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/server_context.h"
#include "rpc/authz.h"

namespace chaos::rpc {

// PEM files of one identity, by path.
struct TlsFiles {
  std::string cert;  // --tls-cert: this process's certificate (chain, leaf first)
  std::string key;   // --tls-key: its private key, unencrypted
  std::string ca;    // --tls-ca: the CA bundle every peer must chain to
};

// Checks the files as a start-up gate, so a mistake is one clear line and
// not a failed handshake later: NOT_FOUND or PERMISSION_DENIED when a file
// cannot be read, INVALID_ARGUMENT when a file holds no PEM certificate (no
// private key), when the key does not match the certificate, or when the
// certificate does not chain to the CA (expired included). Each message
// names the flag and the file: "--tls-key /etc/chaos/agent.key: does not
// match the certificate in /etc/chaos/agent.crt".
[[nodiscard]] absl::Status CheckTlsFiles(const TlsFiles& files);

// How this process speaks gRPC. Default-constructed: plaintext.
class TransportOptions {
 public:
  TransportOptions() = default;

  // Mutual TLS with `files` (checked with CheckTlsFiles first; its error is
  // returned as is), re-read every `reload_interval` (whole seconds, at
  // least one).
  [[nodiscard]] static absl::StatusOr<TransportOptions> MutualTls(const TlsFiles& files,
                                                                  absl::Duration reload_interval);

  bool tls() const { return watcher_ != nullptr; }
  const TlsFiles& files() const { return files_; }
  absl::Duration reload_interval() const { return reload_interval_; }

  // A daemon's --insecure: plaintext may be served off loopback (see
  // rpc/listen_policy.h). Meaningless for clients.
  bool insecure() const { return insecure_; }
  void set_insecure(bool insecure) { insecure_ = insecure; }

  // A TLS daemon's roles (rpc/authz.h), enforced on every call by
  // ServerCredentials. A TLS server without roles refuses every call.
  void set_roles(Roles roles) { roles_ = std::make_shared<const Roles>(std::move(roles)); }
  const std::shared_ptr<const Roles>& roles() const { return roles_; }

  // The watcher of files(); null for plaintext.
  const std::shared_ptr<grpc::experimental::CertificateProviderInterface>& watcher() const {
    return watcher_;
  }

 private:
  TlsFiles files_;
  absl::Duration reload_interval_ = absl::Seconds(10);
  bool insecure_ = false;
  std::shared_ptr<const Roles> roles_;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> watcher_;
};

// For a daemon's listening port (the agent's or the controller's). With
// TLS, every call is authorized by the transport's roles first (no roles:
// every call is refused) and carries the caller's identity (CallerOf).
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TransportOptions& transport);

// For a client channel: plaintext, or TLS presenting this process's
// certificate and verifying the server's.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const TransportOptions& transport);

// A client channel to an agent or a controller at host:port.
std::shared_ptr<grpc::Channel> OpenChannel(const std::string& address,
                                           const TransportOptions& transport);

// The authenticated identity of the peer of a TLS connection: the first URI
// SAN of its certificate (spiffe://chaos/agent/web1), else its first DNS
// SAN, else its subject's CN. Empty when the peer is not authenticated
// (plaintext). Works on either side: a handler's context, or a client's
// after the call.
std::string PeerIdentity(const grpc::AuthContext& auth);
std::string PeerIdentity(const grpc::ServerContextBase& context);

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_CREDENTIALS_H_
