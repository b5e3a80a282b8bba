#include "agent/service.h"

#include <pthread.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proto/duration.h"
#include "rpc/authz.h"
#include "rpc/status.h"

namespace chaos::agent {

namespace {

using AsyncAgent = chaos::v1::Agent::AsyncService;

// What the serving thread takes off the queue: one step of a call.
class Tag {
 public:
  virtual ~Tag() = default;
  // `ok` is the queue's word on the operation; false when a requested call
  // never started because the server is shutting down.
  virtual void Proceed(bool ok) = 0;
};

// One unary method: how to ask the server for its next call, how to answer
// one, and which requests may take long enough to leave the serving thread
// (service.h says which and why).
template <typename Request, typename Response>
struct Method {
  void (AsyncAgent::*request)(grpc::ServerContext*, Request*,
                              grpc::ServerAsyncResponseWriter<Response>*, grpc::CompletionQueue*,
                              grpc::ServerCompletionQueue*, void*);
  grpc::Status (*answer)(Agent& agent, grpc::ServerContext& ctx, const Request& request,
                         Response* response);
  bool (*slow)(Agent& agent, const Request& request);  // true: on the pool; nullptr: never
};

// One call of a unary method: requested, then answered, then deleted once
// the answer is sent (or the call never started).
template <typename Request, typename Response>
class UnaryCall final : public Tag {
 public:
  static void Await(AgentService* service, const Method<Request, Response>* method) {
    auto* call = new UnaryCall(service, method);
    (service->async().*(method->request))(&call->ctx_, &call->request_, &call->responder_,
                                          service->queue(), service->queue(), call);
  }

  void Proceed(bool ok) override {
    if (!ok || answering_) {
      delete this;
      return;
    }
    Await(service_, method_);  // the method's next call
    answering_ = true;
    if (method_->slow != nullptr && method_->slow(service_->agent(), request_)) {
      service_->slow_calls().Post([this] { Answer(); });
    } else {
      Answer();
    }
  }

 private:
  UnaryCall(AgentService* service, const Method<Request, Response>* method)
      : service_(service), method_(method) {}

  // Its last touch of the call: the serving thread deletes it once sent.
  void Answer() {
    const grpc::Status status = method_->answer(service_->agent(), ctx_, request_, &response_);
    if (status.ok()) {
      responder_.Finish(response_, status, this);
    } else {
      responder_.FinishWithError(status, this);  // a failed call carries no body
    }
  }

  AgentService* const service_;
  const Method<Request, Response>* const method_;
  grpc::ServerContext ctx_;
  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> responder_{&ctx_};
  bool answering_ = false;
};

template <typename Request, typename Response>
void Await(AgentService* service, const Method<Request, Response>& method) {
  UnaryCall<Request, Response>::Await(service, &method);
}

// One RunCommand call: runs the command on a thread of its own and flips its
// switch when the call is cancelled. Deleted once both its answer is sent
// and gRPC says the call is done (two tags, in either order).
class CommandCall final : public Tag {
 public:
  static void Await(AgentService* service) {
    auto* call = new CommandCall(service);
    call->ctx_.AsyncNotifyWhenDone(&call->done_);  // comes only if the call starts
    service->async().RequestRunCommand(&call->ctx_, &call->request_, &call->responder_,
                                       service->queue(), service->queue(), call);
  }

  void Proceed(bool ok) override {
    if (!started_) {
      if (!ok) {
        delete this;  // never started: no done tag will come
        return;
      }
      started_ = true;
      Await(service_);
      Run();
      return;
    }
    answered_ = true;
    if (ended_) delete this;
  }

 private:
  class Done final : public Tag {
   public:
    explicit Done(CommandCall* call) : call_(call) {}
    void Proceed(bool) override { call_->Ended(); }

   private:
    CommandCall* const call_;
  };

  explicit CommandCall(AgentService* service)
      : service_(service), stop_(std::make_shared<CommandSwitch>()), done_(this) {}

