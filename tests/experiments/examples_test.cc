// The bundled experiments, each run for real by chaosctl against a real
// chaos-agent and a real system under test that the test starts itself.
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
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
#include "tests/chromium.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

const std::string kExperiments = std::string(CHAOS_SOURCE_DIR) + "/experiments/examples";

// Runs chaosctl with extra environment; returns its result and parsed JSON report.
struct RunResult {
  CommandResult command;
  google::protobuf::Struct report;
};

RunResult RunExperiment(const std::string& file, const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env, const std::string& out) {
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  const std::string path = file.starts_with('/') ? file : kExperiments + "/" + file;
  std::vector<std::string> argv = {ChaosctlBinary(), "run", path, "--output", out};
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
  setenv("REDIS_RUN", "/tmp/redis-run", 1);
  for (const char* v : {"PG_SOCKET", "PG_DATA", "PG_ARCHIVE", "PG_RUN"}) setenv(v, "/tmp/pg", 1);
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
  const int p1 = FreeLoopbackPort(), p2 = FreeLoopbackPort(), p3 = FreeLoopbackPort();
  Subprocess replicas({"/usr/bin/setsid", kExperiments + "/scripts/replicas.sh",
                       std::to_string(p1), std::to_string(p2), std::to_string(p3)},
                      dir.path() + "/replicas.log");
  ASSERT_TRUE(WaitFor([&] {
    return RunCommand({"/bin/bash", "-c", absl::StrCat("for p in ", p1, " ", p2, " ", p3,
                                                       "; do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || exit 1; done")})
               .exit_code == 0;
  }, absl::Seconds(20))) << "replicas did not start";
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

// Writes DIR/policy.yaml for a drill's agent: DIR/data is its data root,
// and it may run the example scripts `rules` name, each rule written
// "SCRIPT, ARGUMENT PATTERNS" as the example's header documents.
void WriteDrillPolicy(const std::string& dir, const std::vector<std::string>& rules) {
  std::ofstream policy(dir + "/policy.yaml");
  policy << "dataRoots: [" << dir << "/data]\ncommands:\n";
  for (const std::string& rule : rules) {
    policy << "  - {path: " << kExperiments << "/scripts/" << rule << "}\n";
  }
}

// A Redis server with 1000 keys whose data directory is below the agent's
// data root, the agent, and the variables of redis-drill.yaml.
class RedisDrill {
 public:
  RedisDrill()
      : port_(std::to_string(FreeLoopbackPort())),
        redis_dir_(dir_.path() + "/data/redis"),
        run_dir_(dir_.path() + "/run") {
    EXPECT_EQ(RunCommand({"/bin/mkdir", "-p", redis_dir_, run_dir_}).exit_code, 0);
    WriteDrillPolicy(dir_.path(),
                     {R"(redis-backup.sh, args: ["[0-9]+", "/[^ ]+", "/[^ ]+"])",
                      R"(redis-restore.sh, args: ["/[^ ]+", "/[^ ]+", "[0-9]+", "/[^ ]+"])"});
    CommandResult start = RunCommand({"/usr/bin/redis-server", "--port", port_, "--bind",
                                      "127.0.0.1", "--dir", redis_dir_, "--daemonize", "yes",
                                      "--pidfile", run_dir_ + "/redis.pid", "--save", "",
                                      "--appendonly", "no", "--logfile", run_dir_ + "/redis.log"});
    EXPECT_EQ(start.exit_code, 0) << start.output;
    EXPECT_TRUE(WaitFor([&] { return absl::StrContains(Cli({"ping"}).output, "PONG"); },
                        absl::Seconds(10)));
    EXPECT_EQ(Cli({"eval", "for i=0,999 do redis.call('set','key:'..i,'value-'..i) end return 1",
                   "0"}).exit_code, 0);
    agent_ = std::make_unique<AgentProcess>(dir_.path() + "/agent-state",
                                            std::vector<std::string>{
                                                "--policy", dir_.path() + "/policy.yaml"});
  }
  ~RedisDrill() { Cli({"shutdown", "nosave"}); }

  CommandResult Cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/redis-cli", "-p", port_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  RunResult Run(const std::string& file, std::map<std::string, std::string> env = {}) {
    env.insert({{"REDIS_PORT", port_}, {"REDIS_DIR", redis_dir_}, {"REDIS_RUN", run_dir_},
                {"BACKUP", backup()}, {"CHAOS_EXPERIMENTS", kExperiments}});
    return RunExperiment(file, {"--agent", agent_->address()}, env, dir_.path() + "/out");
  }
  // The data directory's dump loads into a fresh server with every key.
  int KeysInDataDir() {
    const std::string port = std::to_string(FreeLoopbackPort());
    RunCommand({"/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1", "--dir",
                redis_dir_, "--daemonize", "yes", "--pidfile", run_dir_ + "/check.pid",
                "--save", "", "--appendonly", "no", "--logfile", run_dir_ + "/check.log"});
    int keys = -1;
    WaitFor([&] {
      CommandResult r = RunCommand({"/usr/bin/redis-cli", "-p", port, "eval",
                                    "return #redis.call('keys', 'key:*')", "0"});
      return r.exit_code == 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(r.output), &keys);
    }, absl::Seconds(10));
    RunCommand({"/usr/bin/redis-cli", "-p", port, "shutdown", "nosave"});
    return keys;
  }
  const std::string& path() const { return dir_.path(); }
  const std::string& redis_dir() const { return redis_dir_; }
  std::string agent() const { return agent_->address(); }
  std::string backup() const { return dir_.path() + "/backup.rdb"; }

 private:
  TempDir dir_;
  std::string port_;
  std::string redis_dir_;
  std::string run_dir_;
  std::unique_ptr<AgentProcess> agent_;
};

