// The history's contract (controller/store/history_store.h), run against
// both stores: SQLite in a temporary file, and etcd in a real cluster on
// loopback (each test on a prefix of its own). Then what only the etcd
// store has: a report bigger than an etcd request, fencing, two
// controllers sharing one store, the run feed (also past a compaction),
// and a prefix holding foreign keys.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "controller/store/etcd_history_store.h"
#include "controller/store/sqlite_history_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/etcd_cluster.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using chaos::testing::WaitFor;

enum class Kind { kSqlite, kEtcd };

// One etcd for every test of the process, started on first use.
testing::EtcdCluster* SharedEtcd() { return &testing::SharedEtcdCluster(1); }

// A client of the shared cluster, or of the given members.
std::shared_ptr<etcd::Client> EtcdClient(std::vector<std::string> endpoints = {}) {
  etcd::ClientOptions options;
  options.endpoints = endpoints.empty() ? SharedEtcd()->endpoints() : std::move(endpoints);
  auto client = etcd::Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::shared_ptr<etcd::Client>(std::move(*client)) : nullptr;
}

std::string UniquePrefix() {
  static int n = 0;
  return "/test-" + std::to_string(getpid()) + "-" + std::to_string(++n) + "/";
}

chaos::v1::Run MakeRun(const std::string& id, int64_t started, chaos::v1::RunState state,
                       const std::string& schedule = "") {
  chaos::v1::Run run;
  run.set_run_id(id);
  run.set_experiment_name(id.substr(0, id.find('-')));
  run.set_state(state);
  run.set_started_at_unix_ms(started);
  run.set_recovery_ms(-1);
  run.set_schedule(schedule);
  run.add_agents("127.0.0.1:7070");
  (*run.mutable_variables())["HOST"] = "db1";
  return run;
}

RunFilter Filter(std::string experiment, chaos::v1::RunState state, int limit = 100) {
  RunFilter f;
  f.experiment = std::move(experiment);
  f.state = state;
  f.limit = limit;
  return f;
}

std::vector<std::string> Ids(const std::vector<chaos::v1::Run>& runs) {
  std::vector<std::string> out;
  for (const chaos::v1::Run& r : runs) out.push_back(r.run_id());
  return out;
}

class HistoryStoreContractTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override { Reopen(); }

  // A new store object on the same file or prefix, as a restarted
  // controller (or the next leader) opens it.
  void Reopen() {
    store_.reset();
    if (GetParam() == Kind::kSqlite) {
      auto store = SqliteHistoryStore::Open(dir_.path() + "/history.db");
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(*store);
    } else {
      auto store = EtcdHistoryStore::Open(EtcdClient(), prefix_);
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(*store);
    }
  }

  testing::TempDir dir_;
  const std::string prefix_ = UniquePrefix();
  std::unique_ptr<HistoryStore> store_;
};

TEST_P(HistoryStoreContractTest, ARunComesBackAsWrittenAndIsUpdatedWhole) {
  chaos::v1::Run run = MakeRun("burn-1", 1000, chaos::v1::RUN_STATE_RUNNING);
  ASSERT_TRUE(store_->InsertRun(run, "name: burn\n").ok());
  run.set_state(chaos::v1::RUN_STATE_PASSED);
  run.set_report_json("{\"outcome\":\"passed\"}");
  run.set_ended_at_unix_ms(2000);
  run.mutable_drill()->set_rto_ms(440);
  run.mutable_drill()->set_rto_objective_ms(1000);
  run.mutable_drill()->set_rpo_ms(-1);
  run.mutable_drill()->set_rpo_objective_ms(-1);
  run.mutable_drill()->set_integrity("ok");
  run.mutable_drill()->set_objectives_met(true);
  chaos::v1::LostAgent* lost = run.add_lost_agents();
  lost->set_agent("127.0.0.1:1");
  lost->set_reason("cannot reach agent 127.0.0.1:1: connection refused");
  lost->set_at_unix_ms(1500);
  lost = run.add_lost_agents();
  lost->set_agent("127.0.0.1:2");
  lost->set_step("burn");
  lost->set_reason("inject failed: DEADLINE_EXCEEDED: slow");
  lost->set_at_unix_ms(1600);
  ASSERT_TRUE(store_->UpdateRun(run).ok());

  auto got = store_->GetRun("burn-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->DebugString(), run.DebugString());
  ASSERT_EQ(got->lost_agents_size(), 2);  // in the order they were lost
  EXPECT_EQ(got->lost_agents(1).step(), "burn");
  auto listed = store_->ListRuns({});
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().DebugString(), run.DebugString());
  auto yaml = store_->GetExperimentYaml("burn-1");
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_EQ(*yaml, "name: burn\n");
}

