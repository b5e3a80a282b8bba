// The JSON journal of a run (docs/REPORT.md), written with nlohmann::json.
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/utf8.h"
#include "controller/report/format.h"
#include "controller/report/report.h"
#include "nlohmann/json.hpp"

namespace chaos::controller {
namespace {

using Json = nlohmann::ordered_json;
using report_format::Elapsed;
using report_format::Finite;
using report_format::FiniteDuration;
using report_format::ObjectiveMet;

Json Text(const std::string& s) { return base::SanitizeUtf8(s); }

// Milliseconds, rounded to the microsecond; null when infinite.
Json Millis(absl::Duration d) {
  if (!FiniteDuration(d)) return nullptr;
  const double ms = std::round(absl::ToDoubleMilliseconds(d) * 1000) / 1000;
  if (ms == std::floor(ms)) return static_cast<int64_t>(ms);
  return ms;
}

// Millis(*d); null when d is unknown.
Json Millis(const std::optional<absl::Duration>& d) { return d ? Millis(*d) : Json(nullptr); }

// An objective's verdict; null when none was set.
Json Met(const std::optional<bool>& met) { return met ? Json(*met) : Json(nullptr); }

// "key": "<RFC 3339>", "key_unix_ms": <ms>; both null when t is infinite.
void PutTime(Json& j, const std::string& key, absl::Time t) {
  j[key] = Finite(t) ? Json(report_format::Rfc3339(t)) : Json(nullptr);
  j[key + "_unix_ms"] = Finite(t) ? Json(absl::ToUnixMillis(t)) : Json(nullptr);
}

Json Texts(const std::vector<std::string>& values) {
  Json a = Json::array();
  for (const std::string& v : values) a.push_back(Text(v));
  return a;
}

Json TargetJson(const TargetResolution& t) {
  return Json{{"group", Text(t.group)},
              {"selector", Text(t.selector)},
              {"mode", Text(t.mode)},
              {"agents", Texts(t.agents)}};
}

Json LostJson(const LostAgent& l) {
  Json j{{"agent", Text(l.agent)}, {"step", Text(l.step)}, {"reason", Text(l.reason)}};
  PutTime(j, "at", l.at);
  return j;
}

Json StepJson(const StepRecord& s) {
  Json j{{"id", Text(s.id)}, {"kind", Text(s.kind)}, {"target", Text(s.target)},
         {"state", StepStateName(s.state)}};
  PutTime(j, "started_at", s.started_at);
  PutTime(j, "ended_at", s.ended_at);
  j["detail"] = Text(s.detail);
  PutTime(j, "planned_start", s.planned_start);
  PutTime(j, "first_inject_ack", s.first_ack);
  PutTime(j, "last_inject_ack", s.last_ack);
  j["inject_spread_ms"] = Millis(s.InjectSpread());
  PutTime(j, "planned_end", s.planned_end);
  return j;
}

Json FaultJson(const FaultRecord& f) {
  Json j{{"agent", Text(f.agent)},     {"step", Text(f.step)},
         {"fault_id", Text(f.fault_id)}, {"kind", Text(f.kind)},
         {"summary", Text(f.summary)}};
  PutTime(j, "injected_at", f.injected_at);
  PutTime(j, "reverted_at", f.reverted_at);
  j["reverted"] = f.reverted;
  j["error"] = Text(f.error);
  PutTime(j, "inject_sent_at", f.sent_at);
  PutTime(j, "inject_acked_at", f.acked_at);
  PutTime(j, "expires_at", f.expires_at);
  return j;
}

Json ProbeJson(const ProbeSample& p) {
  Json j;
  PutTime(j, "at", p.at);
  j["probe"] = Text(p.probe);
  j["phase"] = Text(p.phase);
  j["ok"] = p.ok;
  j["latency_ms"] = Millis(p.latency);
  j["detail"] = Text(p.detail);
  return j;
}

Json ProbeSummaryJson(const ProbeSummary& p) {
  Json j{{"probe", Text(p.probe)},
         {"samples", p.samples},
         {"failures", p.failures},
         {"during_faults", p.during_faults},
         {"ok_during_faults", p.ok_during_faults}};
  j["availability_during_faults"] =
      p.availability_during_faults ? Json(*p.availability_during_faults) : Json(nullptr);
  j["time_to_detect_ms"] = Millis(p.time_to_detect);
  return j;
}

Json RecoveryJson(const RecoveryResult& rec) {
  if (!rec.measured) return nullptr;
  Json j{{"from", Text(rec.from)}};
  PutTime(j, "started_at", rec.started_at);
  PutTime(j, "ended_at", rec.ended_at);
  j["recovered"] = rec.recovered;
  j["time_ms"] = rec.recovered ? Millis(rec.time) : Json(nullptr);
  Json per_probe = Json::object();
  for (const auto& [probe, d] : rec.per_probe) per_probe[base::SanitizeUtf8(probe)] = Millis(d);
  j["per_probe_ms"] = per_probe;
  j["objective_ms"] = Millis(rec.objective);
  j["objective_met"] = rec.objective_met;
  return j;
}

// The instants of the RTO's phases, then the time of each from the disaster.
Json DrillPhasesJson(const DrillResult& d) {
  Json j = Json::object();
  PutTime(j, "disaster_at", d.disaster_at);
  for (const auto& phase : report_format::DrillPhases(d)) {
    PutTime(j, absl::StrCat(phase.key, "_at"), phase.at);
  }
  for (const auto& phase : report_format::DrillPhases(d)) {
    j[absl::StrCat(phase.key, "_ms")] = Millis(Elapsed(d.disaster_at, phase.at));
  }
  return j;
}

Json RtoJson(const DrillResult& d) {
  return Json{{"ms", Millis(d.rto)},
              {"objective_ms", Millis(d.rto_objective)},
              {"met", Met(ObjectiveMet(d.rto, d.rto_objective))},
              {"phases", DrillPhasesJson(d)}};
}

Json RpoJson(const DrillResult& d) {
  Json j{{"ms", Millis(d.rpo)},
         {"objective_ms", Millis(d.rpo_objective)},
         {"met", Met(ObjectiveMet(d.rpo, d.rpo_objective))},
         {"canaries_written", d.canaries_written},
         {"canaries_failed", d.canaries_failed}};
  PutTime(j, "last_acknowledged", d.last_acknowledged);
  PutTime(j, "newest_present", d.newest_present);
  j["error"] = Text(d.rpo_error);
  return j;
}

Json IntegrityJson(const DrillResult& d) {
  return Json{{"state", d.IntegrityState()},
              {"required", d.integrity_required},
              {"backup_digest", Text(d.backup_digest)},
              {"restored_digest", Text(d.restored_digest)},
              {"error", Text(d.integrity_error)}};
}

Json SizeJson(const DrillResult& d) {
  return Json{{"backup_bytes", d.backup_bytes ? Json(*d.backup_bytes) : Json(nullptr)},
              {"restore_bytes_per_second",
               d.restore_bytes_per_second ? Json(*d.restore_bytes_per_second) : Json(nullptr)},
              {"error", Text(d.size_error)}};
}

Json DrillJson(const DrillResult& d) {
  if (!d.present) return nullptr;
  return Json{{"disaster_step", Text(d.disaster_step)},
              {"restore_step", Text(d.restore_step)},
              {"rto", RtoJson(d)},
              {"rpo", RpoJson(d)},
              {"size", SizeJson(d)},
              {"integrity", IntegrityJson(d)},
              {"objectives_met", d.ObjectivesMet()}};
}

Json EventJson(const JournalEvent& e) {
  Json j;
  PutTime(j, "at", e.at);
  j["type"] = Text(e.type);
  j["step"] = Text(e.step);
  j["agent"] = Text(e.agent);
  j["message"] = Text(e.message);
  return j;
}

template <typename T, typename F>
Json Each(const std::vector<T>& items, F to_json) {
  Json a = Json::array();
  for (const T& item : items) a.push_back(to_json(item));
  return a;
}

}  // namespace

std::string ReportJson(const RunReport& r) {
  Json j{{"schema", kReportSchema},
         {"run_id", Text(r.run_id)},
         {"experiment", Text(r.experiment)},
         {"description", Text(r.description)},
         {"hypothesis", Text(r.hypothesis)},
         // A string: 64-bit seeds do not survive JSON readers that use doubles.
         {"seed", absl::StrCat(r.seed)}};
  Json variables = Json::object();
  for (const auto& [name, value] : r.variables) variables[base::SanitizeUtf8(name)] = Text(value);
  j["variables"] = variables;
  j["outcome"] = OutcomeName(r.outcome);
  j["exit_code"] = ExitCode(r.outcome);
  j["reason"] = Text(r.reason);
  j["lost_agents"] = Each(r.lost_agents, LostJson);
  PutTime(j, "started_at", r.started_at);
  PutTime(j, "ended_at", r.ended_at);
  j["duration_ms"] = Finite(r.started_at) && Finite(r.ended_at) ? Millis(r.ended_at - r.started_at)
                                                                 : Json(nullptr);
  j["targets"] = Each(r.targets, TargetJson);
  j["steps"] = Each(r.steps, StepJson);
  j["faults"] = Each(r.faults, FaultJson);
  j["probes"] = Each(r.probes, ProbeJson);
  j["probe_summary"] = Each(SummarizeProbes(r), ProbeSummaryJson);
  j["recovery"] = RecoveryJson(r.recovery);
  j["drill"] = DrillJson(r.drill);
  j["rollback"] = RollbackStateName(r.rollback);
  j["events"] = Each(r.events, EventJson);
  j["manual_undo"] = Texts(r.manual_undo);
  return j.dump(2) + "\n";
}

}  // namespace chaos::controller
