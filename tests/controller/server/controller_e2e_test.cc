// The controller as real processes over real gRPC on 127.0.0.1 with
// OS-chosen ports: agents register and get lost, two watchers see the same
// run, chaosctl aborts from another process, SIGKILL mid-run is recovered
// on restart, history survives, and bad input gets precise errors while
// the controller keeps serving.
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "chaos/v1/controller.grpc.pb.h"
#include "controller/server/clock.h"
#include "rpc/credentials.h"
#include "controller/store/etcd_history_store.h"
#include "controller/store/sqlite_history_store.h"
#include "controller/server/registry.h"
#include "controller/server/run_manager.h"
#include "controller/server/scheduler.h"
#include "controller/server/service.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/agent_client.h"
#include "tests/etcd_cluster.h"
#include "tests/test_util.h"

namespace {

using chaos::rpc::OpenChannel;
using chaos::testing::WaitFor;

class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = fopen(log.c_str(), "a");
      if (f) {
        dup2(fileno(f), 1);
        dup2(fileno(f), 2);
      }
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Process() { Stop(SIGTERM); }
  void Stop(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  // Sends `sig` and returns the exit code (128 + signal when killed).
  int SignalAndWait(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The port a daemon wrote to `file`; 0 after the (generous) hang guard.
int WaitPort(const std::string& file) {
  for (int i = 0; i < 1200; ++i) {
    const std::string s = ReadFile(file);
    if (!s.empty()) return std::atoi(s.c_str());
    absl::SleepFor(absl::Milliseconds(50));
  }
  return 0;
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return ctx;
}

// Children of `pid` whose comm is chaos-burn.
int BurnersOf(pid_t pid) {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    const int p = std::atoi(e->d_name);
    if (p <= 0) continue;
    const std::string stat = ReadFile(absl::StrCat("/proc/", p, "/stat"));
    const size_t close = stat.rfind(')');
    const size_t open = stat.find('(');
    if (close == std::string::npos || open == std::string::npos) continue;
    const std::string comm = stat.substr(open + 1, close - open - 1);
    int ppid = 0;
    char state;
    if (sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
    if (comm == "chaos-burn" && ppid == pid && state != 'Z') ++n;
  }
  closedir(d);
  return n;
}

// The etcd cluster of the suite's etcd runs: three members on loopback,
// started on first use (a SQLite run starts none), removed at exit.
chaos::testing::EtcdCluster& SharedEtcd() { return chaos::testing::SharedEtcdCluster(3); }

// Every test runs on both stores (the parameter): "sqlite", the default,
// and "etcd", a controller with --store etcd:// under a prefix of the
// test's own, leading the controllers on that prefix.
class ControllerE2E : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctl-e2e-XXXXXX";
    dir_ = mkdtemp(tmpl);
    if (OnEtcd()) {
      prefix_ = absl::StrCat("/e2e", dir_.substr(dir_.rfind('/')), "/");
      store_flags_ = {"--store", absl::StrCat("etcd://",
                                              absl::StrJoin(SharedEtcd().endpoints(), ","),
                                              prefix_)};
    }
  }
  bool OnEtcd() const { return GetParam() == "etcd"; }
  // The history the controller of this test uses, opened in this process:
  // on sqlite the file `sqlite_file` (StartController's controller keeps
  // dir_/ctl/history.db), on etcd the test's prefix.
  std::unique_ptr<chaos::controller::HistoryStore> OpenHistory(const std::string& sqlite_file) {
    if (!OnEtcd()) {
      auto h = chaos::controller::SqliteHistoryStore::Open(sqlite_file);
      EXPECT_TRUE(h.ok()) << h.status();
      return h.ok() ? std::move(*h) : nullptr;
    }
    chaos::etcd::ClientOptions o;
    o.endpoints = SharedEtcd().endpoints();
    auto client = chaos::etcd::Client::Connect(o);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    auto h = chaos::controller::EtcdHistoryStore::Open(std::move(*client), prefix_);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? std::move(*h) : nullptr;
  }
  void TearDown() override {
    agents_.clear();
    controller_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  std::string Bin(const std::string& rel) { return std::string(CHAOS_BINARY_DIR) + "/" + rel; }

  void StartController(std::vector<std::string> extra = {}) {
    const std::string pf = dir_ + "/ctl.port";
    std::remove(pf.c_str());
    std::vector<std::string> argv = {Bin("bin/chaos-controller"), "--listen", "127.0.0.1:0",
                                     "--state-dir", dir_ + "/ctl", "--port-file", pf,
                                     "--heartbeat-interval-ms", "200"};
    argv.insert(argv.end(), store_flags_.begin(), store_flags_.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    controller_ = std::make_unique<Process>(argv, dir_ + "/ctl.log");
    const int port = WaitPort(pf);
    ASSERT_GT(port, 0) << ReadFile(dir_ + "/ctl.log");
    controller_addr_ = absl::StrCat("127.0.0.1:", port);
    stub_ = chaos::v1::Controller::NewStub(OpenChannel(controller_addr_, {}));
  }
  std::string StartAgent(const std::string& name) {
    const std::string pf = dir_ + "/" + name + ".port";
    agents_.push_back(std::make_unique<Process>(
        std::vector<std::string>{Bin("bin/chaos-agent"), "--listen", "127.0.0.1:0",
                                 "--state-dir", dir_ + "/" + name, "--port-file", pf,
                                 "--controller", controller_addr_, "--label",
                                 "name=" + name},
        dir_ + "/" + name + ".log"));
    const int port = WaitPort(pf);
    EXPECT_GT(port, 0) << ReadFile(dir_ + "/" + name + ".log");
    return absl::StrCat("127.0.0.1:", port);
  }
  // The controller flags for a command policy file with `yaml` (commands
  // run through the controller only when its policy allows them).
  std::vector<std::string> CommandPolicyFlags(const std::string& yaml) {
    const std::string file = dir_ + "/command-policy.yaml";
    std::ofstream(file) << yaml;
    return {"--command-policy", file};
  }
  std::vector<chaos::v1::AgentInfo> Agents() {
    chaos::v1::ListAgentsResponse resp;
    grpc::Status s = stub_->ListAgents(Ctx().get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.agents().begin(), resp.agents().end()};
  }
  int LiveAgents() {
    int n = 0;
    for (const auto& a : Agents()) n += !a.lost();
    return n;
  }
  std::string LongBurn(int seconds) {
    std::string y = ReadFile(std::string(CHAOS_SOURCE_DIR) + "/experiments/examples/cpu-burn.yaml");
    return absl::StrReplaceAll(y, {{"duration: 3s", absl::StrCat("duration: ", seconds, "s")}});
  }
  chaos::v1::Run Submit(const std::string& yaml) {
    chaos::v1::SubmitRunRequest req;
    req.set_experiment_yaml(yaml);
    req.set_caller("e2e");
    chaos::v1::Run run;
    grpc::Status s = stub_->SubmitRun(Ctx().get(), req, &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return run;
  }
  chaos::v1::Run Get(const std::string& id) {
    chaos::v1::GetRunRequest req;
    req.set_run_id(id);
    chaos::v1::Run run;
    grpc::Status s = stub_->GetRun(Ctx().get(), req, &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return run;
  }
  int ActiveFaults(const std::string& agent, const std::string& run_id) {
    auto stub = chaos::testing::AgentStub(agent);
    chaos::v1::ListFaultsRequest req;
    req.set_experiment_id(run_id);
    chaos::v1::ListFaultsResponse resp;
    grpc::Status s = stub->ListFaults(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.faults_size();
  }
  // Registers `address`, where nothing answers, as a live agent (the
  // controller runs with many missed heartbeats allowed).
  void RegisterUnreachable(const std::string& address) {
    chaos::v1::RegisterAgentRequest reg;
    reg.set_address(address);
    (*reg.mutable_labels())["name"] = "gone";
    chaos::v1::RegisterAgentResponse reg_resp;
    ASSERT_TRUE(stub_->RegisterAgent(Ctx().get(), reg, &reg_resp).ok());
  }
  // Waits until the run's journal has an inject (the agent may report its
  // fault before the controller has the answer): a kill from then on lands
  // mid-run.
  void WaitForInjectEvent(const std::string& run_id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    chaos::v1::WatchRunRequest req;
    req.set_run_id(run_id);
    auto reader = stub_->WatchRun(&ctx, req);
    chaos::v1::RunEvent e;
    bool injected = false;
    while (!injected && reader->Read(&e)) injected = e.type() == "inject";
    ASSERT_TRUE(injected);
    ctx.TryCancel();
    (void)reader->Finish();
  }

  std::string dir_;
  std::string prefix_;                    // on etcd
  std::vector<std::string> store_flags_;  // on etcd
  std::unique_ptr<Process> controller_;
  std::vector<std::unique_ptr<Process>> agents_;
  std::string controller_addr_;
  std::unique_ptr<chaos::v1::Controller::Stub> stub_;
};

TEST_P(ControllerE2E, ThreeAgentsRegisterAndAStoppedOneIsLost) {
  StartController();
  const std::string a0 = StartAgent("a0");
  const std::string a1 = StartAgent("a1");
  const std::string a2 = StartAgent("a2");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 3; }, absl::Seconds(60)));
  for (const auto& a : Agents()) {
    EXPECT_EQ(a.labels().at("name").substr(0, 1), "a");
  }
  const pid_t stopped_pid = agents_[1]->pid();
  agents_[1]->Stop(SIGKILL);
  ASSERT_NE(stopped_pid, 0);
  // Lost after 3 missed heartbeats of 200 ms (how soon is not asserted).
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& a : Agents()) {
          if (a.address() == a1) return a.lost();
        }
        return false;
      },
      absl::Seconds(60)));
  std::map<std::string, int64_t> seen_at_loss;
  for (const auto& a : Agents()) {
    EXPECT_EQ(a.lost(), a.address() == a1) << a.address();
    seen_at_loss[a.address()] = a.last_seen_unix_ms();
  }
  // The other two keep heartbeating: each is seen again after a1's loss,
  // and neither is lost.
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const auto& a : Agents()) {
          if (a.address() != a1 && a.last_seen_unix_ms() <= seen_at_loss[a.address()]) return false;
        }
        return true;
      },
      absl::Seconds(60)));
  EXPECT_EQ(LiveAgents(), 2);
}

