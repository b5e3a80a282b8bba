#include "controller/server/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "controller/server/cron.h"
#include "controller/server/request_limits.h"
#include "experiments/experiment.h"
#include "base/ids.h"
#include "base/status_macros.h"
#include "spdlog/spdlog.h"

namespace chaos::controller {
namespace {

absl::Status WithField(const std::string& field, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(field, ": ", s.message()));
}

absl::Status Validate(const chaos::v1::Schedule& s) {
  RETURN_IF_ERROR(base::ValidateId("name", s.name(), base::kNameRule));
  if (s.cron().empty()) return absl::InvalidArgumentError("cron: required");
  RETURN_IF_ERROR(CronSpec::Parse(s.cron()).status());  // "cron: ..." already
  RETURN_IF_ERROR(LoadZone(s.time_zone(), "time_zone").status());
  if (s.experiment_yaml().empty()) return absl::InvalidArgumentError("experiment_yaml: required");
  experiments::Diagnostics diags;
  if (!experiments::ParseExperiment(s.experiment_yaml(), &diags)) {
    std::string text = diags.Format("experiment_yaml");
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return absl::InvalidArgumentError(text);
  }
  for (int i = 0; i < s.blackouts_size(); ++i) {
    const auto& b = s.blackouts(i);
    if (!b.days().empty()) {
      RETURN_IF_ERROR(WithField(absl::StrCat("blackouts[", i, "].days"),
                                ParseCronField("day-of-week", b.days()).status()));
    }
    if (!b.hours().empty()) {
      RETURN_IF_ERROR(WithField(absl::StrCat("blackouts[", i, "].hours"),
                                ParseCronField("hour", b.hours()).status()));
    }
  }
  return absl::OkStatus();
}

// How late a firing may still start.
absl::Duration StartingDeadline(const chaos::v1::Schedule& s) {
  return absl::Seconds(s.starting_deadline_seconds() ? s.starting_deadline_seconds() : 60);
}

// Whether a start that failed was recorded since `fire_ms` (the claimer
// recorded the outcome, then stopped before clearing its claim).
bool FailureRecorded(const std::vector<chaos::v1::ScheduleEvent>& events, int64_t fire_ms) {
  return std::any_of(events.begin(), events.end(), [&](const chaos::v1::ScheduleEvent& e) {
    return e.kind() == "failed" && e.at_unix_ms() >= fire_ms;
  });
}

std::string Fmt(absl::Time t, absl::TimeZone tz) {
  return absl::FormatTime("%Y-%m-%d %H:%M %Z", t, tz);
}

// The stored schedule as ListSchedules shows it.
absl::StatusOr<chaos::v1::Schedule> Decorate(HistoryStore& history,
                                             const HistoryStore::StoredSchedule& st,
                                             absl::Time now) {
  chaos::v1::Schedule s = st.schedule;
  auto spec = CronSpec::Parse(s.cron());
  auto tz = LoadZone(s.time_zone(), "time_zone");
  if (spec.ok() && tz.ok()) {
    const absl::Time from = std::max(absl::FromUnixMillis(st.considered_until_ms), now);
    auto next = spec->Next(from, *tz);
    if (next.ok()) s.set_next_fire_unix_ms(absl::ToUnixMillis(*next));
  }
  ASSIGN_OR_RETURN(std::vector<chaos::v1::ScheduleEvent> events,
                   history.ListScheduleEvents(s.name(), 20));
  for (auto& e : events) *s.add_recent_events() = std::move(e);
  return s;
}

}  // namespace

absl::StatusOr<std::vector<chaos::v1::Schedule>> ListSchedules(HistoryStore& history,
                                                               absl::Time now) {
  ASSIGN_OR_RETURN(auto stored, history.ListSchedules());
  std::vector<chaos::v1::Schedule> out;
  for (const auto& st : stored) {
    ASSIGN_OR_RETURN(chaos::v1::Schedule s, Decorate(history, st, now));
    out.push_back(std::move(s));
  }
  return out;
}