double Number(const google::protobuf::Struct& s, const std::string& key) {
  return Field(s, key).number_value();
}

const google::protobuf::Struct& Object(const google::protobuf::Struct& s, const std::string& key) {
  return Field(s, key).struct_value();
}

// The JSON journal's record of step `id`.
google::protobuf::Struct StepOf(const google::protobuf::Struct& report, const std::string& id) {
  for (const auto& v : Field(report, "steps").list_value().values()) {
    if (Field(v.struct_value(), "id").string_value() == id) return v.struct_value();
  }
  ADD_FAILURE() << "no step " << id;
  return {};
}

// Whether the journal says `script` ran on `agent` (a `command` event of
// that agent naming it), as a command step with a target does.
bool RanOnAgent(const google::protobuf::Struct& report, const std::string& agent,
                const std::string& script) {
  for (const auto& e : Field(report, "events").list_value().values()) {
    const auto& event = e.struct_value();
    if (Field(event, "type").string_value() == "command" &&
        Field(event, "agent").string_value() == agent &&
        absl::StrContains(Field(event, "message").string_value(), script)) {
      return true;
    }
  }
  return false;
}

// A drill's RTO: measured, and its phases in the order they happen, the
// last of them the RTO.
void ExpectPhasesInOrder(const google::protobuf::Struct& rto) {
  const auto& at = Object(rto, "phases");
  EXPECT_GT(Number(rto, "ms"), 0);
  EXPECT_LE(Number(at, "disaster_at_unix_ms"), Number(at, "restore_started_at_unix_ms"));
  EXPECT_LE(Number(at, "restore_started_at_unix_ms"), Number(at, "restore_ended_at_unix_ms"));
  EXPECT_LE(Number(at, "restore_started_at_unix_ms"), Number(at, "first_probe_ok_at_unix_ms"));
  EXPECT_LE(Number(at, "first_probe_ok_at_unix_ms"), Number(at, "healthy_at_unix_ms"));
  EXPECT_EQ(Number(at, "healthy_ms"), Number(rto, "ms"));
}

