#include "controller/engine/runner.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/fan_out.h"
#include "controller/engine/remote_command.h"
#include "experiments/yaml_proto.h"
#include "rpc/credentials.h"
#include "google/protobuf/descriptor.h"
#include "proto/duration.h"
#include "proto/fault_state.h"
#include "rpc/status.h"

namespace chaos::controller {
namespace {

// "percent 50, max 3": how a target group chooses, for the report.
std::string ModeText(const TargetGroup& g) {
  std::string mode = "all";
  if (g.mode == TargetGroup::Mode::kCount) mode = absl::StrCat("count ", g.amount);
  if (g.mode == TargetGroup::Mode::kPercent) mode = absl::StrCat("percent ", g.amount);
  if (g.max != 0) absl::StrAppend(&mode, ", max ", g.max);
  if (g.max_percent != 0) absl::StrAppend(&mode, ", maxPercent ", g.max_percent);
  if (g.max_unavailable != 0) {
    absl::StrAppend(&mode, ", maxUnavailable ", g.max_unavailable,
                    g.max_unavailable_percent ? "%" : "");
  }
  return mode;
}

// The heading of a fault that ended before its duration without the run
// reverting it: a lapsed lease, or someone else's revert or halt.
std::string EndedEarly(const std::string& address, const chaos::v1::FaultStatus& f) {
  return absl::StartsWith(f.reason(), "lease expired")
             ? absl::StrCat("lease lapsed on ", address)
             : absl::StrCat("fault ended early on ", address);
}

// The fault `fault_id` among an agent's answer; nullptr when not there.
const chaos::v1::FaultStatus* FindFault(const chaos::v1::ListFaultsResponse& resp,
                                        const std::string& fault_id) {
  for (const chaos::v1::FaultStatus& f : resp.faults()) {
    if (f.spec().fault_id() == fault_id) return &f;
  }
  return nullptr;
}
}  // namespace

grpc::Status ListRunFaults(chaos::v1::Agent::Stub& stub, const std::string& run_id,
                           grpc::ClientContext* ctx, chaos::v1::ListFaultsResponse* resp) {
  chaos::v1::ListFaultsRequest req;
  req.set_experiment_id(run_id);
  req.set_include_ended(true);
  return stub.ListFaults(ctx, req, resp);
}

JournalEvent Event(std::string type, std::string step, std::string agent, std::string message) {
  JournalEvent e;
  e.type = std::move(type);
  e.step = std::move(step);
  e.agent = std::move(agent);
  e.message = std::move(message);
  return e;
}

std::string NewRunId(const std::string& name) {
  std::string slug;
  for (char c : name) {
    if (isalnum(static_cast<unsigned char>(c))) slug.push_back(static_cast<char>(tolower(c)));
    else if (!slug.empty() && slug.back() != '-') slug.push_back('-');
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "run";
  absl::BitGen gen;
  return absl::StrCat(slug, "-", absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::UTCTimeZone()),
                      "-", absl::StrFormat("%06x", absl::Uniform<uint32_t>(gen, 0, 0x1000000)));
}

Runner::Runner(Experiment experiment, RunOptions options, RunObserver* observer)
    : experiment_(std::move(experiment)), options_(std::move(options)), observer_(observer) {
  if (options_.run_id.empty()) options_.run_id = NewRunId(experiment_.name);
  if (options_.seed == 0) options_.seed = absl::Uniform<uint64_t>(absl::BitGen(), 1, ~uint64_t{0});
  for (const std::string& address : options_.agents) {
    Agent a;
    a.address = address;
    a.stub = chaos::v1::Agent::NewStub(options_.channels != nullptr
                                           ? options_.channels->Get(address)
                                           : rpc::OpenChannel(address, options_.transport));
    agents_.push_back(std::move(a));
  }
  for (Agent& a : agents_) by_address_.emplace(a.address, &a);
  report_.run_id = options_.run_id;
  report_.experiment = experiment_.name;
  report_.description = experiment_.description;
  report_.hypothesis = experiment_.hypothesis;
  report_.seed = options_.seed;
  report_.variables = options_.variables;
  InitDrill();
  for (const Step& step : experiment_.method) {
    StepRecord rec;
    rec.id = step.id;
    rec.kind = step.Kind();
    rec.target = step.fault ? (step.target.empty() ? "all" : step.target) : step.target;
    report_.steps.push_back(rec);
  }
}

Runner::~Runner() {
  StopWatching();
  if (recovery_thread_.joinable()) recovery_thread_.join();
  if (canary_thread_.joinable()) canary_thread_.join();
}

RunReport Runner::Snapshot() {
  absl::MutexLock lock(&mu_);
  return report_;
}

void Runner::Emit(JournalEvent event) {
  event.at = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    report_.events.push_back(event);
  }
  if (observer_ == nullptr) return;
  {
    absl::MutexLock lock(&emit_mu_);
    observer_->OnEvent(event);
  }
  observer_->AfterEvent();
}

void Runner::Interrupt(const std::string& reason) {
  Abort(RunOutcome::kInterrupted, reason);
}

void Runner::Abort(RunOutcome outcome, const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (aborted_ || finished_) return;
    aborted_ = true;
    report_.outcome = outcome;
    report_.reason = reason;
    // The rollback waits for no confirmation still in flight.
    for (grpc::ClientContext* ctx : confirming_) ctx->TryCancel();
  }
  stop_commands_.Cancel();
  Emit(Event("abort", "", "", reason));
}

bool Runner::Aborted() {
  absl::MutexLock lock(&mu_);
  return aborted_;
}

bool Runner::WaitFor(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return aborted_; };
  return !mu_.AwaitWithTimeout(absl::Condition(&stop), d);
}

void Runner::SetStep(size_t index, StepState state, const std::string& detail) {
  absl::MutexLock lock(&mu_);
  StepRecord& rec = report_.steps[index];
  rec.state = state;
  if (!detail.empty()) rec.detail = detail;
  if (state == StepState::kRunning && rec.started_at == absl::InfinitePast()) {
    rec.started_at = absl::Now();
  }
  if (state == StepState::kDone || state == StepState::kFailed) rec.ended_at = absl::Now();
}

// Every agent that cannot run faults is named in the abort, not only the
// first, unless the run may lose them all (LoseUnavailable).
bool Runner::Preflight() {
  const std::vector<std::string> problems = DescribeAll();
  std::vector<std::string> failed;
  for (const std::string& p : problems) {
    if (!p.empty()) failed.push_back(p);
  }
  if (!failed.empty() && !MayLoseAny()) {
    Abort(RunOutcome::kUnavailable, absl::StrJoin(failed, "; "));
    return false;
  }
  return ResolveTargets() && LoseUnavailable(problems) && CheckAgentLimit() &&
         CheckCapabilities();
}

std::vector<std::string> Runner::DescribeAll() {
  std::vector<std::string> problems(agents_.size());
  const absl::Time began = absl::Now();
  base::FanOut(agents_.size(), options_.fan_out,
               [&](size_t i) { problems[i] = DescribeAgent(&agents_[i]); });
  preflight_took_ = absl::Now() - began;
  return problems;
}

bool Runner::MayLoseAny() const {
  for (const auto& [name, group] : experiment_.targets) {
    if (group.max_unavailable > 0) return true;
  }
  return false;
}

bool Runner::LoseUnavailable(const std::vector<std::string>& problems) {
  std::vector<std::string> failed;
  bool all_lost = true;
  for (size_t i = 0; i < agents_.size(); ++i) {
    if (problems[i].empty()) continue;
    failed.push_back(problems[i]);
    all_lost = all_lost && Lose(&agents_[i], "", problems[i]);
  }
  if (all_lost) return true;
  Abort(RunOutcome::kUnavailable, absl::StrJoin(failed, "; "));
  return false;
}

bool Runner::Lose(const Agent* agent, const std::string& step, const std::string& why) {
  {
    absl::MutexLock lock(&mu_);
    if (IsLost(agent->address)) return true;
    bool chosen = false;
    for (const auto& [name, agents] : groups_) {
      if (std::find(agents.begin(), agents.end(), agent) == agents.end()) continue;
      chosen = true;
      if (!GroupMayLose(name, agents)) return false;
    }
    if (!chosen) return false;  // an agent no group chose: nothing allows it
    report_.lost_agents.push_back({agent->address, step, why, absl::Now()});
    lost_.insert(agent->address);
  }
  Emit(Event("lost", step, agent->address, absl::StrCat(why, kLostEventSuffix)));
  return true;
}

