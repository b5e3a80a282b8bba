#include "controller/cli/controller_commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chaos/v1/controller.grpc.pb.h"
#include "controller/report/run_report.h"
#include "rpc/credentials.h"
#include "base/interrupts.h"
#include "experiments/experiment.h"
#include "google/protobuf/util/json_util.h"
#include "proto/run_state.h"
#include "rpc/status.h"

namespace chaos::controller {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(30);

using chaos::v1::Controller;

std::unique_ptr<Controller::Stub> Stub(const ControllerCommandArgs& a) {
  return Controller::NewStub(rpc::OpenChannel(a.controller, a.transport));
}

int Fail(const ControllerCommandArgs& a, const grpc::Status& s) {
  // A refusal by the controller's command policy or its limits shows the
  // code; the message names the rule.
  std::string how = ":";
  if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
      s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    how = absl::StrCat(" refused (",
                       absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())),
                       "):");
  }
  std::fprintf(stderr, "chaosctl: controller %s%s %s\n", a.controller.c_str(), how.c_str(),
               s.error_message().c_str());
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT: return 2;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED: return 4;
    case grpc::StatusCode::NOT_FOUND: return 5;
    default: return 1;
  }
}

// every_field: fields at their default value too (0, false, ""), which
// proto3 JSON leaves out otherwise.
void PrintJson(const google::protobuf::Message& m, bool every_field = false) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = every_field;
  (void)google::protobuf::util::MessageToJsonString(m, &json, opts);
  std::fputs(json.c_str(), stdout);
}

std::string When(int64_t ms) {
  if (ms <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), absl::LocalTimeZone());
}

int ExitFor(chaos::v1::RunState s) {
  switch (s) {
    case chaos::v1::RUN_STATE_PASSED: return 0;
    case chaos::v1::RUN_STATE_ROLLBACK_INCOMPLETE: return 3;
    case chaos::v1::RUN_STATE_ABORTED:
    case chaos::v1::RUN_STATE_INTERRUPTED: return 130;
    default: return 1;
  }
}

void PrintEvent(const chaos::v1::RunEvent& e) {
  std::string where;
  auto it = e.fields().find("step");
  if (it != e.fields().end()) where += " [" + it->second + "]";
  it = e.fields().find("agent");
  if (it != e.fields().end()) where += " " + it->second;
  std::printf("%s %-9s%s %s\n",
              absl::FormatTime("%H:%M:%E3S", absl::FromUnixMillis(e.at_unix_ms()),
                               absl::LocalTimeZone()).c_str(),
              e.type().c_str(), where.c_str(), e.message().c_str());
  std::fflush(stdout);
}

// "4.807s", "1m", "0s": a drill's figure in milliseconds.
std::string DrillMillis(int64_t ms) {
  return ms == 0 ? "0s" : absl::FormatDuration(absl::Milliseconds(ms));
}

// An RTO or RPO against its objective: "4.807s ok", "1.2s MISSED>1s",
// "unmeasured MISSED"; only the figure when no objective was set.
std::string DrillFigure(int64_t ms, int64_t objective_ms) {
  const std::string figure = ms < 0 ? "unmeasured" : DrillMillis(ms);
  if (objective_ms < 0) return figure;
  if (ms < 0) return figure + " MISSED";
  if (ms <= objective_ms) return figure + " ok";
  return absl::StrCat(figure, " MISSED>", DrillMillis(objective_ms));
}

// The integrity state, "MISSED" after it when required and not "ok".
std::string DrillIntegrity(const chaos::v1::DrillSummary& d) {
  if (!d.integrity_required() || d.integrity() == "ok") return d.integrity();
  return d.integrity() + " MISSED";
}

// A run's RTO, RPO and integrity cells; "-" each without a drill.
std::array<std::string, 3> DrillCells(const chaos::v1::Run& r) {
  if (!r.has_drill()) return {"-", "-", "-"};
  const chaos::v1::DrillSummary& d = r.drill();
  return {DrillFigure(d.rto_ms(), d.rto_objective_ms()),
          DrillFigure(d.rpo_ms(), d.rpo_objective_ms()), DrillIntegrity(d)};
}

