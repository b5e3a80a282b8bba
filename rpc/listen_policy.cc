#include "rpc/listen_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <memory>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "spdlog/spdlog.h"

namespace chaos::rpc {
namespace {

// The host of "host:port", "[v6]:port" or a bare host.
std::string HostOf(absl::string_view address) {
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    return std::string(address.substr(1, close == absl::string_view::npos ? close : close - 1));
  }
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return std::string(address);
  // A bare IPv6 address has more colons than a port separator.
  if (address.find(':') != colon) {
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(address).c_str(), &a6) == 1) return std::string(address);
  }
  return std::string(address.substr(0, colon));
}

// Warns once per distinct peer host of a plaintext server off loopback.
class PlaintextPeerWarning : public grpc::experimental::Interceptor {
 public:
  PlaintextPeerWarning(grpc::experimental::ServerRpcInfo* info, absl::Mutex* mu,
                       std::set<std::string>* seen)
      : info_(info), mu_(mu), seen_(seen) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Warn(info_->server_context()->peer());
    }
    methods->Proceed();
  }

 private:
  // Memory stays bounded: past kMaxPeers hosts the set starts afresh (and
  // hosts seen before are warned about once more).
  static constexpr size_t kMaxPeers = 4096;

  void Warn(const std::string& peer) {
    // "ipv4:10.1.2.3:5555" -> "ipv4:10.1.2.3": the host, not the connection.
    const std::string host = peer.substr(0, peer.rfind(':'));
    {
      absl::MutexLock lock(mu_);
      if (!seen_->insert(host).second) return;
      if (seen_->size() > kMaxPeers) seen_->clear();
    }
    spdlog::warn("insecure: plaintext call from {} ({}): anyone on its path can read and forge it",
                 peer, info_->method());
  }

  grpc::experimental::ServerRpcInfo* info_;
  absl::Mutex* mu_;
  std::set<std::string>* seen_;
};

class PlaintextPeerWarningFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new PlaintextPeerWarning(info, &mu_, &seen_);
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

bool IsLoopbackAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  const std::string host = absl::AsciiStrToLower(HostOf(address));
  if (host == "localhost" || host == "localhost.") return true;
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
  }
  return false;
}

absl::Status CheckPlaintextListen(absl::string_view flag, absl::string_view address,
                                  bool insecure, bool tls_helps) {
  if (insecure || IsLoopbackAddress(address)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      flag, " ", address, ": plaintext is served on loopback only (127.0.0.1, [::1], localhost); ",
      tls_helps ? "give --tls-cert, --tls-key and --tls-ca, or " : "",
      "--insecure to serve it there anyway"));
}

absl::Status CheckListen(const std::string& address, const TransportOptions& transport) {
  if (transport.tls()) return absl::OkStatus();
  return CheckPlaintextListen("--listen", address, transport.insecure(), /*tls_helps=*/true);
}

absl::Status AddListeningPort(grpc::ServerBuilder& builder, const std::string& address,
                              const TransportOptions& transport, int* port) {
  if (absl::Status s = CheckListen(address, transport); !s.ok()) return s;
  builder.AddListeningPort(address, ServerCredentials(transport), port);
  if (transport.tls() || IsLoopbackAddress(address)) return absl::OkStatus();
  spdlog::warn("insecure: serving plaintext gRPC on {}: anyone who can reach it can read and "
               "forge every call, inject and halt included",
               address);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<PlaintextPeerWarningFactory>());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  return absl::OkStatus();
}

std::string ReachableAddress(absl::string_view listen, int port, absl::string_view host_name) {
  const size_t colon = listen.rfind(':');
  std::string host(colon == absl::string_view::npos ? listen : listen.substr(0, colon));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = std::string(host_name);
  return absl::StrCat(host, ":", port);
}

}  // namespace chaos::rpc