void Runner::LoseOrFail(const Agent* agent, const std::string& step, const std::string& why) {
  if (!Lose(agent, step, why)) Abort(RunOutcome::kFailed, why);
}

bool Runner::IsLost(const std::string& address) { return lost_.contains(address); }

// The group's allowance, and never its last agent under `whenEmpty: fail`
// (a group left with no agent fails the run, as one that matched none).
bool Runner::GroupMayLose(const std::string& name, const std::vector<Agent*>& chosen) {
  const auto it = experiment_.targets.find(name);
  if (it == experiment_.targets.end()) return false;  // the implicit "all": no allowance
  const TargetGroup& group = it->second;
  size_t lost = 1;  // the one asked about
  for (const Agent* a : chosen) lost += IsLost(a->address) ? 1 : 0;
  return lost <= group.MayLose(chosen.size()) &&
         (lost < chosen.size() || !group.fail_when_empty);
}

std::string Runner::DescribeAgent(Agent* agent) {
  chaos::v1::DescribeResponse d;
  // The run's first call to the agent: its channel may be new, or waiting
  // to reconnect (a kept channel, rpc::ChannelCache); CallReconnecting
  // waits for either.
  grpc::Status s = rpc::CallReconnecting(
      std::min(options_.rpc_timeout, absl::Seconds(5)),
      [&](grpc::ClientContext* ctx) { return agent->stub->Describe(ctx, {}, &d); });
  if (!s.ok()) return absl::StrCat("cannot reach agent ", agent->address, ": ", rpc::StatusText(s));
  if (d.halted()) {
    return absl::StrCat("agent ", agent->address, " (", d.hostname(),
                        ") is halted; resume it first (chaosctl resume --agent ", agent->address,
                        ")");
  }
  agent->hostname = d.hostname();
  agent->labels.insert(d.labels().begin(), d.labels().end());
  if (auto it = options_.inventory_labels.find(agent->address);
      it != options_.inventory_labels.end()) {
    for (const auto& [k, v] : it->second) agent->labels[k] = v;
  }
  Emit(Event("preflight", "", agent->address,
             absl::StrCat("reached ", d.hostname(), " (", d.kernel(), ", agent ",
                          d.agent_version(), ")")));
  // Remember the capabilities for CheckCapabilities(), by the file's kind
  // names (camelCase; the agent reports snake_case).
  for (const auto& cap : d.capabilities()) {
    // The agent's kind is the FaultSpec field name; the file uses its JSON name.
    const auto* field = chaos::v1::FaultSpec::descriptor()->FindFieldByName(cap.kind());
    agent->capabilities[field == nullptr ? cap.kind() : field->json_name()] =
        cap.available() ? "" : cap.reason().empty() ? "unavailable" : cap.reason();
  }
  return "";
}

bool Runner::CheckAgentLimit() {
  if (options_.max_agents_per_run == 0) return true;
  std::set<std::string> touched;
  std::string groups;
  for (const auto& [name, chosen] : groups_) {
    const std::vector<Agent*> agents = AgentsOf(name);  // without the lost
    for (const Agent* a : agents) touched.insert(a->address);
    absl::StrAppend(&groups, groups.empty() ? "" : ", ", "group ", name, ": ", agents.size());
  }
  if (touched.size() <= options_.max_agents_per_run) return true;
  Abort(RunOutcome::kUnavailable,
        absl::StrCat("targets: the run would inject on ", touched.size(), " agents (", groups,
                     "), more than the controller's --max-agents-per-run ",
                     options_.max_agents_per_run, "; nothing was injected"));
  return false;
}

bool Runner::ResolveTargets() {
  std::mt19937_64 rng(options_.seed);
  auto describe = [](const TargetGroup& g) {
    std::string sel;
    for (const auto& [k, v] : g.selector) absl::StrAppend(&sel, sel.empty() ? "" : ",", k, "=", v);
    return sel.empty() ? std::string("*") : sel;
  };
  std::map<std::string, TargetGroup> groups = experiment_.targets;
  if (!groups.contains("all")) {
    TargetGroup all;
    all.name = "all";
    groups["all"] = all;
  }
  for (const auto& [name, group] : groups) {
    std::vector<Agent*> match;
    for (Agent& a : agents_) {
      if (group.Matches(a.labels)) match.push_back(&a);
    }
    const size_t want = group.Chosen(match.size());
    const std::string mode = ModeText(group);
    if (want < match.size()) {
      std::shuffle(match.begin(), match.end(), rng);
      match.resize(want);
      std::sort(match.begin(), match.end(),
                [](const Agent* a, const Agent* b) { return a->address < b->address; });
    }
    TargetResolution res;
    res.group = name;
    res.selector = describe(group);
    res.mode = mode;
    for (const Agent* a : match) res.agents.push_back(a->address);
    bool used = name == "all" && !experiment_.targets.contains("all") ? false : true;
    for (const Step& s : experiment_.method) {
      used |= s.fault && (s.target.empty() ? "all" : s.target) == name;
    }
    if (!used) continue;
    {
      absl::MutexLock lock(&mu_);
      report_.targets.push_back(res);
    }
    groups_[name] = match;
    Emit(Event("target", "", "",
               absl::StrCat("group ", name, " (", res.selector, ", ", mode, "): ",
                            match.empty() ? "no agent" : absl::StrJoin(res.agents, ", "))));
    if (match.empty() && group.fail_when_empty) {
      Abort(RunOutcome::kUnavailable,
            absl::StrCat("target group ", name, " (", res.selector, ") matched no agent"));
      return false;
    }
  }
  return true;
}

// An agent that cannot run a step's fault kind is lost when its groups
// allow it; otherwise the run stops before anything is injected.
bool Runner::CheckCapabilities() {
  for (const Step& step : experiment_.method) {
    if (!step.fault) continue;
    for (Agent* agent : AgentsOf(step.target)) {
      const std::string why = CapabilityProblem(*agent, step);
      if (why.empty() || Lose(agent, "", why)) continue;
      Abort(RunOutcome::kUnavailable, why);
      return false;
    }
  }
  return true;
}

std::string Runner::CapabilityProblem(const Agent& agent, const Step& step) {
  const std::string kind = FaultKindKey(*step.fault);
  auto it = agent.capabilities.find(kind);
  if (it == agent.capabilities.end()) {
    return absl::StrCat("agent ", agent.address, " does not know fault kind ", kind);
  }
  if (it->second.empty()) return "";
  return absl::StrCat("agent ", agent.address, " cannot run step ", step.id, " (", kind,
                      "): ", it->second);
}

std::vector<Runner::Agent*> Runner::AgentsOf(const std::string& group, Lost lost) {
  auto it = groups_.find(group.empty() ? "all" : group);
  if (it == groups_.end()) return {};
  std::vector<Agent*> agents;
  absl::MutexLock lock(&mu_);
  for (Agent* a : it->second) {
    const bool sent = lost == Lost::kSentAFault && faults_on_.contains(a->address);
    if (!IsLost(a->address) || sent) agents.push_back(a);
  }
  return agents;
}

void Runner::PrintPlan() {
  std::string plan = absl::StrCat("dry run: ", experiment_.name, ", seed ", options_.seed,
                                  ", about ", absl::FormatDuration(experiment_.PlannedDuration()));
  for (const Step& step : experiment_.method) {
    absl::StrAppend(&plan, "\n  step ", step.id, ": ", step.Kind());
    if (step.fault) {
      std::vector<std::string> addrs;
      for (Agent* a : AgentsOf(step.target)) addrs.push_back(a->address);
      absl::StrAppend(&plan, " for ", absl::FormatDuration(FromProto(step.fault->duration())),
                      " on ", addrs.empty() ? "no agent (skipped)" : absl::StrJoin(addrs, ", "));
    } else if (step.command) {
      absl::StrAppend(&plan, " ", absl::StrJoin(step.command->argv, " "));
      if (!step.target.empty()) absl::StrAppend(&plan, " on target group ", step.target);
    } else if (step.manual) {
      absl::StrAppend(&plan, " \"", step.manual->prompt, "\"");
    } else {
      absl::StrAppend(&plan, " ", absl::FormatDuration(step.wait));
    }
    if (!step.after.empty()) absl::StrAppend(&plan, " after ", absl::StrJoin(step.after, ", "));
    if (!step.during.empty()) absl::StrAppend(&plan, " during ", step.during);
    if (!step.until.empty()) absl::StrAppend(&plan, " until ", step.until, " ends");
  }
  absl::StrAppend(&plan, "\n  nothing was injected");
  Emit(Event("plan", "", "", plan));
}