// The run's state as the local report words its outcome: "passed",
// "passed with 1 agent lost".
std::string StateText(const chaos::v1::Run& r) {
  return WithLostAgents(RunStateName(r.state()), static_cast<size_t>(r.lost_agents_size()));
}

// "127.0.0.1:1 in preflight: cannot reach agent ...", as the report says it.
std::string LostText(const chaos::v1::LostAgent& l) {
  LostAgent lost;
  lost.agent = l.agent();
  lost.step = l.step();
  lost.reason = l.reason();
  return LostAgentText(lost);
}

void PrintRun(const chaos::v1::Run& r) {
  std::printf("run        %s\nexperiment %s\nstate      %s\nstarted    %s\nended      %s\n",
              r.run_id().c_str(), r.experiment_name().c_str(), StateText(r).c_str(),
              When(r.started_at_unix_ms()).c_str(), When(r.ended_at_unix_ms()).c_str());
  std::printf("seed       %llu\nagents     %s\n", static_cast<unsigned long long>(r.seed()),
              absl::StrJoin(r.agents(), ", ").c_str());
  for (const chaos::v1::LostAgent& l : r.lost_agents()) {
    std::printf("lost       %s\n", LostText(l).c_str());
  }
  if (!r.schedule().empty()) std::printf("schedule   %s\n", r.schedule().c_str());
  if (!r.caller().empty()) std::printf("caller     %s\n", r.caller().c_str());
  if (!r.reason().empty()) std::printf("reason     %s\n", r.reason().c_str());
  std::vector<std::string> variables;
  for (const auto& [name, value] : r.variables()) variables.push_back(name + "=" + value);
  std::sort(variables.begin(), variables.end());
  if (!variables.empty()) std::printf("variables  %s\n", absl::StrJoin(variables, ", ").c_str());
  if (r.has_drill()) {
    const std::array<std::string, 3> cells = DrillCells(r);
    std::printf("drill      RTO %s, RPO %s, integrity %s: objectives %s\n", cells[0].c_str(),
                cells[1].c_str(), cells[2].c_str(), r.drill().objectives_met() ? "met" : "MISSED");
  }
  std::printf("journal    chaosctl show %s -o json\n", r.run_id().c_str());
}

