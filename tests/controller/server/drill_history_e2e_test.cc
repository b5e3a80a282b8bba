// Drill history through the real thing: a chaos-controller (with a command
// policy allowing exactly the drill's commands), a chaos-agent registered
// with it, and chaosctl submitting two drills of one experiment, one that
// meets its objectives and one that misses all three, beside a run that is
// no drill. `chaosctl history EXPERIMENT` (text and -o json) and `chaosctl
// show` then give each drill's RTO, RPO and integrity, met or MISSED, from
// the history: the figures the journal has, rounded up to the millisecond.
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using chaos::testing::AgentProcess;
using chaos::testing::ChaosctlBinary;
using chaos::testing::CommandResult;
using chaos::testing::ControllerProcess;
using chaos::testing::TempDir;
using Json = nlohmann::json;

// Each canary write touches a file named by its marker in DIR/markers, and
// the read lists them (the newest last): nothing written before the
// disaster is lost, so the RPO is 0. OBJECTIVES, READ and MANIFEST vary.
constexpr char kDrill[] = R"(name: nightly-restore
probes:
  up: {command: {run: ["true"]}, interval: 100ms}
drill:
  disaster: outage
  restore: restore
  backup: backup
  canary:
    write: {run: [env, -C, DIR/markers, touch]}
    read: {run: [READ]}
    interval: 100ms
  manifest: {run: [MANIFEST]}
  objectives: OBJECTIVES
recovery: {probes: [up], successes: 1, timeout: 30s}
method:
  - {id: backup, command: {run: ["true"]}}
  - {id: settle, after: [backup], wait: 300ms}
  - {id: outage, after: [settle], duration: 300ms, fault: {cpuBurn: {workers: 1, loadPercent: 10}}}
  - {id: restore, after: [outage], command: {run: [sleep, "0.2"]}}
)";

// The commands above and nothing else (DIR, with its dots escaped, and OLD
// are filled in).
constexpr char kPolicy[] = R"(commands:
  - path: /bin/true
  - path: /usr/bin/sleep
    args: ["0\\.2"]
  - path: /usr/bin/env
    args: ["-C", "DIR/markers", "touch", "[0-9]+"]
  - path: /usr/bin/ls
    args: ["DIR/markers"]
  - path: /bin/echo
    args: ["abc|OLD"]
)";