TEST_P(HistoryStoreContractTest, UnknownAndDuplicateRunsAreRefusedWithTheirCodes) {
  chaos::v1::Run run = MakeRun("burn-1", 1000, chaos::v1::RUN_STATE_PENDING);
  ASSERT_TRUE(store_->InsertRun(run, "a").ok());
  absl::Status again = store_->InsertRun(run, "b");
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(*store_->GetExperimentYaml("burn-1"), "a") << "a refused insert changes nothing";
  EXPECT_TRUE(absl::IsNotFound(store_->GetRun("nope").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->GetExperimentYaml("nope").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->UpdateRun(MakeRun("nope", 1, {})) ));
}

TEST_P(HistoryStoreContractTest, RunsAreListedNewestFirstFilteredCountedAndFoundUnfinished) {
  using chaos::v1::RunState;
  ASSERT_TRUE(store_->InsertRun(MakeRun("burn-a", 1000, chaos::v1::RUN_STATE_PASSED), "").ok());
  ASSERT_TRUE(store_->InsertRun(MakeRun("burn-b", 3000, chaos::v1::RUN_STATE_RUNNING), "").ok());
  ASSERT_TRUE(store_->InsertRun(MakeRun("kill-c", 2000, chaos::v1::RUN_STATE_FAILED), "").ok());
  ASSERT_TRUE(store_->InsertRun(MakeRun("kill-d", 2000, chaos::v1::RUN_STATE_PENDING), "").ok());

  EXPECT_THAT(Ids(*store_->ListRuns({})), ElementsAre("burn-b", "kill-d", "kill-c", "burn-a"))
      << "newest first, and the later insert first among equal start times";
  EXPECT_THAT(Ids(*store_->ListRuns(Filter("kill", {}))), ElementsAre("kill-d", "kill-c"));
  EXPECT_THAT(Ids(*store_->ListRuns(Filter("", chaos::v1::RUN_STATE_PASSED))),
              ElementsAre("burn-a"));
  EXPECT_THAT(Ids(*store_->ListRuns(Filter("", {}, 2))), ElementsAre("burn-b", "kill-d"));
  EXPECT_THAT(Ids(*store_->ListUnfinishedRuns()), ElementsAre("kill-d", "burn-b"));
  auto counts = store_->CountRunsByState();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->size(), 4u);
  EXPECT_EQ(counts->at(chaos::v1::RUN_STATE_RUNNING), 1);
}

TEST_P(HistoryStoreContractTest, AJournalComesBackInOrderWithItsStepAndAgent) {
  ASSERT_TRUE(store_->InsertRun(MakeRun("burn-1", 1000, chaos::v1::RUN_STATE_RUNNING), "").ok());
  for (uint32_t seq : {2u, 1u, 10u}) {
    chaos::v1::RunEvent e;
    e.set_run_id("burn-1");
    e.set_seq(seq);
    e.set_at_unix_ms(1000 + seq);
    e.set_type("inject");
    e.set_message("event " + std::to_string(seq));
    (*e.mutable_fields())["step"] = "burn";
    (*e.mutable_fields())["agent"] = "127.0.0.1:7070";
    ASSERT_TRUE(store_->AppendEvent(e).ok());
  }
  auto events = store_->ListEvents("burn-1");
  ASSERT_TRUE(events.ok()) << events.status();
  std::vector<std::string> messages;
  for (const auto& e : *events) {
    messages.push_back(e.message());
    EXPECT_EQ(e.fields().at("step"), "burn");
    EXPECT_EQ(e.fields().at("agent"), "127.0.0.1:7070");
  }
  EXPECT_THAT(messages, ElementsAre("event 1", "event 2", "event 10"));
  EXPECT_TRUE(store_->ListEvents("other")->empty());

  auto after = store_->ListEvents("burn-1", 2);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ(after->front().message(), "event 10");
  EXPECT_TRUE(store_->ListEvents("burn-1", 10)->empty());
}