// The run's page, rendered by headless Chromium, marks the disaster and
// the return to health and shows the failed probe checks.
void ExpectPageShows(const RedisDrill& redis, const RunResult& r, int failing) {
  ASSERT_FALSE(FindChromium().empty()) << "chromium is not installed (`make deps` does it)";
  const std::string html = absl::StrCat(redis.path(), "/out/",
                                        Field(r.report, "run_id").string_value(), ".html");
  TempDir browser;
  base::CommandOutcome dump =
      RunChromium(browser, {"--dump-dom"}, html, browser.path() + "/dom.html");
  ASSERT_EQ(dump.exit_code, 0) << ReadFileOrEmpty(browser.path() + "/chromium.err");
  const std::string dom = ReadFileOrEmpty(browser.path() + "/dom.html");
  ASSERT_EQ(BodyAttr(dom, "data-rendered"), "done") << dom.substr(0, 2000);
  EXPECT_EQ(BodyAttr(dom, "data-rendered-drill-marks"), "2");
  int shown = 0;
  EXPECT_TRUE(absl::SimpleAtoi(BodyAttr(dom, "data-rendered-probe-fail"), &shown));
  EXPECT_GE(shown, failing);
  EXPECT_NE(dom.find("id=\"drill-integrity\""), std::string::npos);
}

TEST(ExamplesTest, RedisDrillMeasuresRtoByPhaseRpoFromCanariesAndIntegrity) {
  RedisDrill redis;
  RunResult r = redis.Run("redis-drill.yaml");
  ASSERT_EQ(r.command.exit_code, 0) << r.command.output;
  EXPECT_NE(r.command.output.find("drill: RTO "), std::string::npos) << r.command.output;
  // The backup and the restore ran on the agent, under its policy.
  EXPECT_TRUE(RanOnAgent(r.report, redis.agent(), "redis-backup.sh"));
  EXPECT_TRUE(RanOnAgent(r.report, redis.agent(), "redis-restore.sh"));
  const auto& drill = Object(r.report, "drill");
  // RTO, from the disaster through each phase to healthy, in order.
  const auto& rto = Object(drill, "rto");
  const auto& at = Object(rto, "phases");
  ExpectPhasesInOrder(rto);
  EXPECT_TRUE(Field(rto, "met").bool_value());
  // RPO: the newest canary present is one the backup holds (written before
  // it ended), and the figure is the acknowledged writes after it.
  const auto& rpo = Object(drill, "rpo");
  const auto backup = StepOf(r.report, "backup");
  EXPECT_GT(Number(rpo, "canaries_written"), 0);
  EXPECT_LE(Number(rpo, "newest_present_unix_ms"), Number(backup, "ended_at_unix_ms"));
  EXPECT_GE(Number(rpo, "newest_present_unix_ms"), Number(r.report, "started_at_unix_ms"));
  EXPECT_GE(Number(rpo, "last_acknowledged_unix_ms"), Number(backup, "ended_at_unix_ms"))
      << "the drill waits a second after the backup, writing canaries";
  EXPECT_EQ(Number(rpo, "ms"),
            Number(rpo, "last_acknowledged_unix_ms") - Number(rpo, "newest_present_unix_ms"));
  // Integrity: the same digest after the backup and after the restore.
  const auto& integrity = Object(drill, "integrity");
  EXPECT_EQ(Field(integrity, "state").string_value(), "ok");
  EXPECT_EQ(Field(integrity, "backup_digest").string_value().size(), 40u);
  EXPECT_TRUE(Field(drill, "objectives_met").bool_value());
  // Size: the backup file's, and the restore's throughput from it.
  struct stat backup_stat {};
  ASSERT_EQ(stat(redis.backup().c_str(), &backup_stat), 0);
  const auto& size = Object(drill, "size");
  EXPECT_EQ(Number(size, "backup_bytes"), backup_stat.st_size);
  EXPECT_GT(Number(size, "restore_bytes_per_second"), 0);
  // The probes were watched from the disaster: they failed while Redis was
  // gone and held again after the restore, in the journal and on the page.
  int failing = 0, ok_after = 0;
  for (const auto& p : Field(r.report, "probes").list_value().values()) {
    const auto& sample = p.struct_value();
    if (Field(sample, "phase").string_value() != "recovery") continue;
    const double t = Number(sample, "at_unix_ms");
    if (!Field(sample, "ok").bool_value() && t >= Number(at, "disaster_at_unix_ms") &&
        t < Number(at, "healthy_at_unix_ms")) {
      ++failing;
    }
    if (Field(sample, "ok").bool_value() && t >= Number(at, "healthy_at_unix_ms")) ++ok_after;
  }
  EXPECT_GT(failing, 0) << r.command.output;
  EXPECT_GT(ok_after, 0) << r.command.output;
  const auto& answers = Field(r.report, "probe_summary").list_value().values(0).struct_value();
  EXPECT_EQ(Field(answers, "probe").string_value(), "answers");
  EXPECT_LT(Number(answers, "ok_during_faults"), Number(answers, "during_faults"));
  EXPECT_GE(Number(answers, "time_to_detect_ms"), 0);
  ExpectPageShows(redis, r, failing);
  // The restored server serves; the original data directory was kept aside,
  // byte for byte what the backup copied.
  EXPECT_EQ(absl::StripAsciiWhitespace(
                redis.Cli({"eval", "return #redis.call('keys', 'key:*')", "0"}).output),
            "1000");
  CommandResult kept = RunCommand(
      {"/bin/sh", "-c", "cmp \"$0\" " + redis.path() + "/data/.chaos-quarantine-*/0-redis/dump.rdb",
       redis.backup()});
  EXPECT_EQ(kept.exit_code, 0) << kept.output;
}

