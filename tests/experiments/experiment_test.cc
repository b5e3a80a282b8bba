// Experiment files: what parses, and every error at once with its position.
#include "experiments/experiment.h"

#include <fstream>
#include <initializer_list>
#include <variant>

#include "experiments/inventory.h"
#include "experiments/yaml_fields.h"
#include "experiments/yaml_proto.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace chaos::experiments {
namespace {

TEST(ExperimentTest, ParsesAFaultStepWithItsKindAndDuration) {
  Diagnostics diags;
  auto exp = ParseExperiment(R"(
name: burn
hypothesis: stays up
method:
  - id: burn
    duration: 1500ms
    fault:
      cpuBurn:
        workers: 2
        loadPercent: 50
  - id: settle
    wait: 2s
    after: [burn]
rollback: on-abort
)",
                             &diags);
  ASSERT_TRUE(exp) << diags.Format("x");
  ASSERT_EQ(exp->method.size(), 2u);
  const Step& burn = exp->method[0];
  ASSERT_TRUE(burn.fault);
  EXPECT_EQ(burn.fault->cpu_burn().workers(), 2u);
  EXPECT_EQ(burn.fault->cpu_burn().load_percent(), 50u);
  EXPECT_EQ(burn.fault->duration().seconds(), 1);
  EXPECT_EQ(burn.fault->duration().nanos(), 500'000'000);
  EXPECT_EQ(exp->method[1].wait, absl::Seconds(2));
  EXPECT_EQ(exp->rollback, RollbackPolicy::kOnAbort);
  EXPECT_EQ(exp->PlannedDuration(), absl::Milliseconds(3500));
}

TEST(ExperimentTest, ReportsEveryErrorWithLineAndColumn) {
  Diagnostics diags;
  auto exp = ParseExperiment(R"(name: bad
colour: blue
method:
  - id: a
    duration: 5 seconds
    fault:
      cpuBurn:
        workers: -1
        speed: 3
  - id: b
    fault:
      teleport: {}
  - id: a
    wait: 1s
    after: [ghost]
)",
                             &diags);
  EXPECT_FALSE(exp);
  const std::string text = diags.Format("f.yaml");
  EXPECT_NE(text.find("f.yaml:2:1: colour: unknown field"), std::string::npos) << text;
  EXPECT_NE(text.find("f.yaml:5:15: method[0].duration: \"5 seconds\" is not a duration"),
            std::string::npos) << text;
  EXPECT_NE(text.find("f.yaml:8:18: method[0].fault.cpuBurn.workers: \"-1\" is not a non-negative"),
            std::string::npos) << text;
  EXPECT_NE(text.find("f.yaml:9:9: method[0].fault.cpuBurn.speed: unknown field"),
            std::string::npos) << text;
  EXPECT_NE(text.find("f.yaml:12:7: method[1].fault: unknown fault kind \"teleport\""),
            std::string::npos) << text;
  EXPECT_NE(text.find("method[1].duration: required"), std::string::npos) << text;
  EXPECT_NE(text.find("duplicate step id \"a\""), std::string::npos) << text;
  EXPECT_NE(text.find("no step has id \"ghost\""), std::string::npos) << text;
}

TEST(ExperimentTest, TargetCapsAreReadAndBadOnesNameTheirField) {
  Diagnostics diags;
  auto exp = ParseExperiment(R"(name: capped
targets:
  web: {selector: {role: web}, percent: 100, maxPercent: 50}
  db: {selector: {role: db}, max: 2}
method:
  - {id: burn, target: web, duration: 1s, fault: {cpuBurn: {}}}
)",
                             &diags);
  ASSERT_TRUE(exp) << diags.Format("f");
  const TargetGroup& web = exp->targets.at("web");
  EXPECT_EQ(web.max_percent, 50u);
  EXPECT_EQ(web.max, 0u);
  EXPECT_EQ(exp->targets.at("db").max, 2u);

  Diagnostics bad;
  EXPECT_FALSE(ParseExperiment(R"(name: bad
targets:
  a: {max: 0}
  b: {maxPercent: 150}
  c: {max: lots}
  d: {maxPercent: -5}
method:
  - {id: burn, target: a, duration: 1s, fault: {cpuBurn: {}}}
)",
                               &bad));
  const std::string text = bad.Format("f.yaml");
  EXPECT_NE(text.find("f.yaml:3:12: targets.a.max: must be 1..100000, got 0"), std::string::npos)
      << text;
  EXPECT_NE(text.find("targets.b.maxPercent: must be 1..100, got 150"), std::string::npos)
      << text;
  EXPECT_NE(text.find("targets.c.max:"), std::string::npos) << text;
  EXPECT_NE(text.find("targets.d.maxPercent:"), std::string::npos) << text;
}

