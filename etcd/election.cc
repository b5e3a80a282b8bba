#include "etcd/election.h"

#include "base/status_macros.h"
#include "etcd/v3electionpb/v3election.grpc.pb.h"

namespace chaos::etcd {

etcdserverpb::Compare LeaderCompare(const LeaderKey& leader) {
  etcdserverpb::Compare compare;
  compare.set_key(leader.key());
  compare.set_target(etcdserverpb::Compare::CREATE);
  compare.set_result(etcdserverpb::Compare::EQUAL);
  compare.set_create_revision(leader.rev());
  return compare;
}

absl::StatusOr<LeaderKey> Election::Campaign(int64_t lease, const std::string& value) {
  v3electionpb::CampaignRequest req;
  req.set_name(name_);
  req.set_lease(lease);
  req.set_value(value);
  v3electionpb::CampaignResponse resp;
  RETURN_IF_ERROR(client_->WaitOnCurrentMember(
      "campaign", &cancel_, [&](const auto& channel, grpc::ClientContext* ctx) {
        return v3electionpb::Election::NewStub(channel)->Campaign(ctx, req, &resp);
      }));
  return resp.leader();
}

absl::StatusOr<KeyValue> Election::Leader() {
  v3electionpb::LeaderRequest req;
  req.set_name(name_);
  v3electionpb::LeaderResponse resp;
  absl::Status status =
      client_->OnSomeMember("leader", [&](const auto& channel, grpc::ClientContext* ctx) {
        return v3electionpb::Election::NewStub(channel)->Leader(ctx, req, &resp);
      });
  if (absl::IsNotFound(status)) {
    return absl::NotFoundError(absl::StrCat("election ", name_, ": no leader"));
  }
  RETURN_IF_ERROR(status);
  return FromProto(resp.kv());
}

absl::Status Election::Observe(const std::function<void(const KeyValue&)>& on_leader) {
  v3electionpb::LeaderRequest req;
  req.set_name(name_);
  return client_->WaitOnCurrentMember(
      "observe", &cancel_, [&](const auto& channel, grpc::ClientContext* ctx) {
        auto stream = v3electionpb::Election::NewStub(channel)->Observe(ctx, req);
        v3electionpb::LeaderResponse resp;
        while (stream->Read(&resp)) on_leader(FromProto(resp.kv()));
        return stream->Finish();
      });
}

absl::Status Election::Resign(const LeaderKey& leader) {
  v3electionpb::ResignRequest req;
  *req.mutable_leader() = leader;
  v3electionpb::ResignResponse resp;
  return client_->OnSomeMember("resign", [&](const auto& channel, grpc::ClientContext* ctx) {
    return v3electionpb::Election::NewStub(channel)->Resign(ctx, req, &resp);
  });
}

}  // namespace chaos::etcd
