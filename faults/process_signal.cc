#include "faults/process_signal.h"

#include <signal.h>

#include <algorithm>
#include <memory>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "re2/re2.h"
#include "base/paths.h"

namespace chaos::faults {
namespace {

constexpr int kMaxSignal = 64;  // SIGRTMAX on Linux

uint64_t ChooseSeed(uint64_t seed) {
  if (seed != 0) return seed;
  return absl::Uniform<uint64_t>(absl::BitGen(), 1, ~uint64_t{0});
}

std::string FormatHits(const std::vector<ProcessHit>& hits) {
  return absl::StrJoin(hits, ", ", [](std::string* out, const ProcessHit& h) {
    absl::StrAppend(out, h.comm.empty() ? "?" : h.comm, "[", h.id.pid, "]");
  });
}

// Why a process may not be signalled, or "" when it may.
std::string ProtectedReason(const ProcessInfo& info, const std::set<pid_t>& self_and_ancestors,
                            const std::vector<std::string>& protected_names) {
  if (info.id.pid == 1) return "pid 1 is never signalled";
  if (info.kernel_thread || info.id.pid == 2 || info.ppid == 2) return "it is a kernel thread";
  if (self_and_ancestors.count(info.id.pid) > 0) {
    return "it is the agent or one of its ancestors";
  }
  if (std::find(protected_names.begin(), protected_names.end(), info.comm) !=
      protected_names.end()) {
    return absl::StrCat("its name \"", info.comm, "\" is in protected_names");
  }
  if (info.state == 'Z' || info.state == 'X') return "it is a zombie";
  return "";
}

std::set<pid_t> SelfAndAncestors(ProcessOs& os) {
  std::set<pid_t> out;
  pid_t pid = os.SelfPid();
  while (pid > 1 && out.insert(pid).second) {
    auto info = os.ReadStat(pid);
    if (!info.ok()) break;
    pid = info->ppid;
  }
  return out;
}

// The pid a pidfile holds (its first line). NOT_FOUND when the file is
// missing, FAILED_PRECONDITION when unreadable, INVALID_ARGUMENT when its
// first line is not a pid > 1.
absl::StatusOr<pid_t> ReadPidfile(ProcessOs& os, const std::string& pidfile,
                                  const std::string& field) {
  auto text = os.ReadSmallFile(pidfile);
  if (!text.ok()) {
    const auto code = absl::IsNotFound(text.status()) ? absl::StatusCode::kNotFound
                                                      : absl::StatusCode::kFailedPrecondition;
    return absl::Status(code, absl::StrCat(field, ": cannot read: ", text.status().message()));
  }
  const absl::string_view body = absl::StripLeadingAsciiWhitespace(*text);
  const std::string first(absl::StripAsciiWhitespace(body.substr(0, body.find('\n'))));
  pid_t pid = 0;
  if (!absl::SimpleAtoi(first, &pid) || pid <= 1) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", pidfile,
                                                   " does not hold a pid > 1 (first line \"",
                                                   first.substr(0, 32), "\")"));
  }
  return pid;
}

// The one process a pid or pidfile selector names; PERMISSION_DENIED when it
// is protected (an explicit target is never skipped silently).
absl::StatusOr<ProcessInfo> MatchPid(ProcessOs& os, const ProcessSelector& sel,
                                     const std::set<pid_t>& self,
                                     const std::vector<std::string>& protected_names,
                                     const std::string& prefix) {
  pid_t pid = sel.pid;
  std::string field = absl::StrCat(prefix, ".pid");
  if (!sel.pidfile.empty()) {
    field = absl::StrCat(prefix, ".pidfile");
    ASSIGN_OR_RETURN(pid, ReadPidfile(os, sel.pidfile, field));
  }
  auto info = os.ReadInfo(pid);
  if (!info.ok()) return absl::NotFoundError(absl::StrCat(field, ": no process with pid ", pid));
  const std::string why = ProtectedReason(*info, self, protected_names);
  if (!why.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat(field, ": refusing to signal ", info->comm, "[", pid, "]: ", why));
  }
  return *std::move(info);
}

