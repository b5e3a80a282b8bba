// The one place that decides the controller's and chaosctl's transport
// credentials, for its own server and for its clients of agents and of the
// controller. Today: plaintext. Mutual TLS is a change here alone.
#ifndef CHAOS_CONTROLLER_CREDENTIALS_H_
#define CHAOS_CONTROLLER_CREDENTIALS_H_

#include <memory>
#include <string>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace chaos::controller {

inline std::shared_ptr<grpc::ServerCredentials> ControllerServerCredentials() {
  return grpc::InsecureServerCredentials();
}

inline std::shared_ptr<grpc::Channel> OpenChannel(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_CREDENTIALS_H_