// Up to kMaxEventsPerWrite events go in one write (etcd: one transaction,
// within etcd's default limit of 128 operations); more are refused whole,
// naming the count.
TEST_P(HistoryStoreContractTest, EventsGoInOneWriteUpToItsLimit) {
  ASSERT_TRUE(store_->InsertRun(MakeRun("burn-1", 1000, chaos::v1::RUN_STATE_RUNNING), "").ok());
  auto events = [](uint32_t from, size_t n) {
    std::vector<chaos::v1::RunEvent> out(n);
    for (size_t i = 0; i < n; ++i) {
      out[i].set_run_id("burn-1");
      out[i].set_seq(from + static_cast<uint32_t>(i));
      out[i].set_type("revert");
    }
    return out;
  };
  EXPECT_TRUE(store_->AppendEvents({}).ok());
  ASSERT_TRUE(store_->AppendEvents(events(1, HistoryStore::kMaxEventsPerWrite)).ok());
  const absl::Status over =
      store_->AppendEvents(events(1000, HistoryStore::kMaxEventsPerWrite + 1));
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(over.message(), "events: 101 in one write, over its limit of 100");
  auto listed = store_->ListEvents("burn-1");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), HistoryStore::kMaxEventsPerWrite);
  for (size_t i = 0; i < listed->size(); ++i) EXPECT_EQ((*listed)[i].seq(), i + 1);
}

TEST_P(HistoryStoreContractTest, SchedulesAreKeptByNameWithWhatTheyDid) {
  chaos::v1::Schedule s;
  s.set_name("nightly");
  s.set_cron("0 3 * * *");
  s.set_experiment_yaml("name: burn");
  s.add_recent_events()->set_kind("started");  // output only: not stored
  ASSERT_TRUE(store_->InsertSchedule(s, 100).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(store_->InsertSchedule(s, 100)));
  chaos::v1::Schedule other = s;
  other.set_name("hourly");
  ASSERT_TRUE(store_->InsertSchedule(other, 5).ok());
  ASSERT_TRUE(store_->SwapSchedule({s, 100, 0}, {s, 200, 0}).ok());
  chaos::v1::Schedule ghost = s;
  ghost.set_name("ghost");
  EXPECT_TRUE(absl::IsNotFound(store_->SwapSchedule({ghost, 100, 0}, {ghost, 1, 0})));

  auto got = store_->GetSchedule("nightly");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->considered_until_ms, 200);
  EXPECT_EQ(got->schedule.cron(), "0 3 * * *");
  EXPECT_EQ(got->schedule.recent_events_size(), 0);
  auto all = store_->ListSchedules();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].schedule.name(), "hourly");

  for (const char* kind : {"started", "skipped", "missed"}) {
    chaos::v1::ScheduleEvent e;
    e.set_kind(kind);
    ASSERT_TRUE(store_->AppendScheduleEvent("nightly", e).ok());
  }
  auto events = store_->ListScheduleEvents("nightly", 2);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind(), "missed");
  EXPECT_EQ((*events)[1].kind(), "skipped");

  ASSERT_TRUE(store_->DeleteSchedule("nightly").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->GetSchedule("nightly").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->DeleteSchedule("nightly")));
}

