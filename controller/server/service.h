// ControllerService: chaos.v1.Controller over gRPC's callback API. Handlers
// are thin: wire type in, its size checked (request_limits.h), domain call
// (RunManager, AgentRegistry, Scheduler), absl::Status out, mapped 1:1 onto
// grpc::Status.
//
// When the history could not be opened (e.g. a corrupt database) the
// service still serves: agent registration and listing work, and every RPC
// that needs the history answers with the error that opening it gave
// (FAILED_PRECONDITION naming the file).
// Thread safety: handlers run on gRPC's threads; all state lives in the
// thread-safe domain objects.
#ifndef CHAOS_CONTROLLER_SERVICE_H_
#define CHAOS_CONTROLLER_SERVICE_H_

#include "absl/status/status.h"
#include "chaos/v1/controller.grpc.pb.h"
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "controller/server/scheduler.h"

namespace chaos::controller {

class ControllerService final : public chaos::v1::Controller::CallbackService {
 public:
  // `runs` and `scheduler` are null when the history is unavailable;
  // `history_status` then says why.
  ControllerService(AgentRegistry* registry, RunManager* runs, Scheduler* scheduler,
                    absl::Status history_status);

  grpc::ServerUnaryReactor* SubmitRun(grpc::CallbackServerContext* ctx,
                                      const chaos::v1::SubmitRunRequest* req,
                                      chaos::v1::Run* resp) override;
  grpc::ServerUnaryReactor* GetRun(grpc::CallbackServerContext* ctx,
                                   const chaos::v1::GetRunRequest* req,
                                   chaos::v1::Run* resp) override;
  grpc::ServerUnaryReactor* ListRuns(grpc::CallbackServerContext* ctx,
                                     const chaos::v1::ListRunsRequest* req,
                                     chaos::v1::ListRunsResponse* resp) override;
  grpc::ServerWriteReactor<chaos::v1::RunEvent>* WatchRun(
      grpc::CallbackServerContext* ctx, const chaos::v1::WatchRunRequest* req) override;
  grpc::ServerUnaryReactor* AbortRun(grpc::CallbackServerContext* ctx,
                                     const chaos::v1::AbortRunRequest* req,
                                     chaos::v1::Run* resp) override;
  grpc::ServerUnaryReactor* AnswerGate(grpc::CallbackServerContext* ctx,
                                       const chaos::v1::AnswerGateRequest* req,
                                       chaos::v1::Run* resp) override;
  grpc::ServerUnaryReactor* RegisterAgent(grpc::CallbackServerContext* ctx,
                                          const chaos::v1::RegisterAgentRequest* req,
                                          chaos::v1::RegisterAgentResponse* resp) override;
  grpc::ServerUnaryReactor* ListAgents(grpc::CallbackServerContext* ctx,
                                       const chaos::v1::ListAgentsRequest* req,
                                       chaos::v1::ListAgentsResponse* resp) override;
  grpc::ServerUnaryReactor* HaltAll(grpc::CallbackServerContext* ctx,
                                    const chaos::v1::HaltAllRequest* req,
                                    chaos::v1::HaltAllResponse* resp) override;
  grpc::ServerUnaryReactor* ResumeAll(grpc::CallbackServerContext* ctx,
                                      const chaos::v1::ResumeAllRequest* req,
                                      chaos::v1::ResumeAllResponse* resp) override;
  grpc::ServerUnaryReactor* CreateSchedule(grpc::CallbackServerContext* ctx,
                                           const chaos::v1::CreateScheduleRequest* req,
                                           chaos::v1::Schedule* resp) override;
  grpc::ServerUnaryReactor* ListSchedules(grpc::CallbackServerContext* ctx,
                                          const chaos::v1::ListSchedulesRequest* req,
                                          chaos::v1::ListSchedulesResponse* resp) override;
  grpc::ServerUnaryReactor* SetSchedulePaused(grpc::CallbackServerContext* ctx,
                                              const chaos::v1::SetSchedulePausedRequest* req,
                                              chaos::v1::Schedule* resp) override;
  grpc::ServerUnaryReactor* DeleteSchedule(grpc::CallbackServerContext* ctx,
                                           const chaos::v1::DeleteScheduleRequest* req,
                                           chaos::v1::DeleteScheduleResponse* resp) override;

 private:
  absl::Status NeedHistory() const;

  AgentRegistry* const registry_;
  RunManager* const runs_;
  Scheduler* const scheduler_;
  const absl::Status history_status_;
};

// Adapts RunManager to the scheduler's RunLauncher.
class ManagerLauncher final : public RunLauncher {
 public:
  explicit ManagerLauncher(RunManager* runs) : runs_(runs) {}
  absl::Status Check(const chaos::v1::Schedule& schedule) override;
  absl::StatusOr<std::string> Launch(const chaos::v1::Schedule& schedule) override;
  bool IsActive(const std::string& run_id) override { return runs_->IsActive(run_id); }

 private:
  RunManager* const runs_;
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_SERVICE_H_
