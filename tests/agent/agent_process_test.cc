// The chaos-agent binary from outside: policy, metrics, JSON logs, abuse,
// and 1000 inject/revert cycles that must leave nothing behind.
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "gtest/gtest.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "httplib.h"
#include "tests/agent_client.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

chaos::v1::InjectRequest Burn(const std::string& id, int load = 10) {
  chaos::v1::InjectRequest req;
  req.mutable_spec()->set_fault_id(id);
  req.mutable_spec()->set_experiment_id("exp");
  req.mutable_spec()->mutable_duration()->set_seconds(30);
  req.mutable_spec()->mutable_cpu_burn()->set_load_percent(load);
  return req;
}

int CountEntries(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

long StatusField(pid_t pid, const std::string& field) {
  for (absl::string_view line :
       absl::StrSplit(ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/status")), '\n')) {
    if (absl::StartsWith(line, field + ":")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipWhitespace());
      long v = 0;
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &v)) return v;
    }
  }
  return -1;
}

int ChildCount(pid_t parent) {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    pid_t pid;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    if (StatusField(pid, "PPid") == parent) ++n;
  }
  closedir(d);
  return n;
}

TEST(AgentProcessTest, PolicyViolationIsRefusedWithItsRuleAndNothingRuns) {
  TempDir dir;
  std::ofstream(dir.path() + "/policy.yaml") << "maxCpuPercent: 30\n";
  AgentProcess agent(dir.path(), {"--policy", dir.path() + "/policy.yaml"});
  auto stub = AgentStub(agent.address());
  grpc::ClientContext ctx;
  chaos::v1::InjectResponse resp;
  grpc::Status s = stub->Inject(&ctx, Burn("too-hot", 80), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("policy maxCpuPercent"), std::string::npos) << s.error_message();
  EXPECT_EQ(ChildCount(agent.process().pid()), 0) << "a refused inject started a process";
  EXPECT_NE(agent.log().find("audit action=refuse"), std::string::npos);
}

TEST(AgentProcessTest, BadPolicyFileStopsTheAgentWithItsPosition) {
  TempDir dir;
  std::ofstream(dir.path() + "/policy.yaml") << "maxCpuPercent: 30\nbogus: 1\n";
  CommandResult r = RunCommand({AgentBinary(), "--listen", "127.0.0.1:0", "--state-dir",
                                dir.path() + "/state", "--policy", dir.path() + "/policy.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("policy.yaml:2:1: bogus: unknown policy field"), std::string::npos)
      << r.output;
}

// The lean build (CHAOS_STATIC_AGENT): a serving agent maps none of the
// shared libraries its static archives replace (docs/BENCHMARKS.md,
// "Agent footprint").
TEST(AgentProcessTest, LeanAgentMapsNoSharedGrpcProtobufOrAbseil) {
#ifndef CHAOS_LEAN_AGENT
  GTEST_SKIP() << "chaos-agent is linked with the shared libraries (CHAOS_STATIC_AGENT=OFF)";
#endif
  TempDir dir;
  AgentProcess agent(dir.path());
  const std::string maps =
      ReadFileOrEmpty(absl::StrCat("/proc/", agent.process().pid(), "/maps"));
  ASSERT_TRUE(absl::StrContains(maps, "/libc.so")) << maps;  // read while it runs
  for (const char* lib : {"/libgrpc", "/libgpr.", "/libprotobuf", "/libabsl_", "/libre2.",
                          "/libnl-", "/libyaml-cpp"}) {
    EXPECT_FALSE(absl::StrContains(maps, lib)) << lib << " is mapped:\n" << maps;
  }
}

TEST(AgentProcessTest, MetricsCountInjectsRevertsAndActiveFaults) {
  TempDir dir;
  AgentProcess agent(dir.path(), {"--metrics-listen", "127.0.0.1:0"});
  // The metrics port is logged: "metrics on PORT".
  const std::string log = agent.log();
  const size_t at = log.find("metrics on ");
  ASSERT_NE(at, std::string::npos) << log;
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(log.substr(at + 11, log.find('\n', at) - at - 11), &port));
  httplib::Client http("127.0.0.1", port);
  auto stub = AgentStub(agent.address());
  {
    grpc::ClientContext ctx;
    chaos::v1::InjectResponse resp;
    ASSERT_TRUE(stub->Inject(&ctx, Burn("m1"), &resp).ok());
  }
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("# TYPE chaos_agent_active_faults gauge\nchaos_agent_active_faults 1\n"),
            std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("chaos_agent_injections_total 1\n"), std::string::npos);
  {
    grpc::ClientContext ctx;
    chaos::v1::RevertRequest req;
    req.set_fault_id("m1");
    chaos::v1::RevertResponse resp;
    ASSERT_TRUE(stub->Revert(&ctx, req, &resp).ok());
  }
  res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("chaos_agent_active_faults 0\n"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("chaos_agent_reverts_total 1\n"), std::string::npos) << res->body;
}