// The claim of a firing: only one of two writers that read the same state
// gets through; the other is ABORTED and writes nothing.
TEST_P(HistoryStoreContractTest, ASwapWritesOnlyOverWhatWasRead) {
  chaos::v1::Schedule s;
  s.set_name("nightly");
  s.set_cron("0 3 * * *");
  s.set_experiment_yaml("name: burn");
  ASSERT_TRUE(store_->InsertSchedule(s, 100).ok());
  auto read = store_->GetSchedule("nightly");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->claimed_fire_ms, 0);
  HistoryStore::StoredSchedule first = *read;
  first.considered_until_ms = 200;
  first.claimed_fire_ms = 180;
  first.schedule.set_last_run_id("burn-1");
  ASSERT_TRUE(store_->SwapSchedule(*read, first).ok());
  HistoryStore::StoredSchedule second = *read;
  second.considered_until_ms = 201;
  second.claimed_fire_ms = 181;
  absl::Status lost = store_->SwapSchedule(*read, second);
  EXPECT_TRUE(absl::IsAborted(lost)) << lost;

  auto got = store_->GetSchedule("nightly");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->considered_until_ms, 200);
  EXPECT_EQ(got->claimed_fire_ms, 180);
  EXPECT_EQ(got->schedule.last_run_id(), "burn-1");
  HistoryStore::StoredSchedule cleared = *got;
  cleared.claimed_fire_ms = 0;
  ASSERT_TRUE(store_->SwapSchedule(*got, cleared).ok());
  EXPECT_EQ(store_->ListSchedules()->at(0).claimed_fire_ms, 0);
  HistoryStore::StoredSchedule ghost = cleared;
  ghost.schedule.set_name("ghost");
  EXPECT_TRUE(absl::IsNotFound(store_->SwapSchedule(ghost, ghost)));
}

TEST_P(HistoryStoreContractTest, PruningKeepsAScheduleNewestEndedRunsAndEveryUnfinishedOne) {
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(store_->InsertRun(MakeRun("burn-" + std::to_string(i), i * 1000,
                                          chaos::v1::RUN_STATE_PASSED, "nightly"), "").ok());
  }
  ASSERT_TRUE(
      store_->InsertRun(MakeRun("burn-0", 0, chaos::v1::RUN_STATE_RUNNING, "nightly"), "").ok());
  ASSERT_TRUE(store_->InsertRun(MakeRun("burn-x", 0, chaos::v1::RUN_STATE_PASSED), "").ok());
  chaos::v1::RunEvent e;
  e.set_run_id("burn-1");
  e.set_seq(1);
  ASSERT_TRUE(store_->AppendEvent(e).ok());

  auto deleted = store_->PruneScheduleRuns("nightly", 2);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2);
  EXPECT_THAT(Ids(*store_->ListRuns({})), ElementsAre("burn-4", "burn-3", "burn-x", "burn-0"));
  EXPECT_TRUE(store_->ListEvents("burn-1")->empty());
}

TEST_P(HistoryStoreContractTest, TheHaltFlagIsKeptForTheNextControllerUntilCleared) {
  auto fresh = store_->GetHaltState();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_FALSE(fresh->halted);

  ASSERT_TRUE(store_->SetHaltState({true, "spiffe://chaos/operator/alice", "game day over", 1234})
                  .ok());
  Reopen();
  auto halted = store_->GetHaltState();
  ASSERT_TRUE(halted.ok()) << halted.status();
  EXPECT_TRUE(halted->halted);
  EXPECT_EQ(halted->caller, "spiffe://chaos/operator/alice");
  EXPECT_EQ(halted->reason, "game day over");
  EXPECT_EQ(halted->at_unix_ms, 1234);

  ASSERT_TRUE(store_->SetHaltState({false, "bob", "", 5678}).ok());
  Reopen();
  auto resumed = store_->GetHaltState();
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_FALSE(resumed->halted);
  EXPECT_EQ(resumed->caller, "bob");
}

