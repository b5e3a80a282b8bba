// RunManager: the controller's runs. Submit() parses an experiment, checks
// every command it holds against the controller's command policy
// (controller/policy/command_policy.h), resolves its agents from the
// registry, records the run (with its agents, before anything is injected)
// in the history and runs it on a thread of its own with Runner. Every
// runner event is appended to the run's journal in the history and handed
// to the run's watchers, in order.
//
// Abort() interrupts a live run (the Runner rolls back); aborting an ended
// run is OK and returns it. HaltAll() refuses new runs, interrupts the live
// ones and halts every registered agent; ResumeAll() undoes it. The halt
// flag is kept in the history store (HaltState), written while the agents
// are called, so a restarted controller or the next leader still refuses
// runs until someone resumes.
//
// Crash safety: Recover() finds runs an earlier controller process left
// RUNNING or PENDING, calls RevertExperiment(run_id) on every agent the run
// recorded (--fan-out agents at once), checks with ListFaults that none of the run's faults may still
// affect the host (proto/fault_state.h MayAffectHost), runs the rollback
// actions of the experiment text recorded with the run (those the command
// policy allows now; a refused one is left), journals each step,
// and only then marks the run INTERRUPTED; otherwise ROLLBACK_INCOMPLETE,
// its reason naming what is left (an agent not reached, a fault still on
// the host, a rollback action that failed; the agents' leases and revert
// retries remain the backstop).
//
// The destructor interrupts live runs, waits for their rollback and marks
// them INTERRUPTED. Thread safety: safe for concurrent use.
#ifndef CHAOS_CONTROLLER_RUN_MANAGER_H_
#define CHAOS_CONTROLLER_RUN_MANAGER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "chaos/v1/controller.pb.h"
#include "controller/store/history_store.h"
#include "controller/store/journal_writer.h"
#include "controller/server/registry.h"
#include "controller/engine/runner.h"
#include "controller/metrics/metrics.h"
#include "controller/policy/command_policy.h"
#include "rpc/channel_cache.h"
#include "rpc/credentials.h"

namespace chaos::controller {

struct SubmitArgs {
  std::string experiment_yaml;
  uint64_t seed = 0;
  bool dry_run = false;
  std::string caller;
  std::string schedule;
  // The variables the client expanded into experiment_yaml (recorded).
  std::map<std::string, std::string> variables;
};

struct RunManagerOptions {
  absl::Duration lease = absl::Seconds(15);
  absl::Duration rpc_timeout = absl::Seconds(10);
  // --max-agents-per-run: a run that would inject on more agents is
  // refused (see ResolveTargets in registry.h); 0: no limit.
  size_t max_agents_per_run = 0;
  // How agents are reached (runs, recovery, HaltAll, ResumeAll).
  rpc::TransportOptions transport;
  // --fan-out: how many agents are called at once: by a run (RunOptions),
  // HaltAll, ResumeAll and Recover().
  size_t fan_out = 64;
  // --start-lead (RunOptions::start_lead).
  absl::Duration start_lead = absl::ZeroDuration();
  // --command-policy: the commands a submitted experiment may run here.
  // Default: none.
  CommandPolicy command_policy;
  // Updated by the runs and by Recover() (its failed reverts and rollback
  // actions); null: none kept.
  ControllerMetrics* metrics = nullptr;
  // RunOptions::authority for every run; null: none.
  std::function<absl::Status()> authority;
};

// Receives one run's events after the ones already journaled. Called with
// the manager's lock held: must not block nor call back into the manager.
class RunWatcher {
 public:
  virtual ~RunWatcher() = default;
  virtual void OnEvent(const chaos::v1::RunEvent& event) = 0;
  virtual void OnEnd() = 0;  // the run ended; no more events
};

// Receives every run's start, events and end while registered (the
// dashboard's stream). Called with the manager's lock held: must not block
// nor call back into the manager.
class RunsWatcher {
 public:
  virtual ~RunsWatcher() = default;
  virtual void OnRunStarted(const chaos::v1::Run& run) = 0;
  virtual void OnRunEvent(const chaos::v1::RunEvent& event) = 0;
  virtual void OnRunEnded(const chaos::v1::Run& run) = 0;  // report_json left empty
};

// One registered agent as it describes itself (without probing its
// capabilities again); `status` is the Describe call's.
struct AgentDescription {
  std::string address;
  grpc::Status status;
  chaos::v1::DescribeResponse description;
};

class RunManager {
 public:
  RunManager(HistoryStore* history, AgentRegistry* registry, RunManagerOptions options);
  ~RunManager();

  // INVALID_ARGUMENT (experiment_yaml: line:column: message) for a bad file,
  // PERMISSION_DENIED for a command the command policy does not allow,
  // FAILED_PRECONDITION when halted or no agent is live; nothing is recorded
  // then. A dry run parses, checks and resolves agents, returns the run it
  // would start, records nothing.
  [[nodiscard]] absl::StatusOr<chaos::v1::Run> Submit(const SubmitArgs& args);
  // What Submit refuses about the experiment itself, whatever the agents:
  // a text that does not parse (INVALID_ARGUMENT), a command the command
  // policy does not allow (PERMISSION_DENIED). Records nothing.
  [[nodiscard]] absl::Status Check(const SubmitArgs& args);
  [[nodiscard]] absl::StatusOr<chaos::v1::Run> Get(const std::string& run_id);
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Run>> List(const RunFilter& filter);
  [[nodiscard]] absl::StatusOr<chaos::v1::Run> Abort(const std::string& run_id,
                                                     const std::string& caller,
                                                     const std::string& reason);
  // Answers a live run's manual gate (see Runner::AnswerGate). NOT_FOUND
  // for an unknown run or step; FAILED_PRECONDITION when the run has ended
  // or the gate is not waiting.
  [[nodiscard]] absl::StatusOr<chaos::v1::Run> AnswerGate(const std::string& run_id,
                                                          const std::string& step, bool confirm,
                                                          const std::string& caller,
                                                          const std::string& reason);
  bool IsActive(const std::string& run_id);