bool InBlackout(const chaos::v1::Schedule& s, absl::Time t) {
  absl::TimeZone tz = LoadZone(s.time_zone(), "time_zone").value_or(absl::UTCTimeZone());
  const absl::CivilSecond local = tz.At(t).cs;
  const int wd = (static_cast<int>(absl::GetWeekday(absl::CivilDay(local))) + 1) % 7;  // Sun = 0
  for (const auto& b : s.blackouts()) {
    auto days = ParseCronField("day-of-week", b.days().empty() ? "*" : b.days());
    auto hours = ParseCronField("hour", b.hours().empty() ? "*" : b.hours());
    if (!days.ok() || !hours.ok()) continue;
    if ((*days)[wd] && (*hours)[local.hour()]) return true;
  }
  return false;
}

Scheduler::Scheduler(HistoryStore* history, RunLauncher* launcher, Clock* clock,
                     ControllerMetrics* metrics)
    : history_(history), launcher_(launcher), clock_(clock), metrics_(metrics) {}

Scheduler::~Scheduler() { Stop(); }

absl::StatusOr<chaos::v1::Schedule> Scheduler::Create(chaos::v1::Schedule schedule) {
  RETURN_IF_ERROR(Validate(schedule));
  RETURN_IF_ERROR(launcher_->Check(schedule));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::vector<HistoryStore::StoredSchedule> existing, history_->ListSchedules());
  if (existing.size() >= kMaxSchedules) {
    return absl::ResourceExhaustedError(absl::StrCat("schedules: the controller holds ",
                                                     existing.size(),
                                                     " schedules, its limit; delete one first"));
  }
  const absl::Time now = clock_->Now();
  schedule.set_created_at_unix_ms(absl::ToUnixMillis(now));
  schedule.clear_last_run_id();
  schedule.clear_next_fire_unix_ms();
  schedule.clear_recent_events();
  RETURN_IF_ERROR(history_->InsertSchedule(schedule, absl::ToUnixMillis(now)));
  return Decorate(*history_, {schedule, absl::ToUnixMillis(now)}, now);
}

absl::StatusOr<std::vector<chaos::v1::Schedule>> Scheduler::List() {
  absl::MutexLock lock(&mu_);
  return ListSchedules(*history_, clock_->Now());
}

absl::StatusOr<chaos::v1::Schedule> Scheduler::SetPaused(const std::string& name, bool paused) {
  RETURN_IF_ERROR(base::ValidateId("name", name, base::kNameRule));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(HistoryStore::StoredSchedule st, history_->GetSchedule(name));
  if (st.schedule.paused() != paused) {
    HistoryStore::StoredSchedule next = st;
    next.schedule.set_paused(paused);
    // Firings while paused are not made up for on resume.
    next.considered_until_ms = absl::ToUnixMillis(clock_->Now());
    RETURN_IF_ERROR(history_->SwapSchedule(st, next));
    st = std::move(next);
    Record(name, clock_->Now(), paused ? "paused" : "resumed", "", "");
  }
  return Decorate(*history_, st, clock_->Now());
}

absl::Status Scheduler::Delete(const std::string& name) {
  RETURN_IF_ERROR(base::ValidateId("name", name, base::kNameRule));
  absl::MutexLock lock(&mu_);
  return history_->DeleteSchedule(name);
}

void Scheduler::Record(const std::string& name, absl::Time at, const std::string& kind,
                       const std::string& run_id, const std::string& message) {
  chaos::v1::ScheduleEvent e;
  e.set_at_unix_ms(absl::ToUnixMillis(at));
  e.set_kind(kind);
  e.set_run_id(run_id);
  e.set_message(message);
  absl::Status s = history_->AppendScheduleEvent(name, e);
  if (!s.ok()) spdlog::error("schedule {}: cannot record {}: {}", name, kind, s.ToString());
  spdlog::info("schedule {}: {} {} {}", name, kind, run_id, message);
}

void Scheduler::CountSkip(SkipReason reason, uint64_t firings) {
  if (metrics_) metrics_->ScheduleSkipped(reason, firings);
}