// --max-heartbeats-per-second 5 with 200 ms heartbeats: the third agent
// registered is told 600 ms, and a real agent joining as the fourth
// heartbeats every 800 ms, as it logs.
TEST_P(ControllerE2E, AGrowingFleetIsToldToHeartbeatLessOften) {
  StartController({"--max-heartbeats-per-second", "5"});
  std::vector<uint32_t> told;
  for (const char* a : {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}) {
    chaos::v1::RegisterAgentRequest reg;
    reg.set_address(a);
    chaos::v1::RegisterAgentResponse resp;
    grpc::Status s = stub_->RegisterAgent(Ctx().get(), reg, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    told.push_back(resp.heartbeat_interval_ms());
  }
  EXPECT_EQ(told, (std::vector<uint32_t>{200, 400, 600}));
  StartAgent("a0");
  const std::string log = dir_ + "/a0.log";
  EXPECT_TRUE(WaitFor(
      [&] { return ReadFile(log).find("(heartbeat every 800ms)") != std::string::npos; },
      absl::Seconds(30)))
      << ReadFile(log);
}

// HaltAll calls the agents at once: an agent that does not answer (stopped
// with SIGSTOP, and first in the registry's order, so that calling one
// agent after another would wait for it) holds only its own call, until
// its deadline. The others are halted while that call still waits, and
// the answer names the stopped one.
TEST_P(ControllerE2E, HaltAllHaltsTheOthersWhileAStoppedAgentHoldsItsOwnCall) {
  StartController();
  std::vector<std::string> addresses;
  for (const char* name : {"a0", "a1", "a2"}) addresses.push_back(StartAgent(name));
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 3; }, absl::Seconds(60)));
  const std::string first = Agents()[0].address();
  const size_t stopped = std::find(addresses.begin(), addresses.end(), first) - addresses.begin();
  ASSERT_LT(stopped, addresses.size());
  ASSERT_EQ(kill(agents_[stopped]->pid(), SIGSTOP), 0);
  auto halted = [&](const std::string& agent) {
    auto stub = chaos::testing::AgentStub(agent);
    chaos::v1::DescribeResponse d;
    return stub->Describe(Ctx().get(), {}, &d).ok() && d.halted();
  };
  std::atomic<bool> returned{false};
  chaos::v1::HaltAllResponse resp;
  grpc::Status status;
  std::thread halt([&] {
    chaos::v1::HaltAllRequest req;
    req.set_reason("fan-out test");
    grpc::ClientContext ctx;  // no deadline: the stopped agent's call has one
    status = stub_->HaltAll(&ctx, req, &resp);
    returned = true;
  });
  bool others_first = WaitFor(
      [&] {
        for (size_t i = 0; i < addresses.size(); ++i) {
          if (i != stopped && !halted(addresses[i])) return false;
        }
        return true;
      },
      absl::Seconds(4));
  others_first = others_first && !returned;
  halt.join();
  kill(agents_[stopped]->pid(), SIGCONT);
  EXPECT_TRUE(others_first) << "the others were halted only once the stopped agent's call ended";
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.halted_size(), 2);
  ASSERT_EQ(resp.failed_size(), 1);
  EXPECT_TRUE(absl::StartsWith(resp.failed(0), first + ": ")) << resp.failed(0);
}

// The halt flag and the registry are in the store: a controller started
// after a HaltAll (a restart, or the next leader) refuses runs, naming who
// halted and why, until someone resumes; and it knows (as lost) an agent
// that never found it, which its ResumeAll reaches.
TEST_P(ControllerE2E, AHaltOutlivesTheControllerUntilResumed) {
  StartController();
  const std::string a0 = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  auto halted = [&](const std::string& agent) {
    auto stub = chaos::testing::AgentStub(agent);
    chaos::v1::DescribeResponse d;
    grpc::Status s = stub->Describe(Ctx().get(), {}, &d);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return d.halted();
  };
  chaos::v1::HaltAllRequest halt;
  halt.set_reason("game day over");
  chaos::v1::HaltAllResponse halt_resp;
  grpc::Status s = stub_->HaltAll(Ctx().get(), halt, &halt_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(halt_resp.failed_size(), 0) << halt_resp.failed(0);
  EXPECT_TRUE(halted(a0));

  controller_.reset();
  StartController();  // on another port: a0 heartbeats to the old one
  std::vector<chaos::v1::AgentInfo> known = Agents();
  ASSERT_EQ(known.size(), 1u);
  EXPECT_EQ(known[0].address(), a0);
  EXPECT_TRUE(known[0].lost());
  StartAgent("a1");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  chaos::v1::SubmitRunRequest req;
  req.set_experiment_yaml(LongBurn(1));
  chaos::v1::Run refused;
  s = stub_->SubmitRun(Ctx().get(), req, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "halted (HaltAll by ")) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "game day over")) << s.error_message();

  chaos::v1::ResumeAllResponse resumed;
  s = stub_->ResumeAll(Ctx().get(), {}, &resumed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resumed.resumed_size(), 2) << resumed.ShortDebugString();
  EXPECT_FALSE(halted(a0)) << "the restarted controller did not reach the agent it knew from the store";
  const chaos::v1::Run run = Submit(LongBurn(1));
  ASSERT_FALSE(run.run_id().empty());
  ASSERT_TRUE(WaitFor([&] { return Get(run.run_id()).state() == chaos::v1::RUN_STATE_PASSED; },
                         absl::Seconds(60)))
      << Get(run.run_id()).ShortDebugString();
}

