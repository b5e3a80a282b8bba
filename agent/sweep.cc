#include "agent/sweep.h"

#include <dirent.h>
#include <signal.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/audit.h"
#include "faults/disk_fill.h"
#include "faults/netem.h"
#include "faults/partition.h"
#include "faults/process.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {
namespace {

using faults::Leftover;

// Kills orphaned tagged processes; one Leftover per process found.
std::vector<Leftover> KillOrphanedProcesses() {
  std::vector<Leftover> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
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
    absl::Status s = faults::SignalProcess(info->id, SIGKILL);
    if (absl::IsNotFound(s)) continue;  // it ended on its own meanwhile
    out.push_back({absl::StrCat(info->comm, " pid ", pid, " (orphaned)"), s});
  }
  return out;
}

// Logs, audits and counts each item of one sweep.
void Journal(const char* kind, const char* verb, const std::vector<Leftover>& items,
             SweepResult* result) {
  for (const Leftover& item : items) {
    if (item.removed.ok()) {
      spdlog::warn("sweep: {} leftover {}", verb, item.item);
      AuditSweep(kind, item.item, verb);
      ++result->removed;
    } else {
      spdlog::error("sweep: leftover {} {} could not be removed: {}", kind, item.item,
                    item.removed.ToString());
      AuditSweep(kind, item.item, absl::StrCat("failed: ", item.removed.message()));
      ++result->failed;
    }
  }
}

}  // namespace

SweepKeep KeepFromRecords(const std::vector<chaos::v1::LedgerRecord>& live) {
  SweepKeep keep;
  for (const chaos::v1::LedgerRecord& r : live) {
    const auto& spec = r.status().spec();
    const auto& undo = r.undo();
    auto value = [&](const std::string& key) {
      auto it = undo.find(key);
      return it == undo.end() ? std::string() : it->second;
    };
    if (spec.has_disk_fill() && !value("path").empty()) keep.fill_paths.insert(value("path"));
    if (spec.has_partition() && !value("table").empty()) keep.nft_tables.insert(value("table"));
    int ifindex = 0;
    if (spec.has_netem() && absl::SimpleAtoi(value("ifindex"), &ifindex)) {
      keep.netem_ifindexes.insert(ifindex);
    }
  }
  return keep;
}

SweepResult SweepLeftovers(const std::vector<std::string>& fill_roots, const SweepKeep& keep) {
  SweepResult result;
  Journal("process", "killed", KillOrphanedProcesses(), &result);
  Journal("disk_fill", "removed", faults::RemoveLeftoverFills(fill_roots, keep.fill_paths),
          &result);
  Journal("netem", "removed", faults::RemoveLeftoverNetem(keep.netem_ifindexes), &result);
  Journal("partition", "removed", faults::RemoveLeftoverPartitions(keep.nft_tables), &result);
  return result;
}

}  // namespace chaos::agent