  void Run() {
    std::thread([this, caller = rpc::CallerOf(ctx_, request_.caller()), stop = stop_] {
      auto result = service_->agent().RunCommand(request_, caller, stop);
      if (result.ok()) {
        response_ = *std::move(result);
        responder_.Finish(response_, grpc::Status::OK, this);  // its last touch of the call
      } else {
        responder_.FinishWithError(rpc::ToGrpc(result.status()), this);
      }
    }).detach();
  }

  void Ended() {
    if (ctx_.IsCancelled()) {
      stop_->Stop("the call was cancelled (by its caller, its deadline or a lost connection)");
    }
    ended_ = true;
    if (answered_) delete this;
  }

  AgentService* const service_;
  const std::shared_ptr<CommandSwitch> stop_;
  Done done_;
  grpc::ServerContext ctx_;
  chaos::v1::RunCommandRequest request_;
  chaos::v1::RunCommandResponse response_;
  grpc::ServerAsyncResponseWriter<chaos::v1::RunCommandResponse> responder_{&ctx_};
  bool started_ = false;
  bool answered_ = false;
  bool ended_ = false;
};

// The handlers.

grpc::Status Inject(Agent& agent, grpc::ServerContext& ctx,
                    const chaos::v1::InjectRequest& request, chaos::v1::InjectResponse* response) {
  // A request that waited past its deadline (a stopped agent continued):
  // its caller has given up on it and may have rolled back already.
  if (absl::FromChrono(ctx.deadline()) < absl::Now()) {
    return rpc::ToGrpc(absl::DeadlineExceededError(
        "deadline: the request's deadline passed before the agent got to it; nothing injected"));
  }
  auto status = agent.Inject(request, rpc::CallerOf(ctx, request.caller()));
  if (status.ok()) *response->mutable_status() = *std::move(status);
  return rpc::ToGrpc(status.status());
}

grpc::Status Revert(Agent& agent, grpc::ServerContext& ctx,
                    const chaos::v1::RevertRequest& request, chaos::v1::RevertResponse* response) {
  const std::string caller = rpc::CallerOf(ctx, request.caller());
  auto status = request.abandon() ? agent.Abandon(request.fault_id(), caller,
                                                  "the operator gave up on its failed revert")
                                  : agent.Revert(request.fault_id(), caller);
  if (status.ok()) *response->mutable_status() = *std::move(status);
  return rpc::ToGrpc(status.status());
}

grpc::Status RevertExperiment(Agent& agent, grpc::ServerContext& ctx,
                              const chaos::v1::RevertExperimentRequest& request,
                              chaos::v1::RevertExperimentResponse* response) {
  std::vector<chaos::v1::FaultStatus> outcome;
  std::vector<std::string> stopped;
  const absl::Status s = agent.RevertExperiment(
      request.experiment_id(), rpc::CallerOf(ctx, request.caller()), &outcome, &stopped);
  for (auto& f : outcome) *response->add_reverted() = std::move(f);
  for (auto& id : stopped) response->add_stopped_commands(std::move(id));
  return rpc::ToGrpc(s);  // a non-OK answer carries no body: its message names the faults
}

grpc::Status ListFaults(Agent& agent, grpc::ServerContext&,
                        const chaos::v1::ListFaultsRequest& request,
                        chaos::v1::ListFaultsResponse* response) {
  for (auto& s : agent.List(request.experiment_id(), request.include_ended())) {
    *response->add_faults() = std::move(s);
  }
  return grpc::Status::OK;
}

grpc::Status KeepAlive(Agent& agent, grpc::ServerContext&,
                       const chaos::v1::KeepAliveRequest& request,
                       chaos::v1::KeepAliveResponse* response) {
  auto result = agent.KeepAlive(request);
  if (result.ok()) *response = *std::move(result);
  return rpc::ToGrpc(result.status());
}

grpc::Status Describe(Agent& agent, grpc::ServerContext&,
                      const chaos::v1::DescribeRequest& request,
                      chaos::v1::DescribeResponse* response) {
  *response = agent.Describe(request.refresh_capabilities());
  return grpc::Status::OK;
}

grpc::Status Halt(Agent& agent, grpc::ServerContext& ctx,
                  const chaos::v1::HaltRequest& request, chaos::v1::HaltResponse* response) {
  std::vector<chaos::v1::FaultStatus> outcome;
  std::vector<std::string> stopped;
  const absl::Status s =
      agent.Halt(rpc::CallerOf(ctx, request.caller()), request.reason(), &outcome, &stopped);
  for (auto& f : outcome) *response->add_reverted() = std::move(f);
  for (auto& id : stopped) response->add_stopped_commands(std::move(id));
  return rpc::ToGrpc(s);
}

grpc::Status Resume(Agent& agent, grpc::ServerContext& ctx,
                    const chaos::v1::ResumeRequest& request, chaos::v1::ResumeResponse*) {
  agent.Resume(rpc::CallerOf(ctx, request.caller()));
  return grpc::Status::OK;
}

// A fault that starts now may take long to inject; a scheduled start only
// checks the request and arms the timer.
bool InjectsNow(Agent&, const chaos::v1::InjectRequest& request) {
  return FromProto(request.starts_in()) <= absl::ZeroDuration();
}
// A call that ends faults waits only for an inject in progress or a command
// it stops; otherwise it is quick, and the hand-off would cost more than it.
template <typename Request>
bool WhenItMayWait(Agent& agent, const Request&) {
  return agent.MayWait();
}
bool Refreshes(Agent&, const chaos::v1::DescribeRequest& request) {
  return request.refresh_capabilities();  // probes the host
}

const Method<chaos::v1::InjectRequest, chaos::v1::InjectResponse> kInject{
    &AsyncAgent::RequestInject, &Inject, &InjectsNow};
const Method<chaos::v1::RevertRequest, chaos::v1::RevertResponse> kRevert{
    &AsyncAgent::RequestRevert, &Revert, &WhenItMayWait};
const Method<chaos::v1::RevertExperimentRequest, chaos::v1::RevertExperimentResponse>
    kRevertExperiment{&AsyncAgent::RequestRevertExperiment, &RevertExperiment, &WhenItMayWait};
const Method<chaos::v1::ListFaultsRequest, chaos::v1::ListFaultsResponse> kListFaults{
    &AsyncAgent::RequestListFaults, &ListFaults, nullptr};
const Method<chaos::v1::KeepAliveRequest, chaos::v1::KeepAliveResponse> kKeepAlive{
    &AsyncAgent::RequestKeepAlive, &KeepAlive, nullptr};
const Method<chaos::v1::DescribeRequest, chaos::v1::DescribeResponse> kDescribe{
    &AsyncAgent::RequestDescribe, &Describe, &Refreshes};
const Method<chaos::v1::HaltRequest, chaos::v1::HaltResponse> kHalt{
    &AsyncAgent::RequestHalt, &Halt, &WhenItMayWait};
const Method<chaos::v1::ResumeRequest, chaos::v1::ResumeResponse> kResume{
    &AsyncAgent::RequestResume, &Resume, nullptr};

}  // namespace

AgentService::AgentService(Agent* agent) : agent_(agent), slow_calls_(2, "agent-slow-rpc") {}

AgentService::~AgentService() { Stop(); }

void AgentService::Register(grpc::ServerBuilder& builder) {
  builder.RegisterService(&async_);
  queue_ = builder.AddCompletionQueue();
}

void AgentService::Start(grpc::Server* server) {
  server_ = server;
  Await(this, kInject);
  Await(this, kRevert);
  Await(this, kRevertExperiment);
  Await(this, kListFaults);
  Await(this, kKeepAlive);
  Await(this, kDescribe);
  Await(this, kHalt);
  Await(this, kResume);
  CommandCall::Await(this);
  serving_ = std::thread([this] { Serve(); });
  pthread_setname_np(serving_.native_handle(), "agent-rpc");
}

void AgentService::Stop() {
  if (server_ == nullptr) return;
  server_->Shutdown();  // waits for every call; the serving thread answers meanwhile
  slow_calls_.Stop();   // idle by now
  queue_->Shutdown();
  serving_.join();  // it drains the queue, deleting what is left, then returns
  server_ = nullptr;
}

void AgentService::Serve() {
  void* tag = nullptr;
  bool ok = false;
  while (queue_->Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
}

}  // namespace chaos::agent
