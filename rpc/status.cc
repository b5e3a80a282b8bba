#include "rpc/status.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace chaos::rpc {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

std::string StatusText(const grpc::Status& s) {
  const absl::StatusCode code = static_cast<absl::StatusCode>(s.error_code());
  return absl::StrCat(absl::StatusCodeToString(code), ": ", s.error_message());
}

std::unique_ptr<grpc::ClientContext> ContextWithTimeout(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

grpc::Status CallReconnecting(absl::Duration timeout,
                              const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  grpc::Status first = call(ContextWithTimeout(timeout).get());
  if (first.error_code() != grpc::StatusCode::UNAVAILABLE) return first;
  auto again = ContextWithTimeout(std::min(timeout, absl::Seconds(3)));
  again->set_wait_for_ready(true);
  return call(again.get()).ok() ? grpc::Status::OK : first;
}

}  // namespace chaos::rpc
