// AgentService: the chaos.v1.Agent gRPC service over an Agent, served with
// gRPC's asynchronous API. Handlers only convert and map absl::Status to
// grpc::Status; the canonical codes are the same numbers.
//
// One thread blocks on the server's completion queue, with no deadline, and
// answers the calls there: an idle agent's serving thread never wakes, and a
// call costs the agent about half the CPU of gRPC's callback API, whose
// threads poll (docs/BENCHMARKS.md, "what one RPC costs the agent"). A
// second thread on the same queue would give that saving back, and handing
// a call to another thread costs more than the call (bench/cycle_cost.py).
// So only the calls that may take long leave it, for a pool of two threads:
// - Inject of a fault that starts now (a memory-pressure fault answers once
//   its memory is touched, a disk fill may write zeros; a scheduled start
//   only arms the timer) and Describe with refresh_capabilities (it probes
//   the host);
// - the calls that end faults (Revert, RevertExperiment, Halt) while an
//   inject is in progress or a command runs (Agent::MayWait): they wait for
//   an inject of a fault they end, and for the commands they stop.
// Keep-alives, listings, Describe and Resume run on the serving thread, so
// they never wait behind an inject: a slow inject cannot make a lease lapse.
// RunCommand blocks for as long as its command runs, on a thread of its
// own; when the call is cancelled (by its caller, its deadline or a lost
// connection) the command's switch is flipped, which kills the command's
// process group.
//
// Life: Register() before the server is built, Start(server) once it is,
// and Stop() to end: it shuts the server down (waiting for every call, so
// stop the commands first: Agent::StopCommands), then the queue and the
// threads. The destructor stops a started service that was not stopped.
#ifndef CHAOS_AGENT_SERVICE_H_
#define CHAOS_AGENT_SERVICE_H_

#include <memory>
#include <thread>

#include "agent/agent.h"
#include "agent/worker_pool.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

namespace chaos::agent {

class AgentService {
 public:
  explicit AgentService(Agent* agent);
  ~AgentService();
  AgentService(const AgentService&) = delete;
  AgentService& operator=(const AgentService&) = delete;

  void Register(grpc::ServerBuilder& builder);
  void Start(grpc::Server* server);
  void Stop();

  // For the calls (service.cc).
  Agent& agent() { return *agent_; }
  chaos::v1::Agent::AsyncService& async() { return async_; }
  grpc::ServerCompletionQueue* queue() { return queue_.get(); }
  WorkerPool& slow_calls() { return slow_calls_; }

 private:
  void Serve();

  Agent* agent_;
  chaos::v1::Agent::AsyncService async_;
  std::unique_ptr<grpc::ServerCompletionQueue> queue_;
  WorkerPool slow_calls_;
  std::thread serving_;
  grpc::Server* server_ = nullptr;  // set while started
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_SERVICE_H_
