#include "controller/dashboard/access.h"

#include "absl/strings/str_cat.h"
#include "rpc/listen_policy.h"

namespace chaos::controller {
namespace {

// A state-changing request from a page of another site, or one not sent
// by the dashboard's script.
absl::Status CheckSameOrigin(const rpc::HttpRequest& req) {
  if (req.Header(kDashboardHeader).empty()) {
    return absl::PermissionDeniedError(
        "state-changing requests need the header X-Chaos-Dashboard (sent by the dashboard's "
        "own page)");
  }
  const std::string origin = req.Header("origin");
  const std::string own = absl::StrCat(req.tls ? "https://" : "http://", req.Header("host"));
  if (!origin.empty() && origin != own) {
    return absl::PermissionDeniedError(
        absl::StrCat("cross-site request refused: Origin ", origin, " is not ", own));
  }
  const std::string site = req.Header("sec-fetch-site");
  if (!site.empty() && site != "same-origin") {
    return absl::PermissionDeniedError(
        absl::StrCat("cross-site request refused: Sec-Fetch-Site is ", site));
  }
  return absl::OkStatus();
}

// Plaintext: a loopback peer naming a loopback host.
absl::Status CheckLoopback(const rpc::HttpRequest& req) {
  if (!rpc::IsLoopbackAddress(req.remote_addr)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "without TLS only a loopback peer may change state; ", req.remote_addr, " is not one"));
  }
  const std::string host = req.Header("host");
  if (!rpc::IsLoopbackAddress(host)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "without TLS a state-changing request must name a loopback host; Host: ", host));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DashboardAccess::Page(const rpc::HttpRequest& req) const {
  if (roles_ != nullptr && req.identity.empty()) {
    return absl::PermissionDeniedError("a client certificate from the controller's CA is needed");
  }
  return absl::OkStatus();
}

absl::Status DashboardAccess::Read(const rpc::HttpRequest& req, const std::string& method) const {
  if (roles_ == nullptr) return absl::OkStatus();
  return roles_->Check(req.identity, method);
}

absl::Status DashboardAccess::Change(const rpc::HttpRequest& req,
                                     const std::string& method) const {
  if (absl::Status s = CheckSameOrigin(req); !s.ok()) return s;
  if (roles_ == nullptr) return CheckLoopback(req);
  return roles_->Check(req.identity, method);
}

std::string DashboardAccess::CallerOf(const rpc::HttpRequest& req) {
  const std::string who =
      req.identity.empty() ? absl::StrCat("unauthenticated ", req.remote_addr) : req.identity;
  return absl::StrCat(who, " (dashboard)");
}

}  // namespace chaos::controller