// Streams events until the run ends; returns the final run's exit code.
int Follow(const ControllerCommandArgs& a, const std::string& run_id) {
  auto stub = Stub(a);
  grpc::ClientContext ctx;
  chaos::v1::WatchRunRequest req;
  req.set_run_id(run_id);
  auto reader = stub->WatchRun(&ctx, req);
  chaos::v1::RunEvent e;
  while (reader->Read(&e)) {
    if (a.json) {
      std::string json;
      google::protobuf::util::JsonPrintOptions opts;
      opts.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(e, &json, opts);
      std::printf("%s\n", json.c_str());
      std::fflush(stdout);
    } else {
      PrintEvent(e);
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(a, s);
  chaos::v1::GetRunRequest g;
  g.set_run_id(run_id);
  chaos::v1::Run run;
  s = stub->GetRun(rpc::ContextWithTimeout(kCallTimeout).get(), g, &run);
  if (!s.ok()) return Fail(a, s);
  if (!a.json) {
    std::printf("run %s: %s%s%s\n", run.run_id().c_str(), StateText(run).c_str(),
                run.reason().empty() ? "" : " -- ", run.reason().c_str());
  }
  return ExitFor(run.state());
}

// The experiment file read exactly as a local run reads it: ${VARIABLES}
// expanded from this environment, then parsed, every error printed as
// file:line:column. nullopt after printing the errors.
std::optional<experiments::ExpandedText> ReadExpanded(const std::string& file) {
  experiments::Diagnostics diags;
  std::optional<experiments::LoadedExperiment> loaded =
      experiments::LoadExperimentFile(file, &diags);
  if (!loaded) {
    std::fputs(diags.Format(file).c_str(), stderr);
    return std::nullopt;
  }
  return std::move(loaded->source);
}

// The runs, one a line; with RTO, RPO and INTEGRITY columns when any is a
// drill. The STATE column widens to its longest cell ("passed with 2 agents
// lost"), so the columns stay aligned.
void PrintRunsTable(const chaos::v1::ListRunsResponse& resp) {
  const bool drills = std::any_of(resp.runs().begin(), resp.runs().end(),
                                  [](const chaos::v1::Run& r) { return r.has_drill(); });
  int state_width = 20;
  for (const auto& r : resp.runs()) {
    state_width = std::max(state_width, static_cast<int>(StateText(r).size()));
  }
  std::printf("%-48s %-20s %-*s %-19s ", "RUN", "EXPERIMENT", state_width, "STATE", "STARTED");
  if (drills) std::printf("%-20s %-20s %-20s ", "RTO", "RPO", "INTEGRITY");
  std::printf("SCHEDULE\n");
  for (const auto& r : resp.runs()) {
    std::printf("%-48s %-20s %-*s %-19s ", r.run_id().c_str(), r.experiment_name().c_str(),
                state_width, StateText(r).c_str(), When(r.started_at_unix_ms()).c_str());
    if (drills) {
      const std::array<std::string, 3> cells = DrillCells(r);
      std::printf("%-20s %-20s %-20s ", cells[0].c_str(), cells[1].c_str(), cells[2].c_str());
    }
    std::printf("%s\n", r.schedule().c_str());
  }
}

// "chaosctl (alice)": who asks, for the controller's journal.
std::string Caller() {
  const char* user = getenv("USER");
  return absl::StrCat("chaosctl (", user != nullptr ? user : "?", ")");
}

}  // namespace

int SubmitCommand(const ControllerCommandArgs& a) {
  std::optional<experiments::ExpandedText> source = ReadExpanded(a.file);
  if (!source) return 2;
  // Signals are blocked before any gRPC thread exists, so that every thread
  // inherits the mask and only the signal thread below takes them.
  if (!a.detach) base::BlockInterrupts();
  chaos::v1::SubmitRunRequest req;
  req.set_experiment_yaml(source->text);
  req.mutable_variables()->insert(source->variables.begin(), source->variables.end());
  req.set_seed(a.seed);
  req.set_caller(Caller());
  chaos::v1::Run run;
  grpc::Status s = Stub(a)->SubmitRun(rpc::ContextWithTimeout(kCallTimeout).get(), req, &run);
  if (!s.ok()) return Fail(a, s);
  if (a.detach) {
    if (a.json) PrintJson(run);
    else std::printf("%s\n", run.run_id().c_str());
    return 0;
  }
  if (!a.json) {
    std::printf("run %s of %s on %s\n", run.run_id().c_str(), run.experiment_name().c_str(),
                absl::StrJoin(run.agents(), ", ").c_str());
  }
  // The first SIGINT/SIGTERM aborts the run (the controller rolls it back
  // and the events keep coming); a second one stops following.
  base::InterruptWatcher interrupts([&](int sig, int n) {
    if (n > 1) _exit(130);
    std::fprintf(stderr, "\nchaosctl: aborting run %s; signal again to stop following\n",
                 run.run_id().c_str());
    chaos::v1::AbortRunRequest req;
    req.set_run_id(run.run_id());
    req.set_caller("chaosctl run");
    req.set_reason(sig == SIGINT ? "interrupted by the operator (SIGINT)" : "terminated (SIGTERM)");
    chaos::v1::Run ignored;
    grpc::Status s = Stub(a)->AbortRun(rpc::ContextWithTimeout(kCallTimeout).get(), req, &ignored);
    if (!s.ok()) Fail(a, s);
  });
  return Follow(a, run.run_id());
}

int WatchCommand(const ControllerCommandArgs& a) { return Follow(a, a.run_id); }

int GateCommand(const ControllerCommandArgs& a, bool confirm) {
  chaos::v1::AnswerGateRequest req;
  req.set_run_id(a.run_id);
  req.set_step(a.step);
  req.set_confirm(confirm);
  req.set_caller(Caller());
  req.set_reason(a.reason);
  chaos::v1::Run run;
  grpc::Status s = Stub(a)->AnswerGate(rpc::ContextWithTimeout(kCallTimeout).get(), req, &run);
  if (!s.ok()) return Fail(a, s);
  if (a.json) PrintJson(run);
  else std::printf("run %s: gate %s %s\n", run.run_id().c_str(), a.step.c_str(),
                   confirm ? "confirmed" : "failed");
  return 0;
}

int AbortCommand(const ControllerCommandArgs& a) {
  chaos::v1::AbortRunRequest req;
  req.set_run_id(a.run_id);
  req.set_caller("chaosctl abort");
  req.set_reason(a.reason);
  chaos::v1::Run run;
  grpc::Status s = Stub(a)->AbortRun(rpc::ContextWithTimeout(kCallTimeout).get(), req, &run);
  if (!s.ok()) return Fail(a, s);
  if (a.json) PrintJson(run);
  else std::printf("run %s: abort requested (state now %s)\n", run.run_id().c_str(),
                   RunStateName(run.state()).c_str());
  return 0;
}

int RunsCommand(const ControllerCommandArgs& a) {
  chaos::v1::ListRunsRequest req;
  req.set_experiment_name(a.experiment);
  req.set_schedule(a.schedule_filter);
  req.set_limit(a.limit);
  if (!a.state.empty()) {
    chaos::v1::RunState st;
    if (!chaos::v1::RunState_Parse("RUN_STATE_" + absl::AsciiStrToUpper(a.state), &st)) {
      std::fprintf(stderr, "chaosctl: --state %s: want pending, running, passed, failed, "
                   "aborted, rollback_incomplete or interrupted\n", a.state.c_str());
      return 2;
    }
    req.set_state(st);
  }
  chaos::v1::ListRunsResponse resp;
  grpc::Status s = Stub(a)->ListRuns(rpc::ContextWithTimeout(kCallTimeout).get(), req, &resp);
  if (!s.ok()) return Fail(a, s);
  if (a.json) {
    PrintJson(resp, /*every_field=*/true);
    return 0;
  }
  PrintRunsTable(resp);
  return 0;
}

std::vector<std::string> RecentRunIds(const ControllerCommandArgs& a) {
  chaos::v1::ListRunsRequest req;
  req.set_limit(50);
  chaos::v1::ListRunsResponse resp;
  grpc::Status s = Stub(a)->ListRuns(rpc::ContextWithTimeout(absl::Seconds(1)).get(), req, &resp);
  std::vector<std::string> ids;
  if (!s.ok()) return ids;
  for (const chaos::v1::Run& run : resp.runs()) ids.push_back(run.run_id());
  return ids;
}

int ShowCommand(const ControllerCommandArgs& a) {
  chaos::v1::GetRunRequest req;
  req.set_run_id(a.run_id);
  chaos::v1::Run run;
  grpc::Status s = Stub(a)->GetRun(rpc::ContextWithTimeout(kCallTimeout).get(), req, &run);
  if (!s.ok()) return Fail(a, s);
  if (a.json && !run.report_json().empty()) {
    // The run's JSON journal: the same document `chaosctl run --output`
    // writes for a local run (docs/REPORT.md).
    std::fputs(run.report_json().c_str(), stdout);
    return 0;
  }
  if (a.json) {
    std::fprintf(stderr, "chaosctl: run %s has no journal (recorded by an older controller); "
                 "printing the run record\n", a.run_id.c_str());
    PrintJson(run);
    return 0;
  }
  PrintRun(run);
  // The journal, replayed from the history (live runs: what is recorded so far).
  if (!Unfinished(run.state())) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    chaos::v1::WatchRunRequest w;
    w.set_run_id(a.run_id);
    auto reader = Stub(a)->WatchRun(&ctx, w);
    chaos::v1::RunEvent e;
    std::printf("events\n");
    while (reader->Read(&e)) PrintEvent(e);
    (void)reader->Finish();
  }
  return 0;
}

