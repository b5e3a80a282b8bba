#include "controller/server/registry.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "spdlog/spdlog.h"

namespace chaos::controller {

using google::protobuf::util::MessageDifferencer;

AgentRegistry::AgentRegistry(Clock* clock, absl::Duration heartbeat_interval, int missed,
                             size_t capacity, HistoryStore* store,
                             double max_heartbeats_per_second)
    : clock_(clock),
      store_(store),
      interval_(heartbeat_interval),
      missed_(missed),
      capacity_(capacity),
      max_per_second_(max_heartbeats_per_second) {}

absl::Duration AgentRegistry::IntervalFor(size_t agents) const {
  if (max_per_second_ <= 0) return interval_;
  const absl::Duration spread = absl::Ceil(
      absl::Seconds(static_cast<double>(agents) / max_per_second_), absl::Milliseconds(1));
  // At most an hour, the longest --heartbeat-interval-ms: a tiny cap must
  // not tell agents an interval that overflows the answer's uint32 ms.
  return std::min(std::max(interval_, spread), absl::Hours(1));
}

absl::Status AgentRegistry::Load() {
  if (store_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<chaos::v1::AgentInfo> stored, store_->ListAgents());
  absl::MutexLock lock(&mu_);
  for (chaos::v1::AgentInfo& info : stored) {
    if (agents_.contains(info.address()) || agents_.size() >= capacity_) continue;
    Entry& e = agents_[info.address()];
    e.info = std::move(info);
    e.last_seen = absl::UnixEpoch();  // not heard by this controller yet
    e.told = interval_;
    e.stored = true;
  }
  return absl::OkStatus();
}

void AgentRegistry::Keep(const chaos::v1::AgentInfo& info) {
  const absl::Status s = store_->PutAgent(info);
  absl::MutexLock lock(&mu_);
  if (!s.ok()) {
    if (!store_failing_) {
      spdlog::warn("registry: the store did not keep agent {} (tried again at its next "
                   "heartbeat; further failures are not logged until one succeeds): {}",
                   info.address(), s.ToString());
    }
    store_failing_ = true;
    return;
  }
  if (store_failing_) spdlog::info("registry: the store keeps agents again");
  store_failing_ = false;
  auto it = agents_.find(info.address());
  if (it != agents_.end() && MessageDifferencer::Equals(it->second.info, info)) {
    it->second.stored = true;
  }
}

absl::Status AgentRegistry::Forget(const std::vector<std::string>& addresses) {
  absl::Status first = absl::OkStatus();
  if (store_ == nullptr) return first;
  for (const std::string& a : addresses) {
    const absl::Status s = store_->DeleteAgent(a);
    if (s.ok()) continue;
    spdlog::warn("registry: the store did not forget agent {}: {}", a, s.ToString());
    first.Update(s);
  }
  return first;
}

void AgentRegistry::OnForgotten(std::function<void(const std::string&)> forgotten) {
  absl::MutexLock lock(&forgotten_mu_);
  forgotten_ = std::move(forgotten);
}

void AgentRegistry::Announce(const std::vector<std::string>& addresses) {
  if (addresses.empty()) return;  // every heartbeat but a full registry's
  absl::MutexLock lock(&forgotten_mu_);
  if (!forgotten_) return;
  for (const std::string& a : addresses) forgotten_(a);
}

absl::Status AgentRegistry::ForgetLost(const std::string& address) {
  if (address.empty()) {
    return absl::InvalidArgumentError("address: empty; name the agent (host:port)");
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = agents_.find(address);
    if (it == agents_.end()) {
      return absl::NotFoundError(absl::StrCat("address: no agent ", address, " is registered"));
    }
    if (!Lost(it->second, clock_->Now())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "agent ", address, " is live and heartbeating: forgetting it would be undone at its "
          "next heartbeat; stop the agent first"));
    }
  }
  RETURN_IF_ERROR(Forget({address}));
  {
    absl::MutexLock lock(&mu_);
    auto it = agents_.find(address);
    if (it == agents_.end()) return absl::OkStatus();  // forgotten meanwhile (MakeRoom)
    if (!Lost(it->second, clock_->Now())) {
      it->second.stored = false;  // its next heartbeat keeps it in the store again
      return absl::FailedPreconditionError(absl::StrCat(
          "agent ", address,
          " heartbeated while it was being forgotten: it is live; stop it first"));
    }
    agents_.erase(it);
  }
  Announce({address});
  return absl::OkStatus();
}

