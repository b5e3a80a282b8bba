// The bundled experiments, each run for real by chaosctl against a real
// chaos-agent and a real system under test that the test starts itself.
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "experiments/experiment.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

const std::string kExperiments = std::string(CHAOS_SOURCE_DIR) + "/experiments/examples";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool WaitFor(const std::function<bool()>& cond, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (cond()) return true;
    usleep(50000);
  }
  return cond();
}

// Runs chaosctl with extra environment; returns its result and parsed JSON report.
struct RunResult {
  CommandResult command;
  google::protobuf::Struct report;
};

RunResult RunExperiment(const std::string& file, const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env, const std::string& out) {
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  std::vector<std::string> argv = {ChaosctlBinary(), "run", kExperiments + "/" + file,
                                   "--output", out};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r;
  r.command = RunCommand(argv, 180);
  for (const auto& [k, v] : env) unsetenv(k.c_str());
  DIR* d = opendir(out.c_str());
  while (d != nullptr) {
    dirent* e = readdir(d);
    if (e == nullptr) break;
    if (absl::EndsWith(e->d_name, ".json")) {
      (void)google::protobuf::util::JsonStringToMessage(
          ReadFileOrEmpty(out + "/" + e->d_name), &r.report);
    }
  }
  if (d != nullptr) closedir(d);
  return r;
}

const google::protobuf::Value& Field(const google::protobuf::Struct& s, const std::string& key) {
  static const google::protobuf::Value kNull;
  auto it = s.fields().find(key);
  return it == s.fields().end() ? kNull : it->second;
}

TEST(ExamplesTest, EveryBundledExperimentValidates) {
  setenv("HEARTBEAT", "/tmp/hb", 1);
  setenv("VICTIM_PIDFILE", "/tmp/pid", 1);
  setenv("REDIS_DIR", "/tmp/redis", 1);
  setenv("BACKUP", "/tmp/backup.rdb", 1);
  DIR* d = opendir(kExperiments.c_str());
  ASSERT_NE(d, nullptr);
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (!absl::EndsWith(e->d_name, ".yaml")) continue;
    ++n;
    CommandResult r = RunCommand({ChaosctlBinary(), "validate", kExperiments + "/" + e->d_name});
    EXPECT_EQ(r.exit_code, 0) << e->d_name << ": " << r.output;
  }
  closedir(d);
  EXPECT_GE(n, 6);
}

TEST(ExamplesTest, KillOneReplicaMeasuresTimeToRecover) {
  TempDir dir;
  const int p1 = FreePort(), p2 = FreePort(), p3 = FreePort();
  Subprocess replicas({"/usr/bin/setsid", kExperiments + "/scripts/replicas.sh",
                       std::to_string(p1), std::to_string(p2), std::to_string(p3)},
                      dir.path() + "/replicas.log");
  ASSERT_TRUE(WaitFor([&] {
    return RunCommand({"/bin/bash", "-c", absl::StrCat("for p in ", p1, " ", p2, " ", p3,
                                                       "; do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || exit 1; done")})
               .exit_code == 0;
  }, 20)) << "replicas did not start";
  AgentProcess agent(dir.path());
  RunResult r = RunExperiment("kill-replica.yaml", {"--agent", agent.address()},
                              {{"PORT1", std::to_string(p1)},
                               {"PORT2", std::to_string(p2)},
                               {"PORT3", std::to_string(p3)}},
                              dir.path() + "/out");
  kill(-replicas.pid(), SIGTERM);
  EXPECT_EQ(r.command.exit_code, 0) << r.command.output;
  EXPECT_NE(r.command.output.find("recovery: "), std::string::npos) << r.command.output;
  const auto& recovery = Field(r.report, "recovery").struct_value();
  EXPECT_TRUE(Field(recovery, "recovered").bool_value()) << r.command.output;
  // The supervisor waits 0.5 s before restarting: recovery cannot be faster.
  EXPECT_GE(Field(recovery, "time_ms").number_value(), 400) << r.command.output;
  EXPECT_NE(r.command.output.find("signal 9 sent to 1 process(es)"), std::string::npos)
      << r.command.output;
}