int AgentsCommand(const ControllerCommandArgs& a) {
  chaos::v1::ListAgentsResponse resp;
  grpc::Status s = Stub(a)->ListAgents(rpc::ContextWithTimeout(kCallTimeout).get(), {}, &resp);
  if (!s.ok()) return Fail(a, s);
  if (a.json) {
    PrintJson(resp);
    return 0;
  }
  std::printf("%-24s %-20s %-5s %-10s %s\n", "ADDRESS", "HOSTNAME", "STATE", "LAST SEEN", "LABELS");
  const absl::Time now = absl::Now();
  for (const auto& ag : resp.agents()) {
    std::vector<std::string> labels;
    for (const auto& [k, v] : ag.labels()) labels.push_back(k + "=" + v);
    std::sort(labels.begin(), labels.end());
    // Never heard by this controller (a standby, or an agent the store
    // knew before it led): no time, and unknown unless lost.
    const bool heard = ag.last_seen_unix_ms() != 0;
    const absl::Duration ago = absl::Floor(now - absl::FromUnixMillis(ag.last_seen_unix_ms()),
                                           absl::Milliseconds(100));
    std::printf("%-24s %-20s %-5s %-10s %s\n", ag.address().c_str(), ag.hostname().c_str(),
                ag.lost() ? "LOST" : (heard ? "live" : "?"),
                heard ? (absl::FormatDuration(ago) + " ago").c_str() : "never",
                absl::StrJoin(labels, ",").c_str());
  }
  return 0;
}

