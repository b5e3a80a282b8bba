// Run reports: the JSON is read back with protobuf's JSON parser (an
// independent parser), the HTML is rendered by headless Chromium and the
// test checks what the browser actually laid out.
#include "controller/report/report.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "controller/probes/probe.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/chromium.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using ::chaos::testing::BodyAttr;
using ::chaos::testing::FindChromium;
using ::chaos::testing::ReadFileOrEmpty;
using ::chaos::testing::RunChromium;
using ::chaos::testing::TempDir;
using ::google::protobuf::ListValue;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

// 2025-11-24T16:00:00.123Z
const absl::Time kT0 = absl::FromUnixMillis(1764000000123);
absl::Time At(double seconds) { return kT0 + absl::Seconds(seconds); }

constexpr int kProbeSamples = 14;

constexpr char kDigest[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

// A drill that measured everything and met every objective: disaster at
// +2.5s, healthy 4.2s later; RPO 2s; the restored data is the backup's.
DrillResult MetDrill() {
  DrillResult d;
  d.present = true;
  d.disaster_step = "wipe";
  d.restore_step = "restore";
  d.disaster_at = At(2.5);
  d.restore_started_at = At(3.5);
  d.restore_ended_at = At(5.6);
  d.first_probe_ok_at = At(5.8);
  d.healthy_at = At(6.7);
  d.rto = absl::Milliseconds(4200);
  d.rto_objective = absl::Seconds(30);
  d.canaries_written = 12;
  d.last_acknowledged = At(2);
  d.newest_present = kT0;
  d.rpo = absl::Seconds(2);
  d.rpo_objective = absl::Seconds(10);
  d.integrity_checked = true;
  d.integrity_required = true;
  d.backup_digest = kDigest;
  d.restored_digest = kDigest;
  d.backup_bytes = 40145125;
  d.restore_bytes_per_second = 8.3e6;
  return d;
}

// Two agents, two faults (one reverted, one not), probe samples ok and
// failing, an abort, measured recovery, a drill.
RunReport SampleReport() {
  RunReport r;
  r.run_id = "run-7f3a";
  r.experiment = "web <tier> & \"cache\"";
  r.description = "Kill the cache and see";
  r.hypothesis = "p99 stays under 300ms";
  r.seed = 18446744073709551615ull;
  r.outcome = RunOutcome::kRollbackIncomplete;
  r.reason = "step burn: inject on 10.0.0.2:7070 failed";
  r.started_at = kT0;
  r.ended_at = At(30);
  r.targets.push_back({"web", "role=web", "all", {"10.0.0.1:7070", "10.0.0.2:7070"}});

  StepRecord burn;
  burn.id = "burn";
  burn.kind = "cpuBurn";
  burn.target = "web";
  burn.state = StepState::kFailed;
  burn.started_at = At(2);
  burn.ended_at = At(12);
  burn.detail = "inject failed on 10.0.0.2:7070";
  r.steps.push_back(burn);
  StepRecord wait;
  wait.id = "settle";
  wait.kind = "wait";
  wait.state = StepState::kSkipped;
  r.steps.push_back(wait);

  FaultRecord f1;
  f1.agent = "10.0.0.1:7070";
  f1.step = "burn";
  f1.fault_id = "f-1";
  f1.kind = "cpuBurn";
  f1.summary = "2 workers at 80%";
  f1.injected_at = At(2.5);
  f1.reverted_at = At(12.25);
  f1.reverted = true;
  r.faults.push_back(f1);
  FaultRecord f2 = f1;
  f2.agent = "10.0.0.2:7070";
  f2.fault_id = "f-2";
  f2.injected_at = At(3);
  f2.reverted_at = absl::InfinitePast();
  f2.reverted = false;
  f2.error = "agent unreachable";
  r.faults.push_back(f2);

  for (int i = 0; i < kProbeSamples; ++i) {
    ProbeSample s;
    s.at = At(1 + 2 * i);
    s.probe = i % 2 == 0 ? "checkout" : "health";
    s.phase = i < 2 ? "steady-state-before" : i < 8 ? "guard" : "recovery";
    s.ok = !(i >= 4 && i < 9);  // samples 4..8 fail: 5 failures
    s.latency = absl::Microseconds(1500 + i);
    s.detail = s.ok ? "HTTP 200" : "HTTP 503 (want 200)";
    r.probes.push_back(s);
  }

  r.recovery.measured = true;
  r.recovery.from = "rollback";
  r.recovery.started_at = At(12.5);
  r.recovery.ended_at = At(16.75);
  r.recovery.recovered = true;
  r.recovery.time = absl::Milliseconds(4250);
  r.recovery.per_probe = {{"checkout", absl::Milliseconds(3500)},
                          {"health", absl::Milliseconds(4250)}};
  r.recovery.objective = absl::Seconds(10);
  r.recovery.objective_met = true;
  r.drill = MetDrill();

  r.rollback = RollbackState::kIncomplete;
  r.events.push_back({kT0, "run", "", "", "run run-7f3a of web"});
  r.events.push_back({At(3), "inject", "burn", "10.0.0.2:7070", "FAILED: line1\nline2\t\x01"});
  r.events.push_back({At(3.5), "abort", "", "", "inject failed"});
  r.manual_undo = {"ssh 10.0.0.2 chaos-agent revert f-2"};
  return r;
}

Struct ParseJson(const std::string& json) {
  Struct s;
  auto status = google::protobuf::util::JsonStringToMessage(json, &s);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return s;
}

const Value& Field(const Struct& s, const std::string& key) {
  static const Value* missing = new Value();
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << "no field " << key;
  return it == s.fields().end() ? *missing : it->second;
}

TEST(ReportJsonTest, CompleteAndParsable) {
  const RunReport report = SampleReport();
  const Struct j = ParseJson(ReportJson(report));

  EXPECT_EQ(Field(j, "schema").string_value(), "chaos.run-report/v1");
  EXPECT_EQ(Field(j, "run_id").string_value(), "run-7f3a");
  EXPECT_EQ(Field(j, "experiment").string_value(), "web <tier> & \"cache\"");
  EXPECT_EQ(Field(j, "description").string_value(), "Kill the cache and see");
  EXPECT_EQ(Field(j, "hypothesis").string_value(), "p99 stays under 300ms");
  EXPECT_EQ(Field(j, "seed").string_value(), "18446744073709551615");
  EXPECT_EQ(Field(j, "outcome").string_value(), OutcomeName(RunOutcome::kRollbackIncomplete));
  EXPECT_EQ(Field(j, "exit_code").number_value(), 3);
  EXPECT_EQ(Field(j, "reason").string_value(), report.reason);
  EXPECT_EQ(Field(j, "started_at").string_value(), "2025-11-24T16:00:00.123Z");
  EXPECT_EQ(Field(j, "started_at_unix_ms").number_value(), 1764000000123.0);
  EXPECT_EQ(Field(j, "ended_at").string_value(), "2025-11-24T16:00:30.123Z");
  EXPECT_EQ(Field(j, "duration_ms").number_value(), 30000);
  EXPECT_EQ(Field(j, "rollback").string_value(), "incomplete");

  const ListValue& targets = Field(j, "targets").list_value();
  ASSERT_EQ(targets.values_size(), 1);
  const Struct& t = targets.values(0).struct_value();
  EXPECT_EQ(Field(t, "group").string_value(), "web");
  EXPECT_EQ(Field(t, "selector").string_value(), "role=web");
  EXPECT_EQ(Field(t, "mode").string_value(), "all");
  ASSERT_EQ(Field(t, "agents").list_value().values_size(), 2);
  EXPECT_EQ(Field(t, "agents").list_value().values(1).string_value(), "10.0.0.2:7070");

  const ListValue& steps = Field(j, "steps").list_value();
  ASSERT_EQ(steps.values_size(), 2);
  const Struct& s0 = steps.values(0).struct_value();
  EXPECT_EQ(Field(s0, "id").string_value(), "burn");
  EXPECT_EQ(Field(s0, "kind").string_value(), "cpuBurn");
  EXPECT_EQ(Field(s0, "target").string_value(), "web");
  EXPECT_EQ(Field(s0, "state").string_value(), "failed");
  EXPECT_EQ(Field(s0, "started_at").string_value(), "2025-11-24T16:00:02.123Z");
  EXPECT_EQ(Field(s0, "ended_at_unix_ms").number_value(), 1764000012123.0);
  EXPECT_EQ(Field(s0, "detail").string_value(), "inject failed on 10.0.0.2:7070");
  const Struct& s1 = steps.values(1).struct_value();
  EXPECT_TRUE(Field(s1, "started_at").has_null_value());
  EXPECT_TRUE(Field(s1, "started_at_unix_ms").has_null_value());

  const ListValue& faults = Field(j, "faults").list_value();
  ASSERT_EQ(faults.values_size(), 2);
  const Struct& f0 = faults.values(0).struct_value();
  EXPECT_EQ(Field(f0, "agent").string_value(), "10.0.0.1:7070");
  EXPECT_EQ(Field(f0, "step").string_value(), "burn");
  EXPECT_EQ(Field(f0, "fault_id").string_value(), "f-1");
  EXPECT_EQ(Field(f0, "kind").string_value(), "cpuBurn");
  EXPECT_EQ(Field(f0, "summary").string_value(), "2 workers at 80%");
  EXPECT_EQ(Field(f0, "injected_at").string_value(), "2025-11-24T16:00:02.623Z");
  EXPECT_EQ(Field(f0, "reverted_at").string_value(), "2025-11-24T16:00:12.373Z");
  EXPECT_EQ(Field(f0, "reverted_at_unix_ms").number_value(), 1764000012373.0);
  EXPECT_TRUE(Field(f0, "reverted").bool_value());
  EXPECT_EQ(Field(f0, "error").string_value(), "");
  const Struct& f1 = faults.values(1).struct_value();
  EXPECT_FALSE(Field(f1, "reverted").bool_value());
  EXPECT_TRUE(Field(f1, "reverted_at").has_null_value());
  EXPECT_EQ(Field(f1, "error").string_value(), "agent unreachable");

  const ListValue& probes = Field(j, "probes").list_value();
  ASSERT_EQ(probes.values_size(), kProbeSamples);
  int failures = 0;
  for (const Value& v : probes.values()) failures += Field(v.struct_value(), "ok").bool_value() ? 0 : 1;
  EXPECT_EQ(failures, 5);
  const Struct& p4 = probes.values(4).struct_value();
  EXPECT_EQ(Field(p4, "probe").string_value(), "checkout");
  EXPECT_EQ(Field(p4, "phase").string_value(), "guard");
  EXPECT_FALSE(Field(p4, "ok").bool_value());
  EXPECT_EQ(Field(p4, "latency_ms").number_value(), 1.504);
  EXPECT_EQ(Field(p4, "detail").string_value(), "HTTP 503 (want 200)");
  EXPECT_EQ(Field(p4, "at").string_value(), "2025-11-24T16:00:09.123Z");

  const Struct& rec = Field(j, "recovery").struct_value();
  EXPECT_EQ(Field(rec, "from").string_value(), "rollback");
  EXPECT_TRUE(Field(rec, "recovered").bool_value());
  EXPECT_EQ(Field(rec, "time_ms").number_value(), 4250);
  EXPECT_EQ(Field(rec, "objective_ms").number_value(), 10000);
  EXPECT_TRUE(Field(rec, "objective_met").bool_value());
  EXPECT_EQ(Field(rec, "started_at").string_value(), "2025-11-24T16:00:12.623Z");
  EXPECT_EQ(Field(rec, "ended_at_unix_ms").number_value(), 1764000016873.0);
  const Struct& per_probe = Field(rec, "per_probe_ms").struct_value();
  EXPECT_EQ(Field(per_probe, "checkout").number_value(), 3500);
  EXPECT_EQ(Field(per_probe, "health").number_value(), 4250);

  const ListValue& events = Field(j, "events").list_value();
  ASSERT_EQ(events.values_size(), 3);
  const Struct& e1 = events.values(1).struct_value();
  EXPECT_EQ(Field(e1, "type").string_value(), "inject");
  EXPECT_EQ(Field(e1, "step").string_value(), "burn");
  EXPECT_EQ(Field(e1, "agent").string_value(), "10.0.0.2:7070");
  EXPECT_EQ(Field(e1, "message").string_value(), "FAILED: line1\nline2\t\x01");
  const Struct& e2 = events.values(2).struct_value();
  EXPECT_EQ(Field(e2, "type").string_value(), "abort");
  EXPECT_EQ(Field(e2, "at_unix_ms").number_value(), 1764000003623.0);

  const ListValue& undo = Field(j, "manual_undo").list_value();
  ASSERT_EQ(undo.values_size(), 1);
  EXPECT_EQ(undo.values(0).string_value(), "ssh 10.0.0.2 chaos-agent revert f-2");
}

TEST(ReportJsonTest, UnmeasuredRecoveryEmptyListsAndBadUtf8) {
  RunReport r;
  r.run_id = "r";
  r.experiment = std::string("bad \xff\xfe utf8 \xe2\x82 and \xc3\xa9 \xed\xa0\x80 end");
  r.outcome = RunOutcome::kUnavailable;
  r.started_at = kT0;
  r.ended_at = kT0;
  const std::string json = ReportJson(r);
  const Struct j = ParseJson(json);
  EXPECT_TRUE(Field(j, "recovery").has_null_value());
  EXPECT_TRUE(Field(j, "drill").has_null_value());
  EXPECT_EQ(Field(j, "exit_code").number_value(), 4);
  EXPECT_EQ(Field(j, "faults").list_value().values_size(), 0);
  EXPECT_EQ(Field(j, "manual_undo").list_value().values_size(), 0);
  EXPECT_EQ(Field(j, "seed").string_value(), "0");
  // Invalid bytes become U+FFFD; the valid é stays.
  EXPECT_EQ(Field(j, "experiment").string_value(),
            "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8 \xEF\xBF\xBD\xEF\xBF\xBD and \xc3\xa9 "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end");

  // A recovery that never recovered has no time.
  r.recovery.measured = true;
  r.recovery.from = "step:burn";
  r.recovery.started_at = At(1);
  r.recovery.ended_at = At(5);
  r.recovery.recovered = false;
  r.recovery.objective_met = false;
  const Struct j2 = ParseJson(ReportJson(r));
  const Struct& rec = Field(j2, "recovery").struct_value();
  EXPECT_TRUE(Field(rec, "time_ms").has_null_value());
  EXPECT_TRUE(Field(rec, "objective_ms").has_null_value());
  EXPECT_FALSE(Field(rec, "objective_met").bool_value());
}

// The drill object of a report's JSON journal.
Struct DrillJson(const DrillResult& drill) {
  RunReport r;
  r.run_id = "drill";
  r.drill = drill;
  const Struct j = ParseJson(ReportJson(r));
  return Field(j, "drill").struct_value();
}

TEST(ReportJsonTest, DrillAllMeasuredAndMet) {
  const Struct d = DrillJson(MetDrill());
  EXPECT_EQ(Field(d, "disaster_step").string_value(), "wipe");
  EXPECT_EQ(Field(d, "restore_step").string_value(), "restore");
  EXPECT_TRUE(Field(d, "objectives_met").bool_value());

  const Struct& rto = Field(d, "rto").struct_value();
  EXPECT_EQ(Field(rto, "ms").number_value(), 4200);
  EXPECT_EQ(Field(rto, "objective_ms").number_value(), 30000);
  EXPECT_TRUE(Field(rto, "met").bool_value());
  const Struct& phases = Field(rto, "phases").struct_value();
  EXPECT_EQ(Field(phases, "disaster_at").string_value(), "2025-11-24T16:00:02.623Z");
  EXPECT_EQ(Field(phases, "disaster_at_unix_ms").number_value(), 1764000002623.0);
  EXPECT_EQ(Field(phases, "restore_started_at").string_value(), "2025-11-24T16:00:03.623Z");
  EXPECT_EQ(Field(phases, "restore_ended_at_unix_ms").number_value(), 1764000005723.0);
  EXPECT_EQ(Field(phases, "first_probe_ok_at_unix_ms").number_value(), 1764000005923.0);
  EXPECT_EQ(Field(phases, "healthy_at_unix_ms").number_value(), 1764000006823.0);
  EXPECT_EQ(Field(phases, "restore_started_ms").number_value(), 1000);
  EXPECT_EQ(Field(phases, "restore_ended_ms").number_value(), 3100);
  EXPECT_EQ(Field(phases, "first_probe_ok_ms").number_value(), 3300);
  EXPECT_EQ(Field(phases, "healthy_ms").number_value(), 4200);

  const Struct& rpo = Field(d, "rpo").struct_value();
  EXPECT_EQ(Field(rpo, "ms").number_value(), 2000);
  EXPECT_EQ(Field(rpo, "objective_ms").number_value(), 10000);
  EXPECT_TRUE(Field(rpo, "met").bool_value());
  EXPECT_EQ(Field(rpo, "canaries_written").number_value(), 12);
  EXPECT_EQ(Field(rpo, "canaries_failed").number_value(), 0);
  EXPECT_EQ(Field(rpo, "last_acknowledged").string_value(), "2025-11-24T16:00:02.123Z");
  EXPECT_EQ(Field(rpo, "newest_present_unix_ms").number_value(), 1764000000123.0);
  EXPECT_EQ(Field(rpo, "error").string_value(), "");

  const Struct& integrity = Field(d, "integrity").struct_value();
  EXPECT_EQ(Field(integrity, "state").string_value(), "ok");
  EXPECT_TRUE(Field(integrity, "required").bool_value());
  EXPECT_EQ(Field(integrity, "backup_digest").string_value(), kDigest);
  EXPECT_EQ(Field(integrity, "restored_digest").string_value(), kDigest);
  EXPECT_EQ(Field(integrity, "error").string_value(), "");

  const Struct& size = Field(d, "size").struct_value();
  EXPECT_EQ(Field(size, "backup_bytes").number_value(), 40145125);
  EXPECT_EQ(Field(size, "restore_bytes_per_second").number_value(), 8.3e6);
  EXPECT_EQ(Field(size, "error").string_value(), "");
}

// The canary check failed after the restore, which never became healthy; no
// RTO objective was set.
DrillResult RpoNotMeasuredDrill() {
  DrillResult drill = MetDrill();
  drill.healthy_at = absl::InfinitePast();
  drill.rto.reset();
  drill.rto_objective.reset();
  drill.canaries_failed = 1;
  drill.newest_present = absl::InfinitePast();
  drill.rpo.reset();
  drill.rpo_error = "canary check exited 2: no such table";
  drill.backup_bytes.reset();
  drill.restore_bytes_per_second.reset();
  drill.size_error = "du -sb /backup: exit 1 after 2ms: no such file";
  return drill;
}

TEST(ReportJsonTest, DrillRpoNotMeasuredAndPhasesNotReached) {
  const Struct d = DrillJson(RpoNotMeasuredDrill());
  EXPECT_FALSE(Field(d, "objectives_met").bool_value());
  const Struct& rto = Field(d, "rto").struct_value();
  EXPECT_TRUE(Field(rto, "ms").has_null_value());
  EXPECT_TRUE(Field(rto, "objective_ms").has_null_value());
  EXPECT_TRUE(Field(rto, "met").has_null_value());
  const Struct& phases = Field(rto, "phases").struct_value();
  EXPECT_TRUE(Field(phases, "healthy_at").has_null_value());
  EXPECT_TRUE(Field(phases, "healthy_at_unix_ms").has_null_value());
  EXPECT_TRUE(Field(phases, "healthy_ms").has_null_value());
  EXPECT_EQ(Field(phases, "first_probe_ok_ms").number_value(), 3300);

  const Struct& rpo = Field(d, "rpo").struct_value();
  EXPECT_TRUE(Field(rpo, "ms").has_null_value());
  EXPECT_EQ(Field(rpo, "objective_ms").number_value(), 10000);
  EXPECT_FALSE(Field(rpo, "met").bool_value());
  EXPECT_EQ(Field(rpo, "canaries_failed").number_value(), 1);
  EXPECT_TRUE(Field(rpo, "newest_present").has_null_value());
  EXPECT_EQ(Field(rpo, "error").string_value(), "canary check exited 2: no such table");
}

DrillResult MismatchDrill() {
  DrillResult drill = MetDrill();
  drill.restored_digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  return drill;
}

TEST(ReportJsonTest, DrillIntegrityMismatchMissesTheObjectives) {
  const Struct d = DrillJson(MismatchDrill());
  EXPECT_FALSE(Field(d, "objectives_met").bool_value());
  EXPECT_TRUE(Field(Field(d, "rto").struct_value(), "met").bool_value());
  const Struct& integrity = Field(d, "integrity").struct_value();
  EXPECT_EQ(Field(integrity, "state").string_value(), "mismatch");
  EXPECT_EQ(Field(integrity, "restored_digest").string_value(), MismatchDrill().restored_digest);
}

// ----------------------------------------------------------------------------
// Text

// The lines of ReportText that start with `prefix`.
std::string LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0) out += line + "\n";
    at = end + 1;
  }
  return out;
}