TEST_P(HistoryStoreContractTest, AgentsAreKeptByAddressWithoutTheirLiveness) {
  chaos::v1::AgentInfo b;
  b.set_address("10.0.0.2:7070");
  b.set_hostname("db2");
  (*b.mutable_labels())["role"] = "replica";
  b.set_last_seen_unix_ms(99);
  b.set_lost(true);
  chaos::v1::AgentInfo a = b;
  a.set_address("10.0.0.1:7070");
  ASSERT_TRUE(store_->PutAgent(b).ok());
  ASSERT_TRUE(store_->PutAgent(a).ok());
  (*b.mutable_labels())["role"] = "primary";
  ASSERT_TRUE(store_->PutAgent(b).ok());
  Reopen();

  auto agents = store_->ListAgents();
  ASSERT_TRUE(agents.ok()) << agents.status();
  ASSERT_EQ(agents->size(), 2u);
  EXPECT_EQ((*agents)[0].address(), "10.0.0.1:7070");
  EXPECT_EQ((*agents)[1].address(), "10.0.0.2:7070");
  EXPECT_EQ((*agents)[1].hostname(), "db2");
  EXPECT_EQ((*agents)[1].labels().at("role"), "primary");
  EXPECT_EQ((*agents)[1].last_seen_unix_ms(), 0);
  EXPECT_FALSE((*agents)[1].lost());

  ASSERT_TRUE(store_->DeleteAgent("10.0.0.1:7070").ok());
  ASSERT_TRUE(store_->DeleteAgent("10.0.0.9:7070").ok());  // unknown: OK
  agents = store_->ListAgents();
  ASSERT_TRUE(agents.ok()) << agents.status();
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ((*agents)[0].address(), "10.0.0.2:7070");
}

INSTANTIATE_TEST_SUITE_P(Stores, HistoryStoreContractTest,
                         ::testing::Values(Kind::kSqlite, Kind::kEtcd),
                         [](const auto& info) {
                           return info.param == Kind::kSqlite ? "Sqlite" : "Etcd";
                         });

// The run ids a store's feed names, in order.
class FeedLog {
 public:
  absl::Status Follow(HistoryStore& store) {
    auto feed = store.FollowRuns([this](const std::string& run_id) {
      absl::MutexLock lock(&mu_);
      named_.push_back(run_id);
    });
    if (!feed.ok()) return feed.status();
    feed_ = std::move(*feed);
    return absl::OkStatus();
  }
  // Ends the feed and its etcd watch: a feed that did not would hang here.
  void Stop() { feed_.reset(); }
  std::vector<std::string> named() const {
    absl::MutexLock lock(&mu_);
    return named_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> named_;
  std::unique_ptr<HistoryStore::RunFeed> feed_;  // destroyed first: it calls into named_
};

// What only the etcd store has.
class EtcdHistoryStoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<etcd::Client> client_ = EtcdClient();
  std::string prefix_ = UniquePrefix();
};

TEST_F(EtcdHistoryStoreTest, AReportBiggerThanAnEtcdRequestIsKeptWhole) {
  auto store = EtcdHistoryStore::Open(client_, prefix_);
  ASSERT_TRUE(store.ok()) << store.status();
  chaos::v1::Run run = MakeRun("burn-1", 1000, chaos::v1::RUN_STATE_RUNNING);
  ASSERT_TRUE((*store)->InsertRun(run, std::string(1 << 20, 'y')).ok());
  std::string report(3 << 20, 'r');  // 3 MiB: twice etcd's request limit
  for (size_t i = 0; i < report.size(); i += 4096) report[i] = static_cast<char>('a' + i % 26);
  run.set_report_json(report);
  ASSERT_TRUE((*store)->UpdateRun(run).ok());
  run.set_report_json(report + "-second");
  ASSERT_TRUE((*store)->UpdateRun(run).ok());

  auto got = (*store)->GetRun("burn-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->report_json() == report + "-second") << "report of "
                                                        << got->report_json().size() << " bytes";
  EXPECT_EQ((*store)->GetExperimentYaml("burn-1")->size(), 1u << 20);
  // Only the newest report's chunks are left.
  auto chunks = client_->GetPrefix(prefix_ + "blob/burn-1/report/");
  ASSERT_TRUE(chunks.ok());
  EXPECT_EQ(chunks->kvs.size(), 7u) << "3 MiB + 7 bytes in chunks of 512 KiB";
}

TEST_F(EtcdHistoryStoreTest, TwoControllersOnOnePrefixShareTheHistory) {
  auto a = EtcdHistoryStore::Open(client_, prefix_);
  auto b = EtcdHistoryStore::Open(EtcdClient(), prefix_);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->InsertRun(MakeRun("burn-1", 1, chaos::v1::RUN_STATE_RUNNING), "x").ok());
  EXPECT_THAT(Ids(*(*b)->ListUnfinishedRuns()), ElementsAre("burn-1"));
  EXPECT_TRUE(absl::IsAlreadyExists(
      (*b)->InsertRun(MakeRun("burn-1", 1, chaos::v1::RUN_STATE_RUNNING), "y")));
}