int ForgetAgentCommand(const ControllerCommandArgs& a) {
  chaos::v1::ForgetAgentRequest req;
  req.set_address(a.address);
  req.set_caller(Caller());
  chaos::v1::ForgetAgentResponse out;
  grpc::Status s = Stub(a)->ForgetAgent(rpc::ContextWithTimeout(kCallTimeout).get(), req, &out);
  if (!s.ok()) return Fail(a, s);
  if (!a.json) std::printf("agent %s forgotten\n", a.address.c_str());
  else std::printf("{}\n");
  return 0;
}

int HaltAllCommand(const ControllerCommandArgs& a) {
  chaos::v1::HaltAllRequest req;
  req.set_caller("chaosctl halt");
  req.set_reason(a.reason);
  chaos::v1::HaltAllResponse resp;
  grpc::Status s = Stub(a)->HaltAll(rpc::ContextWithTimeout(kCallTimeout).get(), req, &resp);
  if (!s.ok()) return Fail(a, s);
  if (a.json) PrintJson(resp);
  else {
    for (const auto& h : resp.halted()) std::printf("halted  %s\n", h.c_str());
    for (const auto& f : resp.failed()) std::printf("FAILED  %s\n", f.c_str());
  }
  return resp.failed().empty() ? 0 : 1;
}

int ResumeAllCommand(const ControllerCommandArgs& a) {
  chaos::v1::ResumeAllRequest req;
  req.set_caller("chaosctl resume");
  chaos::v1::ResumeAllResponse resp;
  grpc::Status s = Stub(a)->ResumeAll(rpc::ContextWithTimeout(kCallTimeout).get(), req, &resp);
  if (!s.ok()) return Fail(a, s);
  if (a.json) PrintJson(resp);
  else {
    for (const auto& h : resp.resumed()) std::printf("resumed %s\n", h.c_str());
    for (const auto& f : resp.failed()) std::printf("FAILED  %s\n", f.c_str());
  }
  return resp.failed().empty() ? 0 : 1;
}