std::string DrillText(const DrillResult& drill) {
  RunReport r;
  r.drill = drill;
  return LinesStartingWith(ReportText(r), "drill: ");
}

TEST(ReportTextTest, DrillAllMeasuredAndMet) {
  const std::string text = ReportText(SampleReport());
  EXPECT_EQ(LinesStartingWith(text, "drill: "),
            "drill: RTO 4.2s (objective 30.0s: met); restore started +1.0s, restore ended "
            "+3.1s, first probe ok +3.3s, healthy +4.2s\n"
            "drill: RPO 2.0s (objective 10.0s: met), 12 canaries acknowledged\n"
            "drill: integrity ok (required: met)\n"
            "drill: backup 40.1 MB, restored at 8.3 MB/s\n");
  // After the recovery line, before the rollback line.
  EXPECT_LT(text.find("recovery: 4.2s from rollback (objective 10.0s: met)"), text.find("drill: "));
  EXPECT_LT(text.find("drill: integrity"), text.find("rollback: "));
}

TEST(ReportTextTest, DrillRpoNotMeasured) {
  EXPECT_EQ(DrillText(RpoNotMeasuredDrill()),
            "drill: RTO not measured; restore started +1.0s, restore ended +3.1s, first probe "
            "ok +3.3s, healthy not reached\n"
            "drill: RPO not measured: canary check exited 2: no such table (objective 10.0s: "
            "MISSED), 12 canaries acknowledged, 1 failed\n"
            "drill: integrity ok (required: met)\n"
            "drill: backup size not known: du -sb /backup: exit 1 after 2ms: no such file\n");
}

