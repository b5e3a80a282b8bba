#include "controller/store/etcd_history_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "base/status_macros.h"
#include "etcd/watch.h"
#include "proto/run_state.h"

namespace chaos::controller {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::TxnRequest;

constexpr char kLayout[] = "chaos-controller-store/1";
// Well below etcd's default request limit of 1.5 MiB.
constexpr size_t kChunkBytes = 512 * 1024;

Compare KeyCompare(const std::string& key, Compare::CompareTarget target,
                   Compare::CompareResult result, int64_t value) {
  Compare c;
  c.set_key(key);
  c.set_target(target);
  c.set_result(result);
  if (target == Compare::VERSION) c.set_version(value);
  if (target == Compare::MOD) c.set_mod_revision(value);
  return c;
}
Compare Absent(const std::string& key) {
  return KeyCompare(key, Compare::VERSION, Compare::EQUAL, 0);
}
Compare Present(const std::string& key) {
  return KeyCompare(key, Compare::VERSION, Compare::GREATER, 0);
}

void AddPut(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
            const std::string& key, const std::string& value) {
  etcdserverpb::PutRequest* put = ops->Add()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
}
void AddDeletePrefix(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
                     const std::string& prefix) {
  etcdserverpb::DeleteRangeRequest* del = ops->Add()->mutable_request_delete_range();
  del->set_key(prefix);
  del->set_range_end(etcd::PrefixEnd(prefix));
}

template <typename Message>
absl::StatusOr<Message> Parse(const etcd::KeyValue& kv) {
  Message m;
  if (!m.ParseFromString(kv.value)) {
    return absl::DataLossError(absl::StrCat("etcd key ", kv.key, ": its value does not parse"));
  }
  return m;
}

std::string NewGeneration() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen;
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(*gen));
}

absl::Status NoRun(const std::string& run_id) {
  return absl::NotFoundError(absl::StrCat("run_id: no run ", run_id));
}
absl::Status NoSchedule(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("name: no schedule named \"", name, "\""));
}

// Newest first: by start time, then by creation.
bool NewerFirst(const chaos::v1::Run& a, int64_t a_created, const chaos::v1::Run& b,
                int64_t b_created) {
  if (a.started_at_unix_ms() != b.started_at_unix_ms()) {
    return a.started_at_unix_ms() > b.started_at_unix_ms();
  }
  return a_created > b_created;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdHistoryStore>> EtcdHistoryStore::Open(
    std::shared_ptr<etcd::Client> client, std::string prefix) {
  if (prefix.empty() || prefix.front() != '/' || prefix.back() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd prefix \"", prefix, "\": want a path that starts and ends with /"));
  }
  std::unique_ptr<EtcdHistoryStore> store(new EtcdHistoryStore(std::move(client), prefix));
  RETURN_IF_ERROR(store->CheckLayout());
  return store;
}

absl::Status EtcdHistoryStore::CheckLayout() {
  const std::string layout_key = prefix_ + "layout";
  ASSIGN_OR_RETURN(std::optional<etcd::KeyValue> layout, client_->Get(layout_key));
  if (layout.has_value()) {
    if (layout->value == kLayout) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "etcd prefix ", prefix_, ": ", layout_key, " says \"", layout->value.substr(0, 64),
        "\", not \"", kLayout, "\": another program's keys, or another version's; "
        "choose another --store prefix"));
  }
  ASSIGN_OR_RETURN(etcd::Range any, client_->GetPrefix(prefix_, 1));
  if (!any.kvs.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "etcd prefix ", prefix_, " holds keys that are not a chaos controller's store (",
        any.kvs.front().key, "); choose another --store prefix"));
  }
  TxnRequest txn;
  *txn.add_compare() = Absent(layout_key);
  AddPut(txn.mutable_success(), layout_key, kLayout);
  ASSIGN_OR_RETURN(etcdserverpb::TxnResponse resp, client_->Txn(txn));
  // Another controller may have written it first: check what it wrote.
  return resp.succeeded() ? absl::OkStatus() : CheckLayout();
}

