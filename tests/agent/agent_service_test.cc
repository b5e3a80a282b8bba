// The Agent service over a real gRPC channel on 127.0.0.1 (OS-chosen port),
// injecting real faults; effects checked from outside through /proc.
#include <signal.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "agent/server.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "faults/process.h"
#include "gtest/gtest.h"
#include "grpcpp/create_channel.h"
#include "tests/test_util.h"

namespace chaos::agent {
namespace {

using chaos::testing::TempDir;

chaos::v1::InjectRequest Burn(const std::string& id, int seconds = 30, int load = 20) {
  chaos::v1::InjectRequest req;
  req.mutable_spec()->set_fault_id(id);
  req.mutable_spec()->set_experiment_id("exp-1");
  req.mutable_spec()->mutable_duration()->set_seconds(seconds);
  req.mutable_spec()->mutable_cpu_burn()->set_workers(1);
  req.mutable_spec()->mutable_cpu_burn()->set_load_percent(load);
  req.set_caller("test");
  return req;
}

std::vector<faults::ProcessId> BurnersOf(const chaos::v1::FaultStatus& s) {
  std::vector<faults::ProcessId> ids;
  for (absl::string_view pid : absl::StrSplit(s.details().at("pids"), ',', absl::SkipEmpty())) {
    int p = 0;
    EXPECT_TRUE(absl::SimpleAtoi(pid, &p));
    auto info = faults::ReadProcessInfo(p);
    if (info.ok()) ids.push_back(info->id);
  }
  return ids;
}

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AgentOptions options;
    options.state_dir = dir_.path() + "/state";
    options.policy.max_duration = absl::Minutes(5);
    auto server = AgentServer::Start(options, "127.0.0.1:0", rpc::TransportOptions());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = chaos::v1::Agent::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Inject(const chaos::v1::InjectRequest& req, chaos::v1::InjectResponse* resp) {
    grpc::ClientContext ctx;
    return stub_->Inject(&ctx, req, resp);
  }
  grpc::Status Revert(const std::string& id, chaos::v1::RevertResponse* resp) {
    grpc::ClientContext ctx;
    chaos::v1::RevertRequest req;
    req.set_fault_id(id);
    return stub_->Revert(&ctx, req, resp);
  }