TEST(ReportTextTest, DrillIntegrityMismatchAndError) {
  EXPECT_THAT(DrillText(MismatchDrill()),
              HasSubstr("drill: integrity MISMATCH (backup 9f86d081884c…, restored "
                        "e3b0c44298fc…) (required: MISSED)\n"));
  DrillResult error = MetDrill();
  error.integrity_required = false;
  error.restored_digest.clear();
  error.integrity_error = "manifest command exited 1";
  EXPECT_THAT(DrillText(error), HasSubstr("drill: integrity error: manifest command exited 1\n"));
  DrillResult unchecked = MetDrill();
  unchecked.integrity_checked = false;
  unchecked.integrity_required = false;
  EXPECT_THAT(DrillText(unchecked), HasSubstr("drill: integrity not checked\n"));
}

TEST(ReportTextTest, NoDrillNoDrillLines) {
  RunReport r = SampleReport();
  r.drill = DrillResult();
  EXPECT_EQ(LinesStartingWith(ReportText(r), "drill"), "");
}

// A fault from 10 s to 20 s; probe a fails at 12 s and 15 s (listed out of
// time order, as threads append them), probe b never fails.
RunReport WatchedReport() {
  RunReport r;
  r.started_at = kT0;
  r.ended_at = At(30);
  FaultRecord f;
  f.injected_at = At(10);
  f.reverted_at = At(20);
  f.reverted = true;
  r.faults.push_back(f);
  for (auto [t, probe, ok] : std::vector<std::tuple<double, std::string, bool>>{
           {5, "a", true}, {15, "a", false}, {12, "a", false}, {11, "b", true},
           {18, "a", true}, {25, "a", true}}) {
    ProbeSample s;
    s.at = At(t);
    s.probe = probe;
    s.phase = "watch";
    s.ok = ok;
    r.probes.push_back(s);
  }
  return r;
}

