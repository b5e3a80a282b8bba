// DashboardAccess: who may do what on the controller's dashboard, by the
// rules of the gRPC API (rpc/authz.h), so that the page grants nothing the
// API would refuse.
//
// - With TLS every request comes with a verified client certificate
//   (rpc/http_server.h) and its identity needs the role of the gRPC method
//   the request mirrors: the run list and the stream need viewer (ListRuns,
//   WatchRun), an abort operator (AbortRun), HALT ALL admin (HaltAll). The
//   page itself (HTML, script, style) needs only a certificate from the CA.
// - Without TLS there is no identity, as for plaintext gRPC callers: the
//   listener is on loopback unless --insecure. Beyond that a
//   state-changing request must come from a loopback peer and name a
//   loopback host (Host:), even with --insecure, so that neither another
//   machine nor a rebound DNS name can halt anything.
// - Every state-changing request (POST) must also be same-origin: it must
//   carry the header X-Chaos-Dashboard (a page of another site cannot send
//   it without a CORS preflight, which the dashboard never grants), and an
//   Origin or Sec-Fetch-Site header, when the browser sends one, must say
//   it comes from the dashboard itself.
// Refusals are PERMISSION_DENIED (HTTP 403) saying why.
// Thread safety: immutable after construction.
#ifndef CHAOS_CONTROLLER_DASHBOARD_ACCESS_H_
#define CHAOS_CONTROLLER_DASHBOARD_ACCESS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "rpc/authz.h"
#include "rpc/http_server.h"

namespace chaos::controller {

inline constexpr char kDashboardHeader[] = "x-chaos-dashboard";

class DashboardAccess {
 public:
  // `roles`: the TLS daemon's (TransportOptions::roles()); null on plaintext.
  explicit DashboardAccess(std::shared_ptr<const rpc::Roles> roles) : roles_(std::move(roles)) {}

  // The page's own files: any verified certificate on TLS, anyone otherwise.
  [[nodiscard]] absl::Status Page(const rpc::HttpRequest& req) const;
  // A read that mirrors the gRPC `method` ("/chaos.v1.Controller/ListRuns").
  [[nodiscard]] absl::Status Read(const rpc::HttpRequest& req, const std::string& method) const;
  // A state-changing request that mirrors `method`: the role, and the
  // same-origin and plaintext rules above.
  [[nodiscard]] absl::Status Change(const rpc::HttpRequest& req, const std::string& method) const;

  // Who made the request, for audit lines and the runs' records: the
  // certificate's identity, or "unauthenticated ADDRESS", then
  // " (dashboard)".
  static std::string CallerOf(const rpc::HttpRequest& req);

 private:
  std::shared_ptr<const rpc::Roles> roles_;
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_DASHBOARD_ACCESS_H_
