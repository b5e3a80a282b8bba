#include "agent/sweep.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

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

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  DIR* d = opendir("/proc");
  if (d == nullptr) return pids;
  while (dirent* e = readdir(d)) {
    pid_t pid;
    if (absl::SimpleAtoi(e->d_name, &pid)) pids.push_back(pid);
  }
  closedir(d);
  return pids;
}

// Kills orphaned tagged processes; one Leftover per process found.
std::vector<Leftover> KillOrphanedProcesses() {
  std::vector<Leftover> out;
  for (pid_t pid : AllPids()) {
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

std::optional<pid_t> OtherRunningCopy() {
  struct stat self;
  if (stat("/proc/self/exe", &self) != 0) return std::nullopt;
  for (pid_t pid : AllPids()) {
    struct stat other;
    if (pid == getpid() || stat(absl::StrCat("/proc/", pid, "/exe").c_str(), &other) != 0) {
      continue;
    }
    if (other.st_dev == self.st_dev && other.st_ino == self.st_ino) return pid;
  }
  return std::nullopt;
}

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
  if (const std::optional<pid_t> other = OtherRunningCopy()) {
    // Its fills, qdiscs and tables look exactly like leftovers; removing
    // them would end its faults early. Only the orphan sweep is safe.
    const std::string why = absl::StrCat("another copy of this agent runs as pid ", *other);
    spdlog::warn("sweep: fills, qdiscs and nftables tables not swept: {}", why);
    AuditSweep("all", "fills, qdiscs, nftables tables", absl::StrCat("skipped: ", why));
    result.skipped = true;
    return result;
  }
  Journal("disk_fill", "removed", faults::RemoveLeftoverFills(fill_roots, keep.fill_paths),
          &result);
  Journal("netem", "removed", faults::RemoveLeftoverNetem(keep.netem_ifindexes), &result);
  Journal("partition", "removed", faults::RemoveLeftoverPartitions(keep.nft_tables), &result);
  return result;
}

}  // namespace chaos::agent