TEST(AgentProcessTest, JsonLogsAreOneObjectPerLineWithEscapedAudit) {
  TempDir dir;
  AgentProcess agent(dir.path(), {"--log-format", "json"});
  auto stub = AgentStub(agent.address());
  grpc::ClientContext ctx;
  chaos::v1::InjectResponse resp;
  ASSERT_TRUE(stub->Inject(&ctx, Burn("j1"), &resp).ok());
  bool audit = false;
  for (absl::string_view line : absl::StrSplit(agent.log(), '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"time\":\"") && absl::EndsWith(line, "\"}")) << line;
    audit |= absl::StrContains(line, "audit action=inject fault=j1") &&
             absl::StrContains(line, "result=\\\"ok");
  }
  EXPECT_TRUE(audit) << agent.log();
}

TEST(AgentProcessTest, OversizedAndMalformedRequestsDoNotHurtTheAgent) {
  TempDir dir;
  AgentProcess agent(dir.path());
  auto stub = AgentStub(agent.address());
  auto big = Burn("big");
  big.set_caller(std::string(2 << 20, 'x'));
  grpc::ClientContext ctx;
  chaos::v1::InjectResponse resp;
  EXPECT_EQ(stub->Inject(&ctx, big, &resp).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Bytes that are not an InjectRequest, sent raw to the method.
  auto channel = grpc::CreateChannel(agent.address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::ClientContext raw_ctx;
  grpc::ByteBuffer out;
  grpc::Slice junk(std::string("\xff\xff\xff\xff garbage", 12));
  grpc::ByteBuffer in(&junk, 1);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status raw_status;
  generic.UnaryCall(&raw_ctx, "/chaos.v1.Agent/Inject", grpc::StubOptions(), &in, &out,
                    [&](grpc::Status s) {
                      std::lock_guard<std::mutex> l(mu);
                      raw_status = s;
                      done = true;
                      cv.notify_all();
                    });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return done; });
  }
  EXPECT_FALSE(raw_status.ok());
  EXPECT_TRUE(agent.process().running()) << agent.log();
  grpc::ClientContext ok_ctx;
  chaos::v1::DescribeResponse d;
  EXPECT_TRUE(stub->Describe(&ok_ctx, {}, &d).ok());
}

TEST(AgentProcessTest, ThousandCyclesLeaveNoFdsThreadsFilesOrProcesses) {
  TempDir dir;
  AgentProcess agent(dir.path(), {"--keep-ended", "20"});
  const pid_t pid = agent.process().pid();
  auto stub = AgentStub(agent.address());
  auto cycle = [&](int i) {
    const std::string id = absl::StrCat("c", i);
    grpc::ClientContext a;
    chaos::v1::InjectResponse ir;
    ASSERT_TRUE(stub->Inject(&a, Burn(id), &ir).ok());
    grpc::ClientContext b;
    chaos::v1::RevertRequest rr;
    rr.set_fault_id(id);
    chaos::v1::RevertResponse rs;
    ASSERT_TRUE(stub->Revert(&b, rr, &rs).ok());
  };
  for (int i = 0; i < 100; ++i) cycle(i);  // warm up pools and caches
  const int fds0 = CountEntries(absl::StrCat("/proc/", pid, "/fd"));
  const long threads0 = StatusField(pid, "Threads");
  const long rss0 = StatusField(pid, "VmRSS");
  for (int i = 100; i < 1100; ++i) {
    cycle(i);
    if (::testing::Test::HasFatalFailure()) return;
  }
  const int fds1 = CountEntries(absl::StrCat("/proc/", pid, "/fd"));
  const long threads1 = StatusField(pid, "Threads");
  const long rss1 = StatusField(pid, "VmRSS");
  EXPECT_LE(fds1, fds0 + 2) << "file descriptors grew";
  EXPECT_LE(threads1, threads0 + 2) << "threads grew";
  EXPECT_LT(rss1, rss0 + 8 * 1024) << "resident memory grew by " << (rss1 - rss0) << " kB";
  EXPECT_EQ(ChildCount(pid), 0) << "a burner or zombie was left";
  EXPECT_LE(CountEntries(dir.path() + "/ledger"), 20) << "ended ledger records not pruned";
  RecordProperty("rss_kb_before", static_cast<int>(rss0));
  RecordProperty("rss_kb_after", static_cast<int>(rss1));
}

}  // namespace
}  // namespace chaos::testing