ProbeResult Runner::Probe(const ProbeSpec& probe, const std::string& phase,
                          const base::CancelToken* cancel) {
  const absl::Time at = absl::Now();
  ProbeResult r = IsRemoteProbe(probe) ? RunRemoteProbe(probe, cancel) : RunProbe(probe, cancel);
  ProbeSample sample;
  sample.at = at;
  sample.probe = probe.name;
  sample.phase = phase;
  sample.ok = r.ok;
  sample.latency = r.latency;
  sample.detail = r.detail;
  {
    absl::MutexLock lock(&mu_);
    report_.probes.push_back(sample);
  }
  return r;
}

bool Runner::SteadyState(const std::vector<std::string>& probes, const std::string& phase) {
  for (const std::string& name : probes) {
    const ProbeSpec* probe = experiment_.FindProbe(name);
    ProbeResult r = Probe(*probe, phase, &stop_commands_);
    Emit(Event("probe", "", "",
               absl::StrCat(phase, ": ", name, r.ok ? " holds" : " FAILS", r.detail.empty() ? "" : ": ",
                            r.detail)));
    if (!r.ok) return false;
  }
  return true;
}

void Runner::GuardLoop() {
  struct State {
    const ProbeGuard* guard;
    const ProbeSpec* probe;
    absl::Time next;
    int failures = 0;
  };
  std::vector<State> guards;
  for (const ProbeGuard& g : experiment_.guards) {
    guards.push_back({&g, experiment_.FindProbe(g.probe), absl::Now()});
  }
  const absl::Time deadline = experiment_.max_duration
                                  ? report_.started_at + *experiment_.max_duration
                                  : absl::InfiniteFuture();
  for (;;) {
    absl::Time next = deadline;
    for (const State& s : guards) next = std::min(next, s.next);
    {
      absl::MutexLock lock(&mu_);
      auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return method_done_ || aborted_; };
      if (mu_.AwaitWithDeadline(absl::Condition(&done), next)) return;
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      Abort(RunOutcome::kFailed,
            absl::StrCat("guard maxDuration: the run exceeded ",
                         absl::FormatDuration(*experiment_.max_duration)));
      return;
    }
    for (State& s : guards) {
      if (now < s.next) continue;
      s.next = now + s.probe->interval;
      ProbeResult r = Probe(*s.probe, "guard", &stop_commands_);
      s.failures = r.ok ? 0 : s.failures + 1;
      if (!r.ok) {
        Emit(Event("probe", "", "",
                   absl::StrCat("guard ", s.probe->name, " failed (", s.failures, "/",
                                s.guard->failures, "): ", r.detail)));
      }
      if (s.failures >= s.guard->failures) {
        Abort(RunOutcome::kFailed,
              absl::StrCat("guard tripped: probe ", s.probe->name, " failed ", s.failures,
                           " times in a row (", r.detail, ")"));
        return;
      }
    }
  }
}

// Whether the watch should leave probe `p` to another loop now: the guard
// loop polls guard probes during the method, the recovery measurement polls
// recovery probes while it runs.
bool Runner::PolledElsewhere(const ProbeSpec& p) {
  const auto named = [&p](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), p.name) != names.end();
  };
  bool guard = false;
  for (const ProbeGuard& g : experiment_.guards) guard |= g.probe == p.name;
  absl::MutexLock lock(&mu_);
  return (guard && !method_done_ && !aborted_) ||
         (recovery_measuring_ && named(experiment_.recovery.probes));
}

void Runner::WatchLoop() {
  std::vector<std::pair<const ProbeSpec*, absl::Time>> watched;
  for (const ProbeSpec& p : experiment_.probes) watched.emplace_back(&p, absl::Now());
  for (;;) {
    absl::Time next = absl::InfiniteFuture();
    for (const auto& [probe, at] : watched) next = std::min(next, at);
    {
      absl::MutexLock lock(&mu_);
      auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return watch_done_; };
      if (mu_.AwaitWithDeadline(absl::Condition(&done), next)) return;
    }
    const absl::Time now = absl::Now();
    for (auto& [probe, at] : watched) {
      if (now < at) continue;
      at = now + probe->interval;
      if (!PolledElsewhere(*probe)) Probe(*probe, "watch");
    }
  }
}

void Runner::StopWatching() {
  {
    absl::MutexLock lock(&mu_);
    watch_done_ = true;
  }
  // A probe under way finishes (within its timeout): cut short, it would
  // record a failure that did not happen.
  if (watch_thread_.joinable()) watch_thread_.join();
}

// Injects on every target at once (options_.fan_out at a time), all
// starting at one planned start and ending at one planned end, both fixed
// before the first send (StartLead); holds; reverts them all at once. An
// inject that fails loses its agent when its groups allow it
// (the step goes on with the others); otherwise it aborts the run
// (Rollback() reverts what the others injected), each failing agent named.
void Runner::RunFaultStep(size_t index) {
  const Step& step = experiment_.method[index];
  const std::vector<Agent*> targets = AgentsOf(step.target);
  if (targets.empty()) {
    SetStep(index, StepState::kSkipped, "no agent matched its target group");
    MarkInjected(step.id);
    return;
  }
  const bool disaster = step.id == experiment_.drill.disaster;
  const absl::Duration lead = StartLead(targets.size());
  const absl::Time start = absl::Now() + lead;
  if (disaster) MarkDisaster(start);
  const absl::Time planned_end = start + FromProto(step.fault->duration());
  {
    absl::MutexLock lock(&mu_);
    if (lead > absl::ZeroDuration()) report_.steps[index].planned_start = start;
    report_.steps[index].planned_end = planned_end;
  }
  Emit(Event("window", step.id, "",
             absl::StrCat("sending to ", targets.size(), " agent(s), ",
                          std::min(targets.size(), std::max<size_t>(options_.fan_out, 1)),
                          " at once; ",
                          lead > absl::ZeroDuration()
                              ? absl::StrCat("planned start ", Rfc3339(start), ", ")
                              : "",
                          "planned end ", Rfc3339(planned_end))));
  auto sent = SendInjects(targets, index, start, planned_end);
  ConfirmStarts(targets, index, start, &sent);
  // Every fault sent, the failed ones too: one that timed out may have
  // landed, and a revert of one that did not is harmless.
  const std::vector<size_t> faults = JudgeInjects(targets, index, sent);
  if (Aborted()) return;
  const size_t acked = std::count_if(sent.begin(), sent.end(), [](const auto& o) {
    return o && o->error.empty();
  });
  StepRecord window;
  {
    absl::MutexLock lock(&mu_);
    window = report_.steps[index];
  }
  Emit(Event("window", step.id, "",
             absl::StrFormat("%s by %d agent(s) within %.1fms (first to last); "
                             "planned end %s",
                             lead > absl::ZeroDuration() ? "started" : "acknowledged",
                             acked, absl::ToDoubleMilliseconds(window.InjectSpread()),
                             Rfc3339(planned_end))));
  MarkInjected(step.id);
  if (disaster) StartDrillClock();
  HoldFault(step, planned_end);
  // At its planned end (or when its `until` step ends) a fault is reverted:
  // its normal end. When the run was stopped early, Rollback() handles
  // what remains.
  if (Aborted()) return;
  RevertAll(faults);
}

absl::StatusOr<absl::Duration> ParseStartLead(const std::string& text) {
  if (text == "auto") return absl::ZeroDuration();
  if (text == "off") return -absl::Nanoseconds(1);
  absl::StatusOr<absl::Duration> lead = experiments::ParseDuration(text);
  if (!lead.ok() || *lead < absl::Milliseconds(1) || *lead > absl::Minutes(5)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--start-lead ", text, ": must be auto, off or a duration from 1ms to 5m"));
  }
  return *lead;
}

absl::Duration Runner::StartLead(size_t targets) const {
  if (targets < 2 || options_.start_lead < absl::ZeroDuration()) return absl::ZeroDuration();
  if (options_.start_lead > absl::ZeroDuration()) return options_.start_lead;
  const double share = static_cast<double>(targets) / std::max<size_t>(agents_.size(), 1);
  return std::clamp(2 * share * preflight_took_, absl::Milliseconds(100), absl::Seconds(30));
}