// Chunks no record names (a writer died between the chunks and the
// record, or an old generation's delete failed) are collected; the chunks
// the records name stay, and the runs read back whole.
TEST_F(EtcdHistoryStoreTest, OrphanedChunksAreCollectedAndNamedOnesKept) {
  auto store = EtcdHistoryStore::Open(client_, prefix_);
  ASSERT_TRUE(store.ok()) << store.status();
  chaos::v1::Run run = MakeRun("burn/1", 1, chaos::v1::RUN_STATE_RUNNING);
  ASSERT_TRUE((*store)->InsertRun(run, "name: burn").ok());
  run.set_state(chaos::v1::RUN_STATE_PASSED);
  run.set_report_json(std::string(100, 'r'));
  ASSERT_TRUE((*store)->UpdateRun(run).ok());
  ASSERT_TRUE((*store)->InsertRun(MakeRun("burn-2", 2, chaos::v1::RUN_STATE_PASSED), "y").ok());
  const std::string blobs = prefix_ + "blob/";
  for (const char* orphan :
       {"ghost/yaml/00000000000000aa/000000", "ghost/report/00000000000000ab/000000",
        "burn/1/report/00000000000000ac/000000", "burn/1/report/00000000000000ac/000001"}) {
    ASSERT_TRUE(client_->Put(blobs + orphan, "orphan").ok());
  }

  auto collected = (*store)->CollectOrphanChunks();
  ASSERT_TRUE(collected.ok()) << collected.status();
  EXPECT_EQ(*collected, 3);
  auto left = client_->GetPrefix(blobs);
  ASSERT_TRUE(left.ok());
  for (const auto& kv : left->kvs) EXPECT_NE(kv.value, "orphan") << kv.key;
  EXPECT_EQ(left->kvs.size(), 3u);  // burn/1's yaml and report, burn-2's yaml
  auto back = (*store)->GetRun("burn/1");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->report_json(), std::string(100, 'r'));
  EXPECT_EQ(*(*store)->GetExperimentYaml("burn/1"), "name: burn");
  EXPECT_EQ(*(*store)->GetExperimentYaml("burn-2"), "y");
  EXPECT_EQ(*(*store)->CollectOrphanChunks(), 0);
}