void Scheduler::Tick() {
  absl::MutexLock lock(&mu_);
  auto stored = history_->ListSchedules();
  if (!stored.ok()) {
    spdlog::error("scheduler: {}", stored.status().ToString());
    return;
  }
  const absl::Time now = clock_->Now();
  for (auto& st : *stored) TickOne(std::move(st), now);
}

// A claim left by a controller that stopped between claiming a firing and
// recording its outcome: the run it started (a run of this schedule that
// started at or after the firing) is recorded "started" unless it already
// is; without one the firing is recorded "missed". Either way the claim is
// cleared; false when it cannot be (the tick stops there).
bool Scheduler::SettleClaim(HistoryStore::StoredSchedule& st, absl::Time now) {
  const std::string& name = st.schedule.name();
  const absl::TimeZone tz =
      LoadZone(st.schedule.time_zone(), "time_zone").value_or(absl::UTCTimeZone());
  const std::string fire = Fmt(absl::FromUnixMillis(st.claimed_fire_ms), tz);
  RunFilter filter;
  filter.schedule = name;
  filter.limit = 20;
  auto runs = history_->ListRuns(filter);
  auto events = history_->ListScheduleEvents(name, 50);
  if (!runs.ok() || !events.ok()) {
    spdlog::error("schedule {}: settle the claim of {}: {}", name, fire,
                  (runs.ok() ? events.status() : runs.status()).ToString());
    return false;
  }
  const chaos::v1::Run* started = nullptr;
  for (const chaos::v1::Run& r : *runs) {
    if (r.started_at_unix_ms() >= st.claimed_fire_ms && r.run_id() != st.schedule.last_run_id()) {
      started = &r;
    }
  }
  HistoryStore::StoredSchedule settled = st;
  settled.claimed_fire_ms = 0;
  if (started != nullptr) {
    settled.schedule.set_last_run_id(started->run_id());
    const bool recorded = std::any_of(events->begin(), events->end(), [&](const auto& e) {
      return e.kind() == "started" && e.run_id() == started->run_id();
    });
    if (!recorded) {
      Record(name, now, "started", started->run_id(),
             absl::StrCat("firing at ", fire,
                          " (recorded late: the controller that started it stopped first)"));
    }
  } else if (!FailureRecorded(*events, st.claimed_fire_ms)) {
    // Nothing of it ran: a run is recorded before anything is injected,
    // and a deposed leader's record is fenced. Started now, it starts once.
    const absl::Time at = absl::FromUnixMillis(st.claimed_fire_ms);
    if (now - at <= StartingDeadline(st.schedule)) {
      StartClaimed(st, at, tz, now, " (claimed by a controller that stopped before starting it)");
      return false;
    }
    CountSkip(SkipReason::kMissed);
    Record(name, now, "missed", "",
           absl::StrCat("firing at ", fire,
                        " was claimed by a controller that stopped before starting it, and is ",
                        absl::FormatDuration(now - at), " late, beyond the starting deadline"));
  }
  if (!Swap(st, settled)) return false;
  st = std::move(settled);
  return true;
}

bool Scheduler::Swap(const HistoryStore::StoredSchedule& read,
                     const HistoryStore::StoredSchedule& next) {
  absl::Status s = history_->SwapSchedule(read, next);
  if (s.ok()) return true;
  // ABORTED: another controller handled it; fenced: this one no longer leads.
  spdlog::warn("schedule {}: {}", next.schedule.name(), s.ToString());
  return false;
}

