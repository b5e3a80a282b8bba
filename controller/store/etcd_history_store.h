// EtcdHistoryStore: the history (history_store.h) in etcd, shared by the
// controllers that point at the same cluster and prefix.
//
// Layout under the prefix (every value a protobuf message, proto/chaos/v1):
//   PREFIX/layout                         "chaos-controller-store/1"
//   PREFIX/run/RUN_ID                     StoredRun (the Run without its report)
//   PREFIX/blob/RUN_ID/KIND/GEN/NNNNNN    the experiment text (KIND yaml) and
//                                         the report (KIND report) in chunks
//                                         of at most 512 KiB
//   PREFIX/event/RUN_ID/SEQ               RunEvent, SEQ zero-padded
//   PREFIX/schedule/NAME                  StoredSchedule
//   PREFIX/schedule-event/NAME/ID         ScheduleEvent, the newest
//                                         kMaxScheduleEvents kept
//   PREFIX/halt                           StoredHalt, the HaltAll flag
//   PREFIX/agent/ADDRESS                  AgentInfo (without its liveness)
// etcd refuses a request over 1.5 MiB by default, and a report can be
// bigger: its chunks are written first under a new generation, then the
// run's record naming that generation in one transaction, then the old
// generation is deleted. A reader reads the chunks at the revision of the
// record it read, so it never sees half of a report. etcd keeps every
// revision until it is compacted: run etcd with auto-compaction
// (docs/CONTROLLER.md, "High availability"). Chunks that no record names
// (a writer died between the two writes) are deleted by
// CollectOrphanChunks() when a controller starts to lead.
//
// FollowRuns watches the range from PREFIX/event/ to PREFIX/run/ (one etcd
// watch stream, on a thread of its own), not the report chunks; after
// etcd compacted revisions it had not delivered, it says "every run".
//
// Fencing: with SetFence(leader key), every write is a transaction that
// also compares the leader's key (etcd/election.h), so a controller that
// lost its leadership (a paused process, a partition) writes nothing:
// FAILED_PRECONDITION "fenced: ...". Reads are never fenced.
//
// Errors: Open() is UNAVAILABLE when etcd cannot be reached and
// FAILED_PRECONDITION naming a key when the prefix holds keys that are not
// this store's (another program's, another layout version); a value that
// does not parse is DATA_LOSS naming its key. Otherwise history_store.h.
// Thread safety: safe for concurrent use.
#ifndef CHAOS_CONTROLLER_STORE_ETCD_HISTORY_STORE_H_
#define CHAOS_CONTROLLER_STORE_ETCD_HISTORY_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chaos/v1/store.pb.h"
#include "controller/store/history_store.h"
#include "etcd/client.h"
#include "etcd/election.h"

namespace chaos::controller {

inline constexpr int kMaxScheduleEvents = 1000;

class EtcdHistoryStore final : public HistoryStore {
 public:
  // `client` is shared with the controller's election; `prefix` ends in '/'
  // ("/chaos/" by default), INVALID_ARGUMENT otherwise.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EtcdHistoryStore>> Open(
      std::shared_ptr<etcd::Client> client, std::string prefix);

  // Every later write holds only while `leader` leads; nullopt: unfenced.
  void SetFence(std::optional<etcd::LeaderKey> leader);

  // Deletes the chunks no run's record names: those of a writer that died
  // (or lost etcd) between writing a generation's chunks and the record
  // naming it, and old generations whose delete failed. Returns how many
  // generations it deleted. Must run while nothing else writes under the
  // prefix: the controller calls it once it leads (the previous leader is
  // fenced), before it serves. A run written since it was read keeps its
  // chunks.
  [[nodiscard]] absl::StatusOr<int> CollectOrphanChunks();

