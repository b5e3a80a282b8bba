#include "agent/lease_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace chaos::agent {

absl::Time LeaseTable::Hold(const std::string& experiment, absl::Duration length,
                            absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = leases_.try_emplace(experiment);
  if (inserted || it->second.deadline < now + length) it->second = {now + length, length};
  return it->second.deadline;
}

absl::StatusOr<absl::Time> LeaseTable::Renew(const std::string& experiment,
                                             absl::Duration length, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(experiment);
  if (it == leases_.end()) {
    return absl::NotFoundError(absl::StrCat("experiment ", experiment, " holds no lease"));
  }
  if (it->second.deadline <= now) {
    return absl::FailedPreconditionError(
        absl::StrCat("the lease of experiment ", experiment, " lapsed at ",
                     absl::FormatTime(it->second.deadline), "; its faults are being reverted"));
  }
  if (length > absl::ZeroDuration()) it->second.length = length;
  it->second.deadline = now + it->second.length;
  return it->second.deadline;
}

std::optional<absl::Time> LeaseTable::Deadline(const std::string& experiment) {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(experiment);
  if (it == leases_.end()) return std::nullopt;
  return it->second.deadline;
}

std::vector<std::string> LeaseTable::Lapsed(absl::Time now) {
  std::vector<std::string> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [experiment, lease] : leases_) {
    if (lease.deadline <= now) out.push_back(experiment);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void LeaseTable::DropIfLapsed(const std::string& experiment, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(experiment);
  if (it != leases_.end() && it->second.deadline <= now) leases_.erase(it);
}

size_t LeaseTable::size() {
  absl::MutexLock lock(&mu_);
  return leases_.size();
}

}  // namespace chaos::agent