TEST_P(ControllerE2E, TwoWatchersSeeTheSameEventsAndChaosctlAbortRollsBack) {
  StartController();
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const chaos::v1::Run run = Submit(LongBurn(60));
  ASSERT_FALSE(run.run_id().empty());
  EXPECT_EQ(run.state(), chaos::v1::RUN_STATE_RUNNING);
  std::vector<chaos::v1::RunEvent> seen[2];
  std::thread watchers[2];
  for (int i = 0; i < 2; ++i) {
    watchers[i] = std::thread([&, i] {
      auto stub = chaos::v1::Controller::NewStub(OpenChannel(controller_addr_, {}));
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
      chaos::v1::WatchRunRequest req;
      req.set_run_id(run.run_id());
      auto reader = stub->WatchRun(&ctx, req);
      chaos::v1::RunEvent e;
      while (reader->Read(&e)) seen[i].push_back(e);
      EXPECT_TRUE(reader->Finish().ok());
    });
  }
  ASSERT_TRUE(WaitFor([&] { return ActiveFaults(agent, run.run_id()) == 1; },
                         absl::Seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return BurnersOf(agents_[0]->pid()) == 1; }, absl::Seconds(60)));
  const std::string cmd =
      absl::StrCat(Bin("bin/chaosctl"), " abort ", run.run_id(), " --controller ",
                   controller_addr_, " --reason e2e >> ", dir_, "/chaosctl.log 2>&1");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadFile(dir_ + "/chaosctl.log");
  for (auto& w : watchers) w.join();
  ASSERT_FALSE(seen[0].empty());
  ASSERT_EQ(seen[0].size(), seen[1].size());
  for (size_t i = 0; i < seen[0].size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(seen[0][i], seen[1][i]))
        << seen[0][i].DebugString() << " vs " << seen[1][i].DebugString();
    EXPECT_EQ(seen[0][i].seq(), i + 1);
  }
  bool saw_abort = false, saw_revert = false;
  for (const auto& e : seen[0]) {
    saw_abort |= e.type() == "abort" && e.message().find("on behalf of chaosctl abort: e2e") !=
                                            std::string::npos;
    saw_revert |= e.type() == "revert";
  }
  EXPECT_TRUE(saw_abort);
  EXPECT_TRUE(saw_revert);
  ASSERT_TRUE(WaitFor([&] { return Get(run.run_id()).state() == chaos::v1::RUN_STATE_ABORTED; },
                         absl::Seconds(5)));
  EXPECT_EQ(ActiveFaults(agent, run.run_id()), 0);
  EXPECT_TRUE(WaitFor([&] { return BurnersOf(agents_[0]->pid()) == 0; }, absl::Seconds(60)));
  // A watcher arriving after the end gets the same journal from the history.
  auto stub = chaos::v1::Controller::NewStub(OpenChannel(controller_addr_, {}));
  grpc::ClientContext ctx;
  chaos::v1::WatchRunRequest req;
  req.set_run_id(run.run_id());
  auto reader = stub->WatchRun(&ctx, req);
  std::vector<chaos::v1::RunEvent> late;
  chaos::v1::RunEvent e;
  while (reader->Read(&e)) late.push_back(e);
  EXPECT_TRUE(reader->Finish().ok());
  ASSERT_EQ(late.size(), seen[0].size());
  for (size_t i = 0; i < late.size(); ++i) {
    EXPECT_EQ(late[i].type(), seen[0][i].type());
    EXPECT_EQ(late[i].message(), seen[0][i].message());
  }
}

// The controller's own cap on agents per run: a run whose target group
// would choose more live agents is refused at submit, before anything is
// recorded or injected; the same experiment with the group capped runs and
// touches exactly that many agents.
TEST_P(ControllerE2E, MaxAgentsPerRunRefusesAWideRunAndHonoursACappedGroup) {
  StartController({"--max-agents-per-run", "1"});
  const std::vector<std::string> agents = {StartAgent("a0"), StartAgent("a1")};
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 2; }, absl::Seconds(60)));
  const std::string wide = R"(
name: wide
method:
  - {id: burn, duration: 30s, fault: {cpuBurn: {loadPercent: 5}}}
)";
  chaos::v1::SubmitRunRequest req;
  req.set_experiment_yaml(wide);
  chaos::v1::Run refused;
  grpc::Status s = stub_->SubmitRun(Ctx().get(), req, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("would choose 2 of 2 matching agents, more than the "
                                   "controller's --max-agents-per-run 1"),
            std::string::npos)
      << s.error_message();
  chaos::v1::ListRunsResponse runs;
  ASSERT_TRUE(stub_->ListRuns(Ctx().get(), {}, &runs).ok());
  EXPECT_EQ(runs.runs_size(), 0) << "a refused run is not recorded";
  for (const std::string& a : agents) EXPECT_EQ(ActiveFaults(a, ""), 0) << a;

  const chaos::v1::Run run = Submit(R"(
name: capped
targets:
  half: {maxPercent: 50}
method:
  - {id: burn, duration: 30s, target: half, fault: {cpuBurn: {loadPercent: 5}}}
)");
  ASSERT_FALSE(run.run_id().empty());
  ASSERT_TRUE(WaitFor(
      [&] {
        return ActiveFaults(agents[0], run.run_id()) + ActiveFaults(agents[1], run.run_id()) == 1;
      },
      absl::Seconds(10)));
  const std::string cmd =
      absl::StrCat(Bin("bin/chaosctl"), " abort ", run.run_id(), " --controller ",
                   controller_addr_, " --reason done >> ", dir_, "/chaosctl.log 2>&1");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadFile(dir_ + "/chaosctl.log");
  ASSERT_TRUE(WaitFor([&] { return Get(run.run_id()).state() == chaos::v1::RUN_STATE_ABORTED; },
                         absl::Seconds(10)));
  for (const std::string& a : agents) EXPECT_EQ(ActiveFaults(a, run.run_id()), 0) << a;
}

// A second abort of a run that is rolling back cancels its rollback
// actions: the 5-minute action's process group is killed, the next action
// never starts, the fault is reverted all the same, and the run ends
// rollback incomplete.
TEST_P(ControllerE2E, ASecondAbortCancelsTheRunningRollbackAction) {
  const std::string pgid_file = dir_ + "/pgid";
  const std::string marker = dir_ + "/second-action-ran";
  StartController(CommandPolicyFlags(
      "commands:\n"
      "  - {path: /bin/sh, args: [\"-c\", \"echo \\\\$\\\\$ > " + pgid_file +
      "; sleep 300 & wait\"]}\n"
      "  - {path: /usr/bin/touch, args: [\"" + marker + "\"]}\n"));
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const chaos::v1::Run run = Submit(absl::StrCat(R"(
name: long-rollback
method:
  - {id: burn, duration: 5m, fault: {cpuBurn: {loadPercent: 5}}}
rollbackActions:
  - {run: [/bin/sh, -c, 'echo $$ > )", pgid_file, R"(; sleep 300 & wait'], timeout: 5m}
  - {run: [/usr/bin/touch, )", marker, R"(]}
)"));
  ASSERT_FALSE(run.run_id().empty());
  ASSERT_TRUE(WaitFor([&] { return ActiveFaults(agent, run.run_id()) == 1; },
                         absl::Seconds(20)));
  chaos::v1::AbortRunRequest abort;
  abort.set_run_id(run.run_id());
  abort.set_caller("e2e");
  chaos::v1::Run answered;
  ASSERT_TRUE(stub_->AbortRun(Ctx().get(), abort, &answered).ok());
  int pgid = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(pgid_file)), &pgid) &&
               pgid > 0;
      },
      absl::Seconds(60)))
      << ReadFile(dir_ + "/ctl.log");
  EXPECT_EQ(ActiveFaults(agent, run.run_id()), 0) << "faults are reverted before the actions";
  ASSERT_TRUE(stub_->AbortRun(Ctx().get(), abort, &answered).ok());
  ASSERT_TRUE(WaitFor(
      [&] { return Get(run.run_id()).state() == chaos::v1::RUN_STATE_ROLLBACK_INCOMPLETE; },
      absl::Seconds(60)))
      << chaos::v1::RunState_Name(Get(run.run_id()).state());
  // Killed members may linger a moment as zombies for init to reap.
  EXPECT_TRUE(WaitFor([&] { return kill(-pgid, 0) != 0 && errno == ESRCH; },
                         absl::Seconds(30)))
      << "a process of the rollback action outlived the cancel";
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "the next rollback action ran after the cancel";
}