// Every signallable process a name or cmdline_regex selector matches, by
// pid; protected matches are counted in *skipped. NOT_FOUND when none.
absl::StatusOr<std::vector<ProcessInfo>> MatchAll(ProcessOs& os, const ProcessSelector& sel,
                                                  const std::set<pid_t>& self,
                                                  const std::vector<std::string>& protected_names,
                                                  const std::string& prefix, size_t* skipped) {
  std::unique_ptr<RE2> re;
  if (!sel.cmdline_regex.empty()) re = std::make_unique<RE2>(sel.cmdline_regex, RE2::Quiet);
  ASSIGN_OR_RETURN(std::vector<pid_t> pids, os.ListPids());
  std::sort(pids.begin(), pids.end());
  std::vector<ProcessInfo> matches;
  for (pid_t pid : pids) {
    auto info = os.ReadInfo(pid);
    if (!info.ok()) continue;  // exited meanwhile
    const bool match = re ? RE2::PartialMatch(info->cmdline, *re) : info->comm == sel.name;
    if (!match) continue;
    if (!ProtectedReason(*info, self, protected_names).empty()) {
      ++*skipped;
      continue;
    }
    matches.push_back(*std::move(info));
  }
  if (matches.empty()) {
    const std::string field = absl::StrCat(prefix, re ? ".cmdline_regex" : ".name");
    return absl::NotFoundError(absl::StrCat(
        field, ": no signallable process matches \"", re ? sel.cmdline_regex : sel.name, "\"",
        *skipped > 0 ? absl::StrCat(" (", *skipped, " protected matches skipped)") : ""));
  }
  return matches;
}

// count or percent of the matches, chosen by `rng`, sorted by pid.
std::vector<ProcessInfo> ChooseSome(std::vector<ProcessInfo> matches, const ProcessSelector& sel,
                                    std::mt19937_64& rng) {
  size_t n = matches.size();
  if (sel.count != 0) n = std::min<size_t>(n, sel.count);
  if (sel.percent != 0) n = std::max<size_t>(1, (matches.size() * sel.percent + 99) / 100);
  // Partial Fisher-Yates with our own index arithmetic, so a seed gives the
  // same choice with any standard library.
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i + static_cast<size_t>(rng() % (matches.size() - i));
    std::swap(matches[i], matches[j]);
  }
  matches.resize(n);
  std::sort(matches.begin(), matches.end(),
            [](const ProcessInfo& a, const ProcessInfo& b) { return a.id.pid < b.id.pid; });
  return matches;
}

}  // namespace

absl::Status ProcessSelector::Validate(const std::string& prefix) const {
  const int set = (pid != 0) + !name.empty() + !cmdline_regex.empty() + !pidfile.empty();
  if (set == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, ": set exactly one of pid, name, cmdline_regex, pidfile (none is set)"));
  }
  if (set > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, ": set exactly one of pid, name, cmdline_regex, pidfile (", set, " are set)"));
  }
  if (pid < 0 || pid == 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ".pid: must be > 1, got ", pid));
  }
  if (name.size() > 15) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, ".name: a process name (comm) has at most 15 characters, got ",
        name.size()));
  }
  if (!cmdline_regex.empty()) {
    RE2 re(cmdline_regex, RE2::Quiet);
    if (!re.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, ".cmdline_regex: does not compile: ", re.error()));
    }
  }
  if (!pidfile.empty()) {
    if (pidfile[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, ".pidfile: must be an absolute path, got \"", pidfile, "\""));
    }
    if (base::HasDotDot(pidfile)) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, ".pidfile: must not contain \"..\", got \"", pidfile, "\""));
    }
  }
  if (count != 0 && percent != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ".count: set count or percent, not both"));
  }
  if (percent > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ".percent: must be 1..100, got ", percent));
  }
  return absl::OkStatus();
}

absl::Status ProcessKillParams::Validate() const {
  RETURN_IF_ERROR(target.Validate("process_kill.target"));
  if (signal < 1 || signal > kMaxSignal) {
    return absl::InvalidArgumentError(absl::StrCat(
        "process_kill.signal: unknown signal ", signal, " (want 1..", kMaxSignal, ")"));
  }
  if (interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("process_kill.interval: must not be negative");
  }
  if (interval > absl::ZeroDuration() && interval < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "process_kill.interval: at least 10ms, got ", absl::FormatDuration(interval)));
  }
  if (interval > absl::ZeroDuration() && duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "process_kill.interval: repeating needs the fault's duration (> 0)");
  }
  return absl::OkStatus();
}

absl::Status ProcessPauseParams::Validate() const {
  return target.Validate("process_pause.target");
}