void EtcdHistoryStore::SetFence(std::optional<etcd::LeaderKey> leader) {
  absl::MutexLock lock(&mu_);
  fence_ = std::move(leader);
}

absl::StatusOr<etcdserverpb::TxnResponse> EtcdHistoryStore::Write(TxnRequest txn,
                                                                  const absl::Status& refused) {
  std::optional<etcd::LeaderKey> fence;
  {
    absl::MutexLock lock(&mu_);
    fence = fence_;
  }
  if (fence.has_value()) {
    *txn.add_compare() = etcd::LeaderCompare(*fence);
    txn.add_failure()->mutable_request_range()->set_key(fence->key());
  }
  ASSIGN_OR_RETURN(etcdserverpb::TxnResponse resp, client_->Txn(txn));
  if (resp.succeeded()) return resp;
  if (fence.has_value()) {
    const etcdserverpb::RangeResponse& leader =
        resp.responses(resp.responses_size() - 1).response_range();
    if (leader.kvs_size() == 0 || leader.kvs(0).create_revision() != fence->rev()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "fenced: this controller no longer leads (its leader key ", fence->key(),
          " is gone); it writes nothing"));
    }
  }
  return refused;
}

std::string EtcdHistoryStore::RunKey(const std::string& run_id) const {
  return absl::StrCat(prefix_, "run/", run_id);
}
std::string EtcdHistoryStore::BlobPrefix(const std::string& run_id) const {
  return absl::StrCat(prefix_, "blob/", run_id, "/");
}
std::string EtcdHistoryStore::EventPrefix(const std::string& run_id) const {
  return absl::StrCat(prefix_, "event/", run_id, "/");
}
std::string EtcdHistoryStore::EventKey(const std::string& run_id, int64_t seq) const {
  return absl::StrFormat("%s%010d", EventPrefix(run_id), seq);
}
std::string EtcdHistoryStore::ScheduleKey(const std::string& name) const {
  return absl::StrCat(prefix_, "schedule/", name);
}
std::string EtcdHistoryStore::ScheduleEventPrefix(const std::string& name) const {
  return absl::StrCat(prefix_, "schedule-event/", name, "/");
}

absl::StatusOr<std::string> EtcdHistoryStore::WriteBlob(const std::string& run_id,
                                                        const std::string& kind,
                                                        const std::string& data) {
  const std::string generation = NewGeneration();
  const std::string base = absl::StrCat(BlobPrefix(run_id), kind, "/", generation, "/");
  for (size_t offset = 0, n = 0; offset < data.size(); offset += kChunkBytes, ++n) {
    TxnRequest txn;
    AddPut(txn.mutable_success(), absl::StrFormat("%s%06d", base, n),
           data.substr(offset, kChunkBytes));
    RETURN_IF_ERROR(Write(std::move(txn), absl::InternalError("unreachable")).status());
  }
  return generation;
}

absl::StatusOr<std::string> EtcdHistoryStore::ReadBlob(const std::string& run_id,
                                                       const std::string& kind,
                                                       const std::string& generation,
                                                       int64_t revision) {
  ASSIGN_OR_RETURN(etcd::Range chunks,
                   client_->GetPrefix(absl::StrCat(BlobPrefix(run_id), kind, "/", generation, "/"),
                                      0, revision));
  std::string out;
  for (const etcd::KeyValue& kv : chunks.kvs) out += kv.value;
  return out;
}

absl::Status EtcdHistoryStore::DeleteBlob(const std::string& run_id, const std::string& kind,
                                          const std::string& generation) {
  TxnRequest txn;
  AddDeletePrefix(txn.mutable_success(),
                  absl::StrCat(BlobPrefix(run_id), kind, "/", generation, "/"));
  return Write(std::move(txn), absl::InternalError("unreachable")).status();
}