  // HistoryStore
  [[nodiscard]] absl::Status InsertRun(const chaos::v1::Run& run,
                                       const std::string& experiment_yaml) override;
  [[nodiscard]] absl::Status UpdateRun(const chaos::v1::Run& run) override;
  [[nodiscard]] absl::StatusOr<chaos::v1::Run> GetRun(const std::string& run_id) override;
  [[nodiscard]] absl::StatusOr<std::string> GetExperimentYaml(const std::string& run_id) override;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Run>> ListRuns(
      const RunFilter& filter) override;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Run>> ListUnfinishedRuns() override;
  [[nodiscard]] absl::StatusOr<std::map<chaos::v1::RunState, int64_t>> CountRunsByState() override;
  [[nodiscard]] absl::Status AppendEvents(
      const std::vector<chaos::v1::RunEvent>& events) override;
  using HistoryStore::ListEvents;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::RunEvent>> ListEvents(
      const std::string& run_id, int64_t after_seq) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RunFeed>> FollowRuns(
      std::function<void(const std::string& run_id)> changed) override;
  [[nodiscard]] absl::Status InsertSchedule(const chaos::v1::Schedule& schedule,
                                            int64_t considered_until_ms) override;
  [[nodiscard]] absl::Status SwapSchedule(const StoredSchedule& read,
                                          const StoredSchedule& next) override;
  [[nodiscard]] absl::Status DeleteSchedule(const std::string& name) override;
  [[nodiscard]] absl::StatusOr<StoredSchedule> GetSchedule(const std::string& name) override;
  [[nodiscard]] absl::StatusOr<std::vector<StoredSchedule>> ListSchedules() override;
  [[nodiscard]] absl::Status AppendScheduleEvent(const std::string& name,
                                                 const chaos::v1::ScheduleEvent& event) override;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::ScheduleEvent>> ListScheduleEvents(
      const std::string& name, int limit) override;
  [[nodiscard]] absl::StatusOr<int> PruneScheduleRuns(const std::string& name, int keep) override;
  [[nodiscard]] absl::Status SetHaltState(const HaltState& state) override;
  [[nodiscard]] absl::StatusOr<HaltState> GetHaltState() override;
  [[nodiscard]] absl::Status PutAgent(const chaos::v1::AgentInfo& info) override;
  [[nodiscard]] absl::Status DeleteAgent(const std::string& address) override;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::AgentInfo>> ListAgents() override;

 private:
  EtcdHistoryStore(std::shared_ptr<etcd::Client> client, std::string prefix)
      : client_(std::move(client)), prefix_(std::move(prefix)) {}
  absl::Status CheckLayout();

  // A run's record and the revision it was last written at.
  struct RunRecord {
    chaos::v1::StoredRun stored;
    int64_t mod_revision = 0;
    int64_t create_revision = 0;
  };
  absl::StatusOr<RunRecord> ReadRun(const std::string& run_id);
  absl::StatusOr<std::vector<RunRecord>> ReadAllRuns();
  absl::StatusOr<chaos::v1::Run> WithReport(const RunRecord& record);
  absl::StatusOr<std::vector<chaos::v1::Run>> WithReports(const std::vector<RunRecord>& records);
  // Chunks of `data` under a new generation of the run's KIND; its name.
  absl::StatusOr<std::string> WriteBlob(const std::string& run_id, const std::string& kind,
                                        const std::string& data);
  absl::StatusOr<std::string> ReadBlob(const std::string& run_id, const std::string& kind,
                                       const std::string& generation, int64_t revision);
  absl::Status DeleteBlob(const std::string& run_id, const std::string& kind,
                          const std::string& generation);
  // Runs `txn` with the fence's compare added. `what` names the write for
  // errors; `refused` is the error when the txn's own compares fail.
  absl::StatusOr<etcdserverpb::TxnResponse> Write(etcdserverpb::TxnRequest txn,
                                                  const absl::Status& refused);

  std::string RunKey(const std::string& run_id) const;
  std::string BlobPrefix(const std::string& run_id) const;
  std::string EventPrefix(const std::string& run_id) const;
  std::string EventKey(const std::string& run_id, int64_t seq) const;
  std::string ScheduleKey(const std::string& name) const;
  std::string ScheduleEventPrefix(const std::string& name) const;

  const std::shared_ptr<etcd::Client> client_;
  const std::string prefix_;
  absl::Mutex mu_;
  std::optional<etcd::LeaderKey> fence_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_STORE_ETCD_HISTORY_STORE_H_
