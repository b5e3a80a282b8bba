// AgentService: the chaos.v1.Agent gRPC service (callback API) over an
// Agent. Handlers only convert and map absl::Status to grpc::Status; the
// canonical codes are the same numbers.
//
// RunCommand blocks for as long as its command runs, so it runs on a thread
// of its own, never on gRPC's; its reactor flips the command's switch when
// the call is cancelled (the caller cancelled it, its deadline passed, the
// connection was lost), which kills the command's process group. The
// server waits for every such call to finish when it shuts down: stop the
// commands first (Agent::StopCommands).
#ifndef CHAOS_AGENT_SERVICE_H_
#define CHAOS_AGENT_SERVICE_H_

#include "agent/agent.h"
#include "chaos/v1/agent.grpc.pb.h"

namespace chaos::agent {

class AgentService final : public chaos::v1::Agent::CallbackService {
 public:
  explicit AgentService(Agent* agent) : agent_(agent) {}

  grpc::ServerUnaryReactor* Inject(grpc::CallbackServerContext* ctx,
                                   const chaos::v1::InjectRequest* request,
                                   chaos::v1::InjectResponse* response) override;
  grpc::ServerUnaryReactor* Revert(grpc::CallbackServerContext* ctx,
                                   const chaos::v1::RevertRequest* request,
                                   chaos::v1::RevertResponse* response) override;
  grpc::ServerUnaryReactor* RevertExperiment(
      grpc::CallbackServerContext* ctx, const chaos::v1::RevertExperimentRequest* request,
      chaos::v1::RevertExperimentResponse* response) override;
  grpc::ServerUnaryReactor* ListFaults(grpc::CallbackServerContext* ctx,
                                       const chaos::v1::ListFaultsRequest* request,
                                       chaos::v1::ListFaultsResponse* response) override;
  grpc::ServerUnaryReactor* KeepAlive(grpc::CallbackServerContext* ctx,
                                      const chaos::v1::KeepAliveRequest* request,
                                      chaos::v1::KeepAliveResponse* response) override;
  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* ctx,
                                     const chaos::v1::DescribeRequest* request,
                                     chaos::v1::DescribeResponse* response) override;
  grpc::ServerUnaryReactor* Halt(grpc::CallbackServerContext* ctx,
                                 const chaos::v1::HaltRequest* request,
                                 chaos::v1::HaltResponse* response) override;
  grpc::ServerUnaryReactor* Resume(grpc::CallbackServerContext* ctx,
                                   const chaos::v1::ResumeRequest* request,
                                   chaos::v1::ResumeResponse* response) override;
  grpc::ServerUnaryReactor* RunCommand(grpc::CallbackServerContext* ctx,
                                       const chaos::v1::RunCommandRequest* request,
                                       chaos::v1::RunCommandResponse* response) override;

 private:
  Agent* agent_;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_SERVICE_H_
