#include "agent/service.h"
#include "rpc/status.h"

#include <string>

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
  auto status = agent_->Inject(*request, ctx->peer());
  if (status.ok()) *response->mutable_status() = *std::move(status);
  return Done(ctx, status.status());
}

grpc::ServerUnaryReactor* AgentService::Revert(grpc::CallbackServerContext* ctx,
                                               const chaos::v1::RevertRequest* request,
                                               chaos::v1::RevertResponse* response) {
  auto status = agent_->Revert(request->fault_id(),
                               request->caller().empty() ? ctx->peer() : request->caller());
  if (status.ok()) *response->mutable_status() = *std::move(status);
  return Done(ctx, status.status());
}

grpc::ServerUnaryReactor* AgentService::RevertExperiment(
    grpc::CallbackServerContext* ctx, const chaos::v1::RevertExperimentRequest* request,
    chaos::v1::RevertExperimentResponse* response) {
  for (auto& s : agent_->RevertExperiment(
           request->experiment_id(), request->caller().empty() ? ctx->peer() : request->caller())) {
    *response->add_reverted() = std::move(s);
  }
  return Done(ctx, absl::OkStatus());
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
  for (auto& s : agent_->Halt(request->caller().empty() ? ctx->peer() : request->caller(),
                              request->reason())) {
    *response->add_reverted() = std::move(s);
  }
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AgentService::Resume(grpc::CallbackServerContext* ctx,
                                               const chaos::v1::ResumeRequest* request,
                                               chaos::v1::ResumeResponse*) {
  agent_->Resume(request->caller().empty() ? ctx->peer() : request->caller());
  return Done(ctx, absl::OkStatus());
}

}  // namespace chaos::agent