absl::StatusOr<int> EtcdHistoryStore::CollectOrphanChunks() {
  ASSIGN_OR_RETURN(std::vector<RunRecord> runs, ReadAllRuns());
  std::map<std::string, const RunRecord*> by_id;
  for (const RunRecord& r : runs) by_id[r.stored.run().run_id()] = &r;
  const std::string blobs = prefix_ + "blob/";
  ASSIGN_OR_RETURN(etcd::Range keys, client_->GetPrefix(blobs, 0, 0, /*keys_only=*/true));
  // Each generation once: BLOBS RUN_ID/KIND/GEN/NNNNNN, the run id last
  // parsed as it may hold a '/'.
  std::set<std::string> generations;
  for (const etcd::KeyValue& kv : keys.kvs) {
    generations.insert(kv.key.substr(0, kv.key.rfind('/') + 1));
  }
  int deleted = 0;
  for (const std::string& gen_prefix : generations) {
    const std::vector<std::string> parts =
        absl::StrSplit(absl::string_view(gen_prefix).substr(blobs.size()), '/');
    if (parts.size() < 4) continue;  // not a chunk of this layout
    const std::string generation = parts[parts.size() - 2];
    const std::string kind = parts[parts.size() - 3];
    const std::string run_id = absl::StrJoin(parts.begin(), parts.end() - 3, "/");
    auto it = by_id.find(run_id);
    TxnRequest txn;
    if (it == by_id.end()) {
      *txn.add_compare() = Absent(RunKey(run_id));
    } else {
      const chaos::v1::StoredRun& stored = it->second->stored;
      if (generation == (kind == "yaml" ? stored.yaml_generation() : stored.report_generation())) {
        continue;
      }
      *txn.add_compare() = KeyCompare(RunKey(run_id), Compare::MOD, Compare::EQUAL,
                                      it->second->mod_revision);
    }
    AddDeletePrefix(txn.mutable_success(), gen_prefix);
    absl::Status s = Write(std::move(txn), absl::AbortedError("written since")).status();
    if (s.ok()) ++deleted;
    else if (!absl::IsAborted(s)) return s;
  }
  return deleted;
}

absl::StatusOr<EtcdHistoryStore::RunRecord> EtcdHistoryStore::ReadRun(const std::string& run_id) {
  ASSIGN_OR_RETURN(std::optional<etcd::KeyValue> kv, client_->Get(RunKey(run_id)));
  if (!kv.has_value()) return NoRun(run_id);
  ASSIGN_OR_RETURN(chaos::v1::StoredRun stored, Parse<chaos::v1::StoredRun>(*kv));
  return RunRecord{std::move(stored), kv->mod_revision, kv->create_revision};
}

absl::StatusOr<std::vector<EtcdHistoryStore::RunRecord>> EtcdHistoryStore::ReadAllRuns() {
  ASSIGN_OR_RETURN(etcd::Range range, client_->GetPrefix(prefix_ + "run/"));
  std::vector<RunRecord> out;
  for (const etcd::KeyValue& kv : range.kvs) {
    ASSIGN_OR_RETURN(chaos::v1::StoredRun stored, Parse<chaos::v1::StoredRun>(kv));
    out.push_back(RunRecord{std::move(stored), kv.mod_revision, kv.create_revision});
  }
  return out;
}

absl::StatusOr<chaos::v1::Run> EtcdHistoryStore::WithReport(const RunRecord& record) {
  chaos::v1::Run run = record.stored.run();
  if (!record.stored.report_generation().empty()) {
    // As of the record's revision: a newer report's write may since have
    // deleted this generation's chunks.
    ASSIGN_OR_RETURN(*run.mutable_report_json(),
                     ReadBlob(run.run_id(), "report", record.stored.report_generation(),
                              record.mod_revision));
  }
  return run;
}

absl::StatusOr<std::vector<chaos::v1::Run>> EtcdHistoryStore::WithReports(
    const std::vector<RunRecord>& records) {
  std::vector<chaos::v1::Run> out;
  for (const RunRecord& r : records) {
    ASSIGN_OR_RETURN(chaos::v1::Run run, WithReport(r));
    out.push_back(std::move(run));
  }
  return out;
}

