// Roles: the authz file, who may call what, and the default roles.
#include "rpc/authz.h"

#include "chaos/v1/agent.pb.h"
#include "chaos/v1/controller.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::rpc {
namespace {

using ::testing::HasSubstr;

constexpr char kFile[] = R"(roles:
  "spiffe://chaos/controller": admin
  "spiffe://chaos/operator/*": operator
  "spiffe://chaos/operator/bob": viewer
  "spiffe://chaos/operator/ops-*": admin
  "spiffe://chaos/agent/*": agent
)";

Roles Parsed() {
  auto roles = Roles::Parse(kFile, "authz.yaml");
  EXPECT_TRUE(roles.ok()) << roles.status();
  return *roles;
}

TEST(AuthzTest, ExactBeatsWildcardAndTheLongestWildcardWins) {
  const Roles roles = Parsed();
  EXPECT_EQ(roles.Of("spiffe://chaos/operator/alice"), Role::kOperator);
  EXPECT_EQ(roles.Of("spiffe://chaos/operator/bob"), Role::kViewer);
  EXPECT_EQ(roles.Of("spiffe://chaos/operator/ops-carol"), Role::kAdmin);
  EXPECT_EQ(roles.Of("spiffe://chaos/controller"), Role::kAdmin);
  EXPECT_EQ(roles.Of("spiffe://chaos/controllerx"), std::nullopt);
  EXPECT_EQ(roles.Of(""), std::nullopt);
}

TEST(AuthzTest, EachRoleCallsWhatItMayAndTheRefusalNamesIdentityAndRole) {
  const Roles roles = Parsed();
  const std::string bob = "spiffe://chaos/operator/bob", alice = "spiffe://chaos/operator/alice";
  EXPECT_TRUE(roles.Check(bob, "/chaos.v1.Controller/ListRuns").ok());
  EXPECT_TRUE(roles.Check(bob, "/chaos.v1.Controller/WatchRun").ok());
  for (const char* m :
       {"/chaos.v1.Controller/SubmitRun", "/chaos.v1.Controller/AbortRun",
        "/chaos.v1.Controller/HaltAll", "/chaos.v1.Agent/Inject", "/chaos.v1.Agent/Halt",
        "/chaos.v1.Agent/RunCommand"}) {
    absl::Status s = roles.Check(bob, m);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << m;
    EXPECT_THAT(s.message(), HasSubstr("identity " + bob + " has role viewer; " + m + " needs"));
    EXPECT_THAT(s.message(), HasSubstr("(authz.yaml)"));
  }
  EXPECT_TRUE(roles.Check(alice, "/chaos.v1.Controller/SubmitRun").ok());
  EXPECT_TRUE(roles.Check(alice, "/chaos.v1.Controller/AbortRun").ok());
  EXPECT_THAT(roles.Check(alice, "/chaos.v1.Controller/HaltAll").message(),
              HasSubstr("needs admin"));
  EXPECT_TRUE(roles.Check("spiffe://chaos/operator/ops-x", "/chaos.v1.Controller/HaltAll").ok());
  // An agent may register, and nothing else; nobody else may register.
  EXPECT_TRUE(roles.Check("spiffe://chaos/agent/a1", "/chaos.v1.Controller/RegisterAgent").ok());
  EXPECT_FALSE(roles.Check("spiffe://chaos/agent/a1", "/chaos.v1.Controller/ListRuns").ok());
  EXPECT_FALSE(roles.Check(alice, "/chaos.v1.Controller/RegisterAgent").ok());
  // No role at all, an unknown method, an unauthenticated peer.
  EXPECT_THAT(roles.Check("spiffe://elsewhere/x", "/chaos.v1.Agent/Describe").message(),
              HasSubstr("identity spiffe://elsewhere/x has no role"));
  EXPECT_THAT(roles.Check(alice, "/chaos.v1.Agent/Unknown").message(), HasSubstr("needs admin"));
  EXPECT_FALSE(roles.Check("", "/grpc.health.v1.Health/Check").ok());
  EXPECT_TRUE(roles.Check("spiffe://elsewhere/x", "/grpc.health.v1.Health/Check").ok());
}

// Every RPC of both services is in the table, so none falls back to admin
// by being forgotten there.
TEST(AuthzTest, TheTableListsEveryMethodOfBothServices) {
  for (const google::protobuf::ServiceDescriptor* service :
       {chaos::v1::ForgetAgentRequest::descriptor()->file()->FindServiceByName("Controller"),
        chaos::v1::DescribeRequest::descriptor()->file()->FindServiceByName("Agent")}) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method =
          "/" + service->full_name() + "/" + service->method(i)->name();
      EXPECT_TRUE(MethodListed(method)) << method << " has no role in rpc/authz.cc";
    }
  }
  EXPECT_FALSE(MethodListed("/chaos.v1.Agent/Unknown"));
  EXPECT_EQ(MethodRole("/chaos.v1.Controller/ForgetAgent"), Role::kAdmin);
}

TEST(AuthzTest, DefaultRolesTrustTheControllerOnAgentsAndOperatorsEverywhere) {
  const Roles agent = DefaultRoles(Daemon::kAgent);
  EXPECT_TRUE(agent.Check("spiffe://chaos/controller", "/chaos.v1.Agent/Inject").ok());
  EXPECT_TRUE(agent.Check("spiffe://chaos/operator/x", "/chaos.v1.Agent/Inject").ok());
  EXPECT_FALSE(agent.Check("spiffe://chaos/agent/a2", "/chaos.v1.Agent/Inject").ok());
  // Running a command needs what injecting needs.
  EXPECT_TRUE(agent.Check("spiffe://chaos/operator/x", "/chaos.v1.Agent/RunCommand").ok());
  EXPECT_FALSE(agent.Check("spiffe://chaos/agent/a2", "/chaos.v1.Agent/RunCommand").ok());
  const Roles controller = DefaultRoles(Daemon::kController);
  EXPECT_TRUE(
      controller.Check("spiffe://chaos/agent/a2", "/chaos.v1.Controller/RegisterAgent").ok());
  EXPECT_TRUE(controller.Check("spiffe://chaos/operator/x", "/chaos.v1.Controller/SubmitRun").ok());
  EXPECT_THAT(
      controller.Check("spiffe://chaos/operator/x", "/chaos.v1.Controller/HaltAll").message(),
      HasSubstr("--authz FILE"));
}

TEST(AuthzTest, BadFilesAreOneLineNamingFileAndEntry) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"roles: {\"spiffe://x\": root}\n",
       "authz.yaml:1:23: roles[\"spiffe://x\"]: unknown role \"root\""},
      {"role: {}\n", "authz.yaml:1:1: unknown field \"role\" (known: roles)"},
      {"roles: {\"spiffe://*/x\": admin}\n", "'*' only at its end"},
      {"roles: [a, b]\n", "roles: must map identities to roles"},
      {"[unclosed\n", "authz.yaml: not YAML"},
      {"just text\n", "must be a map with 'roles'"},
  };
  for (const Case& c : cases) {
    auto roles = Roles::Parse(c.text, "authz.yaml");
    ASSERT_FALSE(roles.ok()) << c.text;
    EXPECT_EQ(roles.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(roles.status().message(), HasSubstr(c.error)) << c.text;
    EXPECT_EQ(std::string(roles.status().message()).find('\n'), std::string::npos);
  }
  auto missing = Roles::Load("/nonexistent/authz.yaml");
  EXPECT_THAT(missing.status().message(), HasSubstr("--authz /nonexistent/authz.yaml"));
}

}  // namespace
}  // namespace chaos::rpc
