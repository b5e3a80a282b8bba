#include "rpc/http_server.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "httplib.h"

namespace chaos::rpc {
namespace {

// Requests larger than this are refused with 413 before a handler runs.
constexpr size_t kMaxRequestBytes = 64 * 1024;

std::string Asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// The identity of a verified client certificate, by PeerIdentity's rule
// (credentials.h): its first URI SAN, else its first DNS SAN, else its CN.
std::string CertificateIdentity(X509* cert) {
  std::string uri, dns;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_URI && uri.empty()) uri = Asn1Text(name->d.uniformResourceIdentifier);
    if (name->type == GEN_DNS && dns.empty()) dns = Asn1Text(name->d.dNSName);
  }
  GENERAL_NAMES_free(names);
  if (!uri.empty()) return uri;
  if (!dns.empty()) return dns;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return "";
  return Asn1Text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
}

std::string PeerCertificateIdentity(const httplib::Request& req) {
  if (req.ssl == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(req.ssl);
  if (cert == nullptr) return "";
  std::string identity = CertificateIdentity(cert);
  X509_free(cert);
  return identity;
}

// The server's certificate and key, and the CA client certificates must
// chain to (required, verified during the handshake).
bool SetUpTls(SSL_CTX& ctx, const TlsFiles& files) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(&ctx, files.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(&ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1 ||
      SSL_CTX_load_verify_locations(&ctx, files.ca.c_str(), nullptr) != 1) {
    return false;
  }
  // Tells the browser which CA's certificates to offer.
  if (STACK_OF(X509_NAME)* cas = SSL_load_client_CA_file(files.ca.c_str())) {
    SSL_CTX_set_client_CA_list(&ctx, cas);
  }
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return true;
}

HttpRequest ToRequest(const httplib::Request& req, bool tls) {
  HttpRequest out;
  out.method = req.method;
  out.path = req.path;
  for (const auto& [name, value] : req.params) out.params.emplace(name, value);
  for (const auto& [name, value] : req.headers) out.headers.emplace(absl::AsciiStrToLower(name), value);
  out.remote_addr = req.remote_addr;
  out.tls = tls;
  if (tls) out.identity = PeerCertificateIdentity(req);
  return out;
}

void Answer(HttpResponse response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& [name, value] : response.headers) res.set_header(name, value);
  if (!response.stream) {
    res.set_content(response.body, response.content_type);
    if (response.on_done) response.on_done();
    return;
  }
  res.set_chunked_content_provider(
      response.content_type,
      [stream = std::move(response.stream)](size_t, httplib::DataSink& sink) {
        const HttpWrite write = [&sink](const std::string& piece) {
          return sink.is_writable() && sink.write(piece.data(), piece.size());
        };
        if (!stream(write)) sink.done();
        return true;
      },
      [on_done = std::move(response.on_done)](bool) {
        if (on_done) on_done();
      });
}

absl::StatusOr<std::unique_ptr<httplib::Server>> NewServer(absl::string_view flag,
                                                           const HttpServerOptions& options) {
  if (!options.tls) return std::make_unique<httplib::Server>();
  if (absl::Status s = CheckTlsFiles(*options.tls); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", s.message()));
  }
  auto server = std::make_unique<httplib::SSLServer>(
      [files = *options.tls](SSL_CTX& ctx) { return SetUpTls(ctx, files); });
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": cannot serve HTTPS with ", options.tls->cert, ", ", options.tls->key, " and ",
        options.tls->ca));
  }
  return server;
}

const char* StatusText(int status) {
  switch (status) {
    case 400: return "bad request";
    case 403: return "forbidden";
    case 404: return "not found";
    case 413: return "request too large";
    default: return "error";
  }
}

void AddRoutes(httplib::Server& server, std::vector<HttpRoute> routes, bool tls) {
  for (HttpRoute& route : routes) {
    auto handler = [handler = std::move(route.handler), tls](const httplib::Request& req,
                                                              httplib::Response& res) {
      Answer(handler(ToRequest(req, tls)), res);
    };
    if (route.method == "POST") {
      server.Post(route.path, std::move(handler));
    } else {
      server.Get(route.path, std::move(handler));
    }
  }
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(absl::StrCat(res.status, " ", StatusText(res.status), "\n"),
                      "text/plain; charset=utf-8");
    }
  });
}

}  // namespace

std::string HttpRequest::Header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpRequest::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Serve(absl::string_view flag,
                                                              const std::string& listen,
                                                              HttpServerOptions options) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", listen, "\" is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:9100
  }
  std::unique_ptr<HttpServer> s(new HttpServer());
  ASSIGN_OR_RETURN(s->server_, NewServer(flag, options));
  const int threads = std::max(options.threads, 1);
  s->server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s->server_->set_payload_max_length(kMaxRequestBytes);
  AddRoutes(*s->server_, std::move(options.routes), options.tls.has_value());
  if (port == 0) {
    s->port_ = s->server_->bind_to_any_port(host);
  } else if (s->server_->bind_to_port(host, port)) {
    s->port_ = port;
  }
  if (s->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(flag, ": cannot serve HTTP on ", listen));
  }
  s->thread_ = std::thread([server = s->server_.get()] { server->listen_after_bind(); });
  return s;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(absl::string_view flag,
                                                              const std::string& listen,
                                                              std::vector<HttpPage> pages) {
  HttpServerOptions options;
  for (HttpPage& page : pages) {
    options.routes.push_back(
        {"GET", page.path, [page = std::move(page)](const HttpRequest&) {
           HttpResponse res;
           res.content_type = page.content_type;
           res.body = page.render();
           return res;
         }});
  }
  return Serve(flag, listen, std::move(options));
}

HttpServer::~HttpServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace chaos::rpc
