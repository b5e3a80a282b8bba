// FakeAgent: a test agent that misbehaves on purpose, for the engine's bad
// input tests. It serves the Agent API on 127.0.0.1 (on the port given, or
// an OS-chosen one), answers Describe like an agent able to run every fault
// kind, and holds every Inject call until Release() (or its destructor), so
// a test decides when each answers; then:
// - kSlow: answers it as injected (nothing is done on the host); never
//   released, it does not answer before the caller's deadline;
// - kError: fails it with INTERNAL "fake agent: ...".
// Revert, RevertExperiment, ListFaults and KeepAlive answer at once from
// what it has "injected"; RunCommand records the command and answers at
// once (nothing runs): exit 0, or in kError mode INTERNAL. Thread-safe.
#ifndef CHAOS_TESTS_CONTROLLER_ENGINE_FAKE_AGENT_H_
#define CHAOS_TESTS_CONTROLLER_ENGINE_FAKE_AGENT_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "grpcpp/server.h"

namespace chaos::testing {

class FakeAgent final : public chaos::v1::Agent::Service {
 public:
  enum class Mode { kSlow, kError };
  explicit FakeAgent(Mode mode, int port = 0);  // serving when it returns
  ~FakeAgent() override;

  std::string address() const;
  // Inject calls held now, and from here on, return.
  void Release();
  // Inject calls received so far (also those still held).
  int injects_received();
  // The commands RunCommand received, their argv joined by spaces.
  std::vector<std::string> commands_received();

  grpc::Status Describe(grpc::ServerContext*, const chaos::v1::DescribeRequest*,
                        chaos::v1::DescribeResponse* resp) override;
  grpc::Status Inject(grpc::ServerContext*, const chaos::v1::InjectRequest* req,
                      chaos::v1::InjectResponse* resp) override;
  grpc::Status Revert(grpc::ServerContext*, const chaos::v1::RevertRequest* req,
                      chaos::v1::RevertResponse* resp) override;
  grpc::Status RevertExperiment(grpc::ServerContext*,
                                const chaos::v1::RevertExperimentRequest* req,
                                chaos::v1::RevertExperimentResponse* resp) override;
  grpc::Status ListFaults(grpc::ServerContext*, const chaos::v1::ListFaultsRequest* req,
                          chaos::v1::ListFaultsResponse* resp) override;
  grpc::Status KeepAlive(grpc::ServerContext*, const chaos::v1::KeepAliveRequest* req,
                         chaos::v1::KeepAliveResponse* resp) override;
  grpc::Status RunCommand(grpc::ServerContext*, const chaos::v1::RunCommandRequest* req,
                          chaos::v1::RunCommandResponse* resp) override;

 private:
  const Mode mode_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  int injects_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> active_ ABSL_GUARDED_BY(mu_);  // fault ids "injected"
  std::vector<std::string> commands_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_CONTROLLER_ENGINE_FAKE_AGENT_H_
