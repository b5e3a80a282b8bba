#include "controller/store/leadership.h"

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace chaos::controller {
namespace {

// What a standby does not wait out: being stopped, and what only the
// operator can fix.
bool Permanent(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

}  // namespace

Leadership::Leadership(etcd::Client* client, const std::string& prefix, absl::Duration ttl,
                       OnLost on_lost)
    : client_(client),
      name_(prefix + "leader"),
      ttl_(ttl),
      on_lost_(std::move(on_lost)),
      election_(std::make_unique<etcd::Election>(client, name_)) {}

Leadership::~Leadership() {
  Cancel();
  if (keeper_.joinable()) keeper_.join();
  if (lease_ != 0) (void)client_->RevokeLease(lease_);  // best effort: else it lapses
}

absl::StatusOr<etcd::LeaderKey> Leadership::Lead(const std::string& identity) {
  while (true) {
    if (lease_ == 0) {
      // etcd may be without quorum: a standby keeps trying, once a second.
      const auto sent = std::chrono::steady_clock::now();
      absl::StatusOr<int64_t> lease = client_->GrantLease(ttl_);
      if (!lease.ok()) {
        if (WaitForStop(absl::Seconds(1))) return absl::CancelledError("leadership: stopping");
        continue;
      }
      lease_ = *lease;
      Renewed(sent);
      keeper_ = std::thread([this] { KeepAlive(); });
    }
    etcd::Election* election;
    {
      absl::MutexLock lock(&mu_);
      election = election_.get();
    }
    absl::StatusOr<etcd::LeaderKey> key = election->Campaign(lease_, identity);
    if (key.ok()) {
      // Leading and the lease lost are decided under one lock: a loss
      // after this calls on_lost.
      absl::MutexLock lock(&mu_);
      if (lost_.empty()) {
        leading_ = true;
        return key;
      }
    }
    if (LostWhileWaiting()) continue;  // a new lease, and campaign again
    if (Permanent(key.status())) return key.status();
    // The member it waited on was lost, or etcd has no quorum ("request
    // timed out"): campaign again, on the next member (the candidate's key
    // is reused, so it keeps its place in line).
    spdlog::warn("campaign: {}; trying again", key.status().ToString());
    if (WaitForStop(absl::Milliseconds(200))) return absl::CancelledError("leadership: stopping");
  }
}

// A standby whose lease lapsed while it waited (etcd without quorum for
// longer than the TTL): its keep-alive is joined and its lease forgotten.
bool Leadership::LostWhileWaiting() {
  {
    absl::MutexLock lock(&mu_);
    if (lost_.empty() || stop_) return false;
    lost_.clear();
  }
  keeper_.join();
  lease_ = 0;
  absl::MutexLock lock(&mu_);
  election_ = std::make_unique<etcd::Election>(client_, name_);
  return true;
}

void Leadership::Cancel() {
  absl::MutexLock lock(&mu_);
  stop_ = true;
  election_->Cancel();
}

absl::StatusOr<std::string> Leadership::Leader() {
  etcd::Election election(client_, name_);
  absl::StatusOr<etcd::KeyValue> kv = election.Leader();
  if (!kv.ok()) return kv.status();
  return kv->value;
}

bool Leadership::WaitForStop(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&stop_), d);
}

absl::Status Leadership::CheckLeading() {
  {
    absl::MutexLock lock(&mu_);
    if (!leading_ || !lost_.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("this controller no longer leads", lost_.empty() ? "" : ": ", lost_));
    }
  }
  const absl::Duration since = SinceRenewal();
  if (since < ttl_) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("this controller's leadership lease was last renewed ",
                   absl::FormatDuration(since), " ago, past its TTL of ",
                   absl::FormatDuration(ttl_), ": another controller may lead now"));
}

void Leadership::Renewed(std::chrono::steady_clock::time_point sent) {
  absl::MutexLock lock(&mu_);
  renewed_ = sent;
}

absl::Duration Leadership::SinceRenewal() {
  absl::MutexLock lock(&mu_);
  return absl::FromChrono(std::chrono::steady_clock::now() - renewed_);
}

void Leadership::KeepAlive() {
  while (!WaitForStop(ttl_ / 3)) {
    const auto sent = std::chrono::steady_clock::now();
    absl::StatusOr<absl::Duration> left = client_->KeepAliveOnce(lease_);
    if (left.ok()) {
      Renewed(sent);
    } else if (absl::IsNotFound(left.status()) || SinceRenewal() >= ttl_) {
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
    election_->Cancel();  // a standby's campaign ends
  }
  if (leading && on_lost_) on_lost_(why);
}

}  // namespace chaos::controller