TEST_F(EtcdHistoryStoreTest, ADeposedLeaderWritesNothing) {
  auto store = EtcdHistoryStore::Open(client_, prefix_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto lease = client_->GrantLease(absl::Seconds(10));
  ASSERT_TRUE(lease.ok());
  etcd::Election election(client_.get(), prefix_ + "leader");
  auto key = election.Campaign(*lease, "controller-a");
  ASSERT_TRUE(key.ok()) << key.status();
  (*store)->SetFence(*key);
  ASSERT_TRUE((*store)->InsertRun(MakeRun("burn-1", 1, chaos::v1::RUN_STATE_RUNNING), "").ok());

  ASSERT_TRUE(client_->RevokeLease(*lease).ok());  // as when its lease lapses
  chaos::v1::Run ended = MakeRun("burn-1", 1, chaos::v1::RUN_STATE_PASSED);
  absl::Status update = (*store)->UpdateRun(ended);
  EXPECT_TRUE(absl::IsFailedPrecondition(update)) << update;
  EXPECT_THAT(update.message(), HasSubstr("fenced"));
  chaos::v1::RunEvent e;
  e.set_run_id("burn-1");
  e.set_seq(1);
  EXPECT_TRUE(absl::IsFailedPrecondition((*store)->AppendEvent(e)));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      (*store)->InsertRun(MakeRun("burn-2", 1, chaos::v1::RUN_STATE_RUNNING), "name: burn")));
  EXPECT_TRUE(absl::IsFailedPrecondition((*store)->SetHaltState({false, "deposed", "", 1})));

  EXPECT_EQ((*store)->GetRun("burn-1")->state(), chaos::v1::RUN_STATE_RUNNING);
  EXPECT_TRUE((*store)->ListEvents("burn-1")->empty());
  EXPECT_TRUE(absl::IsNotFound((*store)->GetRun("burn-2").status()));
  auto blobs = client_->GetPrefix(prefix_ + "blob/burn-2/");
  ASSERT_TRUE(blobs.ok());
  EXPECT_TRUE(blobs->kvs.empty()) << "a fenced write leaves no chunk";
}

// A deposed leader cannot claim a schedule's firing either.
TEST_F(EtcdHistoryStoreTest, ADeposedLeaderClaimsNoFiring) {
  auto store = EtcdHistoryStore::Open(client_, prefix_);
  ASSERT_TRUE(store.ok()) << store.status();
  chaos::v1::Schedule s;
  s.set_name("nightly");
  ASSERT_TRUE((*store)->InsertSchedule(s, 100).ok());
  auto lease = client_->GrantLease(absl::Seconds(10));
  ASSERT_TRUE(lease.ok());
  etcd::Election election(client_.get(), prefix_ + "leader");
  auto key = election.Campaign(*lease, "controller-a");
  ASSERT_TRUE(key.ok()) << key.status();
  (*store)->SetFence(*key);
  ASSERT_TRUE(client_->RevokeLease(*lease).ok());

  auto read = (*store)->GetSchedule("nightly");
  ASSERT_TRUE(read.ok());
  HistoryStore::StoredSchedule claim = *read;
  claim.considered_until_ms = 200;
  claim.claimed_fire_ms = 180;
  absl::Status s2 = (*store)->SwapSchedule(*read, claim);
  EXPECT_TRUE(absl::IsFailedPrecondition(s2)) << s2;
  EXPECT_THAT(s2.message(), HasSubstr("fenced"));
  EXPECT_EQ((*store)->GetSchedule("nightly")->considered_until_ms, 100);
}

// A standby's feed: each write to a run's record or journal by another
// controller names the run, in order; other writes name nothing.
TEST_F(EtcdHistoryStoreTest, TheRunFeedNamesEachRunAnotherControllerWrites) {
  auto standby = EtcdHistoryStore::Open(client_, prefix_);
  auto leader = EtcdHistoryStore::Open(EtcdClient(), prefix_);
  ASSERT_TRUE(standby.ok() && leader.ok());
  FeedLog feed;
  ASSERT_EQ(feed.Follow(**standby), absl::OkStatus());

  ASSERT_TRUE((*leader)->SetHaltState({true, "ops", "test", 1}).ok());
  chaos::v1::AgentInfo agent;
  agent.set_address("127.0.0.1:7070");
  ASSERT_TRUE((*leader)->PutAgent(agent).ok());
  chaos::v1::Schedule schedule;
  schedule.set_name("nightly");
  ASSERT_TRUE((*leader)->InsertSchedule(schedule, 0).ok());
  chaos::v1::Run run = MakeRun("burn/1", 1, chaos::v1::RUN_STATE_RUNNING);
  ASSERT_TRUE((*leader)->InsertRun(run, std::string(1 << 20, 'y')).ok());
  chaos::v1::RunEvent event;
  event.set_run_id("burn/1");
  event.set_seq(1);
  ASSERT_TRUE((*leader)->AppendEvent(event).ok());
  ASSERT_TRUE((*leader)->InsertRun(MakeRun("kill-2", 2, chaos::v1::RUN_STATE_PENDING), "").ok());

  const std::vector<std::string> want = {"burn/1", "burn/1", "kill-2"};
  ASSERT_TRUE(WaitFor([&] { return feed.named().size() >= want.size(); }, absl::Seconds(30)))
      << "the feed named " << feed.named().size() << " of " << want.size() << " writes";
  EXPECT_EQ(feed.named(), want) << "the run's record, its journal, the next run; nothing else";
  feed.Stop();
}

