// The one place that decides the agent server's transport credentials.
// Today: plaintext (bind to loopback or a trusted network). Mutual TLS is a
// change here alone; handlers never see credentials.
#ifndef CHAOS_AGENT_CREDENTIALS_H_
#define CHAOS_AGENT_CREDENTIALS_H_

#include <memory>

#include "grpcpp/security/server_credentials.h"

namespace chaos::agent {

inline std::shared_ptr<grpc::ServerCredentials> AgentServerCredentials() {
  return grpc::InsecureServerCredentials();
}

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_CREDENTIALS_H_