std::vector<std::optional<Runner::InjectOutcome>> Runner::SendInjects(
    const std::vector<Agent*>& targets, size_t index, absl::Time start, absl::Time planned_end) {
  std::vector<std::optional<InjectOutcome>> sent(targets.size());
  // The first fan-out calls always go out together; one queued behind them
  // is not sent once the run is aborting.
  base::FanOut(targets.size(), options_.fan_out, [&](size_t i) {
    if (i >= options_.fan_out && Aborted()) return;
    if (Authorized(index)) sent[i] = InjectOn(targets[i], index, start, planned_end);
  });
  return sent;
}

bool Runner::Authorized(size_t index) {
  if (!options_.authority) return true;
  const absl::Status s = options_.authority();
  if (s.ok()) return true;
  Abort(RunOutcome::kFailed,
        absl::StrCat("step ", experiment_.method[index].id, ": not sent: ", s.message()));
  return false;
}

std::vector<size_t> Runner::JudgeInjects(const std::vector<Agent*>& targets, size_t index,
                                         const std::vector<std::optional<InjectOutcome>>& sent) {
  const Step& step = experiment_.method[index];
  std::vector<size_t> faults;
  std::vector<std::string> failed;
  bool beyond = false;  // a failure on an agent that could not be lost
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!sent[i]) continue;
    faults.push_back(sent[i]->fault);
    if (sent[i]->error.empty()) continue;
    failed.push_back(absl::StrCat(targets[i]->address, ": ", sent[i]->error));
    beyond |= !sent[i]->lost;
  }
  if (failed.empty()) return faults;
  const std::string why = absl::StrCat("inject failed on ", failed.size(), " of ", targets.size(),
                                       " agent(s)", beyond ? "" : ", lost (maxUnavailable)",
                                       ": ", absl::StrJoin(failed, "; "));
  if (!beyond) {
    SetStep(index, StepState::kRunning, why);
    return faults;
  }
  SetStep(index, StepState::kFailed, why);
  Abort(RunOutcome::kFailed, absl::StrCat("step ", step.id, ": ", why));
  absl::MutexLock lock(&mu_);
  // Every failing agent in the reason, not only the first to fail.
  if (absl::StartsWith(report_.reason, absl::StrCat("step ", step.id, ": inject failed"))) {
    report_.reason = absl::StrCat("step ", step.id, ": ", why);
  }
  return faults;
}

InjectWindow InjectWindowFor(absl::Time start, absl::Time planned_end, absl::Time sent) {
  if (start - sent >= absl::Milliseconds(1)) return {start - sent, planned_end - start};
  // Less than 1 ms before the start the remainder would exceed the window.
  const absl::Duration left = std::min(planned_end - sent, planned_end - start);
  return {absl::ZeroDuration(), std::max(left, absl::Milliseconds(1))};
}

Runner::InjectOutcome Runner::InjectOn(Agent* agent, size_t index, absl::Time start,
                                       absl::Time planned_end) {
  const Step& step = experiment_.method[index];
  chaos::v1::InjectRequest req;
  *req.mutable_spec() = *step.fault;
  req.mutable_spec()->set_fault_id(absl::StrCat(options_.run_id, ".", step.id));
  req.mutable_spec()->set_experiment_id(options_.run_id);
  req.set_caller(options_.caller);
  absl::Duration lease = options_.lease;
  if (experiment_.rollback == RollbackPolicy::kNever) {
    // Nothing will renew it after the run: hold for the fault's duration.
    lease = std::max(lease, FromProto(step.fault->duration()));
  }
  ToProto(lease, req.mutable_lease());
  const absl::Time sent = absl::Now();
  const InjectWindow window = InjectWindowFor(start, planned_end, sent);
  if (window.starts_in > absl::ZeroDuration()) ToProto(window.starts_in, req.mutable_starts_in());
  ToProto(window.ends_in, req.mutable_ends_in());
  size_t fault_index;
  {
    absl::MutexLock lock(&mu_);
    FaultRecord rec;
    rec.agent = agent->address;
    rec.step = step.id;
    rec.fault_id = req.spec().fault_id();
    rec.kind = FaultKindKey(*step.fault);
    rec.sent_at = sent;
    report_.faults.push_back(rec);  // recorded before the call: a timeout may still inject
    fault_index = report_.faults.size() - 1;
    faults_on_[agent->address].push_back(fault_index);
  }
  chaos::v1::InjectResponse resp;
  auto ctx = rpc::ContextWithTimeout(options_.rpc_timeout);
  grpc::Status s = agent->stub->Inject(ctx.get(), req, &resp);
  const absl::Time acked = absl::Now();
  if (options_.metrics) options_.metrics->ObserveInject(acked - sent);
  {
    absl::MutexLock lock(&mu_);
    report_.faults[fault_index].acked_at = acked;
  }
  InjectOutcome out;
  out.fault = fault_index;
  if (!s.ok()) {
    out.error = rpc::StatusText(s);
    out.lost = FailInject(agent, step.id, out.error);
    return out;
  }
  // The latest the agent may end it (the planned end plus the call's round
  // trip), and a second more: under `rollback: never` a renewal must not
  // lapse at that very instant.
  out.latest_end = planned_end + (acked - sent) + absl::Seconds(1);
  if (resp.status().state() == chaos::v1::FAULT_STATE_SCHEDULED) {
    out.scheduled = true;  // ConfirmStarts learns how the start went
    return out;
  }
  AcceptInject(agent, index, fault_index, resp.status(), acked, out.latest_end);
  return out;
}

void Runner::AcceptInject(Agent* agent, size_t index, size_t fault_index,
                          const chaos::v1::FaultStatus& status, absl::Time acked,
                          absl::Time latest_end) {
  {
    absl::MutexLock lock(&mu_);
    FaultRecord& rec = report_.faults[fault_index];
    rec.summary = status.summary();
    rec.injected_at = absl::FromUnixMillis(status.injected_at_unix_ms());
    rec.expires_at = absl::FromUnixMillis(status.expires_at_unix_ms());
    fault_ends_[fault_index] = latest_end;
    StepRecord& st = report_.steps[index];
    if (st.first_ack == absl::InfinitePast() || acked < st.first_ack) st.first_ack = acked;
    if (st.last_ack == absl::InfinitePast() || acked > st.last_ack) st.last_ack = acked;
  }
  MetricsHold(fault_index);
  Emit(Event("inject", experiment_.method[index].id, agent->address, status.summary()));
}

bool Runner::FailInject(Agent* agent, const std::string& step, const std::string& error) {
  Emit(Event("inject", step, agent->address, absl::StrCat("FAILED: ", error)));
  const bool lost = Lose(agent, step, absl::StrCat("inject failed: ", error));
  // Stops the injects not yet sent; the reason names every failure later.
  if (!lost) {
    Abort(RunOutcome::kFailed,
          absl::StrCat("step ", step, ": inject failed on ", agent->address, ": ", error));
  }
  return lost;
}

void Runner::ConfirmStarts(const std::vector<Agent*>& targets, size_t index, absl::Time start,
                           std::vector<std::optional<InjectOutcome>>* sent) {
  std::vector<size_t> scheduled;
  for (size_t i = 0; i < sent->size(); ++i) {
    if ((*sent)[i] && (*sent)[i]->scheduled) scheduled.push_back(i);
  }
  // An abort before the start: Rollback's reverts cancel the starts.
  if (scheduled.empty() || !WaitFor(start - absl::Now())) return;
  base::FanOut(scheduled.size(), options_.fan_out, [&](size_t k) {
    const size_t i = scheduled[k];
    ConfirmStart(targets[i], index, &*(*sent)[i]);
  });
}

