#include "controller/cli/progress.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controller/report/format.h"

namespace chaos::controller {
using report_format::Secs;

Progress::Progress(const Experiment& experiment, FILE* out, bool tty)
    : out_(out), tty_(tty), planned_(experiment.PlannedDuration()) {
  start_ = absl::Now();
  for (const Step& s : experiment.method) {
    step_order_.push_back(s.id);
    step_state_[s.id] = "pending";
  }
  if (tty_) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() { Stop(); }

void Progress::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
    if (tty_) std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
  }
  if (thread_.joinable()) thread_.join();
}

void Progress::Loop() {
  absl::MutexLock lock(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Milliseconds(200))) Redraw();
}

void Progress::Redraw() {
  const absl::Time now = absl::Now();
  const absl::Duration elapsed = now - start_;
  std::string line = absl::StrCat("[", Secs(elapsed), " / ~", Secs(planned_), "]");
  for (const std::string& id : step_order_) {
    const std::string& st = step_state_[id];
    absl::StrAppend(&line, "  ", id, ": ", st);
    if (st == "running") absl::StrAppend(&line, " ", Secs(now - step_start_[id]));
  }
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
}

void Progress::OnEvent(const JournalEvent& event) {
  absl::MutexLock lock(&mu_);
  if (event.type == "run") start_ = event.at;
  if (event.type == "step") {
    step_state_[event.step] = event.message == "started" ? "running"
                              : event.message == "ended" ? "done"
                                                         : "stopped";
    if (event.message == "started") step_start_[event.step] = event.at;
  }
  if (stop_) return;
  std::string line = absl::StrCat(
      absl::FormatTime("%H:%M:%E3S", event.at, absl::LocalTimeZone()), " ", event.type);
  if (!event.step.empty()) absl::StrAppend(&line, " [", event.step, "]");
  if (!event.agent.empty()) absl::StrAppend(&line, " ", event.agent);
  absl::StrAppend(&line, ": ", event.message);
  std::fprintf(out_, "%s%s\n", tty_ ? "\r\033[K" : "", line.c_str());
  if (tty_) Redraw();
  std::fflush(out_);
}

}  // namespace chaos::controller
