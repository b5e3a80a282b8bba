#include "agent/scheduled_starts.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"

namespace chaos::agent {

using chaos::v1::FaultStatus;

FaultStatus ScheduledStarts::Scheduled(const Start& start) {
  FaultStatus s;
  *s.mutable_spec() = start.request.spec();
  s.set_state(chaos::v1::FAULT_STATE_SCHEDULED);
  s.set_starts_at_unix_ms(absl::ToUnixMillis(start.start_at));
  s.set_expires_at_unix_ms(absl::ToUnixMillis(start.ends_at));
  s.set_summary(absl::StrCat("scheduled to start at ", absl::FormatTime(start.start_at)));
  return s;
}

absl::StatusOr<FaultStatus> ScheduledStarts::Add(Start start) {
  absl::MutexLock lock(&mu_);
  const std::string& id = start.request.spec().fault_id();
  if (pending_.contains(id) || starting_.contains(id)) {
    return absl::AbortedError(absl::StrCat("fault ", id, " is being scheduled by another call"));
  }
  if (ended_.erase(id) > 0) {  // Find answers an ended id first; a race may still get here
    ended_order_.erase(std::find(ended_order_.begin(), ended_order_.end(), id));
  }
  FaultStatus status = Scheduled(start);
  pending_.emplace(id, std::move(start));
  return status;
}

absl::StatusOr<std::optional<FaultStatus>> ScheduledStarts::Find(
    const chaos::v1::FaultSpec& spec) {
  absl::MutexLock lock(&mu_);
  std::optional<FaultStatus> found;
  if (auto it = pending_.find(spec.fault_id()); it != pending_.end()) {
    found = Scheduled(it->second);
  } else if (auto st = starting_.find(spec.fault_id()); st != starting_.end()) {
    found = Scheduled(st->second);
  } else if (auto e = ended_.find(spec.fault_id()); e != ended_.end()) {
    found = e->second;
  }
  if (found && !google::protobuf::util::MessageDifferencer::Equals(found->spec(), spec)) {
    return absl::AlreadyExistsError(
        absl::StrCat("fault id ", spec.fault_id(), " already names a fault with another spec"));
  }
  return found;
}

std::vector<ScheduledStarts::Start> ScheduledStarts::TakeDue(absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::vector<Start> due;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.start_at > now) {
      ++it;
      continue;
    }
    starting_.emplace(it->first, it->second);
    due.push_back(std::move(it->second));
    pending_.erase(it++);
  }
  std::sort(due.begin(), due.end(),
            [](const Start& a, const Start& b) { return a.start_at < b.start_at; });
  return due;
}

void ScheduledStarts::Finish(const Start& start, const absl::Status& outcome) {
  absl::MutexLock lock(&mu_);
  starting_.erase(start.request.spec().fault_id());
  if (outcome.ok()) return;
  FaultStatus s = Scheduled(start);
  s.set_state(chaos::v1::FAULT_STATE_FAILED);
  s.set_reason(absl::StrCat("not started: ", outcome.ToString()));
  s.set_summary(s.reason());
  KeepEnded(std::move(s));
}

std::vector<FaultStatus> ScheduledStarts::Cancel(const SpecPredicate& pred,
                                                 const std::string& reason) {
  absl::MutexLock lock(&mu_);
  std::vector<FaultStatus> cancelled;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!pred(it->second.request.spec())) {
      ++it;
      continue;
    }
    FaultStatus s = Scheduled(it->second);
    s.set_state(chaos::v1::FAULT_STATE_REVERTED);
    s.set_reverted_at_unix_ms(absl::ToUnixMillis(absl::Now()));
    s.set_reason(absl::StrCat("cancelled before its start: ", reason));
    s.set_summary(s.reason());
    cancelled.push_back(s);
    KeepEnded(std::move(s));
    pending_.erase(it++);
  }
  auto none_starting = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::none_of(starting_.begin(), starting_.end(),
                        [&](const auto& entry) { return pred(entry.second.request.spec()); });
  };
  mu_.Await(absl::Condition(&none_starting));
  return cancelled;
}

std::vector<FaultStatus> ScheduledStarts::List(const SpecPredicate& pred, bool include_ended) {
  absl::MutexLock lock(&mu_);
  std::vector<FaultStatus> out;
  for (const auto* starts : {&pending_, &starting_}) {
    for (const auto& [id, start] : *starts) {
      if (pred(start.request.spec())) out.push_back(Scheduled(start));
    }
  }
  if (!include_ended) return out;
  for (const std::string& id : ended_order_) {
    const FaultStatus& s = ended_.at(id);
    if (pred(s.spec())) out.push_back(s);
  }
  return out;
}

size_t ScheduledStarts::CountPending(const SpecPredicate& pred) {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto* starts : {&pending_, &starting_}) {
    n += std::count_if(starts->begin(), starts->end(),
                       [&](const auto& entry) { return pred(entry.second.request.spec()); });
  }
  return n;
}

absl::Time ScheduledStarts::NextStart() {
  absl::MutexLock lock(&mu_);
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [id, start] : pending_) next = std::min(next, start.start_at);
  return next;
}

std::vector<std::string> ScheduledStarts::Experiments() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const auto* starts : {&pending_, &starting_}) {
    for (const auto& [id, start] : *starts) ids.push_back(start.request.spec().experiment_id());
  }
  return ids;
}

void ScheduledStarts::KeepEnded(FaultStatus status) {
  const std::string id = status.spec().fault_id();
  if (ended_.insert_or_assign(id, std::move(status)).second) ended_order_.push_back(id);
  while (ended_order_.size() > max_ended_) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

}  // namespace chaos::agent