TEST_P(ControllerE2E, SigkillMidRunIsRevertedAndMarkedInterruptedOnRestart) {
  // A rollback action whose effect (a file) shows it ran after the restart;
  // the controller's command policy allows exactly that command.
  const std::string marker = dir_ + "/rolled-back";
  std::vector<std::string> flags =
      CommandPolicyFlags("commands:\n  - {path: /usr/bin/touch, args: [\"" + marker + "\"]}\n");
  // A lease far longer than the test: only the recovery can revert in time.
  flags.insert(flags.end(), {"--lease", "120"});
  StartController(flags);
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const chaos::v1::Run run = Submit(LongBurn(120) + "rollbackActions:\n  - {run: [touch, " +
                                    marker + "]}\n");
  ASSERT_TRUE(WaitFor([&] { return ActiveFaults(agent, run.run_id()) == 1; },
                         absl::Seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return BurnersOf(agents_[0]->pid()) == 1; }, absl::Seconds(60)));
  ASSERT_NO_FATAL_FAILURE(WaitForInjectEvent(run.run_id()));
  controller_->Stop(SIGKILL);
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_EQ(ActiveFaults(agent, run.run_id()), 1) << "nothing reverted before the restart";
  ASSERT_NE(access(marker.c_str(), F_OK), 0) << "the rollback action ran before the restart";
  StartController(flags);
  ASSERT_TRUE(WaitFor(
      [&] { return Get(run.run_id()).state() == chaos::v1::RUN_STATE_INTERRUPTED; },
      absl::Seconds(15)))
      << ReadFile(dir_ + "/ctl.log");
  EXPECT_EQ(ActiveFaults(agent, run.run_id()), 0);
  EXPECT_TRUE(WaitFor([&] { return BurnersOf(agents_[0]->pid()) == 0; }, absl::Seconds(60)));
  const chaos::v1::Run after = Get(run.run_id());
  EXPECT_EQ(after.agents_size(), 1);
  EXPECT_EQ(after.agents(0), agent);
  EXPECT_NE(after.reason().find("reverted on restart"), std::string::npos) << after.reason();
  // History survived: the run and its journal from before the kill.
  chaos::v1::ListRunsResponse runs;
  ASSERT_TRUE(stub_->ListRuns(Ctx().get(), {}, &runs).ok());
  ASSERT_EQ(runs.runs_size(), 1);
  grpc::ClientContext ctx;
  chaos::v1::WatchRunRequest req;
  req.set_run_id(run.run_id());
  auto reader = stub_->WatchRun(&ctx, req);
  std::vector<std::string> types;
  std::string verify;
  chaos::v1::RunEvent e;
  while (reader->Read(&e)) {
    types.push_back(e.type());
    if (e.type() == "verify") verify = e.message();
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_NE(std::find(types.begin(), types.end(), "inject"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "recover"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "rollback"), types.end());
  // The faults were checked gone through ListFaults, then the action ran.
  EXPECT_NE(verify.find("ListFaults: none of 1 fault(s)"), std::string::npos) << verify;
  EXPECT_EQ(access(marker.c_str(), F_OK), 0) << "the rollback action did not run";
}

// The rollback actions of a run recovered after a crash obey the command
// policy of the controller that recovers it: restarted without the policy
// that allowed the action, it does not run it, and says the rollback is
// incomplete.
TEST_P(ControllerE2E, RecoveryRunsNoRollbackActionTheRestartedControllersPolicyRefuses) {
  const std::string marker = dir_ + "/rolled-back";
  std::vector<std::string> flags =
      CommandPolicyFlags("commands:\n  - {path: /usr/bin/touch, args: [\"" + marker + "\"]}\n");
  flags.insert(flags.end(), {"--lease", "120"});
  StartController(flags);
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const chaos::v1::Run run = Submit(LongBurn(120) + "rollbackActions:\n  - {run: [touch, " +
                                    marker + "]}\n");
  ASSERT_TRUE(WaitFor([&] { return ActiveFaults(agent, run.run_id()) == 1; },
                         absl::Seconds(10)));
  controller_->Stop(SIGKILL);
  StartController({"--lease", "120"});  // no --command-policy now
  ASSERT_TRUE(WaitFor(
      [&] { return Get(run.run_id()).state() == chaos::v1::RUN_STATE_ROLLBACK_INCOMPLETE; },
      absl::Seconds(15)))
      << ReadFile(dir_ + "/ctl.log");
  EXPECT_EQ(ActiveFaults(agent, run.run_id()), 0);  // the faults were still reverted
  const std::string reason = Get(run.run_id()).reason();
  EXPECT_NE(reason.find("refused: command \"touch\" (rollbackActions[0])"), std::string::npos)
      << reason;
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "the refused rollback action ran";
}

TEST_P(ControllerE2E, BadInputGetsPreciseErrorsAndTheControllerKeepsServing) {
  StartController();
  {
    chaos::v1::SubmitRunRequest req;
    req.set_experiment_yaml("name: x\nbogus: 1\n");
    chaos::v1::Run run;
    grpc::Status s = stub_->SubmitRun(Ctx().get(), req, &run);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message().rfind("experiment_yaml:", 0), 0u) << s.error_message();
  }
  {
    chaos::v1::SubmitRunRequest req;
    req.set_experiment_yaml(LongBurn(1));
    chaos::v1::Run run;
    grpc::Status s = stub_->SubmitRun(Ctx().get(), req, &run);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(s.error_message().find("no live agent"), std::string::npos);
  }
  {
    chaos::v1::GetRunRequest req;
    req.set_run_id("no-such-run");
    chaos::v1::Run run;
    grpc::Status s = stub_->GetRun(Ctx().get(), req, &run);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(s.error_message(), "run_id: no run no-such-run");
    chaos::v1::AbortRunRequest abort;
    abort.set_run_id("no-such-run");
    EXPECT_EQ(stub_->AbortRun(Ctx().get(), abort, &run).error_code(), grpc::StatusCode::NOT_FOUND);
    grpc::ClientContext ctx;
    chaos::v1::WatchRunRequest w;
    w.set_run_id("no-such-run");
    auto reader = stub_->WatchRun(&ctx, w);
    chaos::v1::RunEvent e;
    EXPECT_FALSE(reader->Read(&e));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  auto schedule = [&](const std::string& name, const std::string& cron, const std::string& tz) {
    chaos::v1::CreateScheduleRequest req;
    req.mutable_schedule()->set_name(name);
    req.mutable_schedule()->set_cron(cron);
    req.mutable_schedule()->set_time_zone(tz);
    req.mutable_schedule()->set_experiment_yaml(LongBurn(1));
    chaos::v1::Schedule out;
    return stub_->CreateSchedule(Ctx().get(), req, &out);
  };
  grpc::Status s = schedule("s1", "61 * * * *", "UTC");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "cron: minute field \"61\": value 61 out of range 0-59");
  s = schedule("s1", "0 9 * * MON-FRI", "Mars/Base");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "time_zone: unknown time zone \"Mars/Base\"");
  EXPECT_TRUE(schedule("s1", "0 9 * * MON-FRI", "Europe/Berlin").ok());
  s = schedule("s1", "0 9 * * MON-FRI", "Europe/Berlin");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(s.error_message(), "name: a schedule named \"s1\" exists");
  // Still serving, and the schedule is listed with its next firing.
  chaos::v1::ListSchedulesResponse list;
  ASSERT_TRUE(stub_->ListSchedules(Ctx().get(), {}, &list).ok());
  ASSERT_EQ(list.schedules_size(), 1);
  EXPECT_GT(list.schedules(0).next_fire_unix_ms(), absl::ToUnixMillis(absl::Now()));
  EXPECT_EQ(Agents().size(), 0u);

  // A corrupt database: the controller serves agents and names the file.
  // (SQLite's; the etcd store's values that do not parse are DATA_LOSS
  // naming the key: history_store_contract_test.)
  if (OnEtcd()) return;
  controller_->Stop(SIGTERM);
  std::system(("rm -rf " + dir_ + "/ctl && mkdir -p " + dir_ + "/ctl").c_str());
  std::ofstream(dir_ + "/ctl/history.db") << std::string(10000, 'z');
  StartController();
  chaos::v1::GetRunRequest req;
  req.set_run_id("x");
  chaos::v1::Run run;
  s = stub_->GetRun(Ctx().get(), req, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("history.db is corrupt"), std::string::npos)
      << s.error_message();
  chaos::v1::RegisterAgentRequest reg;
  reg.set_address("127.0.0.1:9");
  chaos::v1::RegisterAgentResponse reg_resp;
  EXPECT_TRUE(stub_->RegisterAgent(Ctx().get(), reg, &reg_resp).ok());
  EXPECT_EQ(reg_resp.heartbeat_interval_ms(), 200u);
  EXPECT_EQ(Agents().size(), 1u);
  reg.set_address("no-port");
  s = stub_->RegisterAgent(Ctx().get(), reg, &reg_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("address:", 0), 0u);
}