int ScheduleAddCommand(const ControllerCommandArgs& a) {
  std::optional<experiments::ExpandedText> source = ReadExpanded(a.file);
  if (!source) return 2;
  chaos::v1::CreateScheduleRequest req;
  chaos::v1::Schedule* s = req.mutable_schedule();
  s->set_name(a.name);
  s->set_cron(a.cron);
  s->set_time_zone(a.time_zone);
  s->set_experiment_yaml(source->text);
  s->mutable_variables()->insert(source->variables.begin(), source->variables.end());
  s->set_concurrency_policy(a.allow_concurrent ? chaos::v1::CONCURRENCY_POLICY_ALLOW
                                               : chaos::v1::CONCURRENCY_POLICY_FORBID);
  s->set_starting_deadline_seconds(a.starting_deadline_s);
  s->set_history_limit(a.history_limit);
  for (const std::string& b : a.blackouts) {
    std::vector<std::string> parts =
        absl::StrSplit(b, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.empty() || parts.size() > 2) {
      std::fprintf(stderr, "chaosctl: --blackout \"%s\": want \"DAYS [HOURS]\", e.g. "
                   "\"Sat,Sun\" or \"Mon-Fri 9-17\"\n", b.c_str());
      return 2;
    }
    auto* w = s->add_blackouts();
    w->set_days(parts[0]);
    if (parts.size() == 2) w->set_hours(parts[1]);
  }
  chaos::v1::Schedule out;
  grpc::Status st = Stub(a)->CreateSchedule(rpc::ContextWithTimeout(kCallTimeout).get(), req, &out);
  if (!st.ok()) return Fail(a, st);
  if (a.json) PrintJson(out);
  else std::printf("schedule %s created; next run at %s\n", out.name().c_str(),
                   When(out.next_fire_unix_ms()).c_str());
  return 0;
}

int ScheduleListCommand(const ControllerCommandArgs& a) {
  chaos::v1::ListSchedulesResponse resp;
  grpc::Status s = Stub(a)->ListSchedules(rpc::ContextWithTimeout(kCallTimeout).get(), {}, &resp);
  if (!s.ok()) return Fail(a, s);
  if (a.json) {
    PrintJson(resp);
    return 0;
  }
  std::printf("%-20s %-16s %-18s %-7s %-19s %s\n", "NAME", "CRON", "ZONE", "STATE", "NEXT",
              "LAST");
  for (const auto& sc : resp.schedules()) {
    std::string last = "-";
    if (!sc.recent_events().empty()) {
      const auto& e = sc.recent_events(0);
      last = absl::StrCat(e.kind(), " ", When(e.at_unix_ms()), e.run_id().empty() ? "" : " ",
                          e.run_id());
    }
    std::printf("%-20s %-16s %-18s %-7s %-19s %s\n", sc.name().c_str(), sc.cron().c_str(),
                sc.time_zone().empty() ? "UTC" : sc.time_zone().c_str(),
                sc.paused() ? "paused" : "active", When(sc.next_fire_unix_ms()).c_str(),
                last.c_str());
  }
  return 0;
}

int SchedulePauseCommand(const ControllerCommandArgs& a, bool paused) {
  chaos::v1::SetSchedulePausedRequest req;
  req.set_name(a.name);
  req.set_paused(paused);
  chaos::v1::Schedule out;
  grpc::Status s = Stub(a)->SetSchedulePaused(rpc::ContextWithTimeout(kCallTimeout).get(), req, &out);
  if (!s.ok()) return Fail(a, s);
  if (a.json) PrintJson(out);
  else std::printf("schedule %s %s\n", out.name().c_str(), paused ? "paused" : "resumed");
  return 0;
}

int ScheduleRemoveCommand(const ControllerCommandArgs& a) {
  chaos::v1::DeleteScheduleRequest req;
  req.set_name(a.name);
  chaos::v1::DeleteScheduleResponse out;
  grpc::Status s = Stub(a)->DeleteSchedule(rpc::ContextWithTimeout(kCallTimeout).get(), req, &out);
  if (!s.ok()) return Fail(a, s);
  if (!a.json) std::printf("schedule %s deleted\n", a.name.c_str());
  else std::printf("{}\n");
  return 0;
}

}  // namespace chaos::controller