TEST(ProbeSummaryTest, AvailabilityWhileFaultsHoldAndTimeToDetect) {
  const std::vector<ProbeSummary> summary = SummarizeProbes(WatchedReport());
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(summary[0].probe, "a");
  EXPECT_EQ(summary[0].samples, 5);
  EXPECT_EQ(summary[0].failures, 2);
  EXPECT_EQ(summary[0].during_faults, 3);
  EXPECT_EQ(summary[0].ok_during_faults, 1);
  EXPECT_DOUBLE_EQ(*summary[0].availability_during_faults, 1.0 / 3);
  EXPECT_EQ(summary[0].time_to_detect, absl::Seconds(2)) << "the earliest failure, not the first listed";
  EXPECT_EQ(summary[1].probe, "b");
  EXPECT_DOUBLE_EQ(*summary[1].availability_during_faults, 1.0);
  EXPECT_FALSE(summary[1].time_to_detect);
  // Nothing injected: no availability, no detection.
  RunReport quiet = WatchedReport();
  quiet.faults.clear();
  EXPECT_FALSE(SummarizeProbes(quiet)[0].availability_during_faults);
  EXPECT_FALSE(SummarizeProbes(quiet)[0].time_to_detect);

  const Struct j = ParseJson(ReportJson(WatchedReport()));
  const Struct& a = Field(j, "probe_summary").list_value().values(0).struct_value();
  EXPECT_EQ(Field(a, "probe").string_value(), "a");
  EXPECT_EQ(Field(a, "during_faults").number_value(), 3);
  EXPECT_EQ(Field(a, "ok_during_faults").number_value(), 1);
  EXPECT_NEAR(Field(a, "availability_during_faults").number_value(), 1.0 / 3, 1e-9);
  EXPECT_EQ(Field(a, "time_to_detect_ms").number_value(), 2000);
  EXPECT_THAT(ReportText(WatchedReport()),
              HasSubstr("probe a: 1/3 ok while faults were in place (33%), failing 2.0s after "
                        "the first inject\n"));
  EXPECT_THAT(ReportHtml(WatchedReport()), HasSubstr("<section id=\"probes\">"));
}