absl::StatusOr<Selection> SelectProcesses(ProcessOs& os, const ProcessSelector& sel,
                                          const std::vector<std::string>& protected_names,
                                          const std::string& prefix, std::mt19937_64& rng) {
  RETURN_IF_ERROR(sel.Validate(prefix));
  const std::set<pid_t> self = SelfAndAncestors(os);
  Selection out;
  std::vector<ProcessInfo> matches;
  if (sel.pid != 0 || !sel.pidfile.empty()) {
    ASSIGN_OR_RETURN(ProcessInfo one, MatchPid(os, sel, self, protected_names, prefix));
    matches.push_back(std::move(one));
  } else {
    ASSIGN_OR_RETURN(matches, MatchAll(os, sel, self, protected_names, prefix,
                                       &out.skipped_protected));
  }
  out.matched = matches.size();
  out.chosen = ChooseSome(std::move(matches), sel, rng);
  if (sel.max_chosen != 0 && out.chosen.size() > sel.max_chosen) {
    return absl::PermissionDeniedError(absl::StrCat(
        prefix, ": selector matches ", out.matched, " processes and would signal ",
        out.chosen.size(), ", cap is ", sel.max_chosen, " per fault"));
  }
  return out;
}

// ---------------------------------------------------------------- kill

ProcessKill::ProcessKill(ProcessKillParams params, ProcessOs& os)
    : params_(std::move(params)), os_(os) {}

ProcessKill::~ProcessKill() { StopRepeat(); }

absl::Status ProcessKill::Round() {
  ASSIGN_OR_RETURN(Selection sel, SelectProcesses(os_, params_.target, params_.protected_names,
                                                  "process_kill.target", rng_));
  std::vector<ProcessHit> hit;
  absl::Status error;
  for (const ProcessInfo& p : sel.chosen) {
    absl::Status s = os_.Signal(p.id, params_.signal);
    if (s.ok()) {
      hit.push_back({p.id, p.comm});
    } else if (!absl::IsNotFound(s) && error.ok()) {
      error = s;  // exited meanwhile is fine; anything else is reported
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++rounds_;
  hits_.insert(hits_.end(), hit.begin(), hit.end());
  if (!error.ok()) {
    return absl::Status(error.code(),
                        absl::StrCat("process_kill: ", error.message(),
                                     hit.empty() ? "" : " (already signalled: ",
                                     FormatHits(hit), hit.empty() ? "" : ")"));
  }
  if (hit.empty()) {
    return absl::NotFoundError("process_kill.target: every chosen process exited first");
  }
  return absl::OkStatus();
}

absl::Status ProcessKill::Inject(const UndoRecorder& record) {
  RETURN_IF_ERROR(params_.Validate());
  seed_ = ChooseSeed(params_.target.seed);
  rng_.seed(seed_);
  RETURN_IF_ERROR(record({{"seed", absl::StrCat(seed_)}}));
  RETURN_IF_ERROR(Round());
  reverted_ = false;
  if (params_.interval > absl::ZeroDuration()) {
    const absl::Time end = absl::Now() + params_.duration;
    stop_ = false;
    repeater_ = std::thread([this, end] { RepeatLoop(end); });
  }
  return absl::OkStatus();
}

void ProcessKill::RepeatLoop(absl::Time end) {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      const absl::Time next = std::min(end, absl::Now() + params_.interval);
      cv_.wait_for(lock, absl::ToChronoNanoseconds(next - absl::Now()),
                   [&] { return stop_; });
      if (stop_ || absl::Now() >= end) return;
    }
    absl::Status s = Round();
    if (!s.ok() && !absl::IsNotFound(s)) {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = std::string(s.message());
    }
  }
}

void ProcessKill::StopRepeat() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (repeater_.joinable()) repeater_.join();
}

absl::Status ProcessKill::Revert() {
  // A signal cannot be taken back; reverting ends the repetition.
  StopRepeat();
  reverted_ = true;
  return absl::OkStatus();
}

absl::Status ProcessKill::Adopt(const UndoState& undo) {
  ASSIGN_OR_RETURN(const std::string seed, UndoValue(undo, "process_kill", "seed"));
  if (!absl::SimpleAtoi(seed, &seed_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("process_kill undo state: bad seed \"", seed, "\""));
  }
  // The repeat thread died with the process that recorded this; nothing
  // else of a kill can be undone.
  return absl::OkStatus();
}

std::vector<ProcessHit> ProcessKill::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