absl::Status EtcdHistoryStore::InsertRun(const chaos::v1::Run& run, const std::string& yaml) {
  chaos::v1::StoredRun stored;
  *stored.mutable_run() = run;
  stored.mutable_run()->clear_report_json();
  ASSIGN_OR_RETURN(*stored.mutable_yaml_generation(), WriteBlob(run.run_id(), "yaml", yaml));
  if (!run.report_json().empty()) {
    ASSIGN_OR_RETURN(*stored.mutable_report_generation(),
                     WriteBlob(run.run_id(), "report", run.report_json()));
  }
  TxnRequest txn;
  *txn.add_compare() = Absent(RunKey(run.run_id()));
  AddPut(txn.mutable_success(), RunKey(run.run_id()), stored.SerializeAsString());
  absl::Status status =
      Write(std::move(txn),
            absl::AlreadyExistsError(absl::StrCat("run_id: run ", run.run_id(), " exists")))
          .status();
  // The chunks of a record surely not written are nobody's. After an
  // ambiguous failure (UNAVAILABLE: it may have been written) they stay.
  if (absl::IsAlreadyExists(status) || absl::IsFailedPrecondition(status)) {
    (void)DeleteBlob(run.run_id(), "yaml", stored.yaml_generation());
    if (!stored.report_generation().empty()) {
      (void)DeleteBlob(run.run_id(), "report", stored.report_generation());
    }
  }
  return status;
}

absl::Status EtcdHistoryStore::UpdateRun(const chaos::v1::Run& run) {
  // Optimistic: the record is replaced only if nobody wrote it since it
  // was read; a lost race reads again.
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(RunRecord record, ReadRun(run.run_id()));
    chaos::v1::StoredRun next = record.stored;
    *next.mutable_run() = run;
    next.mutable_run()->clear_report_json();
    next.clear_report_generation();
    if (!run.report_json().empty()) {
      ASSIGN_OR_RETURN(*next.mutable_report_generation(),
                       WriteBlob(run.run_id(), "report", run.report_json()));
    }
    TxnRequest txn;
    *txn.add_compare() = KeyCompare(RunKey(run.run_id()), Compare::MOD, Compare::EQUAL,
                                    record.mod_revision);
    AddPut(txn.mutable_success(), RunKey(run.run_id()), next.SerializeAsString());
    absl::Status status = Write(std::move(txn), absl::AbortedError("raced")).status();
    // The generation no record names any more, when that is sure.
    std::string stale;
    if (status.ok()) stale = record.stored.report_generation();
    if (absl::IsAborted(status) || absl::IsFailedPrecondition(status)) {
      stale = next.report_generation();
    }
    if (!stale.empty()) (void)DeleteBlob(run.run_id(), "report", stale);
    if (!absl::IsAborted(status)) return status;
    if (attempt == 10) {
      return absl::AbortedError(absl::StrCat("run_id: run ", run.run_id(),
                                             " was written by another update 10 times in a row"));
    }
  }
}

absl::StatusOr<chaos::v1::Run> EtcdHistoryStore::GetRun(const std::string& run_id) {
  ASSIGN_OR_RETURN(RunRecord record, ReadRun(run_id));
  return WithReport(record);
}

absl::StatusOr<std::string> EtcdHistoryStore::GetExperimentYaml(const std::string& run_id) {
  ASSIGN_OR_RETURN(RunRecord record, ReadRun(run_id));
  return ReadBlob(run_id, "yaml", record.stored.yaml_generation(), record.mod_revision);
}