TEST(WriteReportsTest, WritesBothFilesAndCreatesTheDirectory) {
  TempDir dir;
  const RunReport report = SampleReport();
  const std::string out = dir.path() + "/a/b/reports";
  ASSERT_TRUE(WriteReports(report, out).ok());
  EXPECT_EQ(ReadFileOrEmpty(out + "/run-7f3a.json"), ReportJson(report));
  EXPECT_EQ(ReadFileOrEmpty(out + "/run-7f3a.html"), ReportHtml(report));
  // Overwrites; leaves no temporary files behind.
  ASSERT_TRUE(WriteReports(report, out).ok());
  base::CommandOutcome ls = base::RunCommand({"ls", "-A", out}, absl::Seconds(10));
  EXPECT_EQ(ls.output, "run-7f3a.html\nrun-7f3a.json\n");

  RunReport bad = report;
  bad.run_id = "../escape";
  EXPECT_EQ(WriteReports(bad, out).code(), absl::StatusCode::kInvalidArgument);
  bad.run_id = "";
  EXPECT_EQ(WriteReports(bad, out).code(), absl::StatusCode::kInvalidArgument);

  // A regular file where the directory should be.
  const std::string file = dir.path() + "/file";
  std::ofstream(file) << "x";
  EXPECT_FALSE(WriteReports(report, file + "/sub").ok());
}

