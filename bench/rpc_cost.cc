// What one unary call costs a gRPC server, callback API against the
// synchronous one and the asynchronous one (threads blocking on its
// completion queue), each serving the Agent API's KeepAlive as an idle agent
// does (NOT_FOUND at once). bench/rpc_cost.py starts each server, drives
// it with the `call` mode and reads the server's CPU time and task
// switches from /proc. bench/cycle_cost.py drives a real agent with the
// `pause-cycles` mode.
//
//   rpc_cost serve-callback PORT_FILE
//   rpc_cost serve-sync PORT_FILE POLLERS
//   rpc_cost serve-async PORT_FILE THREADS
//   rpc_cost call ADDRESS CALLS CONCURRENCY
//   rpc_cost pause-cycles ADDRESS CYCLES PID   (inject and revert a pause of
//                                               PID on a real agent)
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chaos/v1/agent.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace {

const grpc::Status kNone(grpc::StatusCode::NOT_FOUND, "no active fault");

class CallbackAgent final : public chaos::v1::Agent::CallbackService {
  grpc::ServerUnaryReactor* KeepAlive(grpc::CallbackServerContext* ctx,
                                      const chaos::v1::KeepAliveRequest*,
                                      chaos::v1::KeepAliveResponse*) override {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(kNone);
    return reactor;
  }
};

class SyncAgent final : public chaos::v1::Agent::Service {
  grpc::Status KeepAlive(grpc::ServerContext*, const chaos::v1::KeepAliveRequest*,
                         chaos::v1::KeepAliveResponse*) override {
    return kNone;
  }
};

int Serve(grpc::Service* service, const std::string& port_file, int pollers) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  if (pollers > 0) {
    builder.SetSyncServerOption(grpc::ServerBuilder::NUM_CQS, 1);
    builder.SetSyncServerOption(grpc::ServerBuilder::MIN_POLLERS, pollers);
    builder.SetSyncServerOption(grpc::ServerBuilder::MAX_POLLERS, pollers);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return 1;
  std::ofstream(port_file) << port << "\n";
  server->Wait();
  return 0;
}

// One KeepAlive call of the asynchronous server: requested, then answered.
struct AsyncCall {
  grpc::ServerContext ctx;
  chaos::v1::KeepAliveRequest request;
  grpc::ServerAsyncResponseWriter<chaos::v1::KeepAliveResponse> responder{&ctx};
  bool answered = false;
};

void RequestKeepAlive(chaos::v1::Agent::AsyncService* service, grpc::ServerCompletionQueue* cq) {
  auto* call = new AsyncCall;
  service->RequestKeepAlive(&call->ctx, &call->request, &call->responder, cq, cq, call);
}

void AnswerKeepAlives(chaos::v1::Agent::AsyncService* service, grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) {
    auto* call = static_cast<AsyncCall*>(tag);
    if (call->answered || !ok) {
      delete call;
      continue;
    }
    RequestKeepAlive(service, cq);
    call->answered = true;
    call->responder.FinishWithError(kNone, call);
  }
}

int ServeAsync(const std::string& port_file, int threads) {
  chaos::v1::Agent::AsyncService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::ServerCompletionQueue> cq = builder.AddCompletionQueue();
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return 1;
  std::ofstream(port_file) << port << "\n";
  RequestKeepAlive(&service, cq.get());
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(AnswerKeepAlives, &service, cq.get());
  AnswerKeepAlives(&service, cq.get());
  for (std::thread& t : pool) t.join();
  return 0;
}

int Call(const std::string& address, int calls, int concurrency) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = chaos::v1::Agent::NewStub(channel);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, n = calls / concurrency] {
      for (int i = 0; i < n; ++i) {
        chaos::v1::KeepAliveRequest req;
        req.set_experiment_id("bench");
        chaos::v1::KeepAliveResponse resp;
        grpc::ClientContext ctx;
        stub->KeepAlive(&ctx, req, &resp);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return 0;
}

bool OkOrSay(const grpc::Status& s, const char* what) {
  if (!s.ok()) std::cerr << what << ": " << s.error_message() << "\n";
  return s.ok();
}

int PauseCycles(const std::string& address, int cycles, int pid) {
  auto stub = chaos::v1::Agent::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  for (int i = 0; i < cycles; ++i) {
    chaos::v1::InjectRequest inject;
    inject.mutable_spec()->set_fault_id("cycle-" + std::to_string(i));
    inject.mutable_spec()->set_experiment_id("bench");
    inject.mutable_spec()->mutable_duration()->set_seconds(60);
    inject.mutable_spec()->mutable_process_pause()->mutable_target()->set_pid(pid);
    grpc::ClientContext a;
    chaos::v1::InjectResponse injected;
    if (!OkOrSay(stub->Inject(&a, inject, &injected), "inject")) return 1;
    chaos::v1::RevertRequest revert;
    revert.set_fault_id(inject.spec().fault_id());
    grpc::ClientContext b;
    chaos::v1::RevertResponse reverted;
    if (!OkOrSay(stub->Revert(&b, revert, &reverted), "revert")) return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "serve-callback" && argc == 3) {
    CallbackAgent service;
    return Serve(&service, argv[2], 0);
  }
  if (mode == "serve-sync" && argc == 4) {
    SyncAgent service;
    return Serve(&service, argv[2], std::atoi(argv[3]));
  }
  if (mode == "serve-async" && argc == 4) return ServeAsync(argv[2], std::atoi(argv[3]));
  if (mode == "call" && argc == 5) return Call(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "pause-cycles" && argc == 5) {
    return PauseCycles(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  }
  std::cerr << "usage: rpc_cost serve-callback PORT_FILE | serve-sync PORT_FILE POLLERS |"
               " serve-async PORT_FILE THREADS | call ADDRESS CALLS CONCURRENCY |"
               " pause-cycles ADDRESS CYCLES PID\n";
  return 2;
}
