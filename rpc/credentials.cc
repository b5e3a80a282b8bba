#include "rpc/credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/errno.h"
#include "base/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace chaos::rpc {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using File = std::unique_ptr<FILE, FileCloser>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

// "--tls-cert /x/y.crt": how errors name a file.
std::string Named(const char* flag, const std::string& path) {
  return absl::StrCat(flag, " ", path);
}

absl::StatusOr<File> Open(const char* flag, const std::string& path) {
  File f(std::fopen(path.c_str(), "r"));
  if (f == nullptr) return base::ErrnoToStatus(errno, Named(flag, path));
  return f;
}

// Never prompts on a terminal: an encrypted key is refused.
int NoPassphrase(char*, int, int, void*) { return 0; }

// Every certificate in a PEM file, in order; INVALID_ARGUMENT when none.
absl::StatusOr<std::vector<Cert>> ReadCerts(const char* flag, const std::string& path) {
  ASSIGN_OR_RETURN(File f, Open(flag, path));
  std::vector<Cert> certs;
  while (X509* x = PEM_read_X509(f.get(), nullptr, NoPassphrase, nullptr)) certs.emplace_back(x);
  ERR_clear_error();  // the end of the file is reported as an error
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Named(flag, path), ": holds no PEM certificate"));
  }
  return certs;
}

absl::StatusOr<Key> ReadKey(const std::string& path) {
  ASSIGN_OR_RETURN(File f, Open("--tls-key", path));
  Key key(PEM_read_PrivateKey(f.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        Named("--tls-key", path), ": holds no PEM private key (encrypted keys are not supported)"));
  }
  return key;
}

// The leaf (with the rest of its file as intermediates) verified against
// the CA bundle, at the current time.
absl::Status CheckChain(const TlsFiles& files, const std::vector<Cert>& chain,
                        const std::vector<Cert>& cas) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  for (const Cert& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get());
  const bool ok = X509_verify_cert(ctx.get()) == 1;
  const int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(Named("--tls-cert", files.cert), ": does not chain to --tls-ca ", files.ca,
                   ": ", X509_verify_cert_error_string(err)));
}

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files) {
  ASSIGN_OR_RETURN(std::vector<Cert> chain, ReadCerts("--tls-cert", files.cert));
  ASSIGN_OR_RETURN(Key key, ReadKey(files.key));
  const bool match = X509_check_private_key(chain[0].get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) {
    return absl::InvalidArgumentError(absl::StrCat(
        Named("--tls-key", files.key), ": does not match the certificate in ", files.cert));
  }
  ASSIGN_OR_RETURN(std::vector<Cert> cas, ReadCerts("--tls-ca", files.ca));
  return CheckChain(files, chain, cas);
}

absl::StatusOr<TransportOptions> TransportOptions::MutualTls(const TlsFiles& files,
                                                             absl::Duration reload_interval) {
  RETURN_IF_ERROR(CheckTlsFiles(files));
  TransportOptions t;
  t.files_ = files;
  t.reload_interval_ = std::max(absl::Seconds(1), absl::Trunc(reload_interval, absl::Seconds(1)));
  t.watcher_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key, files.cert, files.ca,
      static_cast<unsigned int>(absl::ToInt64Seconds(t.reload_interval_)));
  return t;
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TransportOptions& transport) {
  if (!transport.tls()) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(transport.watcher());
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  auto credentials = grpc::experimental::TlsServerCredentials(options);
  credentials->SetAuthMetadataProcessor(
      NewAuthzProcessor(transport.roles() ? *transport.roles() : Roles()));
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const TransportOptions& transport) {
  if (!transport.tls()) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(transport.watcher());
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  // The server's certificate must name the host dialled (DNS or IP SAN).
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& address,
                                           const TransportOptions& transport) {
  return grpc::CreateChannel(address, ChannelCredentials(transport));
}

std::string PeerIdentity(const grpc::AuthContext& auth) {
  if (!auth.IsPeerAuthenticated()) return "";
  for (const char* property : {GRPC_PEER_URI_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME,
                               GRPC_X509_CN_PROPERTY_NAME}) {
    for (const grpc::string_ref& value : auth.FindPropertyValues(property)) {
      if (!value.empty()) return std::string(value.data(), value.size());
    }
  }
  return "";
}

std::string PeerIdentity(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return auth == nullptr ? "" : PeerIdentity(*auth);
}

}  // namespace chaos::rpc