TEST(ExperimentTest, TargetGroupChoosesCountOrPercentThenTheSmallerCap) {
  TargetGroup g;  // all
  EXPECT_EQ(g.Chosen(3), 3u);
  g.max_percent = 50;  // rounded up like percent: 2 of 3, 1 of 1, 0 of 0
  EXPECT_EQ(g.Chosen(3), 2u);
  EXPECT_EQ(g.Chosen(1), 1u);
  EXPECT_EQ(g.Chosen(0), 0u);
  g.max = 1;  // the smaller cap wins
  EXPECT_EQ(g.Chosen(3), 1u);
  g = TargetGroup{};
  g.mode = TargetGroup::Mode::kCount;
  g.amount = 4;
  g.max = 10;  // a cap above the choice changes nothing
  EXPECT_EQ(g.Chosen(6), 4u);
  g.mode = TargetGroup::Mode::kPercent;
  g.amount = 100;
  g.max = 0;
  g.max_percent = 34;  // ceil(3 * 0.34) = 2
  EXPECT_EQ(g.Chosen(3), 2u);
}

TEST(ExperimentTest, MaxUnavailableIsACountOrAPercentageAndBadOnesNameTheirField) {
  Diagnostics diags;
  auto exp = ParseExperiment(R"(name: tolerant
targets:
  web: {selector: {role: web}, maxUnavailable: 1}
  db: {selector: {role: db}, maxUnavailable: "34%"}
  cache: {selector: {role: cache}}
method:
  - {id: burn, target: web, duration: 1s, fault: {cpuBurn: {}}}
)",
                             &diags);
  ASSERT_TRUE(exp) << diags.Format("f");
  const TargetGroup& web = exp->targets.at("web");
  EXPECT_EQ(web.max_unavailable, 1u);
  EXPECT_FALSE(web.max_unavailable_percent);
  const TargetGroup& db = exp->targets.at("db");
  EXPECT_EQ(db.max_unavailable, 34u);
  EXPECT_TRUE(db.max_unavailable_percent);
  EXPECT_EQ(exp->targets.at("cache").max_unavailable, 0u);  // the default: lose none

  Diagnostics bad;
  EXPECT_FALSE(ParseExperiment(R"(name: bad
targets:
  a: {maxUnavailable: -1}
  b: {maxUnavailable: "150%"}
  c: {maxUnavailable: some}
  d: {maxUnavailable: "-5%"}
  e: {maxUnavailable: "x%"}
  f: {maxUnavailable: [1]}
method:
  - {id: burn, target: a, duration: 1s, fault: {cpuBurn: {}}}
)",
                               &bad));
  const std::string text = bad.Format("f.yaml");
  EXPECT_NE(text.find("f.yaml:3:23: targets.a.maxUnavailable: must be 0..100000, got -1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("targets.b.maxUnavailable: a percentage must be 0%..100%, got \"150%\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("targets.c.maxUnavailable: expected a number of agents or a percentage "
                      "(\"10%\"), got \"some\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("targets.d.maxUnavailable: a percentage must be 0%..100%"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("targets.e.maxUnavailable: a percentage must be 0%..100%, got \"x%\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("targets.f.maxUnavailable: expected an integer"), std::string::npos)
      << text;
}

TEST(ExperimentTest, MaxUnavailableCountsAgentsOrRoundsAPercentageDown) {
  TargetGroup g;
  EXPECT_EQ(g.MayLose(3), 0u);  // the default
  g.max_unavailable = 2;
  EXPECT_EQ(g.MayLose(3), 2u);
  EXPECT_EQ(g.MayLose(1), 2u);  // a count is a count; the engine keeps the last agent
  g.max_unavailable_percent = true;
  g.max_unavailable = 34;  // floor(3 * 0.34) = 1, floor(2 * 0.34) = 0
  EXPECT_EQ(g.MayLose(3), 1u);
  EXPECT_EQ(g.MayLose(2), 0u);
  g.max_unavailable = 100;
  EXPECT_EQ(g.MayLose(5), 5u);
}

TEST(ExperimentTest, RejectsCyclesMalformedYamlAndMissingFiles) {
  Diagnostics cyc;
  EXPECT_FALSE(ParseExperiment(R"(name: c
method:
  - {id: a, wait: 1s, after: [b]}
  - {id: b, wait: 1s, after: [a]}
)",
                               &cyc));
  EXPECT_NE(cyc.Format("c").find("cycle: a -> b -> a"), std::string::npos) << cyc.Format("c");

  Diagnostics yaml;
  EXPECT_FALSE(ParseExperiment("name: [unclosed\n", &yaml));
  EXPECT_NE(yaml.Format("y").find("y:2:1: malformed YAML"), std::string::npos)
      << yaml.Format("y");

  Diagnostics missing;
  EXPECT_FALSE(LoadExperimentFile("/nonexistent/x.yaml", &missing));
  EXPECT_NE(missing.Format("/nonexistent/x.yaml").find("cannot read experiment file"),
            std::string::npos);
}