void Runner::ConfirmStart(Agent* agent, size_t index, InjectOutcome* out) {
  std::string fault_id;
  {
    absl::MutexLock lock(&mu_);
    fault_id = report_.faults[out->fault].fault_id;
  }
  const absl::Time deadline = absl::Now() + options_.rpc_timeout;
  // 20 ms, doubling up to 320 ms: an agent that starts late (a host too
  // busy to wake its timer) is not asked again and again meanwhile.
  absl::Duration pause = absl::Milliseconds(20);
  for (;;) {
    auto ctx = rpc::ContextWithTimeout(options_.rpc_timeout);
    {
      absl::MutexLock lock(&mu_);
      if (aborted_) return;  // Rollback reverts it; no call competes with its reverts
      confirming_.insert(ctx.get());  // an abort cancels the call
    }
    chaos::v1::ListFaultsResponse resp;
    grpc::Status s = ListRunFaults(*agent->stub, options_.run_id, ctx.get(), &resp);
    const absl::Time asked = absl::Now();
    {
      absl::MutexLock lock(&mu_);
      confirming_.erase(ctx.get());
      if (aborted_) return;  // cancelled or not, nothing the agent did wrong
    }
    if (!s.ok()) {
      out->error = absl::StrCat("asking how its scheduled start went: ", rpc::StatusText(s));
      break;
    }
    const chaos::v1::FaultStatus* f = FindFault(resp, fault_id);
    if (f == nullptr) {
      out->error = "the agent no longer knows the scheduled fault (restarted before its start?)";
      break;
    }
    if (f->injected_at_unix_ms() > 0) {
      // Started: the agent's own stamp is when (its clock, not ours).
      AcceptInject(agent, index, out->fault, *f, absl::FromUnixMillis(f->injected_at_unix_ms()),
                   out->latest_end);
      return;
    }
    const bool waiting = f->state() == chaos::v1::FAULT_STATE_SCHEDULED ||
                         f->state() == chaos::v1::FAULT_STATE_INJECTING;
    if (!waiting) {
      out->error = f->reason();  // "not started: …" or "cancelled before its start: …"
      break;
    }
    if (asked >= deadline) {
      out->error = "not started within the RPC timeout after its planned start";
      break;
    }
    (void)WaitFor(pause);  // cut short by an abort
    pause = std::min(2 * pause, absl::Milliseconds(320));
  }
  out->lost = FailInject(agent, experiment_.method[index].id, out->error);
}

void Runner::RevertAll(const std::vector<size_t>& faults) {
  base::FanOut(faults.size(), options_.fan_out, [&](size_t i) { RevertFault(faults[i]); });
}

std::string CommandDetail(const base::CommandOutcome& out, absl::Duration timeout) {
  std::string last_line(absl::StripTrailingAsciiWhitespace(out.output));
  if (size_t nl = last_line.rfind('\n'); nl != std::string::npos) last_line = last_line.substr(nl + 1);
  return !out.error.empty() ? out.error
         : out.cancelled    ? std::string("cancelled: the run is stopping")
         : out.timed_out    ? absl::StrCat("timed out after ", absl::FormatDuration(timeout))
                            : absl::StrCat("exit ", out.exit_code, " after ",
                                           absl::FormatDuration(absl::Trunc(out.took, absl::Milliseconds(1))),
                                           last_line.empty() ? "" : ": ", last_line);
}

void Runner::RunCommandStep(size_t index) {
  const Step& step = experiment_.method[index];
  if (!step.command->target.empty()) {
    RunRemoteCommandStep(index);
    return;
  }
  Emit(Event("command", step.id, "", absl::StrJoin(step.command->argv, " ")));
  base::CommandOutcome out =
      base::RunCommand(step.command->argv, step.command->timeout, &stop_commands_);
  const std::string detail = CommandDetail(out, step.command->timeout);
  Emit(Event("command", step.id, "", detail));
  if (!out.ok()) {
    SetStep(index, StepState::kFailed, detail);
    Abort(RunOutcome::kFailed, absl::StrCat("step ", step.id, ": command failed: ", detail));
    return;
  }
  SetStep(index, StepState::kRunning, detail);
}

std::string Runner::GateHint(const std::string& step) const {
  if (options_.operator_fd >= 0) return "type y to confirm or n to fail";
  return absl::StrCat("confirm with `chaosctl gate confirm ", options_.run_id, " ", step,
                      "`, or fail it with `chaosctl gate fail ", options_.run_id, " ", step, "`");
}

absl::Status Runner::AnswerGate(const std::string& step, bool confirm, const std::string& who,
                                const std::string& reason) {
  absl::MutexLock lock(&mu_);
  bool known = false;
  for (const Step& s : experiment_.method) known |= s.id == step && s.manual.has_value();
  if (!known) {
    return absl::NotFoundError(absl::StrCat("step: run ", options_.run_id,
                                            " has no manual step \"", step, "\""));
  }
  if (finished_ || !waiting_gates_.contains(step)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "step: the gate \"", step, "\" is not waiting for an answer (not reached yet, "
        "already answered, or the run is ending)"));
  }
  waiting_gates_.erase(step);
  gate_answers_[step] = GateAnswer{confirm, who.empty() ? "an operator" : who, reason};
  return absl::OkStatus();
}

// Reads one line from the operator's terminal, if it has one ready; the
// answer when it is "y" or "n", nullopt otherwise. `closed` is set at EOF.
std::optional<Runner::GateAnswer> Runner::ReadTerminalAnswer(const std::string& step,
                                                              std::string* line, bool* closed) {
  pollfd pfd{options_.operator_fd, POLLIN, 0};
  if (poll(&pfd, 1, 100) <= 0) return std::nullopt;
  char c;
  if (read(options_.operator_fd, &c, 1) <= 0) {
    *closed = true;
    return std::nullopt;
  }
  if (c != '\n') {
    line->push_back(c);
    return std::nullopt;
  }
  const std::string answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*line));
  line->clear();
  if (answer == "y" || answer == "yes") return GateAnswer{true, "the operator", ""};
  if (answer == "n" || answer == "no" || answer == "fail") return GateAnswer{false, "the operator", ""};
  Emit(Event("manual", step, "", "answer y or n"));
  return std::nullopt;
}

// Waits for the gate's answer: from the terminal (when the run has one) or
// through AnswerGate(). nullopt when the run was aborted, the time ran out
// or the terminal closed (`closed` tells which).
std::optional<Runner::GateAnswer> Runner::AwaitGate(const std::string& step, absl::Time deadline,
                                                     bool* closed) {
  std::string line;
  auto answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return aborted_ || gate_answers_.contains(step);
  };
  while (absl::Now() < deadline && !*closed) {
    if (options_.operator_fd >= 0) {
      std::optional<GateAnswer> typed = ReadTerminalAnswer(step, &line, closed);
      absl::MutexLock lock(&mu_);
      if (typed && !gate_answers_.contains(step)) gate_answers_[step] = *typed;
      if (answered()) break;
    } else {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithDeadline(absl::Condition(&answered), deadline)) break;
    }
  }
  absl::MutexLock lock(&mu_);
  waiting_gates_.erase(step);
  auto it = gate_answers_.find(step);
  if (aborted_ || it == gate_answers_.end()) return std::nullopt;
  return it->second;
}

void Runner::RunManualStep(size_t index) {
  const Step& step = experiment_.method[index];
  {
    absl::MutexLock lock(&mu_);
    waiting_gates_.insert(step.id);
  }
  Emit(Event("manual", step.id, "",
             absl::StrCat(step.manual->prompt, " -- ", GateHint(step.id), " (timeout ",
                          absl::FormatDuration(step.manual->timeout), ")")));
  bool closed = false;
  const std::optional<GateAnswer> answer =
      AwaitGate(step.id, absl::Now() + step.manual->timeout, &closed);
  if (Aborted()) return;
  const std::string why = answer && !answer->reason.empty() ? ": " + answer->reason : "";
  if (answer && answer->confirm) {
    Emit(Event("manual", step.id, "", absl::StrCat("confirmed by ", answer->who, why)));
  } else if (answer) {
    SetStep(index, StepState::kFailed, absl::StrCat("failed by ", answer->who, why));
    Abort(RunOutcome::kFailed, absl::StrCat("step ", step.id, ": failed by ", answer->who, why));
  } else if (closed) {
    SetStep(index, StepState::kFailed, "no operator input (input closed)");
    Abort(RunOutcome::kFailed,
          absl::StrCat("step ", step.id, ": manual gate got no answer (input closed)"));
  } else {
    SetStep(index, StepState::kFailed, "no answer in time");
    Abort(RunOutcome::kFailed, absl::StrCat("step ", step.id, ": manual gate timed out"));
  }
}