  TempDir dir_;
  std::unique_ptr<AgentServer> server_;
  std::unique_ptr<chaos::v1::Agent::Stub> stub_;
};

TEST_F(AgentServiceTest, InjectAndRevertOverGrpc) {
  chaos::v1::InjectResponse injected;
  ASSERT_TRUE(Inject(Burn("f1"), &injected).ok());
  EXPECT_EQ(injected.status().state(), chaos::v1::FAULT_STATE_ACTIVE);
  auto burners = BurnersOf(injected.status());
  ASSERT_EQ(burners.size(), 1u);
  EXPECT_TRUE(faults::ProcessAlive(burners[0]));

  // Idempotent by id: the same spec answers the existing fault.
  chaos::v1::InjectResponse again;
  ASSERT_TRUE(Inject(Burn("f1"), &again).ok());
  EXPECT_EQ(again.status().details().at("pids"), injected.status().details().at("pids"));
  // The same id with another spec is refused.
  EXPECT_EQ(Inject(Burn("f1", 30, 40), &again).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  {
    grpc::ClientContext ctx;
    chaos::v1::ListFaultsResponse list;
    ASSERT_TRUE(stub_->ListFaults(&ctx, {}, &list).ok());
    ASSERT_EQ(list.faults_size(), 1);
    EXPECT_EQ(list.faults(0).spec().fault_id(), "f1");
  }

  chaos::v1::RevertResponse reverted;
  ASSERT_TRUE(Revert("f1", &reverted).ok());
  EXPECT_EQ(reverted.status().state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_FALSE(faults::ProcessAlive(burners[0]));
  // Already reverted is OK; an id never seen is NOT_FOUND.
  EXPECT_TRUE(Revert("f1", &reverted).ok());
  EXPECT_EQ(Revert("no-such-fault", &reverted).error_code(), grpc::StatusCode::NOT_FOUND);
}

// ends_in counts from the agent's receipt of the request: the fault's
// expiry lies between sending plus ends_in and the answer plus ends_in,
// not a whole spec.duration after the inject.
TEST_F(AgentServiceTest, EndsInSetsTheExpiryFromReceipt) {
  auto req = Burn("w1", 60, 5);
  req.mutable_ends_in()->set_seconds(20);
  chaos::v1::InjectResponse resp;
  const int64_t sent = absl::ToUnixMillis(absl::Now());
  ASSERT_TRUE(Inject(req, &resp).ok());
  const int64_t answered = absl::ToUnixMillis(absl::Now());
  EXPECT_GE(resp.status().expires_at_unix_ms(), sent + 20000);
  EXPECT_LE(resp.status().expires_at_unix_ms(), answered + 20000 + 1);
  chaos::v1::RevertResponse reverted;
  EXPECT_TRUE(Revert("w1", &reverted).ok());
}

TEST_F(AgentServiceTest, BadRequestsAreRefusedWithTheField) {
  chaos::v1::InjectResponse resp;
  grpc::Status s = Inject(Burn("f2", 30, 140), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("cpu_burn.load_percent"), std::string::npos);

  auto no_kind = Burn("f3");
  no_kind.mutable_spec()->clear_cpu_burn();
  s = Inject(no_kind, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("spec.kind"), std::string::npos);

  auto bad_id = Burn("../etc");
  EXPECT_EQ(Inject(bad_id, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  auto no_duration = Burn("f4");
  no_duration.mutable_spec()->clear_duration();
  s = Inject(no_duration, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("spec.duration"), std::string::npos);

  // Durations outside protobuf's range, wherever they sit in the request.
  auto bad_nanos = Burn("f6");
  bad_nanos.mutable_spec()->mutable_duration()->set_nanos(2000000000);
  s = Inject(bad_nanos, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("spec.duration: not a valid duration"), std::string::npos)
      << s.error_message();
  auto mixed_signs = Burn("f7");
  mixed_signs.mutable_spec()->mutable_cpu_burn()->mutable_ramp()->set_seconds(1);
  mixed_signs.mutable_spec()->mutable_cpu_burn()->mutable_ramp()->set_nanos(-5);
  s = Inject(mixed_signs, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("spec.cpu_burn.ramp"), std::string::npos) << s.error_message();
  auto huge_lease = Burn("f8");
  huge_lease.mutable_lease()->set_seconds(int64_t{1} << 62);
  s = Inject(huge_lease, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("lease: not a valid duration"), std::string::npos)
      << s.error_message();
  auto late_end = Burn("f9", 30);
  late_end.mutable_ends_in()->set_seconds(31);  // beyond spec.duration
  s = Inject(late_end, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("ends_in: 31s"), std::string::npos) << s.error_message();
  {
    grpc::ClientContext ctx;
    chaos::v1::KeepAliveRequest keep;
    keep.set_experiment_id("exp-1");
    keep.mutable_lease()->set_nanos(-1000000000);
    chaos::v1::KeepAliveResponse kresp;
    s = stub_->KeepAlive(&ctx, keep, &kresp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("lease: not a valid duration"), std::string::npos)
        << s.error_message();
  }

  auto too_long = Burn("f5", 3600);
  EXPECT_EQ(Inject(too_long, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext ctx;
  chaos::v1::ListFaultsRequest all;
  all.set_include_ended(true);
  chaos::v1::ListFaultsResponse list;
  ASSERT_TRUE(stub_->ListFaults(&ctx, all, &list).ok());
  EXPECT_EQ(list.faults_size(), 0) << "nothing may be injected by a bad request";
}

TEST_F(AgentServiceTest, LeaseLapseRevertsTheExperiment) {
  auto req = Burn("leased");
  req.mutable_lease()->set_nanos(500'000'000);  // 0.5 s, never renewed
  chaos::v1::InjectResponse resp;
  ASSERT_TRUE(Inject(req, &resp).ok());
  auto burners = BurnersOf(resp.status());
  ASSERT_EQ(burners.size(), 1u);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitUntil([&] { return !faults::ProcessAlive(burners[0]); },
                        std::chrono::milliseconds(1500)))
      << "lease + 1 s elapsed and the burner still runs";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  chaos::v1::RevertResponse reverted;
  ASSERT_TRUE(Revert("leased", &reverted).ok());
  EXPECT_NE(reverted.status().reason().find("lease expired"), std::string::npos);
}

TEST_F(AgentServiceTest, KeepAliveHoldsTheLease) {
  auto req = Burn("kept");
  req.mutable_lease()->set_nanos(400'000'000);
  chaos::v1::InjectResponse resp;
  ASSERT_TRUE(Inject(req, &resp).ok());
  auto burners = BurnersOf(resp.status());
  for (int i = 0; i < 8; ++i) {  // 1.2 s of renewals, three leases long
    grpc::ClientContext ctx;
    chaos::v1::KeepAliveRequest ka;
    ka.set_experiment_id("exp-1");
    chaos::v1::KeepAliveResponse kr;
    ASSERT_TRUE(stub_->KeepAlive(&ctx, ka, &kr).ok());
    EXPECT_EQ(kr.active_faults(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  EXPECT_TRUE(faults::ProcessAlive(burners[0]));
  grpc::ClientContext ctx;
  chaos::v1::KeepAliveRequest unknown;
  unknown.set_experiment_id("nobody");
  chaos::v1::KeepAliveResponse kr;
  EXPECT_EQ(stub_->KeepAlive(&ctx, unknown, &kr).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AgentServiceTest, DurationIsEnforcedByTheAgentsOwnTimer) {
  auto req = Burn("short", 1);
  chaos::v1::InjectResponse resp;
  ASSERT_TRUE(Inject(req, &resp).ok());
  auto burners = BurnersOf(resp.status());
  EXPECT_TRUE(WaitUntil([&] { return !faults::ProcessAlive(burners[0]); },
                        std::chrono::milliseconds(2000)));
}

TEST_F(AgentServiceTest, HaltRevertsEverythingAndRefusesUntilResume) {
  chaos::v1::InjectResponse a, b;
  ASSERT_TRUE(Inject(Burn("h1"), &a).ok());
  ASSERT_TRUE(Inject(Burn("h2"), &b).ok());
  auto burners = BurnersOf(a.status());
  auto more = BurnersOf(b.status());
  burners.insert(burners.end(), more.begin(), more.end());
  ASSERT_EQ(burners.size(), 2u);
  {
    grpc::ClientContext ctx;
    chaos::v1::HaltRequest req;
    req.set_reason("test");
    chaos::v1::HaltResponse resp;
    ASSERT_TRUE(stub_->Halt(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.reverted_size(), 2);
  }
  for (const auto& id : burners) EXPECT_FALSE(faults::ProcessAlive(id));
  chaos::v1::InjectResponse c;
  grpc::Status s = Inject(Burn("h3"), &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("halted"), std::string::npos);
  {
    grpc::ClientContext ctx;
    chaos::v1::ResumeResponse resp;
    ASSERT_TRUE(stub_->Resume(&ctx, {}, &resp).ok());
  }
  ASSERT_TRUE(Inject(Burn("h3"), &c).ok());
}

TEST_F(AgentServiceTest, DescribeReportsHostAndCapabilities) {
  grpc::ClientContext ctx;
  chaos::v1::DescribeResponse d;
  ASSERT_TRUE(stub_->Describe(&ctx, {}, &d).ok());
  EXPECT_FALSE(d.hostname().empty());
  EXPECT_NE(d.kernel().find("Linux"), std::string::npos);
  bool cpu = false;
  for (const auto& c : d.capabilities()) cpu |= c.kind() == "cpu_burn" && c.available();
  EXPECT_TRUE(cpu);
}

// The real binary, killed with SIGKILL while a burn is active: the burner
// dies with it (parent-death signal), and the restarted agent finds the
// fault in its ledger and records it reverted.
TEST(AgentCrashTest, KillNineThenRestartLeavesNothingAndLedgerSaysSo) {
  TempDir dir;
  std::string fault_id = "crash-1";
  faults::ProcessId burner;
  {
    chaos::testing::AgentProcess agent(dir.path());
    auto stub = chaos::v1::Agent::NewStub(
        grpc::CreateChannel(agent.address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    chaos::v1::InjectResponse resp;
    ASSERT_TRUE(stub->Inject(&ctx, Burn(fault_id), &resp).ok()) << agent.log();
    burner = BurnersOf(resp.status()).at(0);
    ASSERT_TRUE(faults::ProcessAlive(burner));
    agent.process().Signal(SIGKILL);
    agent.process().Wait();
  }
  EXPECT_TRUE(WaitUntil([&] { return !faults::ProcessAlive(burner); },
                        std::chrono::milliseconds(2000)));
  chaos::testing::AgentProcess restarted(dir.path());
  auto stub = chaos::v1::Agent::NewStub(
      grpc::CreateChannel(restarted.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  chaos::v1::ListFaultsRequest req;
  req.set_include_ended(true);
  chaos::v1::ListFaultsResponse list;
  ASSERT_TRUE(stub->ListFaults(&ctx, req, &list).ok());
  ASSERT_EQ(list.faults_size(), 1);
  EXPECT_EQ(list.faults(0).state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_NE(list.faults(0).reason().find("recovery"), std::string::npos);
  EXPECT_NE(restarted.log().find("recovery: reverted 1 fault"), std::string::npos);
}

// The memory holder (chaos-mem) this process's agent started, once it exists.
std::optional<faults::ProcessInfo> MemoryHolder() {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    auto info = faults::ReadProcessStat(pid);
    if (info.ok() && info->ppid == getpid() && info->comm == "chaos-mem") return *info;
  }
  return std::nullopt;
}

// An inject can take long (a memory holder touching its pages); here one is
// held for as long as the test keeps its holder stopped. Meanwhile the
// agent answers a listing, a keep-alive and a revert of another fault, and
// still answers a listing while a halt waits for the held inject. Once the
// inject ends, the halt ends its fault too, and the inject says so.
TEST_F(AgentServiceTest, AHeldInjectDelaysNeitherARevertNorAKeepAlive) {
  chaos::v1::InjectResponse burn;
  ASSERT_TRUE(Inject(Burn("b1"), &burn).ok());
  const auto burners = BurnersOf(burn.status());
  ASSERT_EQ(burners.size(), 1u);

  chaos::v1::InjectRequest memory;
  memory.mutable_spec()->set_fault_id("m1");
  memory.mutable_spec()->set_experiment_id("exp-2");
  memory.mutable_spec()->mutable_duration()->set_seconds(60);
  memory.mutable_spec()->mutable_memory_pressure()->set_bytes(uint64_t{2} << 30);
  memory.set_caller("test");
  std::atomic<bool> injected{false};
  grpc::Status memory_status;
  chaos::v1::InjectResponse memory_response;
  std::thread inject([&] {
    memory_status = Inject(memory, &memory_response);
    injected = true;
  });
  std::optional<faults::ProcessInfo> holder;
  WaitUntil([&] { return (holder = MemoryHolder()).has_value(); }, std::chrono::seconds(30));
  if (!holder.has_value() || !faults::SignalProcess(holder->id, SIGSTOP).ok()) {
    inject.join();
    FAIL() << "the agent started no memory holder the test could stop";
  }
  auto list_answers = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    chaos::v1::ListFaultsResponse list;
    return stub_->ListFaults(&ctx, {}, &list).ok();
  };
  EXPECT_TRUE(list_answers());
  {
    grpc::ClientContext ctx;
    chaos::v1::KeepAliveRequest req;
    req.set_experiment_id("exp-1");
    chaos::v1::KeepAliveResponse resp;
    EXPECT_TRUE(stub_->KeepAlive(&ctx, req, &resp).ok());
  }
  chaos::v1::RevertResponse reverted;
  EXPECT_TRUE(Revert("b1", &reverted).ok());
  EXPECT_EQ(reverted.status().state(), chaos::v1::FAULT_STATE_REVERTED);
  EXPECT_FALSE(faults::ProcessAlive(burners[0]));
  EXPECT_FALSE(injected) << "precondition: the holder touched 2 GiB before it was stopped";

  grpc::Status halt_status;
  std::thread halt([&] {
    grpc::ClientContext ctx;
    chaos::v1::HaltRequest req;
    req.set_reason("test");
    chaos::v1::HaltResponse resp;
    halt_status = stub_->Halt(&ctx, req, &resp);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // lets the halt arrive
  EXPECT_TRUE(list_answers());
  EXPECT_FALSE(injected) << "the inject was answered while its holder was stopped";

  const bool resumed = faults::SignalProcess(holder->id, SIGCONT).ok();
  inject.join();  // joined before any ASSERT: a joinable thread would end the test binary
  halt.join();
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(halt_status.ok()) << halt_status.error_message();
  if (memory_status.ok()) {  // the inject ended before the halt began to end faults
    EXPECT_EQ(memory_response.status().state(), chaos::v1::FAULT_STATE_ACTIVE);
  } else {
    EXPECT_EQ(memory_status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(memory_status.error_message().find("halted while the fault was being injected"),
              std::string::npos)
        << memory_status.error_message();
  }
  EXPECT_FALSE(faults::ProcessAlive(holder->id)) << "the memory holder outlived the halt";
  grpc::ClientContext ctx;
  chaos::v1::ListFaultsResponse list;
  ASSERT_TRUE(stub_->ListFaults(&ctx, {}, &list).ok());
  for (const auto& f : list.faults()) {
    EXPECT_NE(f.state(), chaos::v1::FAULT_STATE_ACTIVE) << f.spec().fault_id();
  }
}

}  // namespace
}  // namespace chaos::agent