// A standby whose etcd member was lost while the leader wrote, and etcd
// compacted those writes away meanwhile: its feed cannot name the run it
// missed, so it says "every run" (an empty id) once, then follows on.
TEST(EtcdRunFeedTest, AFeedThatMissedCompactedWritesSaysEveryRunThenFollowsOn) {
  testing::EtcdCluster cluster(3);
  const std::string prefix = UniquePrefix();
  // The standby talks to member 0 only, the leader to members 1 and 2.
  auto leader_client = EtcdClient({cluster.endpoint(1), cluster.endpoint(2)});
  auto standby = EtcdHistoryStore::Open(EtcdClient({cluster.endpoint(0)}), prefix);
  auto leader = EtcdHistoryStore::Open(leader_client, prefix);
  ASSERT_TRUE(standby.ok() && leader.ok());
  FeedLog feed;
  ASSERT_EQ(feed.Follow(**standby), absl::OkStatus());
  auto last_named = [&] {
    const std::vector<std::string> named = feed.named();
    return named.empty() ? std::string("(nothing)") : named.back();
  };
  auto insert = [&](const std::string& id) {  // retried: member 0 may have led raft
    absl::Status s = (*leader)->InsertRun(MakeRun(id, 1, chaos::v1::RUN_STATE_PENDING), "");
    return s.ok() || absl::IsAlreadyExists(s);
  };
  ASSERT_TRUE(insert("burn-1"));
  ASSERT_TRUE(WaitFor([&] { return last_named() == "burn-1"; }, absl::Seconds(30)));

  cluster.Kill(0);
  ASSERT_TRUE(WaitFor([&] { return insert("burn-2"); }, absl::Seconds(30)));
  absl::StatusOr<int64_t> revision;
  ASSERT_TRUE(WaitFor([&] { return (revision = leader_client->Put("/mark", "")).ok(); },
                      absl::Seconds(30)));
  cluster.Compact(1, *revision);
  // etcd serves a restarted member's clients only once the member has
  // published itself through raft, after the compaction in its log: the
  // feed's next watch always finds its revision compacted.
  cluster.Start(0);
  // A restarted member that led raft was seen to take 15 s to serve again.
  ASSERT_TRUE(WaitFor([&] { return last_named().empty(); }, absl::Seconds(120)))
      << "the feed last named " << last_named();

  ASSERT_TRUE(insert("burn-3"));
  ASSERT_TRUE(WaitFor([&] { return last_named() == "burn-3"; }, absl::Seconds(30)));
  feed.Stop();
  EXPECT_THAT(feed.named(), ElementsAre("burn-1", "", "burn-3"));
}

TEST_F(EtcdHistoryStoreTest, APrefixHoldingForeignKeysIsRefusedNamingOne) {
  ASSERT_TRUE(client_->Put(prefix_ + "something/else", "not ours").ok());
  auto store = EtcdHistoryStore::Open(client_, prefix_);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(store.status())) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(prefix_ + "something/else"));

  const std::string other = UniquePrefix();
  ASSERT_TRUE(client_->Put(other + "layout", "chaos-controller-store/99").ok());
  auto newer = EtcdHistoryStore::Open(client_, other);
  ASSERT_FALSE(newer.ok());
  EXPECT_THAT(newer.status().message(), HasSubstr("chaos-controller-store/99"));
  EXPECT_TRUE(absl::IsInvalidArgument(EtcdHistoryStore::Open(client_, "chaos").status()));
}

}  // namespace
}  // namespace chaos::controller