// Writes to `file` a bundled drill with one more step, which runs the
// shell command `corrupt` once the backup is taken and before the restore
// starts.
void WriteWithCorruptingStep(const std::string& drill, const std::string& corrupt,
                             const std::string& file) {
  std::string text = ReadFileOrEmpty(kExperiments + "/" + drill);
  const std::string restore_after = "    after: [lose-server]\n    command:\n";
  ASSERT_NE(text.find(restore_after), std::string::npos);
  text.replace(text.find(restore_after), restore_after.size(),
               "    after: [lose-server, corrupt-backup]\n    command:\n");
  text += absl::StrCat("  - id: corrupt-backup\n    after: [backup]\n    command: {run: [sh, -c, \"",
                       corrupt, "\"]}\n");
  std::ofstream(file) << text;
}

TEST(ExamplesTest, RedisDrillWithACorruptedBackupFailsAndPutsTheOriginalDataBack) {
  RedisDrill redis;
  const std::string file = redis.path() + "/corrupted-drill.yaml";
  WriteWithCorruptingStep("redis-drill.yaml",
                          "printf XXXXXXXX | dd of=${BACKUP} bs=1 seek=2000 conv=notrunc", file);
  RunResult r = redis.Run(file);
  EXPECT_EQ(r.command.exit_code, 1) << r.command.output;
  EXPECT_NE(r.command.output.find("step restore: command failed"), std::string::npos)
      << r.command.output;
  EXPECT_NE(r.command.output.find("is damaged"), std::string::npos) << r.command.output;
  EXPECT_EQ(Field(r.report, "rollback").string_value(), "complete") << r.command.output;
  // The data-loss fault's revert put the original directory back, whole.
  EXPECT_EQ(redis.KeysInDataDir(), 1000) << r.command.output;
  CommandResult left = RunCommand(
      {"/bin/sh", "-c", "ls -A " + redis.path() + "/data/.chaos-quarantine-*/ 2>/dev/null"});
  EXPECT_EQ(left.output, "") << "nothing should stay in quarantine";
}

TEST(ExamplesTest, RedisDrillWhoseCanaryFailsStopsBeforeAnythingIsLost) {
  RedisDrill redis;
  std::string text = ReadFileOrEmpty(kExperiments + "/redis-drill.yaml");
  const std::string write = "write: {run: [redis-cli, -p, \"${REDIS_PORT:-6379}\"";
  ASSERT_NE(text.find(write), std::string::npos);
  text.replace(text.find(write), write.size(), "write: {run: [redis-cli, -p, \"1\"");
  const std::string file = redis.path() + "/broken-canary.yaml";
  std::ofstream(file) << text;
  RunResult r = redis.Run(file);
  EXPECT_EQ(r.command.exit_code, 1) << r.command.output;
  EXPECT_NE(r.command.output.find("drill.canary.write: the first canary was not acknowledged, "
                                  "so the method did not start: exit 1"),
            std::string::npos)
      << r.command.output;
  EXPECT_EQ(Field(r.report, "faults").list_value().values_size(), 0) << r.command.output;
  EXPECT_EQ(absl::StripAsciiWhitespace(
                redis.Cli({"eval", "return #redis.call('keys', 'key:*')", "0"}).output),
            "1000");
}

