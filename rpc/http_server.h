// HttpServer: the plaintext HTTP listener of a daemon (the agent's
// --metrics-listen, the controller's --http-listen), served by cpp-httplib
// on a thread of its own. It answers GET on the paths it is given and 404
// on any other path. It has no TLS and no authentication: check the
// address with CheckPlaintextListen (listen_policy.h) before starting it.
//
// Thread safety: a page's render function is called on the server's
// threads, possibly several at once.
#ifndef CHAOS_RPC_HTTP_SERVER_H_
#define CHAOS_RPC_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace httplib {
class Server;
}

namespace chaos::rpc {

struct HttpPage {
  std::string path;          // "/metrics"
  std::string content_type;  // "text/plain; version=0.0.4"
  std::function<std::string()> render;
};

class HttpServer {
 public:
  // Serves `pages` on `listen` (host:port; port 0 lets the OS choose).
  // INVALID_ARGUMENT naming `flag` when `listen` is not host:port;
  // UNAVAILABLE when it cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      absl::string_view flag, const std::string& listen, std::vector<HttpPage> pages);
  ~HttpServer();  // stops serving and joins the thread
  int port() const { return port_; }

 private:
  HttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_HTTP_SERVER_H_
