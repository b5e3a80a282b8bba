// AgentServer: an Agent recovered from its ledger and served over gRPC.
// Used by chaos-agent's main and by tests (with port 0: the OS chooses).
#ifndef CHAOS_AGENT_SERVER_H_
#define CHAOS_AGENT_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/agent.h"
#include "agent/service.h"
#include "grpcpp/server.h"
#include "rpc/credentials.h"

namespace chaos::agent {

class AgentServer {
 public:
  // Creates the Agent, reverts what the ledger says an earlier run left
  // behind, kills what the command journal says its commands left running,
  // sweeps tagged leftovers no ledger record names (sweep.h),
  // starts the expiry timer, and listens on `listen` (host:port) with
  // `transport`'s credentials. FAILED_PRECONDITION, before anything else,
  // for plaintext off loopback without --insecure (rpc/listen_policy.h);
  // UNAVAILABLE when it cannot listen.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(
      AgentOptions options, const std::string& listen, const rpc::TransportOptions& transport);
  // Orderly stop: kills the running commands, stops serving, then reverts
  // every fault.
  ~AgentServer();

  int port() const { return port_; }
  Agent& agent() { return *agent_; }
  grpc::Server& server() { return *server_; }

 private:
  AgentServer() = default;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_SERVER_H_