TEST(ExamplesTest, RedisDrillSlowerThanItsRtoFailsWithTheMeasuredFigure) {
  RedisDrill redis;
  RunResult r = redis.Run("redis-drill.yaml", {{"RTO", "1ms"}});
  EXPECT_EQ(r.command.exit_code, 1) << r.command.output;
  EXPECT_NE(r.command.output.find("drill objectives missed: RTO "), std::string::npos)
      << r.command.output;
  EXPECT_NE(r.command.output.find("over the objective of 1ms"), std::string::npos)
      << r.command.output;
  const auto& rto = Object(Object(r.report, "drill"), "rto");
  EXPECT_GT(Number(rto, "ms"), 1);
  EXPECT_FALSE(Field(rto, "met").bool_value());
  EXPECT_EQ(Field(Object(Object(r.report, "drill"), "integrity"), "state").string_value(), "ok");
}

// A PostgreSQL 15 server run by the postgres user in a scratch directory,
// with WAL archiving, an `accounts` table of 1000 rows, its data directory
// below the agent's data root, the agent, and the variables of
// postgres-drill.yaml.
class PostgresDrill {
 public:
  PostgresDrill() : port_(std::to_string(FreeLoopbackPort())) {
    chmod(dir_.path().c_str(), 0755);  // the postgres user works below it
    for (const char* d : {"data", "archive", "run", "sock"}) {
      const std::string path = dir_.path() + "/" + d;
      mkdir(path.c_str(), 0700);
      EXPECT_EQ(RunCommand({"/bin/chown", "postgres:postgres", path}).exit_code, 0);
    }
    CommandResult init = AsPostgres({Bin("initdb"), "-D", data(), "-A", "trust", "-U", "postgres"});
    EXPECT_EQ(init.exit_code, 0) << init.output;
    std::ofstream(data() + "/postgresql.auto.conf", std::ios::app)
        << "port = " << port_ << "\nlisten_addresses = ''\nunix_socket_directories = '"
        << socket() << "'\nwal_level = replica\narchive_mode = on\n"
        << "archive_command = 'test ! -f " << archive() << "/%f && cp %p " << archive() << "/%f'\n"
        << "external_pid_file = '" << run() << "/postgres.pid'\n";
    CommandResult start = AsPostgres({Bin("pg_ctl"), "-D", data(), "-l", run() + "/postgres.log",
                                      "-w", "-t", "60", "start"});
    EXPECT_EQ(start.exit_code, 0) << start.output << ReadFileOrEmpty(run() + "/postgres.log");
    CommandResult fill = Sql({"-c", "create table accounts (id int primary key, balance int)",
                              "-c", "insert into accounts select g, g * 10 "
                                    "from generate_series(1, 1000) g"});
    EXPECT_EQ(fill.exit_code, 0) << fill.output;
    WriteDrillPolicy(dir_.path(),
                     {R"(pg-backup.sh, args: ["/[^ ]+", "[0-9]+", "/[^ ]+"])",
                      R"(pg-archive-now.sh, args: ["/[^ ]+", "[0-9]+"])",
                      R"(pg-restore.sh, moreArgs: "/[^ ]+|[0-9]+")"});
    agent_ = std::make_unique<AgentProcess>(dir_.path() + "/agent-state",
                                            std::vector<std::string>{
                                                "--policy", dir_.path() + "/policy.yaml"});
  }
  ~PostgresDrill() {
    AsPostgres({Bin("pg_ctl"), "-D", data(), "-m", "immediate", "stop"});
  }

