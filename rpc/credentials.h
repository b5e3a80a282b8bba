// The one place that decides transport credentials for every gRPC hop:
// chaosctl -> controller, controller -> agent, chaosctl -> agent and
// agent -> controller (registration). Today: plaintext. Mutual TLS is a
// change here alone; handlers never see credentials.
#ifndef CHAOS_RPC_CREDENTIALS_H_
#define CHAOS_RPC_CREDENTIALS_H_

#include <memory>
#include <string>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace chaos::rpc {

// For a daemon's listening port (the agent's or the controller's).
inline std::shared_ptr<grpc::ServerCredentials> ServerCredentials() {
  return grpc::InsecureServerCredentials();
}

// A client channel to an agent or a controller at host:port.
inline std::shared_ptr<grpc::Channel> OpenChannel(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_CREDENTIALS_H_
