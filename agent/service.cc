#include "agent/service.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rpc/authz.h"
#include "rpc/status.h"

namespace chaos::agent {

namespace {

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& s) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(rpc::ToGrpc(s));
  return reactor;
}

// One RunCommand call: runs the command on a thread of its own and stops it
// when the call is cancelled. Deletes itself when gRPC is done with it.
class CommandReactor final : public grpc::ServerUnaryReactor {
 public:
  CommandReactor(Agent* agent, std::string caller, const chaos::v1::RunCommandRequest* request,
                 chaos::v1::RunCommandResponse* response)
      : stop_(std::make_shared<CommandSwitch>()) {
    // The thread touches the reactor only through Finish(), its last act:
    // OnDone() may delete the reactor right after.
    std::thread([this, agent, caller = std::move(caller), request, response,
                 stop = stop_] {
      auto result = agent->RunCommand(*request, caller, stop);
      if (result.ok()) *response = *std::move(result);
      Finish(rpc::ToGrpc(result.status()));
    }).detach();
  }

  void OnCancel() override {
    stop_->Stop("the call was cancelled (by its caller, its deadline or a lost connection)");
  }
  void OnDone() override { delete this; }

 private:
  const std::shared_ptr<CommandSwitch> stop_;
};

}  // namespace

grpc::ServerUnaryReactor* AgentService::Inject(grpc::CallbackServerContext* ctx,
                                               const chaos::v1::InjectRequest* request,
                                               chaos::v1::InjectResponse* response) {
  // A request that waited past its deadline (a stopped agent continued):
  // its caller has given up on it and may have rolled back already.
  if (absl::FromChrono(ctx->deadline()) < absl::Now()) {
    return Done(ctx, absl::DeadlineExceededError(
                         "deadline: the request's deadline passed before the agent got to it; "
                         "nothing injected"));
  }
  auto status = agent_->Inject(*request, rpc::CallerOf(*ctx, request->caller()));
  if (status.ok()) *response->mutable_status() = *std::move(status);
  return Done(ctx, status.status());
}

grpc::ServerUnaryReactor* AgentService::Revert(grpc::CallbackServerContext* ctx,
                                               const chaos::v1::RevertRequest* request,
                                               chaos::v1::RevertResponse* response) {
  const std::string caller = rpc::CallerOf(*ctx, request->caller());
  auto status = request->abandon()
                    ? agent_->Abandon(request->fault_id(), caller,
                                      "the operator gave up on its failed revert")
                    : agent_->Revert(request->fault_id(), caller);
  if (status.ok()) *response->mutable_status() = *std::move(status);
  return Done(ctx, status.status());
}

grpc::ServerUnaryReactor* AgentService::RevertExperiment(
    grpc::CallbackServerContext* ctx, const chaos::v1::RevertExperimentRequest* request,
    chaos::v1::RevertExperimentResponse* response) {
  std::vector<chaos::v1::FaultStatus> outcome;
  std::vector<std::string> stopped;
  const absl::Status s = agent_->RevertExperiment(
      request->experiment_id(), rpc::CallerOf(*ctx, request->caller()), &outcome, &stopped);
  for (auto& f : outcome) *response->add_reverted() = std::move(f);
  for (auto& id : stopped) response->add_stopped_commands(std::move(id));
  return Done(ctx, s);  // a non-OK answer carries no body: its message names the faults
}

grpc::ServerUnaryReactor* AgentService::ListFaults(grpc::CallbackServerContext* ctx,
                                                   const chaos::v1::ListFaultsRequest* request,
                                                   chaos::v1::ListFaultsResponse* response) {
  for (auto& s : agent_->List(request->experiment_id(), request->include_ended())) {
    *response->add_faults() = std::move(s);
  }
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AgentService::KeepAlive(grpc::CallbackServerContext* ctx,
                                                  const chaos::v1::KeepAliveRequest* request,
                                                  chaos::v1::KeepAliveResponse* response) {
  auto result = agent_->KeepAlive(*request);
  if (result.ok()) *response = *std::move(result);
  return Done(ctx, result.status());
}

grpc::ServerUnaryReactor* AgentService::Describe(grpc::CallbackServerContext* ctx,
                                                 const chaos::v1::DescribeRequest* request,
                                                 chaos::v1::DescribeResponse* response) {
  *response = agent_->Describe(request->refresh_capabilities());
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AgentService::Halt(grpc::CallbackServerContext* ctx,
                                             const chaos::v1::HaltRequest* request,
                                             chaos::v1::HaltResponse* response) {
  std::vector<chaos::v1::FaultStatus> outcome;
  std::vector<std::string> stopped;
  const absl::Status s = agent_->Halt(rpc::CallerOf(*ctx, request->caller()), request->reason(),
                                      &outcome, &stopped);
  for (auto& f : outcome) *response->add_reverted() = std::move(f);
  for (auto& id : stopped) response->add_stopped_commands(std::move(id));
  return Done(ctx, s);
}

grpc::ServerUnaryReactor* AgentService::Resume(grpc::CallbackServerContext* ctx,
                                               const chaos::v1::ResumeRequest* request,
                                               chaos::v1::ResumeResponse*) {
  agent_->Resume(rpc::CallerOf(*ctx, request->caller()));
  return Done(ctx, absl::OkStatus());
}

}  // namespace chaos::agent

namespace chaos::agent {

grpc::ServerUnaryReactor* AgentService::RunCommand(grpc::CallbackServerContext* ctx,
                                                   const chaos::v1::RunCommandRequest* request,
                                                   chaos::v1::RunCommandResponse* response) {
  return new CommandReactor(agent_, rpc::CallerOf(*ctx, request->caller()), request, response);
}

}  // namespace chaos::agent