// Runs a shell command; returns its exit code and fills *out with its
// stdout and stderr.
int Shell(const std::string& cmd, std::string* out) {
  out->clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// chaosctl against the controller, as a separate process: agents, runs,
// show, schedules, halt and resume, with their exit codes.
TEST_P(ControllerE2E, ChaosctlControllerCommands) {
  StartController();
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const std::string ctl = absl::StrCat(Bin("bin/chaosctl"));
  const std::string at = " --controller " + controller_addr_;
  const std::string file = std::string(CHAOS_SOURCE_DIR) + "/experiments/examples/cpu-burn.yaml";
  std::string out;
  EXPECT_EQ(Shell(ctl + " agents" + at, &out), 0) << out;
  EXPECT_NE(out.find(agent), std::string::npos) << out;
  EXPECT_NE(out.find("live"), std::string::npos) << out;
  EXPECT_EQ(Shell(ctl + " agents -o json" + at, &out), 0) << out;
  EXPECT_NE(out.find("\"address\": \"" + agent + "\""), std::string::npos) << out;

  EXPECT_EQ(Shell(ctl + " schedule add nightly " + file +
                      " --cron '0 3 * * *' --tz Europe/Berlin --blackout Sat,Sun" + at, &out), 0)
      << out;
  EXPECT_EQ(Shell(ctl + " schedule add nightly " + file + " --cron '0 3 * * *'" + at, &out), 1);
  EXPECT_NE(out.find("name: a schedule named \"nightly\" exists"), std::string::npos) << out;
  EXPECT_EQ(Shell(ctl + " schedule add bad " + file + " --cron '0 3 * *'" + at, &out), 2);
  EXPECT_NE(out.find("cron: "), std::string::npos) << out;
  EXPECT_EQ(Shell(ctl + " schedule pause nightly" + at, &out), 0) << out;
  EXPECT_EQ(Shell(ctl + " schedule list -o json" + at, &out), 0) << out;
  EXPECT_NE(out.find("\"paused\": true"), std::string::npos) << out;
  EXPECT_NE(out.find("\"days\": \"Sat,Sun\""), std::string::npos) << out;
  EXPECT_EQ(Shell(ctl + " schedule resume nightly" + at, &out), 0) << out;
  EXPECT_EQ(Shell(ctl + " schedule list" + at, &out), 0) << out;
  EXPECT_NE(out.find("nightly"), std::string::npos) << out;
  EXPECT_NE(out.find("active"), std::string::npos) << out;
  EXPECT_EQ(Shell(ctl + " schedule rm nightly" + at, &out), 0) << out;
  EXPECT_EQ(Shell(ctl + " schedule rm nightly" + at, &out), 5) << out;

  // run: submit and follow to the end; exit 0 when it passed.
  EXPECT_EQ(Shell(ctl + " run " + file + at, &out), 0) << out;
  EXPECT_NE(out.find("inject"), std::string::npos) << out;
  EXPECT_NE(out.find(": passed"), std::string::npos) << out;
  chaos::v1::ListRunsResponse runs;
  ASSERT_TRUE(stub_->ListRuns(Ctx().get(), {}, &runs).ok());
  ASSERT_EQ(runs.runs_size(), 1);
  const std::string id = runs.runs(0).run_id();
  EXPECT_EQ(runs.runs(0).state(), chaos::v1::RUN_STATE_PASSED);
  EXPECT_EQ(Shell(ctl + " runs" + at, &out), 0) << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  // show -o json prints the run's JSON journal (the same document a local
  // run writes); `runs -o json` keeps the wire records.
  EXPECT_EQ(Shell(ctl + " show " + id + " -o json" + at, &out), 0) << out;
  EXPECT_NE(out.find("\"schema\": \"chaos.run-report/v1\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"run_id\": \"" + id + "\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"outcome\": \"passed\""), std::string::npos) << out;
  EXPECT_EQ(Shell(ctl + " runs -o json" + at, &out), 0) << out;
  EXPECT_NE(out.find("\"report_json\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"RUN_STATE_PASSED\""), std::string::npos) << out;
  EXPECT_EQ(Shell(ctl + " show " + id + at, &out), 0) << out;
  EXPECT_NE(out.find("state      passed"), std::string::npos) << out;
  EXPECT_NE(out.find("revert"), std::string::npos) << out;  // the journal follows
  EXPECT_EQ(Shell(ctl + " show no-such-run" + at, &out), 5) << out;

  // Ctrl-C on `chaosctl run --controller` aborts the run; chaosctl follows
  // the rollback and exits 130.
  {
    const std::string long_file = dir_ + "/long.yaml";
    std::ofstream(long_file) << LongBurn(60);
    Process follower({ctl, "run", long_file, "--controller", controller_addr_},
                     dir_ + "/follower.log");
    std::string running;
    ASSERT_TRUE(WaitFor(
        [&] {
          chaos::v1::ListRunsRequest req;
          req.set_state(chaos::v1::RUN_STATE_RUNNING);
          chaos::v1::ListRunsResponse resp;
          if (!stub_->ListRuns(Ctx().get(), req, &resp).ok() || resp.runs().empty()) return false;
          running = resp.runs(0).run_id();
          // Following (the inject event shown), not still submitting.
          return ActiveFaults(agent, running) == 1 &&
                 ReadFile(dir_ + "/follower.log").find("inject") != std::string::npos;
        },
        absl::Seconds(10)));
    EXPECT_EQ(follower.SignalAndWait(SIGINT), 130) << ReadFile(dir_ + "/follower.log");
    EXPECT_EQ(Get(running).state(), chaos::v1::RUN_STATE_ABORTED);
    EXPECT_EQ(ActiveFaults(agent, running), 0);
    EXPECT_NE(ReadFile(dir_ + "/follower.log").find("rollback"), std::string::npos)
        << ReadFile(dir_ + "/follower.log");
  }

  // halt --controller aborts the live run and halts the agent; resume undoes.
  const chaos::v1::Run run = Submit(LongBurn(60));
  ASSERT_TRUE(WaitFor([&] { return ActiveFaults(agent, run.run_id()) == 1; },
                         absl::Seconds(10)));
  EXPECT_EQ(Shell(ctl + " halt --reason e2e" + at, &out), 0) << out;
  EXPECT_NE(out.find("halted  " + agent), std::string::npos) << out;
  EXPECT_TRUE(WaitFor(
      [&] { return Get(run.run_id()).state() == chaos::v1::RUN_STATE_ABORTED; }, absl::Seconds(10)));
  EXPECT_EQ(ActiveFaults(agent, run.run_id()), 0);
  auto agent_stub = chaos::testing::AgentStub(agent);
  chaos::v1::DescribeResponse d;
  ASSERT_TRUE(agent_stub->Describe(Ctx().get(), {}, &d).ok());
  EXPECT_TRUE(d.halted());
  chaos::v1::SubmitRunRequest req;
  req.set_experiment_yaml(LongBurn(1));
  chaos::v1::Run refused;
  EXPECT_EQ(stub_->SubmitRun(Ctx().get(), req, &refused).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Shell(ctl + " resume" + at, &out), 0) << out;
  ASSERT_TRUE(agent_stub->Describe(Ctx().get(), {}, &d).ok());
  EXPECT_FALSE(d.halted());
}

// A run that goes on without an agent its target group may lose
// (maxUnavailable) is stored with that agent, where and why it was lost:
// GetRun and ListRuns carry it from the store (also after a restart), and
// chaosctl words the outcome as the local report does, "passed with 1
// agent lost", naming the agent in `show` and keeping `runs` aligned. The
// lost agent is an address registered by hand where nothing listens (port
// 1); the registry keeps it live for 100 missed heartbeats, long enough to
// start the run.
TEST_P(ControllerE2E, ARunThatLostAnAgentSaysSoInGetRunAndChaosctl) {
  const std::vector<std::string> flags = {"--missed-heartbeats", "100"};
  StartController(flags);
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const std::string dead = "127.0.0.1:1";
  ASSERT_NO_FATAL_FAILURE(RegisterUnreachable(dead));
  ASSERT_EQ(LiveAgents(), 2);
  const std::string file = dir_ + "/lose-one.yaml";
  std::ofstream(file) << R"(name: lose-one
targets:
  fleet: {maxUnavailable: 1}
method:
  - {id: burn, target: fleet, duration: 1s, fault: {cpuBurn: {workers: 1, loadPercent: 5}}}
)";
  const std::string ctl = Bin("bin/chaosctl");
  const std::string at = " --controller " + controller_addr_;
  std::string out;
  ASSERT_EQ(Shell(ctl + " run " + file + at, &out), 0) << out;
  EXPECT_NE(out.find(": passed with 1 agent lost"), std::string::npos) << out;

  chaos::v1::ListRunsResponse runs;
  ASSERT_TRUE(stub_->ListRuns(Ctx().get(), {}, &runs).ok());
  ASSERT_EQ(runs.runs_size(), 1);
  const std::string id = runs.runs(0).run_id();
  ASSERT_EQ(runs.runs(0).lost_agents_size(), 1) << runs.runs(0).DebugString();
  auto check_lost = [&](const chaos::v1::Run& run) {
    EXPECT_EQ(run.state(), chaos::v1::RUN_STATE_PASSED) << run.reason();
    ASSERT_EQ(run.lost_agents_size(), 1) << run.DebugString();
    const chaos::v1::LostAgent& lost = run.lost_agents(0);
    EXPECT_EQ(lost.agent(), dead);
    EXPECT_EQ(lost.step(), "") << "lost in preflight";
    EXPECT_EQ(lost.reason().rfind("cannot reach agent " + dead + ":", 0), 0u) << lost.reason();
    EXPECT_GE(lost.at_unix_ms(), run.started_at_unix_ms());
    EXPECT_LE(lost.at_unix_ms(), run.ended_at_unix_ms());
  };
  check_lost(Get(id));

  EXPECT_EQ(Shell(ctl + " show " + id + at, &out), 0) << out;
  EXPECT_NE(out.find("state      passed with 1 agent lost\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lost       " + dead + " in preflight: cannot reach agent " + dead + ": "),
            std::string::npos)
      << out;
  // The journal the controller keeps says the same.
  EXPECT_EQ(Shell(ctl + " show " + id + " -o json" + at, &out), 0) << out;
  const nlohmann::json journal = nlohmann::json::parse(out);
  ASSERT_EQ(journal["lost_agents"].size(), 1u) << out;
  EXPECT_EQ(journal["lost_agents"][0]["agent"], dead);

  // `runs`: the count in the STATE column, which widens so that STARTED
  // still lines up with its heading.
  EXPECT_EQ(Shell(ctl + " runs" + at, &out), 0) << out;
  const std::vector<std::string> lines = absl::StrSplit(out, '\n');
  ASSERT_GE(lines.size(), 2u) << out;
  const std::string cell = "passed with 1 agent lost";
  const size_t state_at = lines[1].find(cell);
  ASSERT_NE(state_at, std::string::npos) << out;
  EXPECT_EQ(lines[0].find("STATE"), state_at) << out;
  EXPECT_EQ(lines[0].find("STARTED"), lines[1].find_first_not_of(' ', state_at + cell.size()))
      << out;

  // Kept by the store, not the controller's memory.
  controller_->Stop(SIGTERM);
  StartController(flags);
  check_lost(Get(id));
  ASSERT_TRUE(stub_->ListRuns(Ctx().get(), {}, &runs).ok());
  ASSERT_EQ(runs.runs_size(), 1);
  check_lost(runs.runs(0));
}

