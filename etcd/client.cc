#include "etcd/client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "rpc/status.h"

namespace chaos::etcd {

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();  // "a\xff" -> "b"
  }
  return std::string(1, '\0');
}

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  return KeyValue{kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version(),
                  kv.lease()};
}

namespace {

absl::Status CheckEndpoint(const std::string& endpoint) {
  std::vector<std::string> parts = absl::StrSplit(endpoint, absl::MaxSplits(':', 1));
  if (endpoint.empty() || parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd endpoint \"", endpoint, "\": want host:port"));
  }
  return absl::OkStatus();
}

// etcd answers "etcdserver: request timed out" and "no leader" as
// UNAVAILABLE already; a deadline of ours means the same to the caller.
absl::StatusCode CodeOf(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::StatusCode::kUnavailable;
  }
  return static_cast<absl::StatusCode>(status.error_code());
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {
  for (const std::string& endpoint : options_.endpoints) {
    channels_.push_back(rpc::OpenChannel(endpoint, options_.transport));
  }
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("etcd endpoints: none given");
  }
  for (const std::string& endpoint : options.endpoints) {
    RETURN_IF_ERROR(CheckEndpoint(endpoint));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("etcd timeout: must be positive");
  }
  std::unique_ptr<Client> client(new Client(std::move(options)));
  // A read of one key (the zero byte) that nobody writes: some member answers.
  RETURN_IF_ERROR(client->Get(std::string(1, '\0')).status());
  return client;
}

absl::Status Client::MemberStatus(size_t member, const std::string& what,
                                  const grpc::Status& status) {
  std::string detail = status.error_message();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    detail = absl::StrCat("no answer within ", absl::FormatDuration(options_.timeout));
  }
  return absl::Status(CodeOf(status),
                      absl::StrCat("etcd ", what, " at ", options_.endpoints[member], ": ", detail));
}

absl::Status Client::OnSomeMember(const std::string& what, const MemberCall& call) {
  const size_t n = channels_.size();
  const size_t first = current_.load();
  std::vector<std::string> errors;
  for (size_t i = 0; i < n; ++i) {
    const size_t member = (first + i) % n;
    std::unique_ptr<grpc::ClientContext> context = rpc::ContextWithTimeout(options_.timeout);
    grpc::Status status = call(channels_[member], context.get());
    if (status.ok()) {
      current_.store(member);
      return absl::OkStatus();
    }
    // The next call starts at the next member whatever happened here.
    current_.store((member + 1) % n);
    absl::Status failed = MemberStatus(member, what, status);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return failed;
    errors.push_back(std::string(failed.message()));
  }
  return absl::UnavailableError(absl::StrJoin(errors, "; "));
}

absl::Status Client::WaitOnCurrentMember(const std::string& what, Cancellation* cancel,
                                         const MemberCall& call) {
  grpc::ClientContext context;
  // etcd then ends the call when the member loses its leader, instead of
  // serving a stale view from a minority (clientv3's WithRequireLeader).
  context.AddMetadata("hasleader", "true");
  if (!cancel->Attach(&context)) return absl::CancelledError(absl::StrCat("etcd ", what, ": cancelled"));
  const size_t member = current_.load();
  grpc::Status status = call(channels_[member], &context);
  cancel->Detach();
  if (status.ok()) return absl::OkStatus();
  if (cancel->cancelled()) return absl::CancelledError(absl::StrCat("etcd ", what, ": cancelled"));
  current_.store((member + 1) % channels_.size());
  return MemberStatus(member, what, status);
}

void Cancellation::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool Cancellation::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool Cancellation::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  context_ = context;
  return true;
}

void Cancellation::Detach() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

absl::StatusOr<std::optional<KeyValue>> Client::Get(const std::string& key) {
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  etcdserverpb::RangeResponse resp;
  RETURN_IF_ERROR(OnSomeMember("range", [&](const auto& channel, grpc::ClientContext* ctx) {
    return etcdserverpb::KV::NewStub(channel)->Range(ctx, req, &resp);
  }));
  if (resp.kvs_size() == 0) return std::nullopt;
  return FromProto(resp.kvs(0));
}

absl::StatusOr<Range> Client::GetPrefix(const std::string& prefix, int64_t limit,
                                        int64_t revision, bool keys_only) {
  return GetRange(prefix.empty() ? std::string(1, '\0') : prefix, PrefixEnd(prefix), limit,
                  revision, keys_only);
}