void Scheduler::TickOne(HistoryStore::StoredSchedule st, absl::Time now) {
  if (st.claimed_fire_ms != 0 && !SettleClaim(st, now)) return;
  const chaos::v1::Schedule& s = st.schedule;
  const absl::Time considered = absl::FromUnixMillis(st.considered_until_ms);
  if (now <= considered) return;
  auto spec = CronSpec::Parse(s.cron());
  auto tz = LoadZone(s.time_zone(), "time_zone");
  if (!spec.ok() || !tz.ok()) return;  // validated at creation
  HistoryStore::StoredSchedule next = st;
  next.considered_until_ms = absl::ToUnixMillis(now);
  if (s.paused()) {
    (void)Swap(st, next);
    return;
  }
  std::vector<absl::Time> due;
  for (auto t = spec->Next(considered, *tz); t.ok() && *t <= now; t = spec->Next(*t, *tz)) {
    due.push_back(*t);
    if (due.size() > 100000) break;
  }
  if (due.empty()) return;
  const absl::Time fire = due.back();
  const absl::Duration deadline = StartingDeadline(s);
  const bool late = now - fire > deadline;
  const bool blackout = !late && InBlackout(s, fire);
  const bool busy = !late && !blackout &&
                    s.concurrency_policy() != chaos::v1::CONCURRENCY_POLICY_ALLOW &&
                    !s.last_run_id().empty() && launcher_->IsActive(s.last_run_id());
  const bool start = !late && !blackout && !busy;
  // The claim: these firings are this controller's to handle, and a start
  // is marked claimed until its outcome is recorded. Nothing happens
  // without it, so no firing is handled twice.
  if (start) next.claimed_fire_ms = absl::ToUnixMillis(fire);
  if (!Swap(st, next)) return;
  if (due.size() > 1) {
    CountSkip(SkipReason::kMissed, due.size() - 1);
    Record(s.name(), now, "missed", "",
           absl::StrCat(due.size() - 1, " firing(s) from ", Fmt(due.front(), *tz), " to ",
                        Fmt(due[due.size() - 2], *tz), " passed while the controller was down"));
  }
  if (late) {
    CountSkip(SkipReason::kMissed);
    Record(s.name(), now, "missed", "",
           absl::StrCat("firing at ", Fmt(fire, *tz), " is ", absl::FormatDuration(now - fire),
                        " late, beyond the starting deadline of ",
                        absl::FormatDuration(deadline)));
  } else if (blackout) {
    CountSkip(SkipReason::kBlackout);
    Record(s.name(), now, "blackout", "",
           absl::StrCat("firing at ", Fmt(fire, *tz), " falls in a blackout window"));
  } else if (busy) {
    CountSkip(SkipReason::kConcurrency);
    Record(s.name(), now, "skipped", s.last_run_id(),
           absl::StrCat("firing at ", Fmt(fire, *tz), " skipped: previous run ", s.last_run_id(),
                        " is still running (concurrency policy forbid)"));
  } else {
    StartClaimed(std::move(next), fire, *tz, now);
  }
}

// Starts the claimed firing, records the outcome, then clears the claim.
void Scheduler::StartClaimed(HistoryStore::StoredSchedule claimed, absl::Time fire,
                             absl::TimeZone tz, absl::Time now, const std::string& note) {
  const std::string name = claimed.schedule.name();
  HistoryStore::StoredSchedule done = claimed;
  done.claimed_fire_ms = 0;
  auto id = launcher_->Launch(claimed.schedule);
  if (id.ok()) {
    if (metrics_) metrics_->ScheduleFired();
    done.schedule.set_last_run_id(*id);
    Record(name, now, "started", *id, absl::StrCat("firing at ", Fmt(fire, tz), note));
    if (done.schedule.history_limit() > 0) {
      auto pruned =
          history_->PruneScheduleRuns(name, static_cast<int>(done.schedule.history_limit()));
      if (!pruned.ok()) spdlog::error("schedule {}: prune: {}", name, pruned.status().ToString());
    }
  } else {
    CountSkip(SkipReason::kFailed);
    Record(name, now, "failed", "",
           absl::StrCat("firing at ", Fmt(fire, tz), ": ", id.status().ToString()));
  }
  (void)Swap(claimed, done);
}

void Scheduler::Start(absl::Duration every) {
  thread_ = std::thread([this, every] {
    for (;;) {
      {
        absl::MutexLock lock(&stop_mu_);
        auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stop_mu_) { return stop_; };
        if (stop_mu_.AwaitWithTimeout(absl::Condition(&stopped), every)) return;
      }
      Tick();
    }
  });
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace chaos::controller