TEST(ReportHtmlTest, EscapesTextAndIsSelfContained) {
  RunReport r = SampleReport();
  r.experiment = "<script>alert(1)</script>";
  r.events.push_back({At(4), "step", "x\"><img src=x onerror=alert(2)>", "", "m"});
  const std::string html = ReportHtml(r);
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("<script>alert(1)")));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("<img src=x")));
  // No external assets: nothing is fetched from anywhere.
  for (const char* s : {"src=\"http", "href=\"http", "url(http", "@import", "<link", "src=\"//"}) {
    EXPECT_THAT(html, ::testing::Not(HasSubstr(s))) << s;
  }
}

TEST(ReportHtmlTest, DrillSection) {
  const std::string html = ReportHtml(SampleReport());
  EXPECT_THAT(html, HasSubstr("<section id=\"drill\">"));
  EXPECT_THAT(html, HasSubstr("<strong id=\"drill-rto\">4.2s</strong> — objective 30s: "
                              "<span class=\"met\">met</span>"));
  EXPECT_THAT(html, HasSubstr("<td>first probe ok</td><td><span title=\"2025-11-24T16:00:05.923Z\">"
                              "+3.3s</span></td>"));
  EXPECT_THAT(html, HasSubstr("<strong id=\"drill-rpo\">2s</strong> — objective 10s: "
                              "<span class=\"met\">met</span>"));
  EXPECT_THAT(html, HasSubstr("<strong id=\"drill-integrity\" class=\"met\">ok</strong>"));
  EXPECT_THAT(html, HasSubstr("class=\"drill-mark\""));

  RunReport missed = SampleReport();
  missed.drill = RpoNotMeasuredDrill();
  missed.drill.restored_digest = "<b>";
  const std::string h2 = ReportHtml(missed);
  EXPECT_THAT(h2, HasSubstr("<strong id=\"drill-rto\">not measured</strong> — "
                            "<span class=\"muted\">no objective set</span>"));
  EXPECT_THAT(h2, HasSubstr("<td>healthy</td><td><span class=\"muted\">not reached</span>"));
  EXPECT_THAT(h2, HasSubstr("<strong id=\"drill-rpo\">not measured</strong>: canary check "
                            "exited 2: no such table — objective 10s: "
                            "<span class=\"unmet\">not met</span>"));
  EXPECT_THAT(h2, HasSubstr("<strong id=\"drill-integrity\" class=\"unmet\">mismatch</strong>"
                            " — required: <span class=\"unmet\">not met</span>"));
  EXPECT_THAT(h2, HasSubstr("<code title=\"&lt;b&gt;\">&lt;b&gt;</code>"));

  // The axis stretches to a drill that became healthy after the run ended.
  RunReport late;
  late.run_id = "late";
  late.started_at = kT0;
  late.ended_at = At(5);
  late.drill = MetDrill();
  late.drill.healthy_at = At(40);
  EXPECT_THAT(ReportHtml(late), HasSubstr(">40s</text>"));

  RunReport none = SampleReport();
  none.drill = DrillResult();
  EXPECT_THAT(ReportHtml(none), ::testing::Not(HasSubstr("<section id=\"drill\">")));
  EXPECT_THAT(ReportHtml(none), ::testing::Not(HasSubstr("class=\"drill-mark\"")));
}