TEST(ExperimentTest, OneofMembersConflictAndEnumsTakeShortNames) {
  Diagnostics diags;
  EXPECT_FALSE(ParseExperiment(R"(name: d
method:
  - id: fill
    duration: 1s
    fault:
      diskFill: {directory: /tmp, bytes: 10, targetPercent: 50}
)",
                               &diags));
  EXPECT_NE(diags.Format("d").find("targetPercent: conflicts with bytes"), std::string::npos)
      << diags.Format("d");

  Diagnostics ok;
  auto exp = ParseExperiment(R"(name: p
method:
  - id: cut
    duration: 1s
    fault:
      partition: {cidrs: [10.0.0.0/8], direction: egress}
)",
                             &ok);
  ASSERT_TRUE(exp) << ok.Format("p");
  EXPECT_EQ(exp->method[0].fault->partition().direction(), chaos::v1::Partition::DIRECTION_EGRESS);
}

TEST(DurationTest, NeedsAUnitAndRejectsNegatives) {
  EXPECT_EQ(*ParseDuration("150ms"), absl::Milliseconds(150));
  EXPECT_EQ(*ParseDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_FALSE(ParseDuration("30").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("soon").ok());
}

// "100000000h" parsed, and a fault step with it became a
// google.protobuf.Duration over the 10000 years it holds, which the agent
// refuses as invalid after the file was validated. experiment_fuzzer's
// check that every fault's durations are valid on the wire fails on it.
TEST(DurationTest, NothingLongerThanTheWireHolds) {
  EXPECT_EQ(*ParseDuration("87660000h"), absl::Hours(87660000));  // 10000 years
  EXPECT_EQ(ParseDuration("100000000h").status().message(),
            "duration \"100000000h\" is longer than 10000 years");
  Diagnostics diags;
  EXPECT_FALSE(ParseExperiment("name: x\nmethod:\n"
                               "  - {id: a, duration: 1s, fault: {cpuBurn: {ramp: 100000000h}}}\n"
                               "  - {id: b, duration: 100000000h, fault: {cpuBurn: {}}}\n",
                               &diags));
  EXPECT_EQ(diags.Format("f"),
            "f:3:51: method[0].fault.cpuBurn.ramp: duration \"100000000h\" is longer than "
            "10000 years\n"
            "f:4:23: method[1].duration: duration \"100000000h\" is longer than 10000 years\n");
}

}  // namespace
}  // namespace chaos::experiments

namespace chaos::experiments {
namespace {

TEST(VariablesTest, ExpandsWithDefaultsAndReportsUnsetOnesWhereTheyAre) {
  auto lookup = [](const std::string& n) -> std::optional<std::string> {
    if (n == "PORT") return std::string("8080");
    return std::nullopt;
  };
  Diagnostics ok;
  EXPECT_EQ(ExpandVariables("url: http://h:${PORT}/ ${DIR:-/tmp}", lookup, &ok)->text,
            "url: http://h:8080/ /tmp");
  // The run records every variable it used, defaults included.
  EXPECT_EQ(ExpandVariables("${PORT} ${DIR:-/tmp}", lookup, &ok)->variables,
            (std::map<std::string, std::string>{{"DIR", "/tmp"}, {"PORT", "8080"}}));
  Diagnostics bad;
  EXPECT_FALSE(ExpandVariables("a: 1\nb: ${NOPE}\nc: ${bad name}\n", lookup, &bad));
  const std::string text = bad.Format("v.yaml");
  EXPECT_NE(text.find("v.yaml:2:4: variable NOPE is not set"), std::string::npos) << text;
  EXPECT_NE(text.find("v.yaml:3:4: malformed variable reference"), std::string::npos) << text;
}

TEST(ExperimentTest, ProbesGuardsRecoveryAndTheirReferences) {
  Diagnostics diags;
  auto exp = ParseExperiment(R"(name: full
targets:
  web: {selector: {role: web}, percent: 50}
probes:
  api: {http: {url: "http://127.0.0.1:1/health", status: 200}, interval: 200ms}
  db: {tcp: {address: "127.0.0.1:5432"}}
steadyState: {before: [api], after: [api, db]}
method:
  - {id: burn, target: web, duration: 1s, fault: {cpuBurn: {}}}
  - {id: gate, manual: {prompt: "ok?"}, after: burn}
  - {id: fix, command: {run: [true], timeout: 3s}, after: [gate]}
guards: [{probe: api, failures: 2}, {maxDuration: 1m}]
recovery: {from: burn, probes: [db], successes: 2, objective: 30s}
rollbackActions: [{run: [echo, done]}]
)",
                             &diags);
  ASSERT_TRUE(exp) << diags.Format("f");
  EXPECT_EQ(exp->targets.at("web").mode, TargetGroup::Mode::kPercent);
  EXPECT_EQ(exp->probes.size(), 2u);
  EXPECT_EQ(exp->FindProbe("api")->interval, absl::Milliseconds(200));
  EXPECT_EQ(exp->guards.size(), 1u);
  EXPECT_EQ(*exp->max_duration, absl::Minutes(1));
  EXPECT_EQ(exp->recovery.from_step, "burn");
  EXPECT_EQ(*exp->recovery.objective, absl::Seconds(30));
  EXPECT_EQ(exp->method[2].command->argv, std::vector<std::string>{"true"});
  EXPECT_EQ(exp->method[1].Kind(), "manual");

