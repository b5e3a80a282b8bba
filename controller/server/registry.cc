#include "controller/server/registry.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chaos::controller {

AgentRegistry::AgentRegistry(Clock* clock, absl::Duration heartbeat_interval, int missed)
    : clock_(clock), interval_(heartbeat_interval), missed_(missed) {}

absl::Status AgentRegistry::Register(const chaos::v1::RegisterAgentRequest& req) {
  const std::string& a = req.address();
  const size_t colon = a.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(a.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address: \"", a, "\" is not host:port with a port in 1-65535"));
  }
  absl::MutexLock lock(&mu_);
  Entry& e = agents_[a];
  e.info.set_address(a);
  e.info.set_hostname(req.hostname());
  e.info.mutable_labels()->clear();
  e.info.mutable_labels()->insert(req.labels().begin(), req.labels().end());
  e.last_seen = clock_->Now();
  return absl::OkStatus();
}

std::vector<chaos::v1::AgentInfo> AgentRegistry::List() {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  std::vector<chaos::v1::AgentInfo> out;
  for (const auto& [address, e] : agents_) {
    chaos::v1::AgentInfo info = e.info;
    info.set_last_seen_unix_ms(absl::ToUnixMillis(e.last_seen));
    info.set_lost(now - e.last_seen > interval_ * missed_);
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

absl::StatusOr<std::vector<std::string>> ResolveTargets(const experiments::Experiment& experiment,
                                                        AgentRegistry& registry) {
  std::vector<std::string> targets = registry.LiveAddresses();
  if (targets.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "experiment ", experiment.name,
        ": no live agent is registered (start agents with --controller ADDR)"));
  }
  return targets;
}

}  // namespace chaos::controller
