#include "agent/command_table.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace chaos::agent {

void CommandSwitch::Stop(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (reason_.empty()) reason_ = reason.empty() ? "stopped" : reason;
  }
  token_.Cancel();
}

std::string CommandSwitch::reason() const {
  absl::MutexLock lock(&mu_);
  return reason_;
}

absl::Status CommandTable::Add(RunningCommand command) {
  absl::MutexLock lock(&mu_);
  if (!closed_.ok()) return closed_;
  if (running_.contains(command.command_id)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "command_id: command ", command.command_id, " is running on this agent already"));
  }
  if (running_.size() >= max_running_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the agent already runs ", running_.size(), " commands (max_running_commands)"));
  }
  const std::string id = command.command_id;
  running_.emplace(id, std::move(command));
  return absl::OkStatus();
}

void CommandTable::Remove(const std::string& command_id) {
  absl::MutexLock lock(&mu_);
  running_.erase(command_id);
}

std::vector<std::string> CommandTable::Stop(const Predicate& pred, const std::string& reason,
                                            absl::Duration wait) {
  std::vector<std::string> ids;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, command] : running_) {
    if (!pred(command)) continue;
    command.stop->Stop(reason);
    ids.push_back(id);
  }
  auto ended = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::none_of(ids.begin(), ids.end(),
                        [&](const std::string& id) { return running_.contains(id); });
  };
  mu_.AwaitWithTimeout(absl::Condition(&ended), wait);
  return ids;  // a map's order: sorted
}

void CommandTable::Close(absl::Status why, bool for_good) {
  absl::MutexLock lock(&mu_);
  if (closed_for_good_) return;
  closed_ = std::move(why);
  closed_for_good_ = for_good;
}

void CommandTable::Reopen() {
  absl::MutexLock lock(&mu_);
  if (!closed_for_good_) closed_ = absl::OkStatus();
}

size_t CommandTable::Count(const std::string& experiment_id) {
  absl::MutexLock lock(&mu_);
  if (experiment_id.empty()) return running_.size();
  return std::count_if(running_.begin(), running_.end(), [&](const auto& entry) {
    return entry.second.experiment_id == experiment_id;
  });
}

std::vector<std::string> CommandTable::Experiments() {
  absl::MutexLock lock(&mu_);
  std::set<std::string> experiments;
  for (const auto& [id, command] : running_) experiments.insert(command.experiment_id);
  return {experiments.begin(), experiments.end()};
}

}  // namespace chaos::agent
