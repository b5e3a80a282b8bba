#include "rpc/transport_flags.h"

#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rpc/authz.h"

namespace chaos::rpc {

void AddTransportFlags(CLI::App& app, TransportFlags& flags, Endpoint endpoint) {
  app.add_option("--tls-cert", flags.cert,
                 "PEM certificate this process presents (mutual TLS with --tls-key, --tls-ca)")
      ->type_name("FILE");
  app.add_option("--tls-key", flags.key, "PEM private key of --tls-cert")->type_name("FILE");
  app.add_option("--tls-ca", flags.ca, "PEM CA bundle every peer's certificate must chain to")
      ->type_name("FILE");
  app.add_option("--tls-reload-interval", flags.reload_interval_s,
                 "seconds between re-reads of the TLS files (rotation without a restart)")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  if (endpoint != Endpoint::kClient) {
    app.add_option("--authz", flags.authz,
                   "YAML file giving certificate identities roles (viewer, operator, admin, "
                   "agent); default: the built-in roles (see docs/SECURITY.md)");
    app.add_flag("--insecure", flags.insecure,
                 "serve plaintext on a non-loopback address (warned about at start and per "
                 "peer); without it, plaintext is served on loopback only");
  }
}

absl::StatusOr<TransportOptions> TransportFromFlags(const TransportFlags& flags,
                                                   Endpoint endpoint) {
  std::vector<std::string> missing;
  if (flags.cert.empty()) missing.push_back("--tls-cert");
  if (flags.key.empty()) missing.push_back("--tls-key");
  if (flags.ca.empty()) missing.push_back("--tls-ca");
  TransportOptions transport;
  if (missing.size() == 3) {
    if (!flags.authz.empty()) {
      return absl::InvalidArgumentError(
          "--authz needs --tls-cert, --tls-key and --tls-ca: plaintext peers have no identity");
    }
    transport.set_insecure(flags.insecure);
    return transport;
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-cert, --tls-key and --tls-ca go together: ",
                     absl::StrJoin(missing, " and "), " missing"));
  }
  TlsFiles files{flags.cert, flags.key, flags.ca};
  auto tls = TransportOptions::MutualTls(files, absl::Seconds(flags.reload_interval_s));
  if (!tls.ok()) return tls.status();
  tls->set_insecure(flags.insecure);
  if (endpoint == Endpoint::kClient) return tls;
  if (flags.authz.empty()) {
    tls->set_roles(DefaultRoles(endpoint == Endpoint::kAgent ? Daemon::kAgent : Daemon::kController));
    return tls;
  }
  auto roles = Roles::Load(flags.authz);
  if (!roles.ok()) return roles.status();
  tls->set_roles(*std::move(roles));
  return tls;
}

}  // namespace chaos::rpc