// A run that lost an agent in preflight, then its controller was killed:
// the restarted controller's record of it still lists the lost agent
// (from the journal), reverts the live agent's fault, and does not ask
// the lost one, which was sent nothing, so the run ends INTERRUPTED.
TEST_P(ControllerE2E, ARunRecoveredAfterACrashStillListsTheAgentItLost) {
  const std::vector<std::string> flags = {"--missed-heartbeats", "100", "--lease", "120"};
  StartController(flags);
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const std::string dead = "127.0.0.1:1";
  ASSERT_NO_FATAL_FAILURE(RegisterUnreachable(dead));
  const chaos::v1::Run run = Submit(R"(name: lose-one
targets:
  fleet: {maxUnavailable: 1}
method:
  - {id: burn, target: fleet, duration: 120s, fault: {cpuBurn: {workers: 1, loadPercent: 5}}}
)");
  ASSERT_TRUE(WaitFor([&] { return ActiveFaults(agent, run.run_id()) == 1; },
                      absl::Seconds(60)));
  ASSERT_NO_FATAL_FAILURE(WaitForInjectEvent(run.run_id()));
  controller_->Stop(SIGKILL);
  StartController(flags);
  ASSERT_TRUE(WaitFor([&] { return Get(run.run_id()).state() != chaos::v1::RUN_STATE_RUNNING; },
                      absl::Seconds(30)));
  const chaos::v1::Run after = Get(run.run_id());
  EXPECT_EQ(after.state(), chaos::v1::RUN_STATE_INTERRUPTED) << after.reason();
  EXPECT_EQ(ActiveFaults(agent, run.run_id()), 0);
  ASSERT_EQ(after.lost_agents_size(), 1) << after.DebugString();
  EXPECT_EQ(after.lost_agents(0).agent(), dead);
  EXPECT_EQ(after.lost_agents(0).step(), "");
  EXPECT_EQ(after.lost_agents(0).reason().rfind("cannot reach agent " + dead + ":", 0), 0u)
      << after.lost_agents(0).reason();
  const nlohmann::json report = nlohmann::json::parse(after.report_json());
  ASSERT_EQ(report["lost_agents"].size(), 1u) << after.report_json();
  EXPECT_EQ(report["lost_agents"][0]["agent"], dead);
}

