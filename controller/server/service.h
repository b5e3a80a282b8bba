// ControllerService: chaos.v1.Controller over gRPC's callback API. Handlers
// are thin: wire type in, its size checked (request_limits.h), domain call
// (RunManager, AgentRegistry, Scheduler), absl::Status out, mapped 1:1 onto
// grpc::Status.
//
// When the history could not be opened (e.g. a corrupt database) the
// service still serves: agent registration and listing work, and every RPC
// that needs the history answers with the error that opening it gave
// (FAILED_PRECONDITION naming the file).
//
// A standby (several controllers on etcd, until Lead()) answers the reads
// from the shared store: GetRun, ListRuns, WatchRun (stored_run_watch.h),
// ListSchedules, and ListAgents (the stored agents, without liveness:
// last_seen 0, lost false). Every other call (a run's submit, abort or
// gate, HaltAll, ResumeAll, schedule changes, agent registration and
// ForgetAgent) is
// refused with UNAVAILABLE naming the leader, and changes nothing.
// Thread safety: handlers run on gRPC's threads; all state lives in the
// thread-safe domain objects.
#ifndef CHAOS_CONTROLLER_SERVICE_H_
#define CHAOS_CONTROLLER_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "chaos/v1/controller.grpc.pb.h"
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "controller/server/scheduler.h"
#include "controller/server/stored_run_watch.h"

namespace chaos::controller {

class ControllerService final : public chaos::v1::Controller::CallbackService {
 public:
  // `history` is null when it is unavailable; `history_status` then says
  // why. `leader` names the controller that leads now, for a standby's
  // refusals. The service is a standby until Lead().
  ControllerService(AgentRegistry* registry, HistoryStore* history, absl::Status history_status,
                    std::function<std::string()> leader);

  // From now on this controller leads: writes go to `runs` and
  // `scheduler` (null, like `history`, when the history is unavailable).
  // Once, from any thread.
  void Lead(RunManager* runs, Scheduler* scheduler);

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
  grpc::ServerUnaryReactor* ForgetAgent(grpc::CallbackServerContext* ctx,
                                        const chaos::v1::ForgetAgentRequest* req,
                                        chaos::v1::ForgetAgentResponse* resp) override;
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
  // OK on the leader, else UNAVAILABLE naming the leader.
  absl::Status NeedLeader() const;
  // OK when the leader's runs and schedules have a history.
  absl::Status NeedHistory() const;
  bool leading() const { return leading_.load(std::memory_order_acquire); }

  AgentRegistry* const registry_;
  HistoryStore* const history_;
  const absl::Status history_status_;
  const std::function<std::string()> leader_;
  // Set by Lead(), before leading_.
  RunManager* runs_ = nullptr;
  Scheduler* scheduler_ = nullptr;
  std::atomic<bool> leading_{false};
  // A standby's WatchRun.
  StoredRunWatches stored_watches_;
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
