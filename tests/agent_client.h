// A test's client of a real agent process: one place that opens the
// channel, so the tests do not each spell it out.
#ifndef CHAOS_TESTS_AGENT_CLIENT_H_
#define CHAOS_TESTS_AGENT_CLIENT_H_

#include <memory>
#include <string>

#include "chaos/v1/agent.grpc.pb.h"

namespace chaos::testing {

// A plaintext client of the agent serving on host:port.
std::unique_ptr<chaos::v1::Agent::Stub> AgentStub(const std::string& address);

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_AGENT_CLIENT_H_
