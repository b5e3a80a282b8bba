// A standby's WatchRun (controller/server/stored_run_watch.h) over real
// gRPC, against both stores: a run another controller writes is streamed
// as it is written, and the call ends once the run has ended.
//
// On etcd the watches are read when the store's feed (an etcd watch) says
// the run was written: the timer is set to an hour, so a stream that moves
// at all moved by the feed. On SQLite, which has no feed, they are read on
// a short timer.
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "chaos/v1/controller.grpc.pb.h"
#include "controller/server/stored_run_watch.h"
#include "controller/store/etcd_history_store.h"
#include "controller/store/sqlite_history_store.h"
#include "gtest/gtest.h"
#include "tests/etcd_cluster.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

enum class Kind { kSqlite, kEtcd };

// Only WatchRun, answered the way a standby answers it.
class StandbyWatchService final : public chaos::v1::Controller::CallbackService {
 public:
  explicit StandbyWatchService(StoredRunWatches* watches) : watches_(watches) {}
  grpc::ServerWriteReactor<chaos::v1::RunEvent>* WatchRun(
      grpc::CallbackServerContext*, const chaos::v1::WatchRunRequest* req) override {
    return watches_->Watch(req->run_id());
  }

 private:
  StoredRunWatches* const watches_;
};

chaos::v1::RunEvent Event(uint32_t seq, const std::string& type) {
  chaos::v1::RunEvent e;
  e.set_run_id("burn-1");
  e.set_seq(seq);
  e.set_type(type);
  return e;
}

class StoredRunWatchTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kEtcd) {
      etcd_ = std::make_unique<testing::EtcdCluster>(1);
      leader_ = OpenEtcd();
      standby_ = OpenEtcd();
    } else {
      auto store = SqliteHistoryStore::Open(dir_.path() + "/history.db");
      ASSERT_TRUE(store.ok()) << store.status();
      leader_ = std::move(*store);
      store = SqliteHistoryStore::Open(dir_.path() + "/history.db");
      ASSERT_TRUE(store.ok()) << store.status();
      standby_ = std::move(*store);
    }
    const absl::Duration timer =
        GetParam() == Kind::kEtcd ? absl::Hours(1) : absl::Milliseconds(100);
    watches_ = std::make_unique<StoredRunWatches>(standby_.get(), timer);
    service_ = std::make_unique<StandbyWatchService>(watches_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = chaos::v1::Controller::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    watches_.reset();
  }

  std::unique_ptr<HistoryStore> OpenEtcd() {
    etcd::ClientOptions options;
    options.endpoints = etcd_->endpoints();
    auto client = etcd::Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    auto store = EtcdHistoryStore::Open(std::move(*client), "/chaos/");
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(*store);
  }

  // A watch that gives up after a minute, so that a stream that stops
  // moving fails the test rather than hanging it.
  struct Call {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<chaos::v1::RunEvent>> reader;
  };
  std::unique_ptr<Call> Watch(const std::string& run_id) {
    auto call = std::make_unique<Call>();
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(1));
    chaos::v1::WatchRunRequest req;
    req.set_run_id(run_id);
    call->reader = stub_->WatchRun(&call->ctx, req);
    return call;
  }
  std::string Next(Call& call) {
    chaos::v1::RunEvent e;
    if (!call.reader->Read(&e)) return "(ended: " + call.reader->Finish().error_message() + ")";
    return std::to_string(e.seq()) + " " + e.type();
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::EtcdCluster> etcd_;
  std::unique_ptr<HistoryStore> leader_;   // writes, as the leader does
  std::unique_ptr<HistoryStore> standby_;  // read by the watches
  std::unique_ptr<StoredRunWatches> watches_;
  std::unique_ptr<StandbyWatchService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<chaos::v1::Controller::Stub> stub_;
};

TEST_P(StoredRunWatchTest, ARunIsStreamedAsTheLeaderWritesItUntilItEnds) {
  chaos::v1::Run run;
  run.set_run_id("burn-1");
  run.set_state(chaos::v1::RUN_STATE_RUNNING);
  ASSERT_TRUE(leader_->InsertRun(run, "name: burn").ok());
  ASSERT_TRUE(leader_->AppendEvent(Event(1, "start")).ok());
  ASSERT_TRUE(leader_->AppendEvent(Event(2, "inject")).ok());

  std::unique_ptr<Call> call = Watch("burn-1");
  EXPECT_EQ(Next(*call), "1 start");
  EXPECT_EQ(Next(*call), "2 inject");
  ASSERT_TRUE(leader_->AppendEvent(Event(3, "revert")).ok());
  EXPECT_EQ(Next(*call), "3 revert") << "an event written while the watch waits";
  ASSERT_TRUE(leader_->AppendEvent(Event(4, "end")).ok());
  run.set_state(chaos::v1::RUN_STATE_PASSED);
  ASSERT_TRUE(leader_->UpdateRun(run).ok());
  EXPECT_EQ(Next(*call), "4 end");
  chaos::v1::RunEvent none;
  EXPECT_FALSE(call->reader->Read(&none)) << "the run ended: nothing follows";
  grpc::Status end = call->reader->Finish();
  EXPECT_TRUE(end.ok()) << end.error_message();

  // A second watch of the ended run gets the whole journal at once.
  std::unique_ptr<Call> again = Watch("burn-1");
  for (const char* want : {"1 start", "2 inject", "3 revert", "4 end"}) {
    EXPECT_EQ(Next(*again), want);
  }
  EXPECT_EQ(Next(*again), "(ended: )");
}

TEST_P(StoredRunWatchTest, AnUnknownRunIsNotFound) {
  std::unique_ptr<Call> call = Watch("nope");
  chaos::v1::RunEvent none;
  EXPECT_FALSE(call->reader->Read(&none));
  grpc::Status end = call->reader->Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::NOT_FOUND) << end.error_message();
}

INSTANTIATE_TEST_SUITE_P(Stores, StoredRunWatchTest,
                         ::testing::Values(Kind::kSqlite, Kind::kEtcd),
                         [](const auto& info) {
                           return info.param == Kind::kSqlite ? "Sqlite" : "Etcd";
                         });

}  // namespace
}  // namespace chaos::controller