absl::StatusOr<std::vector<chaos::v1::Run>> EtcdHistoryStore::ListRuns(const RunFilter& f) {
  ASSIGN_OR_RETURN(std::vector<RunRecord> all, ReadAllRuns());
  std::erase_if(all, [&](const RunRecord& r) {
    const chaos::v1::Run& run = r.stored.run();
    return (!f.experiment.empty() && run.experiment_name() != f.experiment) ||
           (f.state != chaos::v1::RUN_STATE_UNSPECIFIED && run.state() != f.state) ||
           (!f.schedule.empty() && run.schedule() != f.schedule);
  });
  std::sort(all.begin(), all.end(), [](const RunRecord& a, const RunRecord& b) {
    return NewerFirst(a.stored.run(), a.create_revision, b.stored.run(), b.create_revision);
  });
  const size_t limit = f.limit > 0 ? f.limit : 100;
  if (all.size() > limit) all.resize(limit);
  return WithReports(all);
}

absl::StatusOr<std::vector<chaos::v1::Run>> EtcdHistoryStore::ListUnfinishedRuns() {
  ASSIGN_OR_RETURN(std::vector<RunRecord> all, ReadAllRuns());
  std::erase_if(all, [](const RunRecord& r) { return !Unfinished(r.stored.run().state()); });
  std::sort(all.begin(), all.end(), [](const RunRecord& a, const RunRecord& b) {
    return NewerFirst(b.stored.run(), b.create_revision, a.stored.run(), a.create_revision);
  });
  return WithReports(all);
}

absl::StatusOr<std::map<chaos::v1::RunState, int64_t>> EtcdHistoryStore::CountRunsByState() {
  ASSIGN_OR_RETURN(std::vector<RunRecord> all, ReadAllRuns());
  std::map<chaos::v1::RunState, int64_t> out;
  for (const RunRecord& r : all) ++out[r.stored.run().state()];
  return out;
}

absl::Status EtcdHistoryStore::AppendEvents(const std::vector<chaos::v1::RunEvent>& events) {
  RETURN_IF_ERROR(CheckEventsPerWrite(events.size()));
  if (events.empty()) return absl::OkStatus();
  TxnRequest txn;
  for (const chaos::v1::RunEvent& e : events) {
    AddPut(txn.mutable_success(), EventKey(e.run_id(), e.seq()), e.SerializeAsString());
  }
  return Write(std::move(txn), absl::InternalError("unreachable")).status();
}

absl::StatusOr<std::vector<chaos::v1::RunEvent>> EtcdHistoryStore::ListEvents(
    const std::string& run_id, int64_t after_seq) {
  ASSIGN_OR_RETURN(etcd::Range range, client_->GetRange(EventKey(run_id, after_seq + 1),
                                                        etcd::PrefixEnd(EventPrefix(run_id))));
  std::vector<chaos::v1::RunEvent> out;
  for (const etcd::KeyValue& kv : range.kvs) {
    ASSIGN_OR_RETURN(chaos::v1::RunEvent event, Parse<chaos::v1::RunEvent>(kv));
    out.push_back(std::move(event));
  }
  return out;
}

namespace {

// etcd's revision now, read with the smallest request.
absl::StatusOr<int64_t> RevisionNow(etcd::Client& client, const std::string& prefix) {
  ASSIGN_OR_RETURN(etcd::Range range, client.GetPrefix(prefix + "layout", 1, 0, true));
  return range.revision;
}

// One etcd watch over the range from the journals to the run records
// (PREFIX/event/ up to PREFIX/run/ and its keys). The few other keys
// between them (the halt flag, the layout, the election's) are skipped.
class EtcdRunFeed final : public HistoryStore::RunFeed {
 public:
  EtcdRunFeed(std::shared_ptr<etcd::Client> client, std::string prefix, int64_t next,
              std::function<void(const std::string&)> changed)
      : client_(std::move(client)),
        prefix_(std::move(prefix)),
        changed_(std::move(changed)),
        next_(next),
        thread_([this] { Follow(); }) {}

  ~EtcdRunFeed() override {
    stop_.Notify();
    cancel_.Cancel();
    thread_.join();
  }

