#include "agent/service.h"
#include "rpc/authz.h"
#include "rpc/status.h"

#include <string>
#include <vector>

namespace chaos::agent {

namespace {

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& s) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(rpc::ToGrpc(s));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* AgentService::Inject(grpc::CallbackServerContext* ctx,
                                               const chaos::v1::InjectRequest* request,
                                               chaos::v1::InjectResponse* response) {
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
  const absl::Status s = agent_->RevertExperiment(
      request->experiment_id(), rpc::CallerOf(*ctx, request->caller()),
      &outcome);
  for (auto& f : outcome) *response->add_reverted() = std::move(f);
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
  const absl::Status s = agent_->Halt(
      rpc::CallerOf(*ctx, request->caller()), request->reason(), &outcome);
  for (auto& f : outcome) *response->add_reverted() = std::move(f);
  return Done(ctx, s);
}

grpc::ServerUnaryReactor* AgentService::Resume(grpc::CallbackServerContext* ctx,
                                               const chaos::v1::ResumeRequest* request,
                                               chaos::v1::ResumeResponse*) {
  agent_->Resume(rpc::CallerOf(*ctx, request->caller()));
  return Done(ctx, absl::OkStatus());
}

}  // namespace chaos::agent
