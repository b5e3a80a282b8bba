// DashboardAccess: the dashboard's rules, without a server. Under TLS an
// identity needs the gRPC method's role; without TLS a state change needs
// a loopback peer and host; every state change needs the dashboard's
// header and a same-origin request.
#include "controller/dashboard/access.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::controller {
namespace {

using ::testing::HasSubstr;

constexpr char kAbort[] = "/chaos.v1.Controller/AbortRun";
constexpr char kHalt[] = "/chaos.v1.Controller/HaltAll";
constexpr char kList[] = "/chaos.v1.Controller/ListRuns";

std::shared_ptr<const rpc::Roles> TestRoles() {
  auto roles = rpc::Roles::Parse(
      "roles: {\"spiffe://chaos/operator/root\": admin, \"spiffe://chaos/operator/alice\": "
      "operator, \"spiffe://chaos/operator/bob\": viewer}",
      "test roles");
  EXPECT_TRUE(roles.ok()) << roles.status();
  return std::make_shared<const rpc::Roles>(*std::move(roles));
}

// A POST the dashboard's own page would send.
rpc::HttpRequest PagePost(bool tls, const std::string& identity) {
  rpc::HttpRequest req;
  req.method = "POST";
  req.tls = tls;
  req.identity = identity;
  req.remote_addr = "127.0.0.1";
  req.headers = {{"host", "127.0.0.1:9464"},
                 {kDashboardHeader, "1"},
                 {"origin", std::string(tls ? "https" : "http") + "://127.0.0.1:9464"},
                 {"sec-fetch-site", "same-origin"}};
  return req;
}

TEST(DashboardAccess, UnderTlsEachActionNeedsTheRoleOfItsGrpcMethod) {
  const DashboardAccess access(TestRoles());
  EXPECT_TRUE(access.Change(PagePost(true, "spiffe://chaos/operator/root"), kHalt).ok());
  EXPECT_TRUE(access.Change(PagePost(true, "spiffe://chaos/operator/alice"), kAbort).ok());
  const absl::Status operator_halt =
      access.Change(PagePost(true, "spiffe://chaos/operator/alice"), kHalt);
  EXPECT_EQ(operator_halt.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(operator_halt.message(), HasSubstr("needs admin"));
  EXPECT_EQ(access.Change(PagePost(true, "spiffe://chaos/operator/bob"), kAbort).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(access.Read(PagePost(true, "spiffe://chaos/operator/bob"), kList).ok());
  EXPECT_EQ(access.Read(PagePost(true, "spiffe://chaos/operator/eve"), kList).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(access.Page(PagePost(true, "spiffe://chaos/operator/eve")).ok());
  EXPECT_EQ(access.Page(PagePost(true, "")).code(), absl::StatusCode::kPermissionDenied);
}

TEST(DashboardAccess, EveryStateChangeMustBeSameOrigin) {
  const DashboardAccess access(TestRoles());
  rpc::HttpRequest no_header = PagePost(true, "spiffe://chaos/operator/root");
  no_header.headers.erase(kDashboardHeader);
  EXPECT_THAT(access.Change(no_header, kHalt).message(), HasSubstr("X-Chaos-Dashboard"));
  rpc::HttpRequest foreign = PagePost(true, "spiffe://chaos/operator/root");
  foreign.headers["origin"] = "https://evil.example";
  EXPECT_THAT(access.Change(foreign, kHalt).message(), HasSubstr("evil.example"));
  rpc::HttpRequest cross = PagePost(true, "spiffe://chaos/operator/root");
  cross.headers["sec-fetch-site"] = "cross-site";
  EXPECT_EQ(access.Change(cross, kHalt).code(), absl::StatusCode::kPermissionDenied);
  // A client that is not a browser sends neither Origin nor Sec-Fetch-Site.
  rpc::HttpRequest tool = PagePost(true, "spiffe://chaos/operator/root");
  tool.headers.erase("origin");
  tool.headers.erase("sec-fetch-site");
  EXPECT_TRUE(access.Change(tool, kHalt).ok());
}

TEST(DashboardAccess, WithoutTlsStateChangesNeedALoopbackPeerAndHost) {
  const DashboardAccess access(nullptr);
  EXPECT_TRUE(access.Change(PagePost(false, ""), kHalt).ok());
  EXPECT_TRUE(access.Read(PagePost(false, ""), kList).ok());
  rpc::HttpRequest remote = PagePost(false, "");
  remote.remote_addr = "10.1.2.3";
  EXPECT_THAT(access.Change(remote, kHalt).message(), HasSubstr("10.1.2.3"));
  rpc::HttpRequest rebound = PagePost(false, "");
  rebound.headers["host"] = "attacker.example:9464";
  rebound.headers["origin"] = "http://attacker.example:9464";
  EXPECT_THAT(access.Change(rebound, kHalt).message(), HasSubstr("attacker.example"));
  EXPECT_EQ(DashboardAccess::CallerOf(remote), "unauthenticated 10.1.2.3 (dashboard)");
}

}  // namespace
}  // namespace chaos::controller
