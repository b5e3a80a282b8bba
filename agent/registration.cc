#include "agent/registration.h"

#include "rpc/credentials.h"
#include "rpc/status.h"
#include "chaos/v1/controller.grpc.pb.h"
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
  auto stub = chaos::v1::Controller::NewStub(rpc::OpenChannel(options_.controller, options_.transport));
  absl::Duration interval = options_.initial_interval;
  bool warned = false;
  for (;;) {
    chaos::v1::RegisterAgentRequest req;
    req.set_address(options_.advertise);
    req.set_hostname(options_.hostname);
    for (const auto& [k, v] : options_.labels) (*req.mutable_labels())[k] = v;
    chaos::v1::RegisterAgentResponse resp;
    grpc::Status s = stub->RegisterAgent(
        rpc::ContextWithTimeout(std::max(interval, absl::Seconds(1))).get(), req, &resp);
    if (s.ok()) {
      if (resp.heartbeat_interval_ms() > 0) {
        interval = absl::Milliseconds(resp.heartbeat_interval_ms());
      }
      int n;
      {
        absl::MutexLock lock(&mu_);
        n = ++accepted_;
      }
      if (n == 1 || warned) {
        spdlog::info("registered with controller {} as {} (heartbeat every {})",
                     options_.controller, options_.advertise, absl::FormatDuration(interval));
      }
      warned = false;
    } else if (!warned) {
      spdlog::warn("cannot register with controller {}: {}; retrying every {}", options_.controller,
                   s.error_message(), absl::FormatDuration(interval));
      warned = true;
    }
    absl::MutexLock lock(&mu_);
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), interval)) return;
  }
}

}  // namespace chaos::agent