TEST(ExamplesTest, DiskFillIsGuardedAndAlwaysCleanedUp) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ASSERT_EQ(mkdir(data.c_str(), 0755), 0);
  ASSERT_EQ(mount("tmpfs", data.c_str(), "tmpfs", 0, "size=64m"), 0) << strerror(errno);
  absl::Cleanup unmount = [&] { umount2(data.c_str(), MNT_DETACH); };
  std::ofstream(dir.path() + "/policy.yaml") << "fillRoots: [" << data << "]\n";
  // The agent's state lives on /tmp, not on the filesystem it fills.
  AgentProcess agent(dir.path(), {"--policy", dir.path() + "/policy.yaml"});
  auto used_percent = [&] {
    struct statvfs s;
    statvfs(data.c_str(), &s);
    return 100.0 * static_cast<double>(s.f_blocks - s.f_bfree) / static_cast<double>(s.f_blocks);
  };
  // Within the guard: passes, and the fill is gone afterwards.
  RunResult ok = RunExperiment("disk-fill.yaml", {"--agent", agent.address()},
                               {{"DATA_DIR", data}, {"FILL_PERCENT", "80"},
                                {"GUARD_PERCENT", "95"}, {"FILL_FOR", "2s"}},
                               dir.path() + "/ok");
  EXPECT_EQ(ok.command.exit_code, 0) << ok.command.output;
  EXPECT_LT(used_percent(), 1.0) << "the fill file was left behind";
  // Over the guard's limit: the guard trips, the run aborts and reverts.
  RunResult tripped = RunExperiment("disk-fill.yaml", {"--agent", agent.address()},
                                    {{"DATA_DIR", data}, {"FILL_PERCENT", "90"},
                                     {"GUARD_PERCENT", "85"}, {"FILL_FOR", "60s"}},
                                    dir.path() + "/tripped");
  EXPECT_EQ(tripped.command.exit_code, 1) << tripped.command.output;
  EXPECT_NE(tripped.command.output.find("guard tripped: probe disk-below-limit"),
            std::string::npos)
      << tripped.command.output;
  EXPECT_LT(used_percent(), 1.0) << "the fill file was left behind after the abort";
}

TEST(ExamplesTest, BackupRestoreDrillReportsTimeToRestoreAndIntactData) {
  TempDir dir;
  const int port = FreePort();
  const std::string redis_dir = dir.path() + "/redis";
  const std::string backup = dir.path() + "/backup.rdb";
  const std::string restore = kExperiments + "/scripts/redis-restore.sh";
  // Start Redis with 1000 keys and take a backup (the "last good backup").
  ASSERT_EQ(mkdir(redis_dir.c_str(), 0755), 0);
  CommandResult start = RunCommand({"/usr/bin/redis-server", "--port", std::to_string(port),
                                    "--bind", "127.0.0.1", "--dir", redis_dir, "--daemonize",
                                    "yes", "--pidfile", redis_dir + "/redis.pid", "--save", "",
                                    "--appendonly", "no", "--logfile", redis_dir + "/redis.log"});
  ASSERT_EQ(start.exit_code, 0) << start.output;
  const std::string cli = "/usr/bin/redis-cli";
  ASSERT_TRUE(WaitFor([&] {
    return absl::StrContains(RunCommand({cli, "-p", std::to_string(port), "ping"}).output, "PONG");
  }, 10));
  CommandResult fill = RunCommand(
      {cli, "-p", std::to_string(port), "eval",
       "for i=0,999 do redis.call('set','key:'..i,'value-'..i) end return 1", "0"});
  ASSERT_EQ(fill.exit_code, 0) << fill.output;
  ASSERT_EQ(RunCommand({cli, "-p", std::to_string(port), "save"}).exit_code, 0);
  ASSERT_EQ(RunCommand({"/bin/cp", redis_dir + "/dump.rdb", backup}).exit_code, 0);

  AgentProcess agent(dir.path());
  RunResult r = RunExperiment("backup-restore.yaml", {"--agent", agent.address()},
                              {{"REDIS_PORT", std::to_string(port)}, {"REDIS_DIR", redis_dir},
                               {"BACKUP", backup}, {"CHAOS_EXPERIMENTS", kExperiments}},
                              dir.path() + "/out");
  RunCommand({cli, "-p", std::to_string(port), "shutdown", "nosave"});
  EXPECT_EQ(r.command.exit_code, 0) << r.command.output;
  const auto& recovery = Field(r.report, "recovery").struct_value();
  EXPECT_TRUE(Field(recovery, "recovered").bool_value()) << r.command.output;
  EXPECT_GT(Field(recovery, "time_ms").number_value(), 0) << r.command.output;
  // The data came back intact: the steady state after the restore holds.
  int after_ok = 0;
  for (const auto& p : Field(r.report, "probes").list_value().values()) {
    const auto& s = p.struct_value();
    if (Field(s, "phase").string_value() == "steady-state-after" && Field(s, "ok").bool_value()) {
      ++after_ok;
    }
  }
  EXPECT_EQ(after_ok, 3) << r.command.output;
}

TEST(ExamplesTest, MakeDemoRunsAndLeavesNothingBehind) {
  CommandResult r = RunCommand({std::string(CHAOS_SOURCE_DIR) + "/deploy/demo.sh",
                                CHAOS_BINARY_DIR},
                               120);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("passed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("recovery: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing left"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace chaos::testing