namespace chaos::testing {
namespace {

// A tagged burner orphaned to init (its agent died unjournaled) is swept at
// the next start; a tagged process whose parent lives is not.
TEST(AgentProcessTest, StartUpSweepsOrphanedBurnersOnly) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t middle = fork();
  if (middle == 0) {
    const pid_t orphan = fork();
    if (orphan == 0) {
      prctl(PR_SET_NAME, "chaos-burn");
      for (;;) pause();
    }
    (void)!write(fds[1], &orphan, sizeof(orphan));
    _exit(0);  // the orphan is reparented
  }
  pid_t orphan = 0;
  ASSERT_EQ(read(fds[0], &orphan, sizeof(orphan)), static_cast<ssize_t>(sizeof(orphan)));
  waitpid(middle, nullptr, 0);
  close(fds[0]);
  close(fds[1]);
  // A tagged process whose parent (this test) lives is someone's own burner.
  const pid_t other = fork();
  if (other == 0) {
    prctl(PR_SET_NAME, "chaos-burn");
    for (;;) pause();
  }
  TempDir dir;
  AgentProcess agent(dir.path());
  for (int i = 0; i < 100 && kill(orphan, 0) == 0; ++i) usleep(20000);
  EXPECT_NE(kill(orphan, 0), 0) << "orphaned chaos-burn " << orphan << " survived the sweep";
  EXPECT_NE(agent.log().find("sweep: killed leftover chaos-burn pid " + std::to_string(orphan)),
            std::string::npos)
      << agent.log();
  EXPECT_EQ(kill(other, 0), 0) << "a live process's own burner was killed";
  kill(other, SIGKILL);
  waitpid(other, nullptr, 0);
}

}  // namespace
}  // namespace chaos::testing

namespace chaos::testing {
namespace {

char ProcessState(pid_t pid) {
  const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
}

bool WaitForState(pid_t pid, char state) {
  for (int i = 0; i < 100; ++i) {
    if (ProcessState(pid) == state) return true;
    usleep(20000);
  }
  return false;
}

double UsedBytes(const std::string& dir) {
  struct statvfs s;
  if (statvfs(dir.c_str(), &s) != 0) return -1;
  return static_cast<double>(s.f_blocks - s.f_bfree) * static_cast<double>(s.f_frsize);
}

// kill -9 of the agent binary while a CPU burn, a disk fill and a process
// pause are active; a new agent on the same state directory reverts all
// three within 2 s of starting, and its ledger says so.
TEST(AgentProcessTest, KillNineWithBurnFillAndPauseThenRestartRevertsAllThree) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ASSERT_EQ(mkdir(data.c_str(), 0755), 0);
  ASSERT_EQ(mount("tmpfs", data.c_str(), "tmpfs", 0, "size=32m"), 0) << strerror(errno);
  absl::Cleanup unmount = [&] { umount2(data.c_str(), MNT_DETACH); };
  std::ofstream(dir.path() + "/policy.yaml") << "fillRoots: [" << data << "]\n";
  const double used_before = UsedBytes(data);
  Subprocess victim({"/bin/sleep", "600"});
  ASSERT_TRUE(WaitForState(victim.pid(), 'S'));

