#include "rpc/channel_cache.h"

#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace chaos::rpc {

ChannelCache::ChannelCache(const TransportOptions& transport)
    : credentials_(ChannelCredentials(transport)) {}

std::shared_ptr<grpc::Channel> ChannelCache::Get(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<grpc::Channel>& channel = channels_[address];
  if (channel == nullptr) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                static_cast<int>(absl::ToInt64Milliseconds(kMaxReconnectBackoff)));
    channel = grpc::CreateCustomChannel(address, credentials_, args);
  }
  return channel;
}

void ChannelCache::Forget(const std::string& address) {
  absl::MutexLock lock(&mu_);
  channels_.erase(address);
}

}  // namespace chaos::rpc