 private:
  void Follow() {
    const std::string from = prefix_ + "event/";
    const std::string to = etcd::PrefixEnd(prefix_ + "run/");
    while (!stop_.HasBeenNotified()) {
      absl::Status s = etcd::WatchRange(client_.get(), from, to, next_, &cancel_,
                                        [this](const auto& changes) { Deliver(changes); });
      if (absl::IsCancelled(s)) return;
      if (absl::IsOutOfRange(s) && FollowFromNow()) continue;
      // etcd cannot be reached: follow again from next_ in a moment.
      stop_.WaitForNotificationWithTimeout(absl::Seconds(1));
    }
  }

  // etcd compacted the changes not yet delivered: follow from now on, and
  // say that every run may have changed.
  bool FollowFromNow() {
    absl::StatusOr<int64_t> now = RevisionNow(*client_, prefix_);
    if (!now.ok()) return false;
    next_ = *now + 1;
    changed_("");
    return true;
  }

  void Deliver(const std::vector<etcd::Change>& changes) {
    for (const etcd::Change& change : changes) {
      next_ = change.kv.mod_revision + 1;
      absl::string_view key = change.kv.key;
      key.remove_prefix(std::min(key.size(), prefix_.size()));
      absl::string_view run_id;
      if (absl::ConsumePrefix(&key, "run/")) {
        run_id = key;
      } else if (absl::ConsumePrefix(&key, "event/")) {
        run_id = key.substr(0, key.rfind('/'));  // RUN_ID/SEQ; an id may hold '/'
      }
      if (!run_id.empty()) changed_(std::string(run_id));
    }
  }