class DrillHistoryE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir((dir_.path() + "/markers").c_str(), 0755), 0);
    const std::string policy = Write(
        "policy.yaml", absl::StrReplaceAll(kPolicy, {{"DIR", absl::StrReplaceAll(dir_.path(),
                                                                                   {{".", "\\\\."}})},
                                                     {"OLD", old_marker_}}));
    controller_ = std::make_unique<ControllerProcess>(
        dir_.path() + "/ctl",
        std::vector<std::string>{"--heartbeat-interval-ms", "200", "--command-policy", policy});
    agent_ = std::make_unique<AgentProcess>(
        dir_.path() + "/agent", std::vector<std::string>{"--controller", controller_->address()});
    for (int i = 0; i < 1200 && !AgentLive(); ++i) absl::SleepFor(absl::Milliseconds(25));
    ASSERT_TRUE(AgentLive()) << agent_->log();
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  // The drill experiment with its objectives, canary read and manifest.
  std::string Drill(const std::string& objectives, const std::string& read,
                    const std::string& manifest) {
    const std::string drill = absl::StrReplaceAll(
        kDrill, {{"OBJECTIVES", objectives}, {"READ", read}, {"MANIFEST", manifest}});
    return absl::StrReplaceAll(drill, {{"DIR", dir_.path()}});
  }
  CommandResult Chaosctl(std::vector<std::string> args) {
    args.insert(args.begin(), ChaosctlBinary());
    args.insert(args.end(), {"--controller", controller_->address()});
    return chaos::testing::RunCommand(args, 120);
  }
  bool AgentLive() {
    const CommandResult r = Chaosctl({"agents"});
    return r.exit_code == 0 && r.output.find(" live ") != std::string::npos;
  }
  // Runs `yaml` through the controller to its end; returns the run's id.
  std::string RunThroughController(const std::string& name, const std::string& yaml,
                                   int want_exit) {
    const CommandResult r = Chaosctl({"run", Write(name, yaml)});
    EXPECT_EQ(r.exit_code, want_exit) << r.output << controller_->log();
    // "run ID of EXPERIMENT on AGENT" comes first.
    const std::vector<std::string> words =
        absl::StrSplit(r.output.substr(0, r.output.find('\n')), ' ');
    return words.size() > 1 && words[0] == "run" ? words[1] : "";
  }
  // The line of `table` about `run_id`.
  static std::string LineOf(const std::string& table, const std::string& run_id) {
    for (const std::string& line : chaos::testing::NonEmptyLines(table)) {
      if (line.rfind(run_id, 0) == 0) return line;
    }
    return "";
  }
  // The run's journal ("drill" and all), as chaosctl show -o json prints it.
  Json Journal(const std::string& run_id) {
    const CommandResult r = Chaosctl({"show", run_id, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return Json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  }

  TempDir dir_;
  // A marker a minute old: a canary read printing it lost a minute of data.
  const std::string old_marker_ =
      absl::StrCat(absl::ToUnixMillis(absl::Now() - absl::Minutes(1)));
  std::unique_ptr<ControllerProcess> controller_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(DrillHistoryE2E, HistoryShowsEachDrillsFiguresMetOrMissed) {
  const std::string plain = RunThroughController("plain.yaml", R"(name: plain-burn
method:
  - {id: burn, duration: 200ms, fault: {cpuBurn: {workers: 1, loadPercent: 10}}}
)", 0);
  // Every objective met: the canary loses nothing, the manifest is steady.
  const std::string met = RunThroughController(
      "met.yaml",
      Drill("{rto: 30s, rpo: 10s, integrity: required}", "ls, DIR/markers", "echo, abc"), 0);
  // Every objective missed: the RTO is over 1ms, the read finds only a
  // minute-old marker, and the manifest lists the markers, which grow
  // while the settle step waits between the backup and the disaster.
  const std::string missed = RunThroughController(
      "missed.yaml",
      Drill("{rto: 1ms, rpo: 1s, integrity: required}", "echo, " + old_marker_,
            "ls, DIR/markers"),
      1);
  ASSERT_FALSE(plain.empty() || met.empty() || missed.empty());

  // The figures the journal has, rounded up to the millisecond.
  const Json met_journal = Journal(met)["drill"];
  const Json missed_journal = Journal(missed)["drill"];
  ASSERT_TRUE(met_journal.is_object()) << met_journal;
  ASSERT_TRUE(missed_journal.is_object()) << missed_journal;
  const int64_t met_rto = std::ceil(met_journal["rto"]["ms"].get<double>());
  const int64_t missed_rto = std::ceil(missed_journal["rto"]["ms"].get<double>());
  const int64_t missed_rpo = std::ceil(missed_journal["rpo"]["ms"].get<double>());
  EXPECT_GE(met_rto, 250) << "the outage holds for 300ms before the restore";
  EXPECT_LT(met_rto, 30000);
  EXPECT_EQ(met_journal["rpo"]["ms"], 0);
  EXPECT_GE(missed_rpo, 60000);
  EXPECT_EQ(missed_journal["integrity"]["state"], "mismatch");

  // Text: the drill columns, each figure met or MISSED against its objective.
  CommandResult r = Chaosctl({"history", "nightly-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("RTO"));
  EXPECT_THAT(r.output, HasSubstr("INTEGRITY"));
  EXPECT_THAT(r.output, Not(HasSubstr(plain)));
  const std::string met_line = LineOf(r.output, met);
  const std::string missed_line = LineOf(r.output, missed);
  EXPECT_THAT(met_line,
              HasSubstr(absl::StrCat(absl::FormatDuration(absl::Milliseconds(met_rto)), " ok")));
  EXPECT_THAT(met_line, HasSubstr(" 0s ok "));
  EXPECT_THAT(met_line, HasSubstr(" ok "));
  EXPECT_THAT(missed_line, HasSubstr(absl::StrCat(
                               absl::FormatDuration(absl::Milliseconds(missed_rto)),
                               " MISSED>1ms")));
  EXPECT_THAT(missed_line, HasSubstr(absl::StrCat(
                               absl::FormatDuration(absl::Milliseconds(missed_rpo)),
                               " MISSED>1s")));
  EXPECT_THAT(missed_line, HasSubstr("mismatch MISSED"));

  // JSON: a drill object per drill run, with the same figures.
  r = Chaosctl({"history", "nightly-restore", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json listed = Json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(listed.contains("runs")) << r.output;
  ASSERT_EQ(listed["runs"].size(), 2u) << r.output;
  for (const Json& run : listed["runs"]) {
    const Json& d = run["drill"];
    if (run["run_id"] == met) {
      EXPECT_EQ(d["rto_ms"], std::to_string(met_rto)) << d;  // int64: a string in proto3 JSON
      EXPECT_EQ(d["rto_objective_ms"], "30000") << d;
      EXPECT_EQ(d["rpo_ms"], "0") << d;
      EXPECT_EQ(d["rpo_objective_ms"], "10000") << d;
      EXPECT_EQ(d["integrity"], "ok") << d;
      EXPECT_EQ(d["integrity_required"], true) << d;
      EXPECT_EQ(d["objectives_met"], true) << d;
    } else {
      EXPECT_EQ(run["run_id"], missed);
      EXPECT_EQ(d["rto_ms"], std::to_string(missed_rto)) << d;
      EXPECT_EQ(d["rto_objective_ms"], "1") << d;
      EXPECT_EQ(d["rpo_ms"], std::to_string(missed_rpo)) << d;
      EXPECT_EQ(d["rpo_objective_ms"], "1000") << d;
      EXPECT_EQ(d["integrity"], "mismatch") << d;
      EXPECT_EQ(d["objectives_met"], false) << d;
    }
  }

  // A run that is no drill: "-" beside drills, and no drill columns or
  // object on its own.
  r = Chaosctl({"runs"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string gap(20, ' ');
  EXPECT_THAT(LineOf(r.output, plain), HasSubstr(absl::StrCat(" -", gap, "-", gap, "- ")));
  r = Chaosctl({"history", "plain-burn"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(plain));
  EXPECT_THAT(r.output, Not(HasSubstr("RTO")));
  r = Chaosctl({"history", "--experiment", "plain-burn", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json plain_listed = Json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  ASSERT_EQ(plain_listed["runs"].size(), 1u) << r.output;
  EXPECT_FALSE(plain_listed["runs"][0].contains("drill")) << r.output;

  // show: one line with the verdicts.
  r = Chaosctl({"show", missed});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("integrity mismatch MISSED: objectives MISSED"));
  r = Chaosctl({"show", met});
  EXPECT_THAT(r.output, HasSubstr("RPO 0s ok, integrity ok: objectives met"));
}

// The drill's canary and manifest are commands the controller runs: one
// its policy does not list is refused before anything is recorded.
TEST_F(DrillHistoryE2E, ADrillCommandThePolicyDoesNotListIsRefused) {
  const CommandResult r = Chaosctl(
      {"run", Write("refused.yaml", Drill("{rto: 30s}", "ls, DIR/markers", "cat, /etc/passwd"))});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("refused (PERMISSION_DENIED): command \"cat\" (drill.manifest"));
  const CommandResult runs = Chaosctl({"runs", "-o", "json"});
  EXPECT_THAT(runs.output, Not(HasSubstr("nightly-restore")));
}

}  // namespace
}  // namespace chaos::controller