  // Fills `past` with the journal so far. Returns true when the run is live
  // and `watcher` now receives its further events until OnEnd (or
  // Unsubscribe); false when it has ended (no subscription). NOT_FOUND for
  // an unknown run.
  [[nodiscard]] absl::StatusOr<bool> Subscribe(const std::string& run_id, RunWatcher* watcher,
                                               std::vector<chaos::v1::RunEvent>* past);
  void Unsubscribe(const std::string& run_id, RunWatcher* watcher);

  // Every run this process starts from now on, until UnwatchAll.
  void WatchAll(RunsWatcher* watcher);
  void UnwatchAll(RunsWatcher* watcher);

  // Describe on every registered agent, --fan-out at once, each waited for
  // up to `timeout`, in the registry's order: its active faults and
  // whether it is halted.
  std::vector<AgentDescription> DescribeEveryAgent(absl::Duration timeout);

  chaos::v1::HaltAllResponse HaltAll(const std::string& caller, const std::string& reason);
  // The store's error when it did not clear the halt flag; nothing is
  // resumed then.
  [[nodiscard]] absl::StatusOr<chaos::v1::ResumeAllResponse> ResumeAll(const std::string& caller);

  // Completes the rollback of runs an earlier process left unfinished:
  // those recorded before this manager was created (runs started since are
  // this process's own, live or not). Blocks until done; returns how many
  // runs it handled.
  [[nodiscard]] absl::StatusOr<int> Recover();

 private:
  struct LiveRun;
  // Numbers the event and queues it in journal_; the ticket to wait for
  // (LiveRun::AfterEvent) until it is kept and published.
  uint64_t QueueEvent(LiveRun* live, const JournalEvent& event) ABSL_LOCKS_EXCLUDED(mu_);
  // journal_'s publish: each event to its live run and the watchers.
  void Publish(const std::vector<chaos::v1::RunEvent>& events, const absl::Status& written)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Finish(const std::shared_ptr<LiveRun>& live, const RunReport& report);
  void Reap() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CheckAccepting() ABSL_LOCKS_EXCLUDED(mu_);
  // The submitted experiment, parsed and allowed by the command policy.
  absl::StatusOr<experiments::Experiment> Admit(const SubmitArgs& args,
                                                std::map<std::string, std::string>* variables);
  chaos::v1::Run NewRun(const experiments::Experiment& exp, const SubmitArgs& args,
                        const std::vector<std::string>& agents,
                        const std::map<std::string, std::string>& variables);
  RunOptions OptionsFor(const chaos::v1::Run& run);
  // The live run `run_id`, or null when it is not live in this process.
  std::shared_ptr<LiveRun> FindLive(const std::string& run_id) ABSL_LOCKS_EXCLUDED(mu_);
  void Journal(chaos::v1::Run* run, int* seq, const std::string& type, const std::string& agent,
               const std::string& message);
  // Recover() of one run, and its three steps; each returns what is left
  // ("" or empty when nothing) and journals what it did.
  absl::Status RecoverRun(chaos::v1::Run& run);
  std::string RecoverRevert(chaos::v1::Run* run, int* seq, const std::string& agent);
  std::vector<std::string> RecoverVerify(chaos::v1::Run* run, int* seq, const std::string& agent);
  std::vector<std::string> RecoverRollbackActions(chaos::v1::Run* run, int* seq);
  // Makes `call` to every registered agent, options_.fan_out at once, on
  // its kept channel (channels_), with a context of `timeout`
  // (rpc::CallReconnecting); returns each agent's address and status, in
  // the registry's order (the call's index is the agent's in that order).
  using AgentCall = std::function<grpc::Status(chaos::v1::Agent::Stub&, size_t index,
                                               grpc::ClientContext*)>;
  std::vector<std::pair<std::string, grpc::Status>> CallEveryAgent(absl::Duration timeout,
                                                                   const AgentCall& call);

  HistoryStore* const history_;
  AgentRegistry* const registry_;
  const RunManagerOptions options_;
  const int64_t created_unix_ms_;
  // One channel per agent for every run, HaltAll, ResumeAll and recovery:
  // one connection (and TLS handshake) per agent, not one per call.
  rpc::ChannelCache channels_;
  absl::Mutex mu_;
  // The live runs' events, queued under mu_ in their order.
  JournalWriter journal_;
  // Serializes Journal(): the sequence number and the history's appends.
  absl::Mutex journal_mu_;
  std::map<std::string, std::shared_ptr<LiveRun>> live_ ABSL_GUARDED_BY(mu_);
  bool halted_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::set<RunsWatcher*> all_watchers_ ABSL_GUARDED_BY(mu_);
};

chaos::v1::RunState StateOf(RunOutcome outcome, bool operator_abort);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_RUN_MANAGER_H_
