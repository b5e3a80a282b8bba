#include "agent/registration.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rpc/credentials.h"
#include "rpc/status.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {

Registration::Registration(RegistrationOptions options) : options_(std::move(options)) {}

Registration::~Registration() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Registration::Start() {
  thread_ = std::thread([this] { Loop(); });
}

int Registration::accepted() {
  absl::MutexLock lock(&mu_);
  return accepted_;
}

void Registration::Loop() {
  for (const std::string& c : options_.controllers) {
    stubs_.push_back(chaos::v1::Controller::NewStub(rpc::OpenChannel(c, options_.transport)));
  }
  absl::Duration interval = options_.initial_interval;
  size_t current = 0;
  for (;;) {
    (void)Heartbeat(&current, &interval);
    absl::MutexLock lock(&mu_);
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), interval)) return;
  }
}

bool Registration::Heartbeat(size_t* current, absl::Duration* interval) {
  chaos::v1::RegisterAgentRequest req;
  req.set_address(options_.advertise);
  req.set_hostname(options_.hostname);
  for (const auto& [k, v] : options_.labels) (*req.mutable_labels())[k] = v;
  std::vector<std::string> errors;
  for (size_t tried = 0; tried < stubs_.size(); ++tried) {
    const size_t i = (*current + tried) % stubs_.size();
    const std::string& controller = options_.controllers[i];
    chaos::v1::RegisterAgentResponse resp;
    grpc::Status s = stubs_[i]->RegisterAgent(
        rpc::ContextWithTimeout(std::max(*interval, absl::Seconds(1))).get(), req, &resp);
    if (!s.ok()) {
      errors.push_back(absl::StrCat(controller, ": ", s.error_message()));
      continue;
    }
    if (resp.heartbeat_interval_ms() > 0) {
      *interval = absl::Milliseconds(resp.heartbeat_interval_ms());
    }
    const bool moved = i != *current || warned_;
    *current = i;
    warned_ = false;
    int n;
    {
      absl::MutexLock lock(&mu_);
      n = ++accepted_;
    }
    if (n == 1 || moved) {
      spdlog::info("registered with controller {} as {} (heartbeat every {})", controller,
                   options_.advertise, absl::FormatDuration(*interval));
    }
    return true;
  }
  if (!warned_) {
    spdlog::warn("cannot register with any controller ({}); retrying every {}",
                 absl::StrJoin(errors, "; "), absl::FormatDuration(*interval));
    warned_ = true;
  }
  return false;
}

}  // namespace chaos::agent