bool Runner::RevertFault(size_t index) {
  FaultRecord rec;
  {
    absl::MutexLock lock(&mu_);
    rec = report_.faults[index];
    reverting_.insert(index);  // from here on, the fault ending is the run's doing
  }
  if (rec.reverted) return true;
  Agent* agent = by_address_.at(rec.agent);
  std::string error;
  for (int attempt = 1; attempt <= options_.revert_attempts; ++attempt) {
    chaos::v1::RevertResponse resp;
    grpc::Status s = RevertOnce(agent, rec, &resp);
    // NOT_FOUND for a fault whose inject never answered means it never
    // reached the agent; for one that was injected it is an error.
    const bool unknown = s.error_code() == grpc::StatusCode::NOT_FOUND && rec.summary.empty();
    if (s.ok() || unknown) {
      {
        absl::MutexLock lock(&mu_);
        FaultRecord& f = report_.faults[index];
        f.reverted = true;
        f.reverted_at = absl::Now();
        f.error.clear();
        // A scheduled start the run did not confirm (it was aborting) may
        // have started on the agent's own timer: the revert's answer says.
        if (f.summary.empty() && resp.status().injected_at_unix_ms() > 0) {
          f.summary = resp.status().summary();
          f.injected_at = absl::FromUnixMillis(resp.status().injected_at_unix_ms());
          f.expires_at = absl::FromUnixMillis(resp.status().expires_at_unix_ms());
        }
      }
      MetricsRelease(index);
      Emit(Event("revert", rec.step, rec.agent,
                 unknown ? "never reached the agent" : resp.status().reason()));
      return true;
    }
    error = rpc::StatusText(s);
    Emit(Event("revert", rec.step, rec.agent,
               absl::StrCat("attempt ", attempt, " failed: ", error)));
    if (attempt < options_.revert_attempts) {
      if (options_.metrics) options_.metrics->RevertRetryWaiting();
      absl::SleepFor(absl::Milliseconds(200 * attempt));
      if (options_.metrics) options_.metrics->RevertRetryStarted();
    }
  }
  if (options_.metrics) options_.metrics->RollbackFailed(RollbackPart::kRevert);
  absl::MutexLock lock(&mu_);
  report_.faults[index].error = error;
  return false;
}

grpc::Status Runner::RevertOnce(Agent* agent, const FaultRecord& rec,
                                chaos::v1::RevertResponse* resp) {
  chaos::v1::RevertRequest req;
  req.set_fault_id(rec.fault_id);
  req.set_caller(options_.caller);
  auto ctx = rpc::ContextWithTimeout(options_.rpc_timeout);
  const absl::Time sent = absl::Now();
  grpc::Status s = agent->stub->Revert(ctx.get(), req, resp);
  if (options_.metrics) options_.metrics->ObserveRevert(absl::Now() - sent);
  return s;
}

void Runner::MetricsHold(size_t index) {
  if (!options_.metrics) return;
  absl::MutexLock lock(&mu_);
  if (!metrics_held_.insert(index).second) return;
  options_.metrics->FaultInjected(report_.faults[index].kind, report_.faults[index].agent);
}

void Runner::MetricsRelease(size_t index) {
  if (!options_.metrics) return;
  absl::MutexLock lock(&mu_);
  if (metrics_held_.erase(index) == 0) return;
  options_.metrics->FaultReleased(report_.faults[index].kind, report_.faults[index].agent);
}

// The run has ended: what it still holds (a revert that failed, `rollback:
// never`) is no longer a live run's.
void Runner::MetricsReleaseAll() {
  if (!options_.metrics) return;
  absl::MutexLock lock(&mu_);
  for (size_t index : metrics_held_) {
    options_.metrics->FaultReleased(report_.faults[index].kind, report_.faults[index].agent);
  }
  metrics_held_.clear();
}

void Runner::Rollback() {
  // Newest first on each agent; the agents at once (options_.fan_out).
  std::map<std::string, std::vector<size_t>> by_agent;
  size_t count = 0;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = report_.faults.size(); i-- > 0;) {
      if (!report_.faults[i].reverted) {
        by_agent[report_.faults[i].agent].push_back(i);
        ++count;
      }
    }
  }
  if (count == 0) return;
  Emit(Event("rollback", "", "", absl::StrCat("reverting ", count, " fault(s)")));
  std::vector<const std::vector<size_t>*> orders;
  for (const auto& [agent, order] : by_agent) orders.push_back(&order);
  base::FanOut(orders.size(), options_.fan_out, [&](size_t a) {
    for (size_t i : *orders[a]) RevertFault(i);
  });
}

void Runner::CancelRollbackActions(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (!rollback_cancel_reason_.empty()) return;
    rollback_cancel_reason_ = reason;
  }
  stop_rollback_actions_.Cancel();
  Emit(Event("rollback", "", "", absl::StrCat("rollback actions cancelled: ", reason)));
}

void Runner::RollbackActions() {
  for (const CommandSpec& cmd : experiment_.rollback_actions) {
    std::string cancelled;
    {
      absl::MutexLock lock(&mu_);
      cancelled = rollback_cancel_reason_;
    }
    if (!cancelled.empty()) {
      absl::MutexLock lock(&mu_);
      report_.manual_undo.push_back(absl::StrCat(absl::StrJoin(cmd.argv, " "),
                                                 "    # rollback action not run: ", cancelled));
      continue;
    }
    if (!cmd.target.empty()) {
      RunRemoteRollbackAction(cmd, &cmd - experiment_.rollback_actions.data());
      continue;
    }
    Emit(Event("rollback", "", "", absl::StrCat("action: ", absl::StrJoin(cmd.argv, " "))));
    base::CommandOutcome out = base::RunCommand(cmd.argv, cmd.timeout, &stop_rollback_actions_);
    const bool ok = out.ok();
    const std::string detail = out.Summary();
    Emit(Event("rollback", "", "", absl::StrCat("action ", ok ? "done" : "FAILED", ": ", detail)));
    if (!ok) {
      if (options_.metrics) options_.metrics->RollbackFailed(RollbackPart::kAction);
      absl::MutexLock lock(&mu_);
      report_.manual_undo.push_back(absl::StrCat(absl::StrJoin(cmd.argv, " "),
                                                 "    # rollback action failed: ", detail));
    }
  }
}

// Asks every agent at once for the run's faults; what may still affect a
// host, or an agent the run touched that cannot be asked, is manual undo.
void Runner::Verify() {
  std::vector<grpc::Status> status(agents_.size());
  std::vector<chaos::v1::ListFaultsResponse> resp(agents_.size());
  base::FanOut(agents_.size(), options_.fan_out, [&](size_t i) {
    chaos::v1::ListFaultsRequest req;
    req.set_experiment_id(options_.run_id);
    auto ctx = rpc::ContextWithTimeout(options_.rpc_timeout);
    status[i] = agents_[i].stub->ListFaults(ctx.get(), req, &resp[i]);
  });
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < agents_.size(); ++i) {
    const std::string& address = agents_[i].address;
    if (!status[i].ok()) {
      if (!faults_on_.contains(address)) continue;  // sent nothing
      report_.manual_undo.push_back(absl::StrCat(
          "chaosctl faults --agent ", address, " --experiment ", options_.run_id,
          "    # could not verify: ", rpc::StatusText(status[i])));
      continue;
    }
    for (const auto& f : resp[i].faults()) {
      if (!MayAffectHost(f.state())) continue;
      report_.manual_undo.push_back(absl::StrCat("chaosctl revert --agent ", address, " ",
                                                 f.spec().fault_id(), "    # ", f.summary(),
                                                 f.reason().empty() ? "" : " -- " + f.reason()));
    }
  }
}