// A run that passed without two agents: each view headlines it and names
// each agent with when and why it was lost; a run that lost none says
// plain "passed" and shows no such section.
TEST(ReportLostAgentsTest, EveryViewNamesEachLostAgentAndTheOutcomeSaysSo) {
  RunReport r;
  r.run_id = "lossy";
  r.experiment = "tolerant";
  r.outcome = RunOutcome::kPassed;
  r.started_at = kT0;
  r.ended_at = At(10);
  r.lost_agents.push_back({"127.0.0.1:1", "", "cannot reach agent 127.0.0.1:1: UNAVAILABLE", At(0.5)});
  r.lost_agents.push_back({"127.0.0.1:2", "burn", "inject failed: <DEADLINE_EXCEEDED>", At(2)});
  EXPECT_EQ(OutcomeText(r), "passed with 2 agents lost");

  const std::string text = ReportText(r);
  EXPECT_THAT(text, HasSubstr("== tolerant (run lossy): passed with 2 agents lost =="));
  EXPECT_THAT(text, HasSubstr("lost 127.0.0.1:1 in preflight: cannot reach agent 127.0.0.1:1: "
                              "UNAVAILABLE\n"));
  EXPECT_THAT(text, HasSubstr("lost 127.0.0.1:2 at step burn: inject failed: "
                              "<DEADLINE_EXCEEDED>\n"));

  const Struct j = ParseJson(ReportJson(r));
  EXPECT_EQ(Field(j, "outcome").string_value(), "passed");  // the enum's name, for programs
  EXPECT_EQ(Field(j, "exit_code").number_value(), 0);
  const ListValue& lost = Field(j, "lost_agents").list_value();
  ASSERT_EQ(lost.values_size(), 2);
  const Struct& l1 = lost.values(1).struct_value();
  EXPECT_EQ(Field(l1, "agent").string_value(), "127.0.0.1:2");
  EXPECT_EQ(Field(l1, "step").string_value(), "burn");
  EXPECT_EQ(Field(l1, "reason").string_value(), "inject failed: <DEADLINE_EXCEEDED>");
  EXPECT_EQ(Field(l1, "at").string_value(), "2025-11-24T16:00:02.123Z");
  EXPECT_EQ(Field(lost.values(0).struct_value(), "step").string_value(), "");

  const std::string html = ReportHtml(r);
  EXPECT_THAT(html,
              HasSubstr("class=\"outcome outcome-passed agents-lost\">passed with 2 agents lost<"));
  EXPECT_THAT(html, HasSubstr("<section id=\"lost-agents\">"));
  EXPECT_THAT(html, HasSubstr("<td>127.0.0.1:1</td><td>in preflight</td>"));
  EXPECT_THAT(html, HasSubstr("<td>127.0.0.1:2</td><td>at step burn</td>"));
  EXPECT_THAT(html, HasSubstr("inject failed: &lt;DEADLINE_EXCEEDED&gt;"));

  r.lost_agents.pop_back();
  EXPECT_EQ(OutcomeText(r), "passed with 1 agent lost");
  r.lost_agents.clear();
  EXPECT_EQ(OutcomeText(r), "passed");
  EXPECT_THAT(ReportText(r), HasSubstr("(run lossy): passed ==\n"));
  EXPECT_THAT(ReportHtml(r), ::testing::Not(HasSubstr("id=\"lost-agents\"")));
  EXPECT_THAT(ReportHtml(r), HasSubstr("class=\"outcome outcome-passed\">passed<"));
  EXPECT_EQ(Field(ParseJson(ReportJson(r)), "lost_agents").list_value().values_size(), 0);
}