// An admin forgets a decommissioned agent with chaosctl once it is lost:
// it leaves the listing and the store, so a restarted controller (or the
// next leader) does not load it again. A live agent is refused and stays;
// an unknown address is NOT_FOUND, an empty one INVALID_ARGUMENT.
TEST_P(ControllerE2E, ChaosctlForgetsALostAgentForGoodAndRefusesALiveOne) {
  StartController();
  const std::string gone = StartAgent("a0");
  const std::string live = StartAgent("a1");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 2; }, absl::Seconds(60)));
  const std::string forget = Bin("bin/chaosctl") + " forget-agent ";
  const std::string at = " --controller " + controller_addr_;
  std::string out;
  EXPECT_EQ(Shell(forget + live + at, &out), 1) << out;
  EXPECT_NE(out.find("agent " + live + " is live and heartbeating"), std::string::npos) << out;
  EXPECT_NE(out.find("stop the agent first"), std::string::npos) << out;

  agents_[0]->Stop(SIGKILL);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& a : Agents()) {
          if (a.address() == gone) return a.lost();
        }
        return false;
      },
      absl::Seconds(60)));
  EXPECT_EQ(Shell(forget + gone + at, &out), 0) << out;
  EXPECT_NE(out.find("agent " + gone + " forgotten"), std::string::npos) << out;
  EXPECT_NE(ReadFile(dir_ + "/ctl.log")
                .find("audit action=forget_agent caller=\"unauthenticated "),
            std::string::npos)
      << ReadFile(dir_ + "/ctl.log");
  EXPECT_EQ(Shell(Bin("bin/chaosctl") + " agents" + at, &out), 0) << out;
  EXPECT_EQ(out.find(gone), std::string::npos) << out;
  EXPECT_NE(out.find(live), std::string::npos) << out;
  // Forgotten already, nothing named: NOT_FOUND (5), INVALID_ARGUMENT (2).
  EXPECT_EQ(Shell(forget + gone + at, &out), 5) << out;
  EXPECT_NE(out.find("address: no agent " + gone + " is registered"), std::string::npos) << out;
  EXPECT_EQ(Shell(forget + "''" + at, &out), 2) << out;
  EXPECT_NE(out.find("address: empty"), std::string::npos) << out;

  controller_.reset();
  {
    std::unique_ptr<chaos::controller::HistoryStore> history =
        OpenHistory(dir_ + "/ctl/history.db");
    ASSERT_NE(history, nullptr);
    absl::StatusOr<std::vector<chaos::v1::AgentInfo>> stored = history->ListAgents();
    ASSERT_TRUE(stored.ok()) << stored.status();
    ASSERT_EQ(stored->size(), 1u);
    EXPECT_EQ((*stored)[0].address(), live);
  }
  StartController();  // on another port: the live agent heartbeats to the old one
  const std::vector<chaos::v1::AgentInfo> known = Agents();
  ASSERT_EQ(known.size(), 1u);
  EXPECT_EQ(known[0].address(), live);
  EXPECT_TRUE(known[0].lost());
}

// The scheduler on a test clock driving the real RunManager against a real
// agent: a firing starts an ordinary run; with forbid, a firing while that
// run is still going is skipped and the skip recorded; after it ends the
// next firing starts again.
TEST_P(ControllerE2E, ScheduleOnATestClockStartsRealRunsAndForbidSkipsOverlap) {
  const std::string pf = dir_ + "/a0.port";
  agents_.push_back(std::make_unique<Process>(
      std::vector<std::string>{Bin("bin/chaos-agent"), "--listen", "127.0.0.1:0",
                               "--state-dir", dir_ + "/a0", "--port-file", pf},
      dir_ + "/a0.log"));
  const std::string agent = absl::StrCat("127.0.0.1:", WaitPort(pf));
  std::unique_ptr<chaos::controller::HistoryStore> history = OpenHistory(dir_ + "/history.db");
  ASSERT_NE(history, nullptr);
  chaos::controller::FakeClock clock(absl::FromUnixSeconds(1767607230));  // 10:00:30Z
  // Heartbeats are not what this test is about: an interval longer than it.
  chaos::controller::AgentRegistry registry(&clock, absl::Hours(1));
  chaos::v1::RegisterAgentRequest reg;
  reg.set_address(agent);
  ASSERT_TRUE(registry.Register(reg).ok());
  chaos::controller::RunManager runs(history.get(), &registry, {});
  chaos::controller::ManagerLauncher launcher(&runs);
  chaos::controller::Scheduler scheduler(history.get(), &launcher, &clock);
  chaos::v1::Schedule s;
  s.set_name("every-minute");
  s.set_cron("* * * * *");
  s.set_experiment_yaml(LongBurn(60));
  ASSERT_TRUE(scheduler.Create(s).ok());
  clock.Advance(absl::Seconds(31));  // 10:01:01
  scheduler.Tick();
  auto list = scheduler.List();
  ASSERT_TRUE(list.ok());
  const std::string first = list->front().last_run_id();
  ASSERT_FALSE(first.empty());
  EXPECT_TRUE(runs.IsActive(first));
  ASSERT_TRUE(WaitFor([&] { return ActiveFaults(agent, first) == 1; }, absl::Seconds(10)));
  clock.Advance(absl::Minutes(1));
  scheduler.Tick();
  list = scheduler.List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->front().last_run_id(), first);
  ASSERT_GE(list->front().recent_events_size(), 2);
  EXPECT_EQ(list->front().recent_events(0).kind(), "skipped");
  EXPECT_EQ(list->front().recent_events(0).run_id(), first);
  EXPECT_EQ(list->front().recent_events(1).kind(), "started");
  ASSERT_TRUE(runs.Abort(first, "test", "make room").ok());
  ASSERT_TRUE(WaitFor([&] { return !runs.IsActive(first); }, absl::Seconds(10)));
  EXPECT_EQ(ActiveFaults(agent, first), 0);
  clock.Advance(absl::Minutes(1));
  scheduler.Tick();
  list = scheduler.List();
  ASSERT_TRUE(list.ok());
  const std::string second = list->front().last_run_id();
  EXPECT_NE(second, first);
  EXPECT_EQ(list->front().recent_events(0).kind(), "started");
  auto scheduled = runs.List({.experiment = "", .state = chaos::v1::RUN_STATE_UNSPECIFIED,
                              .schedule = "every-minute", .limit = 10});
  ASSERT_TRUE(scheduled.ok());
  EXPECT_EQ(scheduled->size(), 2u);
  ASSERT_TRUE(runs.Abort(second, "test", "done").ok());
}

}  // namespace

namespace chaos_e2e_journal {

using Json = nlohmann::json;

// Every key path of a JSON document ("faults[].kind"), values left out.
void KeyPaths(const Json& j, const std::string& at, std::set<std::string>* out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      out->insert(at + "." + k);
      KeyPaths(v, at + "." + k, out);
    }
  } else if (j.is_array()) {
    for (const Json& v : j) KeyPaths(v, at + "[]", out);
  }
}

// What a journal says that must not depend on where the run ran: every
// value but ids, seeds, times and durations (and event wording, which
// carries the run id).
Json StableValues(const Json& j) {
  Json out = {{"experiment", j["experiment"]}, {"description", j["description"]},
              {"hypothesis", j["hypothesis"]}, {"variables", j["variables"]},
              {"outcome", j["outcome"]},       {"exit_code", j["exit_code"]},
              {"reason", j["reason"]},         {"rollback", j["rollback"]},
              {"manual_undo", j["manual_undo"]}};
  for (const Json& s : j["steps"]) {
    out["steps"].push_back({s["id"], s["kind"], s["target"], s["state"], s["detail"]});
  }
  for (const Json& f : j["faults"]) {
    out["faults"].push_back({f["agent"], f["step"], f["kind"], f["reverted"], f["error"]});
  }
  for (const Json& t : j["targets"]) out["targets"].push_back(t);
  std::set<std::string> phases, types;
  for (const Json& p : j["probes"]) phases.insert(p["probe"].get<std::string>() + "/" +
                                                  p["phase"].get<std::string>());
  for (const Json& e : j["events"]) types.insert(e["type"].get<std::string>());
  out["probe_phases"] = phases;
  out["event_types"] = types;
  out["recovery"] = {j["recovery"]["from"], j["recovery"]["recovered"],
                     j["recovery"]["objective_met"]};
  return out;
}

}  // namespace chaos_e2e_journal

