// Progress: shows a run as it happens. On a terminal, events scroll above a
// status line redrawn several times a second (elapsed, time left, each
// step's state); elsewhere, one timestamped line per event.
#ifndef CHAOS_CONTROLLER_PROGRESS_H_
#define CHAOS_CONTROLLER_PROGRESS_H_

#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "controller/engine/runner.h"

namespace chaos::controller {

class Progress final : public RunObserver {
 public:
  // Writes to `out`; `tty` selects the live status line.
  Progress(const Experiment& experiment, FILE* out, bool tty);
  ~Progress() override;  // stops the redraw thread and clears the line

  void OnEvent(const JournalEvent& event) override;
  void Stop();

 private:
  void Redraw() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  FILE* const out_;
  const bool tty_;
  const absl::Duration planned_;
  std::vector<std::string> step_order_;
  absl::Mutex mu_;
  absl::Time start_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> step_state_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> step_start_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_PROGRESS_H_