  const std::shared_ptr<etcd::Client> client_;
  const std::string prefix_;
  const std::function<void(const std::string&)> changed_;
  int64_t next_;  // the revision to follow from; Follow()'s own
  absl::Notification stop_;
  etcd::Cancellation cancel_;
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HistoryStore::RunFeed>> EtcdHistoryStore::FollowRuns(
    std::function<void(const std::string&)> changed) {
  // The revision now: every write after it is delivered.
  ASSIGN_OR_RETURN(int64_t now, RevisionNow(*client_, prefix_));
  return std::make_unique<EtcdRunFeed>(client_, prefix_, now + 1, std::move(changed));
}

namespace {
std::string EncodeSchedule(const chaos::v1::Schedule& schedule, int64_t until,
                           int64_t claimed = 0) {
  chaos::v1::StoredSchedule stored;
  *stored.mutable_schedule() = schedule;
  stored.mutable_schedule()->clear_recent_events();
  stored.set_considered_until_ms(until);
  stored.set_claimed_fire_ms(claimed);
  return stored.SerializeAsString();
}
HistoryStore::StoredSchedule Decode(const chaos::v1::StoredSchedule& stored) {
  return {stored.schedule(), stored.considered_until_ms(), stored.claimed_fire_ms()};
}
}  // namespace

absl::Status EtcdHistoryStore::InsertSchedule(const chaos::v1::Schedule& schedule, int64_t until) {
  const std::string key = ScheduleKey(schedule.name());
  TxnRequest txn;
  *txn.add_compare() = Absent(key);
  AddPut(txn.mutable_success(), key, EncodeSchedule(schedule, until));
  return Write(std::move(txn), absl::AlreadyExistsError(absl::StrCat(
                                   "name: a schedule named \"", schedule.name(), "\" exists")))
      .status();
}

// Reads the key for its revision, checks what `read` holds is still there,
// then writes in one transaction that also compares that revision (and the
// fence): a write by anyone in between fails the compare.
absl::Status EtcdHistoryStore::SwapSchedule(const StoredSchedule& read,
                                            const StoredSchedule& next) {
  const std::string& name = next.schedule.name();
  const std::string key = ScheduleKey(name);
  ASSIGN_OR_RETURN(std::optional<etcd::KeyValue> kv, client_->Get(key));
  if (!kv.has_value()) return NoSchedule(name);
  ASSIGN_OR_RETURN(chaos::v1::StoredSchedule now, Parse<chaos::v1::StoredSchedule>(*kv));
  if (now.considered_until_ms() != read.considered_until_ms ||
      now.claimed_fire_ms() != read.claimed_fire_ms) {
    return ScheduleChanged(name);
  }
  TxnRequest txn;
  *txn.add_compare() = KeyCompare(key, Compare::MOD, Compare::EQUAL, kv->mod_revision);
  AddPut(txn.mutable_success(), key,
         EncodeSchedule(next.schedule, next.considered_until_ms, next.claimed_fire_ms));
  return Write(std::move(txn), ScheduleChanged(name)).status();
}

absl::Status EtcdHistoryStore::DeleteSchedule(const std::string& name) {
  const std::string key = ScheduleKey(name);
  TxnRequest txn;
  *txn.add_compare() = Present(key);
  txn.add_success()->mutable_request_delete_range()->set_key(key);
  return Write(std::move(txn), NoSchedule(name)).status();
}

absl::StatusOr<HistoryStore::StoredSchedule> EtcdHistoryStore::GetSchedule(
    const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<etcd::KeyValue> kv, client_->Get(ScheduleKey(name)));
  if (!kv.has_value()) return NoSchedule(name);
  ASSIGN_OR_RETURN(chaos::v1::StoredSchedule stored, Parse<chaos::v1::StoredSchedule>(*kv));
  return Decode(stored);
}

absl::StatusOr<std::vector<HistoryStore::StoredSchedule>> EtcdHistoryStore::ListSchedules() {
  ASSIGN_OR_RETURN(etcd::Range range, client_->GetPrefix(prefix_ + "schedule/"));
  std::vector<StoredSchedule> out;
  for (const etcd::KeyValue& kv : range.kvs) {
    ASSIGN_OR_RETURN(chaos::v1::StoredSchedule stored, Parse<chaos::v1::StoredSchedule>(kv));
    out.push_back(Decode(stored));
  }
  std::sort(out.begin(), out.end(), [](const StoredSchedule& a, const StoredSchedule& b) {
    return a.schedule.name() < b.schedule.name();
  });
  return out;
}

absl::Status EtcdHistoryStore::AppendScheduleEvent(const std::string& name,
                                                   const chaos::v1::ScheduleEvent& event) {
  TxnRequest txn;
  AddPut(txn.mutable_success(), ScheduleEventPrefix(name) + NewGeneration(),
         event.SerializeAsString());
  RETURN_IF_ERROR(Write(std::move(txn), absl::InternalError("unreachable")).status());
  // Keep the newest kMaxScheduleEvents: etcd is no place for an unbounded log.
  ASSIGN_OR_RETURN(etcd::Range range, client_->GetPrefix(ScheduleEventPrefix(name)));
  if (range.kvs.size() <= kMaxScheduleEvents) return absl::OkStatus();
  std::sort(range.kvs.begin(), range.kvs.end(), [](const auto& a, const auto& b) {
    return a.create_revision < b.create_revision;
  });
  for (size_t i = 0; i + kMaxScheduleEvents < range.kvs.size(); ++i) {
    TxnRequest drop;
    drop.add_success()->mutable_request_delete_range()->set_key(range.kvs[i].key);
    RETURN_IF_ERROR(Write(std::move(drop), absl::InternalError("unreachable")).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<chaos::v1::ScheduleEvent>> EtcdHistoryStore::ListScheduleEvents(
    const std::string& name, int limit) {
  ASSIGN_OR_RETURN(etcd::Range range, client_->GetPrefix(ScheduleEventPrefix(name)));
  std::sort(range.kvs.begin(), range.kvs.end(), [](const auto& a, const auto& b) {
    return a.create_revision > b.create_revision;
  });
  std::vector<chaos::v1::ScheduleEvent> out;
  for (const etcd::KeyValue& kv : range.kvs) {
    if (static_cast<int>(out.size()) >= limit) break;
    ASSIGN_OR_RETURN(chaos::v1::ScheduleEvent event, Parse<chaos::v1::ScheduleEvent>(kv));
    out.push_back(std::move(event));
  }
  return out;
}

absl::StatusOr<int> EtcdHistoryStore::PruneScheduleRuns(const std::string& name, int keep) {
  ASSIGN_OR_RETURN(std::vector<RunRecord> all, ReadAllRuns());
  std::erase_if(all, [&](const RunRecord& r) {
    const chaos::v1::Run& run = r.stored.run();
    return run.schedule() != name || Unfinished(run.state());
  });
  std::sort(all.begin(), all.end(), [](const RunRecord& a, const RunRecord& b) {
    return NewerFirst(a.stored.run(), a.create_revision, b.stored.run(), b.create_revision);
  });
  int deleted = 0;
  for (size_t i = std::max(keep, 0); i < all.size(); ++i) {
    const std::string& run_id = all[i].stored.run().run_id();
    TxnRequest txn;
    *txn.add_compare() =
        KeyCompare(RunKey(run_id), Compare::MOD, Compare::EQUAL, all[i].mod_revision);
    txn.add_success()->mutable_request_delete_range()->set_key(RunKey(run_id));
    AddDeletePrefix(txn.mutable_success(), EventPrefix(run_id));
    AddDeletePrefix(txn.mutable_success(), BlobPrefix(run_id));
    absl::Status status = Write(std::move(txn), absl::AbortedError("raced")).status();
    if (absl::IsAborted(status)) continue;  // written meanwhile: kept until the next prune
    RETURN_IF_ERROR(status);
    ++deleted;
  }
  return deleted;
}

absl::Status EtcdHistoryStore::SetHaltState(const HaltState& state) {
  chaos::v1::StoredHalt stored;
  stored.set_halted(state.halted);
  stored.set_caller(state.caller);
  stored.set_reason(state.reason);
  stored.set_at_unix_ms(state.at_unix_ms);
  TxnRequest txn;
  AddPut(txn.mutable_success(), prefix_ + "halt", stored.SerializeAsString());
  return Write(std::move(txn), absl::InternalError("etcd refused the halt flag's write")).status();
}

absl::StatusOr<HistoryStore::HaltState> EtcdHistoryStore::GetHaltState() {
  ASSIGN_OR_RETURN(std::optional<etcd::KeyValue> kv, client_->Get(prefix_ + "halt"));
  if (!kv.has_value()) return HaltState{};
  ASSIGN_OR_RETURN(chaos::v1::StoredHalt stored, Parse<chaos::v1::StoredHalt>(*kv));
  return HaltState{stored.halted(), stored.caller(), stored.reason(), stored.at_unix_ms()};
}

absl::Status EtcdHistoryStore::PutAgent(const chaos::v1::AgentInfo& info) {
  TxnRequest txn;
  AddPut(txn.mutable_success(), prefix_ + "agent/" + info.address(),
         WithoutLiveness(info).SerializeAsString());
  return Write(std::move(txn), absl::InternalError("etcd refused the agent's write")).status();
}

absl::Status EtcdHistoryStore::DeleteAgent(const std::string& address) {
  TxnRequest txn;
  txn.add_success()->mutable_request_delete_range()->set_key(prefix_ + "agent/" + address);
  return Write(std::move(txn), absl::InternalError("etcd refused the agent's delete")).status();
}

absl::StatusOr<std::vector<chaos::v1::AgentInfo>> EtcdHistoryStore::ListAgents() {
  ASSIGN_OR_RETURN(etcd::Range range, client_->GetPrefix(prefix_ + "agent/"));
  std::vector<chaos::v1::AgentInfo> out;
  for (const etcd::KeyValue& kv : range.kvs) {
    ASSIGN_OR_RETURN(chaos::v1::AgentInfo info, Parse<chaos::v1::AgentInfo>(kv));
    out.push_back(std::move(info));
  }
  return out;  // etcd returns keys sorted, and the key ends in the address
}

}  // namespace chaos::controller