  Diagnostics refs;
  EXPECT_FALSE(ParseExperiment(R"(name: refs
probes:
  api: {http: {url: "https://x/"}, tcp: {address: "a:1"}}
steadyState: {before: [ghost]}
method:
  - {id: a, target: nowhere, duration: 1s, fault: {cpuBurn: {}}}
guards: [{probe: phantom}]
recovery: {from: zzz, probes: [api]}
)",
                               &refs));
  const std::string text = refs.Format("r");
  EXPECT_NE(text.find("probes.api.http.url: \"https://x/\" must start with http://"),
            std::string::npos) << text;
  EXPECT_NE(text.find("probes.api: needs exactly one of http, tcp, command, grpc"),
            std::string::npos) << text;
  EXPECT_NE(text.find("steadyState.before: no probe named \"ghost\""), std::string::npos) << text;
  EXPECT_NE(text.find("method[0].target: no target group named \"nowhere\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("guards[0].probe: no probe named \"phantom\""), std::string::npos) << text;
  EXPECT_NE(text.find("recovery.from: \"zzz\" is neither rollback nor a step id"),
            std::string::npos) << text;
}

}  // namespace
}  // namespace chaos::experiments

namespace chaos::experiments {
namespace {

// `target: GROUP` on a command step, a command probe and a rollback action
// runs the command on that group's agents; without it, where the
// experiment runs. Drill commands and other step kinds have no target.
TEST(ExperimentTest, CommandsTakeATargetGroupToRunOnItsAgents) {
  Diagnostics diags;
  std::optional<Experiment> exp = ParseExperiment(R"(name: remote
targets: {db: {selector: {role: db}}}
probes:
  ready: {command: {run: [pg_isready], target: db, exitCode: 0}}
  local: {command: {run: ["true"]}}
method:
  - {id: stop, target: db, command: {run: [systemctl, stop, postgresql], timeout: 1m}}
  - {id: here, command: {run: ["true"]}}
rollbackActions:
  - {run: [systemctl, start, postgresql], target: db}
  - {run: ["true"]}
)", &diags);
  ASSERT_TRUE(exp.has_value()) << diags.Format("r");
  EXPECT_EQ(std::get<CommandCheck>(exp->FindProbe("ready")->check).target, "db");
  EXPECT_EQ(std::get<CommandCheck>(exp->FindProbe("local")->check).target, "");
  EXPECT_EQ(exp->method[0].target, "db");
  EXPECT_EQ(exp->method[0].command->target, "db");
  EXPECT_EQ(exp->method[0].command->timeout, absl::Minutes(1));
  EXPECT_EQ(exp->method[1].command->target, "");
  EXPECT_EQ(exp->rollback_actions[0].target, "db");
  EXPECT_EQ(exp->rollback_actions[1].target, "");

  Diagnostics bad;
  EXPECT_FALSE(ParseExperiment(R"(name: bad
targets: {db: {}}
probes:
  p: {command: {run: ["true"], target: nowhere}}
method:
  - {id: s, target: ghost, command: {run: ["true"]}}
  - {id: w, target: db, wait: 1s}
  - {id: t, command: {run: ["true"], target: db}}
rollbackActions:
  - {run: ["true"], target: elsewhere}
)", &bad));
  const std::string text = bad.Format("b");
  for (const char* want : {
           "b:4:40: probes.p.command.target: no target group named \"nowhere\"",
           "method[0].target: no target group named \"ghost\"",
           "method[1].target: only a fault or command step has a target",
           "method[2].command.target: unknown field (known: run, timeout)",
           "rollbackActions[0].target: no target group named \"elsewhere\"",
       }) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

TEST(ExperimentTest, AGuardOnAMissingProbeIsReportedOnceWhereItStands) {
  Diagnostics diags;
  EXPECT_FALSE(ParseExperiment(R"(name: g
method: [{id: a, wait: 1s}]
guards: [{probe: ghost}, {probe: ghost}]
)",
                               &diags));
  EXPECT_EQ(diags.Format("g"),
            "g:3:18: guards[0].probe: no probe named \"ghost\"\n"
            "g:3:34: guards[1].probe: no probe named \"ghost\"\n");
}

TEST(ExperimentTest, FaultKindKeysAreTheFilesNamesOfTheProtocolsKinds) {
  const std::vector<std::string> keys = FaultKindKeys();
  EXPECT_EQ(keys.front(), "cpuBurn");
  EXPECT_NE(std::find(keys.begin(), keys.end(), "netem"), keys.end());
  EXPECT_EQ(keys.size(), static_cast<size_t>(chaos::v1::FaultSpec::descriptor()
                                                 ->FindOneofByName("kind")
                                                 ->field_count()));
  chaos::v1::FaultSpec spec;
  EXPECT_EQ(FaultKindKey(spec), "");
  spec.mutable_partition();
  EXPECT_EQ(FaultKindKey(spec), "partition");
}

TEST(ExperimentTest, ADataLossStepNamesItsPathsAndWhatTheRevertKeeps) {
  Diagnostics diags;
  auto e = ParseExperiment(R"(name: d
method:
  - id: disaster
    duration: 30s
    fault:
      dataLoss: {paths: [/srv/pg/main, /srv/pg/wal], whenRestored: put-original-back}
)",
                           &diags);
  ASSERT_TRUE(e) << diags.Format("d");
  const chaos::v1::DataLoss& loss = e->method[0].fault->data_loss();
  EXPECT_EQ(loss.paths_size(), 2);
  EXPECT_EQ(loss.paths(1), "/srv/pg/wal");
  EXPECT_EQ(loss.when_restored(), chaos::v1::DataLoss::WHEN_RESTORED_PUT_ORIGINAL_BACK);
}

// Each of `wants` is somewhere in `text` (diagnostics, one per line).
void ExpectEach(const std::string& text, std::initializer_list<const char*> wants) {
  for (const char* want : wants) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

// A drill's method: a backup, a disaster that holds until the restore
// ends, a kill while it holds, the restore.
constexpr char kDrillMethod[] = R"(
probes:
  up: {tcp: {address: "127.0.0.1:6379"}}
recovery: {probes: [up], successes: 2}
method:
  - {id: backup, command: {run: [backup.sh]}}
  - id: lose-data
    after: [backup]
    duration: 5m
    until: restore
    fault: {dataLoss: {paths: [/srv/redis]}}
  - id: kill
    during: lose-data
    duration: 10ms
    fault: {processKill: {target: {pidfile: /run/redis.pid}}}
  - {id: restore, after: [kill], command: {run: [restore.sh]}}
)";

TEST(ExperimentTest, ADrillNamesItsDisasterRestoreCanaryManifestAndObjectives) {
  Diagnostics diags;
  auto e = ParseExperiment(absl::StrCat(R"(name: d
drill:
  disaster: lose-data
  restore: restore
  backup: backup
  canary:
    write: {run: [redis-cli, set, canary]}
    read: {run: [redis-cli, get, canary], timeout: 3s}
    interval: 250ms
  manifest: {run: [digest.sh]}
  backupSize: {run: [du, -sb, /backup]}
  objectives: {rto: 30s, rpo: 5s, integrity: required}
)", kDrillMethod), &diags);
  ASSERT_TRUE(e) << diags.Format("d");
  const Drill& d = e->drill;
  EXPECT_TRUE(d.present);
  EXPECT_EQ(d.disaster, "lose-data");
  EXPECT_EQ(d.restore, "restore");
  EXPECT_EQ(d.backup, "backup");
  ASSERT_TRUE(d.canary);
  EXPECT_EQ(d.canary->interval, absl::Milliseconds(250));
  EXPECT_EQ(d.canary->write.timeout, absl::Seconds(10));  // a canary's default
  EXPECT_EQ(d.canary->read.timeout, absl::Seconds(3));
  ASSERT_TRUE(d.manifest);
  EXPECT_EQ(d.manifest->argv, std::vector<std::string>{"digest.sh"});
  ASSERT_TRUE(d.backup_size);
  EXPECT_EQ(d.backup_size->argv.back(), "/backup");
  EXPECT_EQ(d.rto, absl::Seconds(30));
  EXPECT_EQ(d.rpo, absl::Seconds(5));
  EXPECT_TRUE(d.integrity_required);
  EXPECT_EQ(e->FindStep("lose-data")->until, "restore");
  EXPECT_EQ(e->FindStep("kill")->during, "lose-data");
}

TEST(ExperimentTest, ADrillRefusesWhatCouldNotMeasureItsObjectives) {
  Diagnostics diags;
  EXPECT_FALSE(ParseExperiment(R"(name: d
drill:
  disaster: restore
  restore: lose-data
  manifest: {run: [digest.sh]}
  backupSize: {run: [du, -sb, /backup]}
  objectives: {rpo: 5s, integrity: maybe}
probes:
  up: {tcp: {address: "127.0.0.1:6379"}}
recovery: {probes: [up], from: restore, objective: 10s}
method:
  - {id: lose-data, duration: 1m, fault: {dataLoss: {paths: [/srv/redis]}}}
  - {id: restore, command: {run: [restore.sh]}}
)", &diags));
  ExpectEach(diags.Format("d"),
             {
                 "drill.disaster: \"restore\" must be a fault step",
                 "drill.restore: \"lose-data\" must be a command step",
                 "drill.manifest: needs drill.backup",
                 "drill.backupSize: needs drill.backup",
                 "drill.objectives.rpo: needs drill.canary",
                 "drill.objectives.integrity: \"maybe\" is not one of: ",
                 "recovery.from: a drill measures recovery from drill.disaster",
             });
  Diagnostics no_recovery;
  EXPECT_FALSE(ParseExperiment(R"(name: d
drill: {disaster: lose-data, restore: restore, canary: {write: {run: [w]}}}
method:
  - {id: lose-data, duration: 1m, fault: {dataLoss: {paths: [/srv/redis]}}}
  - {id: restore, command: {run: [restore.sh]}}
)", &no_recovery));
  EXPECT_NE(no_recovery.Format("d").find("drill: needs a recovery section"), std::string::npos)
      << no_recovery.Format("d");
  EXPECT_NE(no_recovery.Format("d").find("drill.canary.read: required"), std::string::npos)
      << no_recovery.Format("d");
}

TEST(ExperimentTest, DuringAndUntilLinkStepsWithoutDeadlock) {
  Diagnostics diags;
  EXPECT_FALSE(ParseExperiment(R"(name: d
method:
  - {id: hold, duration: 1m, until: after-hold, fault: {cpuBurn: {workers: 1}}}
  - {id: after-hold, wait: 1s, after: [hold]}
  - {id: wait, wait: 1s, until: hold}
)", &diags));
  Diagnostics links;
  EXPECT_FALSE(ParseExperiment(R"(name: d
method:
  - {id: wait, wait: 1s}
  - {id: on-wait, wait: 1s, during: wait}
  - {id: self, wait: 1s, during: self}
)", &links));
  ExpectEach(diags.Format("d") + links.Format("d"),
             {
                 "method[0].until: step \"after-hold\" waits for this step to end, so it cannot "
                 "end it",
                 "method[2].until: only a fault step ends with another",
                 "method[1].during: \"wait\" is not a fault step",
                 "method[2].during: names its own step",
             });
  Diagnostics cycle;
  EXPECT_FALSE(ParseExperiment(R"(name: d
method:
  - {id: hold, duration: 1m, after: [step], fault: {cpuBurn: {workers: 1}}}
  - {id: step, wait: 1s, during: hold}
)", &cycle));
  EXPECT_NE(cycle.Format("d").find("cycle: hold -> step -> hold"), std::string::npos)
      << cycle.Format("d");
  // A step that starts while the fault holds ends it: no deadlock.
  Diagnostics ok;
  EXPECT_TRUE(ParseExperiment(absl::StrCat("name: d\n", kDrillMethod), &ok)) << ok.Format("d");
}

YAML::Node Yaml(const std::string& text) { return YAML::Load(text); }

TEST(YamlFieldsTest, ForFieldsCallsKnownFieldsInTheFilesOrderAndReportsTheRest) {
  Diagnostics diags;
  std::string a;
  int64_t b = 0;
  std::vector<std::string> order;
  auto seen = [&](FieldParser parse) -> FieldParser {
    return [&order, parse](NodeRef v, PathRef p) {
      order.push_back(p);
      parse(v, p);
    };
  };
  ForFields(Yaml("{b: 2, c: 1, a: x}"), "top",
            {{"a", seen(FieldInto(&GetString, &a, &diags))},
             {"b", seen(IntFieldInto(0, 9, &b, &diags))}},
            &diags);
  EXPECT_EQ(order, (std::vector<std::string>{"top.b", "top.a"}));
  EXPECT_EQ(a, "x");
  EXPECT_EQ(b, 2);
  EXPECT_EQ(diags.Format("f"), "f:1:8: top.c: unknown field (known: a, b)\n");

  Diagnostics not_map;
  ForFields(Yaml("[1]"), "top", {{"a", FieldInto(&GetString, &a, &not_map)}}, &not_map);
  EXPECT_EQ(not_map.Format("f"), "f:1:1: top: expected a mapping (fields: a)\n");
  EXPECT_EQ(FieldPath("", "name"), "name");
  EXPECT_EQ(FieldPath("a.b", "c"), "a.b.c");
}

TEST(YamlFieldsTest, TypedValuesKeepTheDefaultOnError) {
  Diagnostics diags;
  int failures = 3;
  EXPECT_FALSE(GetInt(Yaml("0"), "n", 1, 10, &failures, &diags));
  EXPECT_FALSE(GetInt(Yaml("x"), "n", 1, 10, &failures, &diags));
  EXPECT_EQ(failures, 3);
  absl::Duration d = absl::Seconds(1);
  EXPECT_FALSE(GetDuration(Yaml("30"), "d", &d, &diags));
  EXPECT_EQ(d, absl::Seconds(1));
  std::optional<absl::Duration> objective;
  EXPECT_TRUE(GetDuration(Yaml("1m"), "o", &objective, &diags));
  EXPECT_EQ(objective, absl::Minutes(1));
  std::vector<std::string> list;
  EXPECT_FALSE(GetStringList(Yaml("[a, [b], c]"), "l", &list, &diags));
  EXPECT_EQ(list, (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(GetStringList(Yaml("one"), "l", &list, &diags));
  EXPECT_EQ(list.back(), "one");
  std::map<std::string, std::string> labels;
  EXPECT_TRUE(GetStringMap(Yaml("{a: x, b: [y]}"), "labels", &labels, &diags));
  EXPECT_EQ(labels, (std::map<std::string, std::string>{{"a", "x"}}));
  EXPECT_EQ(diags.Format("f"),
            "f:1:1: n: must be 1..10, got 0\n"
            "f:1:1: n: expected an integer\n"
            "f:1:1: d: \"30\" is not a duration (write a number and a unit: 150ms, 30s, 5m, 1h)\n"
            "f:1:5: l[1]: expected a string\n"
            "f:1:11: labels.b: expected a string\n");
}

TEST(YamlFieldsTest, ChoicesItemsAndRequiredFields) {
  Diagnostics diags;
  int policy = 0;
  EXPECT_TRUE(GetChoice<int>(Yaml("b"), "p", {{"a", 1}, {"b", 2}}, &policy, &diags));
  EXPECT_EQ(policy, 2);
  EXPECT_FALSE(GetChoice<int>(Yaml("z"), "p", {{"a", 1}, {"b", 2}}, &policy, &diags));
  EXPECT_EQ(policy, 2);
  std::vector<std::string> paths;
  ForItems(Yaml("[x, y]"), "steps", [&](NodeRef, PathRef p) { paths.push_back(p); }, &diags);
  EXPECT_EQ(paths, (std::vector<std::string>{"steps[0]", "steps[1]"}));
  ForItems(Yaml("{x: 1}"), "steps", [&](NodeRef, PathRef p) { paths.push_back(p); }, &diags);
  EXPECT_EQ(paths.size(), 2u);
  RequireField(Yaml("{a: 1}"), "top", "b", &diags);
  RequireField(Yaml("{b: 1}"), "top", "b", &diags);
  RequireField(Yaml("[1]"), "top", "b", &diags);
  EXPECT_EQ(diags.Format("f"),
            "f:1:1: p: \"z\" is not one of: a, b\n"
            "f:1:1: steps: expected a list\n"
            "f:1:1: top.b: required\n");
}

TEST(YamlFieldsTest, ParseYamlTextTurnsYamlExceptionsIntoOneDiagnostic) {
  Diagnostics ok;
  std::string name;
  EXPECT_TRUE(ParseYamlText("name: x", [&](NodeRef root) { name = root["name"].Scalar(); }, &ok));
  EXPECT_EQ(name, "x");
  EXPECT_TRUE(ok.empty());

  Diagnostics bad;
  bool called = false;
  EXPECT_FALSE(ParseYamlText("a: [b\n", [&](NodeRef) { called = true; }, &bad));
  EXPECT_FALSE(called);
  EXPECT_NE(bad.Format("y").find("y:2:1: malformed YAML: "), std::string::npos) << bad.Format("y");

  Diagnostics thrown;
  EXPECT_FALSE(ParseYamlText("a: b", [&](NodeRef root) { root["a"].as<int>(); }, &thrown));
  EXPECT_NE(thrown.Format("t").find("t:1:4: malformed YAML: "), std::string::npos)
      << thrown.Format("t");
}

TEST(YamlProtoTest, FindsFieldsByProtoOrJsonName) {
  const auto& desc = *chaos::v1::Netem::descriptor();
  EXPECT_EQ(FindFieldByYamlName(desc, "loss_percent"), desc.FindFieldByName("loss_percent"));
  EXPECT_EQ(FindFieldByYamlName(desc, "lossPercent"), desc.FindFieldByName("loss_percent"));
  EXPECT_EQ(FindFieldByYamlName(desc, "loss"), nullptr);
}

TEST(YamlProtoTest, StoresEachScalarKindAndSaysWhatABadValueShouldBe) {
  Diagnostics ok;
  chaos::v1::ProcessKill kill;
  YamlToProto(Yaml("{target: {pid: 12, seed: 18446744073709551615}, signal: -9, interval: 1h30m}"),
              "k", &kill, &ok);
  EXPECT_EQ(kill.target().pid(), 12);
  EXPECT_EQ(kill.target().seed(), 18446744073709551615u);
  EXPECT_EQ(kill.signal(), -9);
  EXPECT_EQ(kill.interval().seconds(), 5400);
  chaos::v1::Netem netem;
  YamlToProto(Yaml("{lossPercent: 2.5, ports: [80, 443], destinationCidrs: [10.0.0.0/8]}"), "n",
              &netem, &ok);
  EXPECT_EQ(netem.loss_percent(), 2.5);
  EXPECT_EQ(netem.ports_size(), 2);
  EXPECT_EQ(netem.ports(1), 443u);
  EXPECT_EQ(netem.destination_cidrs(0), "10.0.0.0/8");
  chaos::v1::Partition partition;
  YamlToProto(Yaml("{direction: DIRECTION_INGRESS}"), "p", &partition, &ok);
  EXPECT_EQ(partition.direction(), chaos::v1::Partition::DIRECTION_INGRESS);
  chaos::v1::DiskFill disk;
  YamlToProto(Yaml("{allowAgentStateFilesystem: true, targetPercent: 50}"), "d", &disk, &ok);
  EXPECT_TRUE(disk.allow_agent_state_filesystem());
  EXPECT_EQ(disk.target_percent(), 50);
  EXPECT_TRUE(ok.empty()) << ok.Format("ok");

  Diagnostics bad;
  chaos::v1::ProcessKill bad_kill;
  YamlToProto(Yaml("{target: {pid: x, count: -1, seed: 18446744073709551616}, signal: [9]}"), "k",
              &bad_kill, &bad);
  chaos::v1::Netem bad_netem;
  YamlToProto(Yaml("{lossPercent: inf, reorderGap: 1.5}"), "n", &bad_netem, &bad);
  YamlToProto(Yaml("{allowAgentStateFilesystem: yes}"), "d", &disk, &bad);
  YamlToProto(Yaml("{direction: sideways}"), "p", &partition, &bad);
  EXPECT_EQ(bad.Format("f"),
            "f:1:16: k.target.pid: \"x\" is not an integer in range\n"
            "f:1:26: k.target.count: \"-1\" is not a non-negative integer\n"
            "f:1:36: k.target.seed: \"18446744073709551616\" is not a non-negative integer in "
            "range\n"
            "f:1:67: k.signal: expected a int32 value\n"
            "f:1:15: n.lossPercent: \"inf\" is not a number\n"
            "f:1:32: n.reorderGap: \"1.5\" is not a non-negative integer in range\n"
            "f:1:29: d.allowAgentStateFilesystem: \"yes\" is not true or false\n"
            "f:1:13: p.direction: \"sideways\" is not one of: ingress, egress, both\n");
}

TEST(InventoryTest, ReadsAgentsAndReportsEveryError) {
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/inventory_good.yaml";
  std::ofstream(good) << "agents:\n  - address: 10.0.0.5:7070\n    labels: {role: web}\n"
                         "  - {address: \"b:1\"}\n";
  Diagnostics ok;
  auto agents = LoadInventory(good, &ok);
  ASSERT_TRUE(agents) << ok.Format(good);
  ASSERT_EQ(agents->size(), 2u);
  EXPECT_EQ((*agents)[0].labels.at("role"), "web");
  EXPECT_EQ((*agents)[1].address, "b:1");

  const std::string bad = dir + "/inventory_bad.yaml";
  std::ofstream(bad) << "agents:\n  - {address: a:1}\n  - {address: a:1, labels: [x], x: 1}\n"
                        "  - {address: noport}\nother: 1\n";
  Diagnostics errors;
  EXPECT_FALSE(LoadInventory(bad, &errors));
  EXPECT_EQ(errors.Format("i"),
            "i:5:1: other: unknown field (known: agents)\n"
            "i:3:28: agents[1].labels: wrong type\n"
            "i:3:33: agents[1].x: unknown field (known: address, labels)\n"
            "i:3:5: agents[1].address: a:1 is listed twice\n"
            "i:4:5: agents[2].address: required, as host:port\n");

  Diagnostics missing;
  EXPECT_FALSE(LoadInventory(dir + "/no_such_inventory.yaml", &missing));
  EXPECT_EQ(missing.Format("m"), "m: cannot read inventory file: No such file or directory\n");
  const std::string malformed = dir + "/inventory_malformed.yaml";
  std::ofstream(malformed) << "agents: [unclosed\n";
  Diagnostics yaml;
  EXPECT_FALSE(LoadInventory(malformed, &yaml));
  EXPECT_NE(yaml.Format("y").find("y:2:1: malformed YAML"), std::string::npos) << yaml.Format("y");
}

}  // namespace
}  // namespace chaos::experiments