int ProcessKill::rounds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rounds_;
}

FaultStatus ProcessKill::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  FaultStatus s;
  std::vector<pid_t> pids;
  for (const ProcessHit& h : hits_) pids.push_back(h.id.pid);
  s.summary = absl::StrCat("signal ", params_.signal, " sent to ", hits_.size(),
                           " process(es) in ", rounds_, " round(s): ", FormatHits(hits_));
  s.details["pids"] = absl::StrJoin(pids, ",");
  s.details["processes"] = FormatHits(hits_);
  s.details["signal"] = absl::StrCat(params_.signal);
  s.details["seed"] = absl::StrCat(seed_);
  s.details["rounds"] = absl::StrCat(rounds_);
  if (!last_error_.empty()) s.details["last_error"] = last_error_;
  return s;
}

// ---------------------------------------------------------------- pause

ProcessPause::ProcessPause(ProcessPauseParams params, ProcessOs& os)
    : params_(std::move(params)), os_(os) {}

ProcessPause::~ProcessPause() = default;

absl::Status ProcessPause::Inject(const UndoRecorder& record) {
  RETURN_IF_ERROR(params_.Validate());
  seed_ = ChooseSeed(params_.target.seed);
  std::mt19937_64 rng(seed_);
  ASSIGN_OR_RETURN(Selection sel, SelectProcesses(os_, params_.target, params_.protected_names,
                                                  "process_pause.target", rng));
  stopped_.clear();
  resumed_ = 0;
  absl::Status status;
  for (const ProcessInfo& p : sel.chosen) {
    // A process someone else stopped stays theirs: we would resume it.
    if (p.state == 'T' || p.state == 't') continue;
    std::vector<ProcessId> ids;
    for (const ProcessHit& h : stopped_) ids.push_back(h.id);
    ids.push_back(p.id);
    status = record({{"stopped", FormatProcessIds(ids)}, {"seed", absl::StrCat(seed_)}});
    if (!status.ok()) break;
    absl::Status s = os_.Signal(p.id, SIGSTOP);
    if (s.ok()) {
      stopped_.push_back({p.id, p.comm});
      paused_.push_back({p.id, p.comm});
    } else if (!absl::IsNotFound(s)) {
      status = s;
      break;
    }
  }
  if (status.ok() && stopped_.empty()) {
    status = absl::NotFoundError(
        "process_pause.target: no chosen process could be stopped (all exited or were "
        "already stopped)");
  }
  if (!status.ok()) {
    (void)Revert();  // resume what was stopped: the host as it was
    stopped_.clear();
    paused_.clear();
    return status;
  }
  reverted_ = false;
  return absl::OkStatus();
}

absl::Status ProcessPause::Revert() {
  absl::Status first_error;
  std::vector<ProcessHit> left;
  for (const ProcessHit& h : stopped_) {
    absl::Status s = os_.Signal(h.id, SIGCONT);
    if (s.ok() || absl::IsNotFound(s)) {
      ++resumed_;
    } else {
      left.push_back(h);
      if (first_error.ok()) first_error = s;
    }
  }
  stopped_ = std::move(left);
  reverted_ = first_error.ok();
  return first_error;
}

absl::Status ProcessPause::Adopt(const UndoState& undo) {
  ASSIGN_OR_RETURN(const std::string stopped, UndoValue(undo, "process_pause", "stopped"));
  ASSIGN_OR_RETURN(std::vector<ProcessId> ids, ParseProcessIds(stopped));
  stopped_.clear();
  for (const ProcessId& id : ids) stopped_.push_back({id, ""});
  paused_ = stopped_;
  return absl::OkStatus();
}

FaultStatus ProcessPause::Status() const {
  FaultStatus s;
  std::vector<pid_t> pids;
  for (const ProcessHit& h : paused_) pids.push_back(h.id.pid);
  s.summary = reverted_ ? absl::StrCat("resumed ", resumed_, " process(es): ",
                                       FormatHits(paused_))
                        : absl::StrCat("stopped ", stopped_.size(),
                                       " process(es): ", FormatHits(stopped_));
  s.details["pids"] = absl::StrJoin(pids, ",");
  s.details["processes"] = FormatHits(paused_);
  s.details["seed"] = absl::StrCat(seed_);
  s.details["resumed"] = absl::StrCat(resumed_);
  return s;
}

}  // namespace chaos::faults