  pid_t burner = 0;
  {
    AgentProcess agent(dir.path(), {"--policy", dir.path() + "/policy.yaml"});
    auto stub = AgentStub(agent.address());
    auto inject = [&](chaos::v1::InjectRequest req, const std::string& id) {
      req.mutable_spec()->set_fault_id(id);
      req.mutable_spec()->set_experiment_id("crash");
      req.mutable_spec()->mutable_duration()->set_seconds(600);
      req.mutable_lease()->set_seconds(600);
      grpc::ClientContext ctx;
      chaos::v1::InjectResponse resp;
      grpc::Status s = stub->Inject(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
      return resp.status();
    };
    auto burn = inject(Burn("b"), "burn");
    ASSERT_TRUE(absl::SimpleAtoi(burn.details().at("pids"), &burner));
    chaos::v1::InjectRequest fill;
    fill.mutable_spec()->mutable_disk_fill()->set_directory(data);
    fill.mutable_spec()->mutable_disk_fill()->set_bytes(16 << 20);
    inject(fill, "fill");
    chaos::v1::InjectRequest pause;
    pause.mutable_spec()->mutable_process_pause()->mutable_target()->set_pid(victim.pid());
    inject(pause, "pause");
    ASSERT_GE(UsedBytes(data) - used_before, 15.0 * (1 << 20));
    ASSERT_TRUE(WaitForState(victim.pid(), 'T'));  // SIGSTOP lands asynchronously
    ASSERT_EQ(kill(burner, 0), 0);
    agent.process().Signal(SIGKILL);
    agent.process().Wait();
  }
  // The burner dies with its agent; the fill and the pause stay.
  EXPECT_EQ(ProcessState(victim.pid()), 'T');
  EXPECT_GE(UsedBytes(data) - used_before, 15.0 * (1 << 20));

  const auto t0 = std::chrono::steady_clock::now();
  AgentProcess restarted(dir.path(), {"--policy", dir.path() + "/policy.yaml"});
  bool reverted = false;
  for (int i = 0; i < 100 && !reverted; ++i) {
    reverted = ProcessState(victim.pid()) == 'S' && UsedBytes(data) - used_before < (1 << 20) &&
               (kill(burner, 0) != 0 || ProcessState(burner) == 'Z');
    if (!reverted) usleep(20000);
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(reverted) << "state " << ProcessState(victim.pid()) << ", fill bytes "
                        << UsedBytes(data) - used_before << "\n" << restarted.log();
  EXPECT_LT(took, std::chrono::seconds(2));
  auto stub = AgentStub(restarted.address());
  grpc::ClientContext ctx;
  chaos::v1::ListFaultsRequest req;
  req.set_include_ended(true);
  chaos::v1::ListFaultsResponse list;
  ASSERT_TRUE(stub->ListFaults(&ctx, req, &list).ok());
  ASSERT_EQ(list.faults_size(), 3);
  for (const auto& f : list.faults()) {
    EXPECT_EQ(f.state(), chaos::v1::FAULT_STATE_REVERTED) << f.spec().fault_id();
    EXPECT_NE(f.reason().find("recovery"), std::string::npos) << f.spec().fault_id();
  }
}

// A disk fill whose file is made immutable (chattr +i) while it is in
// place: its revert fails and the agent keeps retrying it with backoff.
class ImmutableFill {
 public:
  ImmutableFill() {
    // The state on a tmpfs of its own, the fill on /tmp's filesystem (which
    // takes chattr +i; tmpfs may not), so the fill never hits the state.
    state_ = dir_.path() + "/state";
    data_ = dir_.path() + "/data";
    EXPECT_EQ(mkdir(state_.c_str(), 0755), 0);
    EXPECT_EQ(mkdir(data_.c_str(), 0755), 0);
    EXPECT_EQ(mount("tmpfs", state_.c_str(), "tmpfs", 0, "size=8m"), 0) << strerror(errno);
    std::ofstream(dir_.path() + "/policy.yaml") << "fillRoots: [" << data_ << "]\n";
  }
  ~ImmutableFill() {
    if (!path_.empty()) RunCommand({"/usr/bin/chattr", "-i", path_});
    umount2(state_.c_str(), MNT_DETACH);
  }
  std::vector<std::string> AgentFlags() const {
    return {"--policy", dir_.path() + "/policy.yaml", "--revert-retry-initial", "0.05",
            "--revert-retry-max", "0.2", "--metrics-listen", "127.0.0.1:0"};
  }
  // Injects the fill "fill" of experiment "imm" and locks its file.
  void InjectAndLock(chaos::v1::Agent::Stub& stub) {
    chaos::v1::InjectRequest req;
    req.mutable_spec()->set_fault_id("fill");
    req.mutable_spec()->set_experiment_id("imm");
    req.mutable_spec()->mutable_duration()->set_seconds(600);
    req.mutable_spec()->mutable_disk_fill()->set_directory(data_);
    req.mutable_spec()->mutable_disk_fill()->set_bytes(1 << 20);
    req.mutable_lease()->set_seconds(600);
    grpc::ClientContext ctx;
    chaos::v1::InjectResponse resp;
    grpc::Status s = stub.Inject(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    path_ = resp.status().details().at("path");
    CommandResult r = RunCommand({"/usr/bin/chattr", "+i", path_});
    if (r.exit_code != 0) GTEST_SKIP() << "chattr +i unsupported here: " << r.output;
  }
  void Unlock() { ASSERT_EQ(RunCommand({"/usr/bin/chattr", "-i", path_}).exit_code, 0); }
  bool FileExists() const { return access(path_.c_str(), F_OK) == 0; }
  const std::string& state() const { return state_; }

 private:
  TempDir dir_;
  std::string state_, data_, path_;
};

chaos::v1::FaultStatus FaultNamed(chaos::v1::Agent::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  chaos::v1::ListFaultsRequest req;
  req.set_include_ended(true);
  chaos::v1::ListFaultsResponse resp;
  EXPECT_TRUE(stub.ListFaults(&ctx, req, &resp).ok());
  for (const auto& f : resp.faults()) {
    if (f.spec().fault_id() == id) return f;
  }
  return {};
}

std::string Metrics(const AgentProcess& agent) {
  const std::string log = agent.log();
  const size_t at = log.find("metrics on ");
  int port = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtoi(log.substr(at + 11, log.find('\n', at) - at - 11), &port)) {
    return "";
  }
  httplib::Client http("127.0.0.1", port);
  auto res = http.Get("/metrics");
  return res ? res->body : "";
}

// The revert of a locked fill file fails, RevertExperiment says so, and once
// the file is unlocked the agent removes it by itself: no operator call.
TEST(AgentProcessTest, FailedRevertIsRetriedByTheAgentUntilItHolds) {
  ImmutableFill fill;
  AgentProcess agent(fill.state(), fill.AgentFlags());
  auto stub = AgentStub(agent.address());
  fill.InjectAndLock(*stub);
  if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return;
  {
    grpc::ClientContext ctx;
    chaos::v1::RevertExperimentRequest req;
    req.set_experiment_id("imm");
    chaos::v1::RevertExperimentResponse resp;
    grpc::Status s = stub->RevertExperiment(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
    EXPECT_NE(s.error_message().find("fill"), std::string::npos) << s.error_message();
  }
  chaos::v1::FaultStatus failed = FaultNamed(*stub, "fill");
  // FAILED, or REVERTING while the agent's own retry runs.
  EXPECT_TRUE(failed.state() == chaos::v1::FAULT_STATE_FAILED ||
              failed.state() == chaos::v1::FAULT_STATE_REVERTING)
      << failed.ShortDebugString();
  EXPECT_FALSE(failed.revert_error().empty());
  EXPECT_GT(failed.next_retry_unix_ms(), 0);
  EXPECT_NE(Metrics(agent).find("chaos_agent_revert_retries_pending 1\n"), std::string::npos)
      << Metrics(agent);
  CommandResult listed = RunCommand({ChaosctlBinary(), "faults", "--agent", agent.address()});
  EXPECT_NE(listed.output.find("retrying"), std::string::npos) << listed.output;
  // The agent's timer tries again on its own, and fails while it is locked.
  EXPECT_TRUE(WaitFor([&] { return FaultNamed(*stub, "fill").revert_attempts() >= 3; },
                      absl::Minutes(1)))
      << agent.log();
  EXPECT_TRUE(fill.FileExists());

  fill.Unlock();
  EXPECT_TRUE(WaitFor([&] {
    return FaultNamed(*stub, "fill").state() == chaos::v1::FAULT_STATE_REVERTED;
  }, absl::Minutes(1))) << agent.log();
  const chaos::v1::FaultStatus reverted = FaultNamed(*stub, "fill");
  EXPECT_FALSE(fill.FileExists());
  EXPECT_TRUE(reverted.revert_error().empty());
  EXPECT_EQ(reverted.next_retry_unix_ms(), 0);
  EXPECT_NE(reverted.reason().find("retry"), std::string::npos) << reverted.reason();
  EXPECT_NE(Metrics(agent).find("chaos_agent_revert_retries_pending 0\n"), std::string::npos);
}

// Halt answers non-OK when a revert fails; `chaosctl revert --abandon` then
// ends the retries, audited, and leaves the file where it is.
TEST(AgentProcessTest, HaltReportsAFailedRevertAndAbandonStopsItsRetries) {
  ImmutableFill fill;
  AgentProcess agent(fill.state(), fill.AgentFlags());
  auto stub = AgentStub(agent.address());
  fill.InjectAndLock(*stub);
  if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return;
  {
    grpc::ClientContext ctx;
    chaos::v1::HaltRequest req;
    req.set_reason("test");
    chaos::v1::HaltResponse resp;
    grpc::Status s = stub->Halt(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
    EXPECT_NE(s.error_message().find("fill"), std::string::npos) << s.error_message();
  }
  // Halt tried twice; a halted agent retries nothing until Resume.
  EXPECT_EQ(FaultNamed(*stub, "fill").revert_attempts(), 2u);
  CommandResult halted =
      RunCommand({ChaosctlBinary(), "halt", "--agent", agent.address(), "--reason", "again"});
  EXPECT_NE(halted.exit_code, 0) << halted.output;

  CommandResult r = RunCommand(
      {ChaosctlBinary(), "revert", "--agent", agent.address(), "--abandon", "fill"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("abandoned"), std::string::npos) << r.output;
  const chaos::v1::FaultStatus abandoned = FaultNamed(*stub, "fill");
  EXPECT_TRUE(abandoned.abandoned());
  EXPECT_EQ(abandoned.next_retry_unix_ms(), 0);
  EXPECT_NE(abandoned.reason().find("on behalf of chaosctl"), std::string::npos)
      << abandoned.reason();
  EXPECT_NE(agent.log().find("audit action=abandon fault=fill"), std::string::npos)
      << agent.log();

  // Unlocked and resumed: neither the timer nor a Revert touches it again.
  fill.Unlock();
  {
    grpc::ClientContext ctx;
    chaos::v1::ResumeResponse resp;
    ASSERT_TRUE(stub->Resume(&ctx, {}, &resp).ok());
  }
  grpc::ClientContext ctx;
  chaos::v1::RevertRequest req;
  req.set_fault_id("fill");
  chaos::v1::RevertResponse resp;
  ASSERT_TRUE(stub->Revert(&ctx, req, &resp).ok());
  EXPECT_TRUE(resp.status().abandoned());
  EXPECT_TRUE(fill.FileExists());
  EXPECT_NE(Metrics(agent).find("chaos_agent_revert_retries_pending 0\n"), std::string::npos);
}

// A process kill of `regex`; SIGURG by default, which a process ignores
// unless it asks for it, so a selection gone wrong would hurt nobody.
chaos::v1::InjectRequest KillMatching(const std::string& id, const std::string& regex,
                                      int signal = SIGURG, uint32_t count = 0) {
  chaos::v1::InjectRequest req;
  req.mutable_spec()->set_fault_id(id);
  req.mutable_spec()->set_experiment_id("blast");
  req.mutable_spec()->mutable_duration()->set_seconds(30);
  auto* kill = req.mutable_spec()->mutable_process_kill();
  kill->mutable_target()->set_cmdline_regex(regex);
  kill->mutable_target()->set_count(count);
  kill->set_signal(signal);
  return req;
}

// Six sleepers with a command line of their own, for a selector to match.
struct Victims {
  Victims() {
    for (int i = 0; i < 6; ++i) procs.push_back(std::make_unique<Subprocess>(argv));
    for (auto& p : procs) EXPECT_TRUE(WaitForState(p->pid(), 'S'));
  }
  int Alive() {
    int n = 0;
    for (auto& p : procs) n += ProcessState(p->pid()) == 'S';
    return n;
  }
  const std::vector<std::string> argv = {"/bin/sleep", absl::StrCat("600.", getpid(), "1")};
  const std::string regex = absl::StrCat("^/bin/sleep 600\\.", getpid(), "1$");
  std::vector<std::unique_ptr<Subprocess>> procs;
};

size_t FaultsKnown(chaos::v1::Agent::Stub& stub) {
  grpc::ClientContext ctx;
  chaos::v1::ListFaultsRequest req;
  req.set_include_ended(true);
  chaos::v1::ListFaultsResponse list;
  EXPECT_TRUE(stub.ListFaults(&ctx, req, &list).ok());
  return list.faults_size();
}

TEST(AgentProcessTest, DefaultPolicyRefusesAKillOfEverythingAndAllowsANarrowOne) {
  TempDir dir;
  Victims victims;  // at least 6 matches for ".*", whatever else runs here
  AgentProcess agent(dir.path());
  auto stub = AgentStub(agent.address());
  for (const auto& [id, regex] : {std::pair<std::string, std::string>{"everything", ".*"},
                                  {"all-six", victims.regex}}) {
    grpc::ClientContext ctx;
    chaos::v1::InjectResponse resp;
    const int signal = id == "everything" ? SIGURG : SIGKILL;
    grpc::Status s = stub->Inject(&ctx, KillMatching(id, regex, signal), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << id;
    EXPECT_NE(s.error_message().find("policy maxProcessesPerFault: selector matches "),
              std::string::npos)
        << s.error_message();
    EXPECT_NE(s.error_message().find(", cap is 5"), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(victims.Alive(), 6) << "a refused kill signalled a process";
  EXPECT_EQ(FaultsKnown(*stub), 0u) << "a refused kill was journaled";
  EXPECT_NE(agent.log().find("audit action=refuse"), std::string::npos);
  // count 2 of the six: within the cap.
  grpc::ClientContext ctx;
  chaos::v1::InjectResponse resp;
  grpc::Status s = stub->Inject(&ctx, KillMatching("two", victims.regex, SIGKILL, 2), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < 500 && victims.Alive() != 4; ++i) usleep(10000);  // hang guard
  EXPECT_EQ(victims.Alive(), 4);
  EXPECT_EQ(FaultsKnown(*stub), 1u);
}

TEST(AgentProcessTest, PolicyFileRaisesTheProcessCapPerHost) {
  TempDir dir;
  Victims victims;
  std::ofstream(dir.path() + "/policy.yaml") << "maxProcessesPerFault: 6\n";
  AgentProcess agent(dir.path(), {"--policy", dir.path() + "/policy.yaml"});
  auto stub = AgentStub(agent.address());
  grpc::ClientContext ctx;
  chaos::v1::InjectResponse resp;
  grpc::Status s = stub->Inject(&ctx, KillMatching("six", victims.regex, SIGKILL), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < 500 && victims.Alive() != 0; ++i) usleep(10000);  // hang guard
  EXPECT_EQ(victims.Alive(), 0);
}

}  // namespace
}  // namespace chaos::testing

namespace chaos::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void WriteFile(const std::string& path) { std::ofstream(path) << "x"; }

// The ledger is lost: kill -9 while a fill and a burn are active, then the
// whole state directory is deleted. A new agent with a fresh state
// directory and the same fill roots removes the fill file no record names
// (in a subdirectory of the root), and only files with the fill tag's exact
// name shape: near misses, and a fill-named file reached only through a
// symlink, stay. No burner remains.
TEST(AgentProcessTest, StartUpSweepRemovesTaggedFillsAfterTheLedgerIsLost) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ASSERT_EQ(mkdir(data.c_str(), 0755), 0);
  ASSERT_EQ(mount("tmpfs", data.c_str(), "tmpfs", 0, "size=32m"), 0) << strerror(errno);
  absl::Cleanup unmount = [&] { umount2(data.c_str(), MNT_DETACH); };
  ASSERT_EQ(mkdir((data + "/sub").c_str(), 0755), 0);
  const std::string outside = dir.path() + "/outside";
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  ASSERT_EQ(symlink(outside.c_str(), (data + "/link").c_str()), 0);
  const std::vector<std::string> decoys = {
      data + "/.chaos-fill-notours",                   // no random suffix
      data + "/chaos-fill-x-0123456789abcdef",         // no leading dot
      data + "/.chaos-fill-x-0123456789ABCDEF",        // not our hex
      data + "/sub/.chaos-fill-x-0123456789abcdef0",   // one digit too many
      outside + "/.chaos-fill-x-0123456789abcdef",     // only through data/link
  };
  for (const std::string& d : decoys) WriteFile(d);
  std::ofstream(dir.path() + "/policy.yaml") << "fillRoots: [" << data << "]\n";
  const std::vector<std::string> flags = {"--policy", dir.path() + "/policy.yaml"};

  const std::string state1 = dir.path() + "/state1";
  ASSERT_EQ(mkdir(state1.c_str(), 0755), 0);
  pid_t burner = 0;
  std::string fill_path;
  {
    AgentProcess agent(state1, flags);
    auto stub = AgentStub(agent.address());
    auto inject = [&](chaos::v1::InjectRequest req, const std::string& id) {
      req.mutable_spec()->set_fault_id(id);
      req.mutable_spec()->set_experiment_id("lost");
      req.mutable_spec()->mutable_duration()->set_seconds(600);
      req.mutable_lease()->set_seconds(600);
      grpc::ClientContext ctx;
      chaos::v1::InjectResponse resp;
      grpc::Status s = stub->Inject(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
      return resp.status();
    };
    auto burn = inject(Burn("b"), "burn");
    ASSERT_TRUE(absl::SimpleAtoi(burn.details().at("pids"), &burner));
    chaos::v1::InjectRequest fill;
    fill.mutable_spec()->mutable_disk_fill()->set_directory(data + "/sub");
    fill.mutable_spec()->mutable_disk_fill()->set_bytes(4 << 20);
    fill_path = inject(fill, "fill").details().at("path");
    ASSERT_TRUE(Exists(fill_path)) << fill_path;
    agent.process().Signal(SIGKILL);
    agent.process().Wait();
  }
  ASSERT_EQ(RunCommand({"/bin/rm", "-rf", state1}).exit_code, 0);
  ASSERT_FALSE(Exists(state1));
  ASSERT_TRUE(Exists(fill_path)) << "the fill vanished without a sweep: the test proves nothing";

  const std::string state2 = dir.path() + "/state2";
  ASSERT_EQ(mkdir(state2.c_str(), 0755), 0);
  AgentProcess restarted(state2, flags);  // serves only once the sweep is done
  EXPECT_FALSE(Exists(fill_path)) << restarted.log();
  for (const std::string& d : decoys) EXPECT_TRUE(Exists(d)) << d << " was swept";
  EXPECT_TRUE(Exists(data + "/link"));
  EXPECT_TRUE(kill(burner, 0) != 0 || ProcessState(burner) == 'Z') << "burner " << burner;
  for (pid_t pid : PidsNamed("chaos-burn")) {
    EXPECT_EQ(ProcessState(pid), 'Z') << "a chaos-burn remains: pid " << pid;
  }
  const std::string log = restarted.log();
  EXPECT_NE(log.find("sweep: removed leftover " + fill_path), std::string::npos) << log;
  EXPECT_NE(log.find("audit action=sweep kind=disk_fill item=\"" + fill_path + "\""),
            std::string::npos)
      << log;
  auto stub = AgentStub(restarted.address());
  grpc::ClientContext ctx;
  chaos::v1::ListFaultsRequest req;
  req.set_include_ended(true);
  chaos::v1::ListFaultsResponse list;
  ASSERT_TRUE(stub->ListFaults(&ctx, req, &list).ok());
  EXPECT_EQ(list.faults_size(), 0) << "the fresh ledger knows nothing";
}

// One agent per host is the model. A second copy of the agent started
// while the first holds a fill cannot tell that fill from a leftover, so it
// sweeps no fills (nor qdiscs, nor tables), says so, and the first agent's
// fault keeps its file.
TEST(AgentProcessTest, StartUpSweepLeavesAloneWhatAnotherRunningAgentHolds) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ASSERT_EQ(mkdir(data.c_str(), 0755), 0);
  ASSERT_EQ(mount("tmpfs", data.c_str(), "tmpfs", 0, "size=8m"), 0) << strerror(errno);
  absl::Cleanup unmount = [&] { umount2(data.c_str(), MNT_DETACH); };
  std::ofstream(dir.path() + "/policy.yaml") << "fillRoots: [" << data << "]\n";
  const std::vector<std::string> flags = {"--policy", dir.path() + "/policy.yaml"};
  const std::string state1 = dir.path() + "/state1", state2 = dir.path() + "/state2";
  ASSERT_EQ(mkdir(state1.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(state2.c_str(), 0755), 0);
  AgentProcess first(state1, flags);
  auto stub = AgentStub(first.address());
  chaos::v1::InjectRequest fill;
  fill.mutable_spec()->set_fault_id("held");
  fill.mutable_spec()->set_experiment_id("first");
  fill.mutable_spec()->mutable_duration()->set_seconds(600);
  fill.mutable_lease()->set_seconds(600);
  fill.mutable_spec()->mutable_disk_fill()->set_directory(data);
  fill.mutable_spec()->mutable_disk_fill()->set_bytes(1 << 20);
  grpc::ClientContext ctx;
  chaos::v1::InjectResponse resp;
  const grpc::Status injected = stub->Inject(&ctx, fill, &resp);
  ASSERT_TRUE(injected.ok()) << injected.error_message();
  const std::string path = resp.status().details().at("path");
  ASSERT_TRUE(Exists(path)) << path;

  AgentProcess second(state2, flags);  // serves only once its sweep is done
  EXPECT_TRUE(Exists(path)) << second.log();
  EXPECT_NE(second.log().find(absl::StrCat("not swept: another copy of this agent runs as pid ",
                                           first.process().pid())),
            std::string::npos)
      << second.log();
  EXPECT_NE(second.log().find("audit action=sweep kind=all"), std::string::npos) << second.log();
}

// An agent run inside a network namespace deletes the chaos_* inet tables
// there that no ledger record names, and no other table.
TEST(AgentProcessTest, StartUpSweepDeletesChaosNftTablesOfItsNamespace) {
  const std::string ns = absl::StrCat("chaos-sweep-", getpid());
  ASSERT_EQ(RunCommand({"/usr/sbin/ip", "netns", "add", ns}).exit_code, 0);
  absl::Cleanup remove_ns = [&] { RunCommand({"/usr/sbin/ip", "netns", "del", ns}); };
  auto in_ns = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"/usr/sbin/ip", "netns", "exec", ns});
    return RunCommand(argv);
  };
  ASSERT_EQ(in_ns({"ip", "link", "set", "lo", "up"}).exit_code, 0);
  for (const char* table : {"inet chaos_test_leftover", "inet keep_me", "ip chaos_ipfamily"}) {
    CommandResult r = in_ns({"/bin/sh", "-c", absl::StrCat("nft add table ", table)});
    ASSERT_EQ(r.exit_code, 0) << table << ": " << r.output;
  }
  TempDir dir;
  const std::string state = dir.path() + "/state";
  ASSERT_EQ(mkdir(state.c_str(), 0755), 0);
  const std::string port_file = state + "/port";
  Subprocess agent({"/usr/sbin/ip", "netns", "exec", ns, AgentBinary(), "--listen", "127.0.0.1:0",
                    "--state-dir", state, "--port-file", port_file},
                   state + "/agent.log");
  // The port file is written once the sweep is done.
  for (int i = 0; i < 400 && ReadFileOrEmpty(port_file).empty() && agent.running(); ++i) {
    usleep(25000);
  }
  const std::string log = ReadFileOrEmpty(state + "/agent.log");
  ASSERT_FALSE(ReadFileOrEmpty(port_file).empty()) << log;
  const CommandResult tables = in_ns({"/usr/sbin/nft", "list", "tables"});
  ASSERT_EQ(tables.exit_code, 0) << tables.output;
  EXPECT_FALSE(absl::StrContains(tables.output, "chaos_test_leftover")) << tables.output;
  EXPECT_TRUE(absl::StrContains(tables.output, "table inet keep_me")) << tables.output;
  EXPECT_TRUE(absl::StrContains(tables.output, "table ip chaos_ipfamily")) << tables.output;
  EXPECT_NE(log.find("audit action=sweep kind=partition item=\"inet chaos_test_leftover\" "
                     "result=\"removed\""),
            std::string::npos)
      << log;
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(), 0) << log;
}

}  // namespace
}  // namespace chaos::testing
