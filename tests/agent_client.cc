#include "tests/agent_client.h"

#include "rpc/credentials.h"

namespace chaos::testing {

std::unique_ptr<chaos::v1::Agent::Stub> AgentStub(const std::string& address) {
  return chaos::v1::Agent::NewStub(rpc::OpenChannel(address, rpc::TransportOptions()));
}

}  // namespace chaos::testing