void Runner::MeasureRecovery() {
  const Recovery& rec = experiment_.recovery;
  absl::Time start;
  {
    absl::MutexLock lock(&mu_);
    if (!recovery_start_) return;  // its step never ended
    start = *recovery_start_;
    report_.recovery.measured = true;
    report_.recovery.from = experiment_.drill.present ? "disaster:" + experiment_.drill.disaster
                            : rec.from_step.empty()    ? "rollback"
                                                       : "step:" + rec.from_step;
    report_.recovery.started_at = start;
    report_.recovery.objective = rec.objective;
    recovery_measuring_ = true;
  }
  Emit(Event("recovery", "", "",
             absl::StrCat("waiting for ", absl::StrJoin(rec.probes, ", "), " to hold ",
                          rec.successes, " times in a row")));
  absl::Duration interval = absl::Seconds(1);
  for (const std::string& name : rec.probes) {
    interval = std::min(interval, experiment_.FindProbe(name)->interval);
  }
  std::map<std::string, std::optional<absl::Time>> streak_start;  // per probe
  std::optional<absl::Time> all_start;
  int streak = 0;
  const absl::Time deadline = start + rec.timeout;
  while (absl::Now() < deadline && !StopMeasuringRecovery()) {
    // In a drill, rounds before the restore starts only show the loss
    // (asked first: a round that counts starts after the restore).
    const bool counts = RestoreStarted();
    const absl::Time round = absl::Now();
    bool all_ok = counts;
    for (const std::string& name : rec.probes) {
      ProbeResult r = Probe(*experiment_.FindProbe(name), "recovery");
      if (r.ok && counts && !streak_start[name]) streak_start[name] = round;
      if (!r.ok) streak_start[name].reset();
      all_ok &= r.ok;
    }
    if (all_ok) NoteFirstProbeOk(round);
    if (all_ok) {
      if (streak++ == 0) all_start = round;
      if (streak >= rec.successes) {
        absl::MutexLock lock(&mu_);
        RecoveryResult& out = report_.recovery;
        out.recovered = true;
        out.ended_at = *all_start;
        out.time = *all_start - start;
        for (const auto& [name, t] : streak_start) out.per_probe[name] = *t - start;
        out.objective_met = !rec.objective || out.time <= *rec.objective;
        break;
      }
    } else {
      streak = 0;
    }
    absl::SleepFor(std::max(absl::ZeroDuration(), round + interval - absl::Now()));
  }
  RecoveryResult result;
  {
    absl::MutexLock lock(&mu_);
    recovery_measuring_ = false;
    result = report_.recovery;
    if (!result.recovered) {
      report_.recovery.ended_at = absl::Now();
      report_.recovery.objective_met = false;
    }
  }
  if (result.recovered) {
    Emit(Event("recovery", "", "",
               absl::StrCat("recovered in ", absl::FormatDuration(absl::Trunc(result.time, absl::Milliseconds(1))),
                            rec.objective ? absl::StrCat(" (objective ", absl::FormatDuration(*rec.objective),
                                                         result.objective_met ? ": met)" : ": MISSED)")
                                          : "")));
  } else if (StopMeasuringRecovery()) {
    Emit(Event("recovery", "", "", "stopped measuring: the run is stopping, not recovered"));
  } else {
    Emit(Event("recovery", "", "",
               absl::StrCat("NOT recovered within ", absl::FormatDuration(rec.timeout))));
  }
}

bool Runner::StopMeasuringRecovery() {
  absl::MutexLock lock(&mu_);
  return aborted_ && (experiment_.drill.present || report_.outcome == RunOutcome::kInterrupted);
}

void Runner::MarkInjected(const std::string& step) {
  absl::MutexLock lock(&mu_);
  injected_steps_.insert(step);
}

void Runner::HoldFault(const Step& step, absl::Time planned_end) {
  const std::optional<size_t> until = experiment_.StepIndex(step.until);
  if (!until) {
    WaitFor(planned_end - absl::Now());
    return;
  }
  const size_t index = *until;
  bool ended;
  {
    absl::MutexLock lock(&mu_);
    auto end = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      const StepState state = report_.steps[index].state;
      return aborted_ || state == StepState::kDone || state == StepState::kFailed ||
             state == StepState::kSkipped;
    };
    ended = mu_.AwaitWithDeadline(absl::Condition(&end), planned_end) && !aborted_;
  }
  if (ended) Emit(Event("step", step.id, "", absl::StrCat(step.until, " ended: reverting")));
}

// Starts measuring recovery from `start` (the end of a `from: STEP` step,
// or a drill's disaster), beside the rest of the method.
void Runner::StartRecoveryClock(absl::Time start) {
  {
    absl::MutexLock lock(&mu_);
    recovery_start_ = start;
  }
  recovery_thread_ = std::thread([this] { MeasureRecovery(); });
}

// A round every third of the lease, counted from the previous round's
// start. Each call's deadline is that third too (or --rpc-timeout when
// shorter): a stuck agent holds one fan-out thread for at most that long,
// and the others' renewals go on meanwhile.
void Runner::KeepAliveLoop() {
  const absl::Duration every = std::max(options_.lease / 3, absl::Milliseconds(100));
  const absl::Duration deadline = std::min(options_.rpc_timeout, every);
  absl::Time next = absl::Now() + every;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finished_; };
      if (mu_.AwaitWithDeadline(absl::Condition(&done), next)) return;
    }
    next = absl::Now() + every;
    base::FanOut(agents_.size(), options_.fan_out,
                 [&](size_t i) { KeepAliveOnce(&agents_[i], deadline); });
  }
}

std::vector<size_t> Runner::HeldFaults(const std::string& agent) {
  std::vector<size_t> held;
  const auto it = faults_on_.find(agent);
  if (it == faults_on_.end()) return held;
  for (size_t i : it->second) {
    const FaultRecord& f = report_.faults[i];
    if (!f.summary.empty() && !f.reverted && !reverting_.contains(i)) held.push_back(i);
  }
  return held;
}

// One renewal. The lease sent is --lease, or under `rollback: never` at
// least what remains of this agent's faults of the run, so a renewal never
// ends a fault before its duration. Fewer active faults than the run holds
// there means one ended behind the run's back: CheckLapsed() looks closer.
// A lost agent is not renewed: the run holds nothing there (a late inject
// ends with its lease, if the step's revert has not ended it).
void Runner::KeepAliveOnce(Agent* agent, absl::Duration deadline) {
  std::vector<size_t> held;
  absl::Duration lease = options_.lease;
  {
    absl::MutexLock lock(&mu_);
    if (IsLost(agent->address)) return;
    held = HeldFaults(agent->address);
    const absl::Time now = absl::Now();
    for (size_t i : held) {
      if (experiment_.rollback == RollbackPolicy::kNever) {
        lease = std::max(lease, fault_ends_[i] - now);
      }
    }
  }
  chaos::v1::KeepAliveRequest req;
  req.set_experiment_id(options_.run_id);
  ToProto(lease, req.mutable_lease());
  chaos::v1::KeepAliveResponse resp;
  auto ctx = rpc::ContextWithTimeout(deadline);
  const absl::Time sent = absl::Now();
  grpc::Status s = agent->stub->KeepAlive(ctx.get(), req, &resp);
  // NOT_FOUND: the agent holds no active fault of this run.
  const bool none = s.error_code() == grpc::StatusCode::NOT_FOUND;
  JournalKeepAliveReach(agent, s.ok() || none ? grpc::Status::OK : s);
  if (!s.ok() && !none) {  // unreachable now: the next round tries again
    LoseWhenLeaseLapsed(agent, held, s);
    return;
  }
  agent->renewed = sent;
  const size_t active = none ? 0 : resp.active_faults();
  if (active < held.size()) CheckLapsed(agent, held, deadline);
}

// Journals the first keep-alive that fails to reach an agent, and the
// first that reaches it again: the run goes on meanwhile (the agent's own
// lease is the backstop), but the operator sees the gap.
void Runner::JournalKeepAliveReach(Agent* agent, const grpc::Status& s) {
  if (s.ok() == !agent->keepalive_failing) return;
  agent->keepalive_failing = !s.ok();
  Emit(Event("lease", "", agent->address,
             s.ok() ? absl::StrCat("keep-alive reaches ", agent->address, " again")
                    : absl::StrCat("keep-alive to ", agent->address, " failed: ",
                                   rpc::StatusText(s), "; retrying each round")));
}

// Asks the agent for this run's faults; one of `held` that has ended
// before its duration, and that the run has not started to revert since,
// lapsed: the agent is lost when its groups allow it (Lose()), else the
// run fails.
void Runner::CheckLapsed(Agent* agent, const std::vector<size_t>& held,
                         absl::Duration deadline) {
  chaos::v1::ListFaultsResponse resp;
  if (!ListRunFaults(*agent->stub, options_.run_id, rpc::ContextWithTimeout(deadline).get(),
                     &resp).ok()) return;
  std::string lapsed;
  std::string step;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i : held) {
      const FaultRecord& rec = report_.faults[i];
      if (rec.reverted || reverting_.contains(i)) continue;
      const chaos::v1::FaultStatus* f = FindFault(resp, rec.fault_id);
      if (f == nullptr || IsActive(f->state())) continue;
      const bool elapsed =
          f->expires_at_unix_ms() > 0 && f->reverted_at_unix_ms() >= f->expires_at_unix_ms();
      if (!elapsed) {
        lapsed = absl::StrCat(EndedEarly(agent->address, *f), ": ", rec.fault_id, " (step ",
                              rec.step, ") is ", chaos::v1::FaultState_Name(f->state()), ": ",
                              f->reason());
        step = rec.step;
        break;
      }
    }
  }
  if (lapsed.empty()) return;
  Emit(Event("lease", "", agent->address, lapsed));
  LoseOrFail(agent, step, lapsed);
}

