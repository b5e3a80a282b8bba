#include "agent/sweep.h"

#include <dirent.h>
#include <signal.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "faults/process.h"

namespace chaos::agent {

std::vector<std::string> SweepOrphanedProcesses() {
  std::vector<std::string> killed;
  DIR* d = opendir("/proc");
  if (d == nullptr) return killed;
  std::vector<pid_t> pids;
  while (dirent* e = readdir(d)) {
    pid_t pid;
    if (absl::SimpleAtoi(e->d_name, &pid)) pids.push_back(pid);
  }
  closedir(d);
  for (pid_t pid : pids) {
    auto info = faults::ReadProcessInfo(pid);
    if (!info.ok() || (info->comm != "chaos-burn" && info->comm != "chaos-mem")) continue;
    if (info->state == 'Z') continue;
    // Only orphans, reparented to init: a tagged process with a live parent
    // belongs to that parent (another agent, or a test using faults/).
    if (info->ppid != 1) continue;
    if (faults::SignalProcess(info->id, SIGKILL).ok()) {
      killed.push_back(absl::StrCat(info->comm, " pid ", pid, " (orphaned)"));
    }
  }
  return killed;
}

}  // namespace chaos::agent