TEST(ReportHtmlTest, MissingTimesKeepTheScaleFinite) {
  RunReport r = SampleReport();
  r.started_at = absl::InfinitePast();
  r.ended_at = absl::InfiniteFuture();
  const std::string html = ReportHtml(r);
  EXPECT_THAT(html, ::testing::Not(HasSubstr("nan")));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("inf\"")));
  EXPECT_THAT(html, HasSubstr("class=\"fault-window\""));
  const Struct j = ParseJson(ReportJson(r));
  EXPECT_TRUE(Field(j, "started_at").has_null_value());
  EXPECT_TRUE(Field(j, "ended_at_unix_ms").has_null_value());
  EXPECT_TRUE(Field(j, "duration_ms").has_null_value());

  RunReport empty;  // nothing recorded at all
  empty.run_id = "empty";
  empty.started_at = absl::InfinitePast();
  empty.ended_at = absl::InfinitePast();
  EXPECT_THAT(ReportHtml(empty), HasSubstr("</svg>"));
  ParseJson(ReportJson(empty));
}

// ----------------------------------------------------------------------------
// Headless Chromium

TEST(ReportHtmlTest, ChromiumRendersTheTimeline) {
  const std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not installed (apt-get install chromium; `make deps` does it)";
  TempDir dir;
  const RunReport report = SampleReport();
  ASSERT_TRUE(WriteReports(report, dir.path()).ok());
  const std::string html = dir.path() + "/run-7f3a.html";

  base::CommandOutcome dump = RunChromium(dir, {"--dump-dom"}, html, dir.path() + "/dom.html");
  ASSERT_FALSE(dump.timed_out) << ReadFileOrEmpty(dir.path() + "/chromium.err");
  ASSERT_EQ(dump.exit_code, 0) << dump.error << dump.output
                               << ReadFileOrEmpty(dir.path() + "/chromium.err");
  const std::string dom = ReadFileOrEmpty(dir.path() + "/dom.html");
  ASSERT_EQ(BodyAttr(dom, "data-rendered"), "done")
      << "the counting script did not run\n" << dom.substr(0, 2000);

  EXPECT_EQ(BodyAttr(dom, "data-rendered-fault-windows"), "2");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-probe-marks"), std::to_string(kProbeSamples));
  EXPECT_EQ(BodyAttr(dom, "data-rendered-probe-ok"), std::to_string(kProbeSamples - 5));
  EXPECT_EQ(BodyAttr(dom, "data-rendered-probe-fail"), "5");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-abort-marks"), "1");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-recovery-marks"), "2");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-drill-marks"), "2");
  // The skipped step never started, so it has no bar.
  EXPECT_EQ(BodyAttr(dom, "data-rendered-step-bars"), "1");

  EXPECT_THAT(dom, HasSubstr("<h1 id=\"experiment\">web &lt;tier&gt; &amp; \"cache\"</h1>"));
  EXPECT_THAT(dom, HasSubstr(absl::StrCat(">", OutcomeName(report.outcome), "</span>")));
  EXPECT_THAT(dom, HasSubstr("<strong id=\"recovery-time\">4.25s</strong>"));
  EXPECT_THAT(dom, HasSubstr("<code id=\"run-id\">run-7f3a</code>"));
  EXPECT_THAT(dom, HasSubstr("ssh 10.0.0.2 chaos-agent revert f-2"));
  EXPECT_THAT(dom, HasSubstr("p99 stays under 300ms"));

  const std::string png = dir.path() + "/shot.png";
  base::CommandOutcome shot =
      RunChromium(dir, {"--screenshot=" + png, "--window-size=1200,900"}, html,
                  dir.path() + "/shot.out");
  ASSERT_EQ(shot.exit_code, 0) << ReadFileOrEmpty(dir.path() + "/chromium.err");
  const std::string image = ReadFileOrEmpty(png);
  // For a human look: CHAOS_KEEP_REPORT=/some/dir keeps the page and the shot.
  if (const char* keep = std::getenv("CHAOS_KEEP_REPORT"); keep != nullptr) {
    base::RunCommand({"cp", html, png, dir.path() + "/dom.html", keep}, absl::Seconds(10));
  }
  EXPECT_GT(image.size(), 5u * 1024) << "screenshot is (nearly) empty";
  EXPECT_EQ(image.substr(0, 8), "\x89PNG\r\n\x1a\n");
}

TEST(ReportHtmlTest, ChromiumShowsNothingThatDidNotHappen) {
  const std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty()) << "chromium is not installed";
  TempDir dir;
  RunReport r;
  r.run_id = "quiet";
  r.experiment = "nothing happens";
  r.started_at = kT0;
  r.ended_at = At(5);
  ASSERT_TRUE(WriteReports(r, dir.path()).ok());
  base::CommandOutcome run = RunChromium(dir, {"--dump-dom"}, dir.path() + "/quiet.html",
                                   dir.path() + "/dom.html");
  ASSERT_EQ(run.exit_code, 0) << ReadFileOrEmpty(dir.path() + "/chromium.err");
  const std::string dom = ReadFileOrEmpty(dir.path() + "/dom.html");
  ASSERT_EQ(BodyAttr(dom, "data-rendered"), "done");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-fault-windows"), "0");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-probe-marks"), "0");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-abort-marks"), "0");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-recovery-marks"), "0");
  EXPECT_EQ(BodyAttr(dom, "data-rendered-drill-marks"), "0");
  EXPECT_THAT(dom, HasSubstr("Recovery was not measured."));
}

}  // namespace
}  // namespace chaos::controller