// The run fails at the lapse, not at the step's end: the step no longer
// holds what it declared. Under `rollback: never` the faults are meant to
// outlast the run's renewals: the lease there is no measure of them.
void Runner::LoseWhenLeaseLapsed(Agent* agent, const std::vector<size_t>& held,
                                 const grpc::Status& status) {
  if (held.empty() || experiment_.rollback == RollbackPolicy::kNever) return;
  absl::Time from = agent->renewed;
  std::string step;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i : held) from = std::max(from, report_.faults[i].sent_at);
    step = report_.faults[held.front()].step;
  }
  if (absl::Now() < from + options_.lease) return;
  const std::string why =
      absl::StrCat("lease lapsed on ", agent->address, ": no keep-alive reached it for the ",
                   absl::FormatDuration(options_.lease), " lease (last: ",
                   rpc::StatusText(status), "); its own timer ends the run's faults there");
  LoseOrFail(agent, step, why);
}

void Runner::RunStep(size_t index) {
  const Step& step = experiment_.method[index];
  {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (aborted_) return true;
      if (!step.during.empty() && !injected_steps_.contains(step.during)) return false;
      for (const std::string& a : step.after) {
        for (size_t j = 0; j < experiment_.method.size(); ++j) {
          const StepState st = report_.steps[j].state;
          if (experiment_.method[j].id == a && st != StepState::kDone &&
              st != StepState::kSkipped) {
            return false;
          }
        }
      }
      return true;
    };
    mu_.Await(absl::Condition(&ready));
    if (aborted_) return;
  }
  SetStep(index, StepState::kRunning, "");
  Emit(Event("step", step.id, "", "started"));
  if (step.fault) {
    RunFaultStep(index);
  } else if (step.command) {
    RunCommandStep(index);
  } else if (step.manual) {
    RunManualStep(index);
  } else {
    WaitFor(step.wait);
  }
  bool ended_normally;
  {
    absl::MutexLock lock(&mu_);
    ended_normally = report_.steps[index].state == StepState::kRunning && !aborted_;
  }
  if (ended_normally && step.id == experiment_.drill.backup) {
    RecordBackupSize();
    ended_normally = RecordBackupDigest();
  }
  if (ended_normally) {
    SetStep(index, StepState::kDone, "");
    Emit(Event("step", step.id, "", "ended"));
    if (experiment_.recovery.present && experiment_.recovery.from_step == step.id) {
      StartRecoveryClock(absl::Now());
    }
  } else {
    Emit(Event("step", step.id, "", "stopped"));
  }
}

// Runs the steps, each on its own thread as soon as its `after` steps end,
// with keep-alives and guards beside them; then rolls back as the
// experiment says. Returns whether faults were reverted.
bool Runner::RunMethodAndRollback() {
  std::thread guards([this] { GuardLoop(); });
  watch_thread_ = std::thread([this] { WatchLoop(); });
  if (experiment_.drill.canary) canary_thread_ = std::thread([this] { CanaryLoop(); });
  AwaitFirstCanary();  // on failure the run is aborted: no step starts
  std::vector<std::thread> threads;
  for (size_t i = 0; i < experiment_.method.size(); ++i) {
    threads.emplace_back([this, i] { RunStep(i); });
  }
  for (auto& t : threads) t.join();
  {
    absl::MutexLock lock(&mu_);
    method_done_ = true;
  }
  guards.join();
  const bool aborted = Aborted();
  const bool revert = experiment_.rollback != RollbackPolicy::kNever || !aborted;
  if (revert) {
    Rollback();
    Verify();
  }
  if (experiment_.rollback == RollbackPolicy::kAlways ||
      (experiment_.rollback == RollbackPolicy::kOnAbort && aborted)) {
    RollbackActions();
  }
  return revert;
}

// Measures recovery, then judges the hypothesis: recovered in time, within
// the objective, steady state after.
void Runner::JudgeAfterMethod() {
  if (experiment_.recovery.present && experiment_.recovery.from_step.empty() &&
      !experiment_.drill.present) {
    {
      absl::MutexLock lock(&mu_);
      recovery_start_ = absl::Now();
    }
    MeasureRecovery();
  }
  if (recovery_thread_.joinable()) recovery_thread_.join();  // from: STEP, or a drill
  if (canary_thread_.joinable()) canary_thread_.join();
  StopWatching();
  RecordDrillPhases();
  if (Aborted()) return;
  RecoveryResult recovery;
  {
    absl::MutexLock lock(&mu_);
    recovery = report_.recovery;
  }
  if (experiment_.recovery.present && !recovery.recovered) {
    Abort(RunOutcome::kFailed, "the system did not recover in time");
  } else if (!recovery.objective_met) {
    Abort(RunOutcome::kFailed,
          absl::StrCat("recovery took ", absl::FormatDuration(recovery.time),
                       ", over the objective of ",
                       absl::FormatDuration(*experiment_.recovery.objective)));
  } else if (experiment_.drill.present && !JudgeDrill()) {
    return;
  } else if (!SteadyState(experiment_.steady_after, "steady-state-after")) {
    Abort(RunOutcome::kFailed, "hypothesis not met: steady state does not hold after the method");
  }
}

// The method with everything around it, once preflight and the steady
// state before have passed.
void Runner::RunExperiment() {
  std::thread keepalives([this] { KeepAliveLoop(); });
  const bool reverted = RunMethodAndRollback();
  JudgeAfterMethod();
  {
    absl::MutexLock lock(&mu_);
    finished_ = true;  // stops the keep-alives; Abort() is a no-op from here
  }
  keepalives.join();
  absl::MutexLock lock(&mu_);
  const bool any = !report_.faults.empty();
  report_.rollback = !any        ? RollbackState::kNotNeeded
                     : !reverted ? RollbackState::kSkipped
                                 : RollbackState::kComplete;
}

// Lists every fault left in place with the command that undoes it; any
// makes the run's outcome "rollback incomplete".
void Runner::ListManualUndo() {
  for (const FaultRecord& f : report_.faults) {
    if (!f.reverted && report_.rollback != RollbackState::kSkipped) {
      const std::string cmd = absl::StrCat("chaosctl revert --agent ", f.agent, " ", f.fault_id);
      bool listed = false;
      for (const std::string& m : report_.manual_undo) listed |= absl::StartsWith(m, cmd + " ");
      if (!listed) report_.manual_undo.push_back(absl::StrCat(cmd, "    # ", f.error));
    }
  }
  std::sort(report_.manual_undo.begin(), report_.manual_undo.end());
  report_.manual_undo.erase(std::unique(report_.manual_undo.begin(), report_.manual_undo.end()),
                            report_.manual_undo.end());
  if (!report_.manual_undo.empty()) {
    report_.outcome = RunOutcome::kRollbackIncomplete;
    report_.rollback = RollbackState::kIncomplete;
    if (report_.reason.empty()) report_.reason = "some faults could not be reverted";
  }
}

RunReport Runner::Run() {
  {
    absl::MutexLock lock(&mu_);
    report_.started_at = absl::Now();
  }
  Emit(Event("run", "", "",
             absl::StrCat("run ", options_.run_id, " of ", experiment_.name, " on ",
                          agents_.size(), " agent(s), seed ", options_.seed)));
  if (agents_.empty()) {
    Abort(RunOutcome::kUnavailable, "no agent given (use --agent HOST:PORT or --agents FILE)");
  } else if (Preflight()) {
    if (options_.dry_run) {
      PrintPlan();
    } else if (!SteadyState(experiment_.steady_before, "steady-state-before")) {
      Abort(RunOutcome::kFailed, "steady state does not hold before the method: nothing injected");
    } else {
      RunExperiment();
    }
  }
  MetricsReleaseAll();
  absl::MutexLock lock(&mu_);
  finished_ = true;
  report_.ended_at = absl::Now();
  ListManualUndo();
  return report_;
}

}  // namespace chaos::controller
