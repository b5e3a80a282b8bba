#include "etcd/watch.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace chaos::etcd {
namespace {

// One watch stream on one member from `*next` on; advances `*next` past
// every revision it delivers. `*compacted` is set (and the stream ended)
// when etcd no longer has revision `*next`.
grpc::Status WatchOnce(const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext* ctx,
                       const std::string& key, const std::string& range_end, int64_t* next,
                       int64_t* compacted,
                       const std::function<void(const std::vector<Change>&)>& on_changes) {
  auto stream = etcdserverpb::Watch::NewStub(channel)->Watch(ctx);
  etcdserverpb::WatchRequest req;
  etcdserverpb::WatchCreateRequest* create = req.mutable_create_request();
  create->set_key(key);
  create->set_range_end(range_end);
  create->set_start_revision(*next);
  if (!stream->Write(req)) return stream->Finish();
  etcdserverpb::WatchResponse resp;
  while (stream->Read(&resp)) {
    if (resp.compact_revision() > 0) {
      *compacted = resp.compact_revision();
      ctx->TryCancel();
      break;
    }
    if (resp.canceled()) {  // by the member: start again on the next one
      ctx->TryCancel();
      stream->Finish();
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "the watch was cancelled: " + resp.cancel_reason());
    }
    if (resp.events_size() == 0) continue;  // created, progress
    std::vector<Change> changes;
    for (const mvccpb::Event& event : resp.events()) {
      changes.push_back(Change{event.type() == mvccpb::Event::DELETE, FromProto(event.kv())});
    }
    *next = changes.back().kv.mod_revision + 1;
    on_changes(changes);
  }
  grpc::Status status = stream->Finish();
  if (*compacted > 0) return grpc::Status::OK;
  if (status.ok()) {  // the member ended the stream (it lost its leader)
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the watch stream ended");
  }
  return status;
}

}  // namespace

absl::Status WatchPrefix(Client* client, const std::string& prefix, int64_t start_revision,
                         Cancellation* cancel,
                         const std::function<void(const std::vector<Change>&)>& on_changes) {
  return WatchRange(client, prefix.empty() ? std::string(1, '\0') : prefix, PrefixEnd(prefix),
                    start_revision, cancel, on_changes);
}

absl::Status WatchRange(Client* client, const std::string& key, const std::string& range_end,
                        int64_t start_revision, Cancellation* cancel,
                        const std::function<void(const std::vector<Change>&)>& on_changes) {
  int64_t next = start_revision;
  int64_t compacted = 0;
  std::vector<std::string> errors;
  // Each member in turn; a member that delivered something resets the count.
  while (errors.size() < client->options().endpoints.size()) {
    const int64_t before = next;
    absl::Status status = client->WaitOnCurrentMember(
        "watch", cancel, [&](const auto& channel, grpc::ClientContext* ctx) {
          return WatchOnce(channel, ctx, key, range_end, &next, &compacted, on_changes);
        });
    if (compacted > 0) {
      return absl::OutOfRangeError(absl::StrCat("etcd watch of ", key, ": revision ", next,
                                                " is compacted (oldest kept: ", compacted, ")"));
    }
    if (absl::IsCancelled(status) || !absl::IsUnavailable(status)) return status;
    if (next != before) errors.clear();
    errors.push_back(std::string(status.message()));
  }
  return absl::UnavailableError(absl::StrJoin(errors, "; "));
}

}  // namespace chaos::etcd
