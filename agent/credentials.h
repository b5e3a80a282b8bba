// The one place that decides the agent's transport credentials: its server's
// and its client's (towards the controller).
// Today: plaintext (bind to loopback or a trusted network). Mutual TLS is a
// change here alone; handlers never see credentials.
#ifndef CHAOS_AGENT_CREDENTIALS_H_
#define CHAOS_AGENT_CREDENTIALS_H_

#include <memory>
#include <string>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace chaos::agent {

inline std::shared_ptr<grpc::ServerCredentials> AgentServerCredentials() {
  return grpc::InsecureServerCredentials();
}

// The agent's channel to its controller (registration and heartbeats).
inline std::shared_ptr<grpc::Channel> OpenControllerChannel(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_CREDENTIALS_H_