absl::Status AgentRegistry::MakeRoom(std::vector<std::string>* forgotten) {
  if (agents_.size() < capacity_) return absl::OkStatus();
  const absl::Time now = clock_->Now();
  for (auto it = agents_.begin(); it != agents_.end();) {
    if (Lost(it->second, now)) {
      forgotten->push_back(it->first);
      it = agents_.erase(it);
    } else {
      ++it;
    }
  }
  if (agents_.size() < capacity_) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "address: the registry holds ", agents_.size(), " live agents, its limit; none is lost"));
}

absl::StatusOr<absl::Duration> AgentRegistry::Register(
    const chaos::v1::RegisterAgentRequest& req) {
  const std::string& a = req.address();
  const size_t colon = a.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(a.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address: \"", a, "\" is not host:port with a port in 1-65535"));
  }
  chaos::v1::AgentInfo info;
  info.set_address(a);
  info.set_hostname(req.hostname());
  info.mutable_labels()->insert(req.labels().begin(), req.labels().end());
  std::vector<std::string> forgotten;
  bool keep = false;
  absl::Status room = absl::OkStatus();
  absl::Duration told;
  {
    absl::MutexLock lock(&mu_);
    if (!agents_.contains(a)) room = MakeRoom(&forgotten);
    if (room.ok()) {
      Entry& e = agents_[a];
      if (!MessageDifferencer::Equals(e.info, info)) {
        e.info = info;
        e.stored = false;
      }
      e.last_seen = clock_->Now();
      e.told = told = IntervalFor(agents_.size());
      keep = store_ != nullptr && !e.stored;
    }
  }
  Forget(forgotten).IgnoreError();  // logged; the registry has room either way
  Announce(forgotten);
  if (keep) Keep(info);
  if (!room.ok()) return room;
  return told;
}

std::vector<chaos::v1::AgentInfo> AgentRegistry::List() {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  std::vector<chaos::v1::AgentInfo> out;
  for (const auto& [address, e] : agents_) {
    chaos::v1::AgentInfo info = e.info;
    info.set_last_seen_unix_ms(absl::ToUnixMillis(e.last_seen));
    info.set_lost(Lost(e, now));
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<std::string> AgentRegistry::LiveAddresses() {
  std::vector<std::string> out;
  for (const auto& info : List()) {
    if (!info.lost()) out.push_back(info.address());
  }
  return out;
}

namespace {

// FAILED_PRECONDITION naming the first group a fault step or a command
// uses that would choose more than `limit` of the live agents.
absl::Status CheckAgentLimit(const experiments::Experiment& experiment,
                             const std::vector<chaos::v1::AgentInfo>& live, size_t limit) {
  std::set<std::string> used = experiment.CommandTargets();
  for (const experiments::Step& s : experiment.method) {
    if (s.fault) used.insert(s.target.empty() ? "all" : s.target);
  }
  for (const std::string& name : used) {
    auto it = experiment.targets.find(name);
    const experiments::TargetGroup group =
        it == experiment.targets.end() ? experiments::TargetGroup{} : it->second;
    size_t matching = 0;
    for (const chaos::v1::AgentInfo& info : live) {
      matching += group.Matches({info.labels().begin(), info.labels().end()});
    }
    const size_t chosen = group.Chosen(matching);
    if (chosen > limit) {
      return absl::FailedPreconditionError(absl::StrCat(
          "experiment ", experiment.name, ": target group ", name, " would choose ", chosen,
          " of ", matching, " matching agents, more than the controller's --max-agents-per-run ",
          limit, " (cap the group with max or maxPercent)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ResolveTargets(const experiments::Experiment& experiment,
                                                        AgentRegistry& registry,
                                                        size_t max_agents_per_run) {
  std::vector<chaos::v1::AgentInfo> live;
  std::vector<std::string> targets;
  for (const chaos::v1::AgentInfo& info : registry.List()) {
    if (info.lost()) continue;
    live.push_back(info);
    targets.push_back(info.address());
  }
  if (targets.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "experiment ", experiment.name,
        ": no live agent is registered (start agents with --controller ADDR)"));
  }
  if (max_agents_per_run != 0) {
    RETURN_IF_ERROR(CheckAgentLimit(experiment, live, max_agents_per_run));
  }
  return targets;
}

}  // namespace chaos::controller