absl::StatusOr<Range> Client::GetRange(const std::string& key, const std::string& range_end,
                                       int64_t limit, int64_t revision, bool keys_only) {
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  req.set_range_end(range_end);
  req.set_limit(limit);
  req.set_revision(revision);
  req.set_keys_only(keys_only);
  etcdserverpb::RangeResponse resp;
  RETURN_IF_ERROR(OnSomeMember("range", [&](const auto& channel, grpc::ClientContext* ctx) {
    return etcdserverpb::KV::NewStub(channel)->Range(ctx, req, &resp);
  }));
  Range range;
  range.revision = resp.header().revision();
  for (const mvccpb::KeyValue& kv : resp.kvs()) range.kvs.push_back(FromProto(kv));
  return range;
}

absl::StatusOr<int64_t> Client::Put(const std::string& key, const std::string& value,
                                    int64_t lease) {
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  etcdserverpb::PutResponse resp;
  RETURN_IF_ERROR(OnSomeMember("put", [&](const auto& channel, grpc::ClientContext* ctx) {
    return etcdserverpb::KV::NewStub(channel)->Put(ctx, req, &resp);
  }));
  return resp.header().revision();
}

absl::StatusOr<int64_t> Client::Delete(const std::string& key) {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(key);
  etcdserverpb::DeleteRangeResponse resp;
  RETURN_IF_ERROR(OnSomeMember("delete", [&](const auto& channel, grpc::ClientContext* ctx) {
    return etcdserverpb::KV::NewStub(channel)->DeleteRange(ctx, req, &resp);
  }));
  return resp.deleted();
}

absl::StatusOr<int64_t> Client::DeletePrefix(const std::string& prefix) {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(prefix.empty() ? std::string(1, '\0') : prefix);
  req.set_range_end(PrefixEnd(prefix));
  etcdserverpb::DeleteRangeResponse resp;
  RETURN_IF_ERROR(OnSomeMember("delete", [&](const auto& channel, grpc::ClientContext* ctx) {
    return etcdserverpb::KV::NewStub(channel)->DeleteRange(ctx, req, &resp);
  }));
  return resp.deleted();
}

absl::StatusOr<etcdserverpb::TxnResponse> Client::Txn(const etcdserverpb::TxnRequest& txn) {
  etcdserverpb::TxnResponse resp;
  RETURN_IF_ERROR(OnSomeMember("txn", [&](const auto& channel, grpc::ClientContext* ctx) {
    return etcdserverpb::KV::NewStub(channel)->Txn(ctx, txn, &resp);
  }));
  return resp;
}

absl::StatusOr<int64_t> Client::GrantLease(absl::Duration ttl) {
  const int64_t seconds = absl::ToInt64Seconds(ttl);
  if (seconds < 1 || ttl != absl::Seconds(seconds)) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd lease ttl ", absl::FormatDuration(ttl), ": want whole seconds, >= 1"));
  }
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(seconds);
  etcdserverpb::LeaseGrantResponse resp;
  RETURN_IF_ERROR(OnSomeMember("lease grant", [&](const auto& channel, grpc::ClientContext* ctx) {
    return etcdserverpb::Lease::NewStub(channel)->LeaseGrant(ctx, req, &resp);
  }));
  if (!resp.error().empty()) {
    return absl::FailedPreconditionError(absl::StrCat("etcd lease grant: ", resp.error()));
  }
  return resp.id();
}

absl::StatusOr<absl::Duration> Client::KeepAliveOnce(int64_t lease) {
  etcdserverpb::LeaseKeepAliveResponse resp;
  RETURN_IF_ERROR(OnSomeMember("lease keep-alive", [&](const auto& channel,
                                                       grpc::ClientContext* ctx) {
    auto stream = etcdserverpb::Lease::NewStub(channel)->LeaseKeepAlive(ctx);
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(lease);
    if (stream->Write(req)) stream->Read(&resp);
    stream->WritesDone();
    return stream->Finish();
  }));
  if (resp.ttl() <= 0) {
    return absl::NotFoundError(absl::StrCat("etcd lease ", lease, ": expired or revoked"));
  }
  return absl::Seconds(resp.ttl());
}

absl::Status Client::RevokeLease(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(lease);
  etcdserverpb::LeaseRevokeResponse resp;
  absl::Status status =
      OnSomeMember("lease revoke", [&](const auto& channel, grpc::ClientContext* ctx) {
        return etcdserverpb::Lease::NewStub(channel)->LeaseRevoke(ctx, req, &resp);
      });
  if (absl::IsNotFound(status)) return absl::OkStatus();  // "requested lease not found"
  return status;
}

}  // namespace chaos::etcd