  static std::string Bin(const std::string& name) { return "/usr/lib/postgresql/15/bin/" + name; }
  static CommandResult AsPostgres(const std::vector<std::string>& argv) {
    std::vector<std::string> full = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return RunCommand(full, 120);
  }
  CommandResult Sql(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {Bin("psql"), "-h", socket(), "-p", port_, "-U", "postgres",
                                     "-qAt", "-v", "ON_ERROR_STOP=1"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  RunResult Run(const std::string& file) {
    return RunExperiment(file, {"--agent", agent_->address()},
                         {{"PG_SOCKET", socket()}, {"PG_PORT", port_}, {"PG_DATA", data()},
                          {"PG_ARCHIVE", archive()}, {"PG_RUN", run()},
                          {"BACKUP", dir_.path() + "/backup"},
                          {"CHAOS_EXPERIMENTS", kExperiments}},
                         dir_.path() + "/out");
  }
  const std::string& path() const { return dir_.path(); }
  std::string data() const { return dir_.path() + "/data/pg"; }
  std::string archive() const { return dir_.path() + "/archive"; }
  std::string run() const { return dir_.path() + "/run"; }
  std::string socket() const { return dir_.path() + "/sock"; }
  std::string agent() const { return agent_->address(); }

 private:
  TempDir dir_;
  std::string port_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST(ExamplesTest, PostgresDrillRestoresTheBaseBackupAndArchivedWal) {
  PostgresDrill pg;
  RunResult r = pg.Run("postgres-drill.yaml");
  ASSERT_EQ(r.command.exit_code, 0) << r.command.output
                                    << ReadFileOrEmpty(pg.run() + "/postgres.log");
  for (const char* script : {"pg-backup.sh", "pg-archive-now.sh", "pg-restore.sh"}) {
    EXPECT_TRUE(RanOnAgent(r.report, pg.agent(), script)) << script;
  }
  const auto& drill = Object(r.report, "drill");
  const auto& rto = Object(drill, "rto");
  const auto& at = Object(rto, "phases");
  ExpectPhasesInOrder(rto);
  // The archive holds every transaction committed before archive-wal began:
  // the data lost is what was acknowledged between then and the disaster,
  // plus at most one canary interval (500ms) and the write under way then.
  const auto& rpo = Object(drill, "rpo");
  const auto archived = StepOf(r.report, "archive-wal");
  const double allowed = Number(at, "disaster_at_unix_ms") - Number(archived, "started_at_unix_ms");
  EXPECT_GE(Number(rpo, "ms"), 0);
  EXPECT_LE(Number(rpo, "ms"), allowed + 2 * 500) << r.command.output;
  EXPECT_GE(Number(rpo, "newest_present_unix_ms"), Number(StepOf(r.report, "backup"),
                                                          "ended_at_unix_ms"))
      << "canaries written after the base backup came back from the WAL archive";
  EXPECT_EQ(Field(Object(drill, "integrity"), "state").string_value(), "ok");
  EXPECT_TRUE(Field(drill, "objectives_met").bool_value());
  EXPECT_EQ(absl::StripAsciiWhitespace(pg.Sql({"-c", "select count(*) from accounts"}).output),
            "1000");
}

TEST(ExamplesTest, PostgresDrillWithACorruptedBackupFailsAndPutsTheOriginalDataBack) {
  PostgresDrill pg;
  const std::string file = pg.path() + "/corrupted-drill.yaml";
  WriteWithCorruptingStep("postgres-drill.yaml",
                          "f=$(ls -S ${BACKUP}/base/*/* | head -n1) && "
                          "printf XXXXXXXX | dd of=$f bs=1 seek=100 conv=notrunc",
                          file);
  RunResult r = pg.Run(file);
  EXPECT_EQ(r.command.exit_code, 1) << r.command.output;
  EXPECT_NE(r.command.output.find("is damaged"), std::string::npos) << r.command.output;
  EXPECT_EQ(Field(r.report, "rollback").string_value(), "complete") << r.command.output;
  // The original data directory is back: once the killed server is gone,
  // a server starts on it with every row.
  int old_pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(NonEmptyLines(ReadFileOrEmpty(pg.data() + "/postmaster.pid"))[0],
                               &old_pid));
  EXPECT_TRUE(WaitFor([&] { return kill(old_pid, 0) != 0; }, absl::Seconds(30)));
  CommandResult start = PostgresDrill::AsPostgres(
      {PostgresDrill::Bin("pg_ctl"), "-D", pg.data(), "-l", pg.run() + "/postgres.log", "-w",
       "-t", "60", "start"});
  ASSERT_EQ(start.exit_code, 0) << start.output << ReadFileOrEmpty(pg.run() + "/postgres.log");
  EXPECT_EQ(absl::StripAsciiWhitespace(pg.Sql({"-c", "select count(*) from accounts"}).output),
            "1000");
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
