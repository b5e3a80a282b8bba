// HttpServer: the HTTP listener of a daemon (the agent's --metrics-listen,
// the controller's --http-listen), served by cpp-httplib on a pool of
// threads of its own. It answers the routes it is given (exact paths, GET
// or POST) and 404 on any other path or method; a request it cannot parse
// gets 400, one over 64 KiB 413, and a handler never sees either.
//
// Plaintext by default, without authentication: check the address with
// CheckPlaintextListen (listen_policy.h) before starting it. With
// HttpServerOptions::tls it serves HTTPS only (TLS 1.2 or later) and
// requires a client certificate that chains to the CA of those files, as
// the gRPC port does (credentials.h); each request then carries the
// certificate's identity (the same rule as PeerIdentity: URI SAN, else DNS
// SAN, else CN). Deciding what that identity may do is the handler's job.
// The certificate, key and CA are read once, at Serve().
//
// Thread safety: handlers are called on the server's threads, possibly
// several at once. A streamed response holds one of them until it ends.
#ifndef CHAOS_RPC_HTTP_SERVER_H_
#define CHAOS_RPC_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rpc/credentials.h"

namespace httplib {
class Server;
}

namespace chaos::rpc {

struct HttpRequest {
  std::string method;  // "GET", "POST"
  std::string path;    // without the query
  // The query's parameters (the first value of each) and the headers (names
  // in lower case, the first value of each).
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> headers;
  std::string remote_addr;  // the peer's IP address
  // The client certificate's identity on HTTPS; empty on plaintext.
  std::string identity;
  bool tls = false;

  // The header's value, or "" when absent.
  std::string Header(const std::string& lower_case_name) const;
  std::string Param(const std::string& name) const;
};

// A body written as it becomes available (server-sent events). Called on
// the serving thread again and again until it returns false; `write` sends
// one piece and returns false once the client has gone. Each call must
// return within about a second, writing or not, so that the server can
// stop: it is not called again once the server is stopping.
using HttpWrite = std::function<bool(const std::string& piece)>;
using HttpStream = std::function<bool(const HttpWrite& write)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  HttpStream stream;  // set: the body is streamed (chunked), `body` is ignored
  // Called once the response is over (streamed or not), on any thread.
  std::function<void()> on_done;
};

struct HttpRoute {
  std::string method;  // "GET" or "POST"
  std::string path;    // exact: "/metrics"
  std::function<HttpResponse(const HttpRequest&)> handler;
};

struct HttpServerOptions {
  std::vector<HttpRoute> routes;
  // HTTPS requiring a client certificate from tls->ca; plaintext when unset.
  std::optional<TlsFiles> tls;
  // Requests served at once (a streamed response holds one until it ends).
  int threads = 8;
};

// A GET page for Start(): its body rendered at each request.
struct HttpPage {
  std::string path;          // "/metrics"
  std::string content_type;  // "text/plain; version=0.0.4"
  std::function<std::string()> render;
};

class HttpServer {
 public:
  // Serves `options` on `listen` (host:port; port 0 lets the OS choose).
  // INVALID_ARGUMENT naming `flag` when `listen` is not host:port or a TLS
  // file cannot be used (the file named); UNAVAILABLE when it cannot be
  // bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpServer>> Serve(
      absl::string_view flag, const std::string& listen, HttpServerOptions options);
  // Plaintext GET pages only.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      absl::string_view flag, const std::string& listen, std::vector<HttpPage> pages);
  ~HttpServer();  // stops serving, waits for the requests in progress
  int port() const { return port_; }

 private:
  HttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_HTTP_SERVER_H_