// A run with ${VARIABLES} and a manual gate, submitted by chaosctl to a
// real controller and a real agent: the variables are expanded on the
// operator's side and recorded with the run, and the gate is confirmed
// from a second chaosctl process through the Controller API.
TEST_P(ControllerE2E, VariablesAndAManualGateThroughTheController) {
  StartController();
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const std::string file = dir_ + "/gated.yaml";
  std::ofstream(file) << R"(name: gated-${TEAM}
description: a game day with a gate
method:
  - id: burn
    duration: ${BURN:-20s}
    fault: {cpuBurn: {workers: 1, loadPercent: ${LOAD}}}
  - id: check
    manual: {prompt: "Is the failover visible?", timeout: 60s}
)";
  const std::string ctl = Bin("bin/chaosctl");
  const std::string at = " --controller " + controller_addr_;
  std::string run_out;
  int run_rc = -1;
  std::thread first([&] {
    run_rc = Shell("TEAM=sre LOAD=20 " + ctl + " run " + file + at, &run_out);
  });
  std::string id;
  ASSERT_TRUE(WaitFor([&] {
    chaos::v1::ListRunsResponse runs;
    if (!stub_->ListRuns(Ctx().get(), {}, &runs).ok() || runs.runs_size() != 1) return false;
    id = runs.runs(0).run_id();
    return Get(id).report_json().find("chaosctl gate confirm") != std::string::npos;
  }, absl::Seconds(20))) << run_out;
  std::string out;
  // Only a manual step that waits can be answered.
  EXPECT_EQ(Shell(ctl + " gate confirm " + id + " no-such-step" + at, &out), 5) << out;
  EXPECT_EQ(Shell(ctl + " gate confirm " + id + " burn" + at, &out), 5) << out;
  EXPECT_EQ(Shell(ctl + " gate confirm " + id + " check --reason 'dashboard red'" + at, &out), 0)
      << out;
  EXPECT_EQ(Shell(ctl + " gate confirm " + id + " check" + at, &out), 1) << out;  // answered
  // The burn still holds for its 20 s; the operator is satisfied: abort.
  EXPECT_EQ(Shell(ctl + " abort " + id + at, &out), 0) << out;
  first.join();
  EXPECT_EQ(run_rc, 130) << run_out;
  EXPECT_NE(run_out.find("on behalf of chaosctl"), std::string::npos) << run_out;
  EXPECT_NE(run_out.find("dashboard red"), std::string::npos) << run_out;
  const chaos::v1::Run run = Get(id);
  EXPECT_EQ(run.experiment_name(), "gated-sre");
  const std::map<std::string, std::string> want = {{"BURN", "20s"}, {"LOAD", "20"}, {"TEAM", "sre"}};
  const std::map<std::string, std::string> got(run.variables().begin(), run.variables().end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(ActiveFaults(agent, id), 0);
  // The gate of an ended run takes no answer.
  EXPECT_EQ(Shell(ctl + " gate fail " + id + " check" + at, &out), 1) << out;
  // A variable without a value stops chaosctl before anything is sent.
  EXPECT_EQ(Shell(ctl + " run " + file + at, &out), 2) << out;
  EXPECT_NE(out.find("gated.yaml:1:13: variable TEAM is not set"), std::string::npos) << out;
}

// A manual gate the operator fails through the API fails the run, which
// rolls back; the controller never reads its own standard input.
TEST_P(ControllerE2E, AFailedGateFailsTheRunAndRollsBack) {
  StartController();
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const chaos::v1::Run run = Submit(R"(name: gate-fails
method:
  - {id: burn, duration: 30s, fault: {cpuBurn: {workers: 1, loadPercent: 10}}}
  - {id: check, manual: {prompt: "ok?", timeout: 60s}}
)");
  ASSERT_TRUE(WaitFor([&] {
    return Get(run.run_id()).report_json().find("chaosctl gate fail") != std::string::npos;
  }, absl::Seconds(20)));
  chaos::v1::AnswerGateRequest req;
  req.set_run_id(run.run_id());
  req.set_step("check");
  req.set_confirm(false);
  req.set_caller("e2e");
  chaos::v1::Run answered;
  ASSERT_TRUE(stub_->AnswerGate(Ctx().get(), req, &answered).ok());
  ASSERT_TRUE(WaitFor([&] {
    return Get(run.run_id()).state() == chaos::v1::RUN_STATE_FAILED;
  }, absl::Seconds(20)));
  const std::string reason = Get(run.run_id()).reason();
  EXPECT_NE(reason.find("step check: failed by "), std::string::npos) << reason;
  EXPECT_NE(reason.find("on behalf of e2e"), std::string::npos) << reason;
  EXPECT_EQ(ActiveFaults(agent, run.run_id()), 0);
}

// The same experiment run locally (chaosctl run --agent --output) and
// through the controller (chaosctl show RUN -o json) gives journals with
// the same fields, and the same values but for ids and times.
TEST_P(ControllerE2E, LocalAndControllerRunsWriteTheSameJournal) {
  using namespace chaos_e2e_journal;
  StartController(CommandPolicyFlags("commands:\n  - path: /bin/true\n"));
  const std::string agent = StartAgent("a0");
  ASSERT_TRUE(WaitFor([&] { return LiveAgents() == 1; }, absl::Seconds(60)));
  const std::string file = dir_ + "/same.yaml";
  std::ofstream(file) << R"(name: same-journal
description: one journal however it runs
hypothesis: the host stays healthy
probes:
  ok:
    command: {run: ["true"]}
    interval: 100ms
steadyState: {before: [ok], after: [ok]}
method:
  - {id: burn, duration: 1s, fault: {cpuBurn: {workers: 1, loadPercent: ${LOAD:-10}}}}
  - {id: settle, wait: 200ms, after: [burn]}
recovery: {from: burn, probes: [ok], successes: 2}
)";
  const std::string ctl = Bin("bin/chaosctl");
  std::string out;
  ASSERT_EQ(Shell("LOAD=15 " + ctl + " run " + file + " --agent " + agent + " --output " + dir_ +
                      "/local --run-id local-run </dev/null",
                  &out),
            0)
      << out;
  const Json local = Json::parse(ReadFile(dir_ + "/local/local-run.json"));
  const std::string at = " --controller " + controller_addr_;
  ASSERT_EQ(Shell("LOAD=15 " + ctl + " run " + file + at, &out), 0) << out;
  chaos::v1::ListRunsResponse runs;
  ASSERT_TRUE(stub_->ListRuns(Ctx().get(), {}, &runs).ok());
  ASSERT_EQ(runs.runs_size(), 1);
  ASSERT_EQ(Shell(ctl + " show " + runs.runs(0).run_id() + " -o json" + at, &out), 0) << out;
  const Json remote = Json::parse(out);
  std::set<std::string> local_keys, remote_keys;
  KeyPaths(local, "", &local_keys);
  KeyPaths(remote, "", &remote_keys);
  EXPECT_EQ(local_keys, remote_keys);
  EXPECT_EQ(StableValues(local), StableValues(remote))
      << StableValues(local).dump(1) << "\n" << StableValues(remote).dump(1);
  EXPECT_EQ(local["variables"], Json({{"LOAD", "15"}}));
  EXPECT_EQ(remote["run_id"], runs.runs(0).run_id());
}

INSTANTIATE_TEST_SUITE_P(Stores, ControllerE2E, ::testing::Values("sqlite", "etcd"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });
