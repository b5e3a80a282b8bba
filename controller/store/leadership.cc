#include "controller/store/leadership.h"

#include "absl/strings/str_cat.h"

namespace chaos::controller {

Leadership::Leadership(etcd::Client* client, const std::string& prefix, absl::Duration ttl,
                       std::string identity, OnLost on_lost)
    : client_(client),
      election_(client, prefix + "leader"),
      ttl_(ttl),
      identity_(std::move(identity)),
      on_lost_(std::move(on_lost)) {}

Leadership::~Leadership() {
  election_.Cancel();
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (keeper_.joinable()) keeper_.join();
  if (lease_ != 0) (void)client_->RevokeLease(lease_);  // best effort: else it lapses
}

absl::StatusOr<etcd::LeaderKey> Leadership::Lead() {
  absl::StatusOr<int64_t> lease = client_->GrantLease(ttl_);
  if (!lease.ok()) return lease.status();
  lease_ = *lease;
  keeper_ = std::thread([this] { KeepAlive(); });
  while (true) {
    absl::StatusOr<etcd::LeaderKey> key = election_.Campaign(lease_, identity_);
    absl::MutexLock lock(&mu_);
    if (!lost_.empty()) return absl::UnavailableError(lost_);
    if (key.ok()) {
      leading_ = true;
      return key;
    }
    // The member it waited on was lost: campaign again on the next (the
    // candidate's key is reused, so it keeps its place in line).
    if (!absl::IsUnavailable(key.status())) return key.status();
    mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(200));
    if (stop_) return absl::CancelledError("leadership: stopping");
  }
}

bool Leadership::WaitForStop(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&stop_), d);
}

void Leadership::KeepAlive() {
  absl::Time renewed = absl::Now();
  while (!WaitForStop(ttl_ / 3)) {
    absl::StatusOr<absl::Duration> left = client_->KeepAliveOnce(lease_);
    if (left.ok()) {
      renewed = absl::Now();
    } else if (absl::IsNotFound(left.status()) || absl::Now() - renewed >= ttl_) {
      Lose(absl::StrCat("the leadership lease lapsed (", left.status().ToString(), ")"));
      return;
    }
  }
}

void Leadership::Lose(const std::string& why) {
  bool leading;
  {
    absl::MutexLock lock(&mu_);
    lost_ = why;
    leading = leading_;
  }
  election_.Cancel();  // a standby's campaign ends
  if (leading && on_lost_) on_lost_(why);
}

}  // namespace chaos::controller
