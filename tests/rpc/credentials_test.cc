// rpc/: the TLS start-up checks, the transport flags, the listen policy,
// and PeerIdentity over real TLS connections on 127.0.0.1 (in-process
// server), with certificates made by openssl at test time.
#include "rpc/authz.h"
#include "rpc/credentials.h"

#include <fstream>
#include <memory>

#include "chaos/v1/agent.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "rpc/listen_policy.h"
#include "rpc/status.h"
#include "rpc/transport_flags.h"
#include "tests/rpc/test_pki.h"
#include "tests/test_util.h"

namespace chaos::rpc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ListenPolicy, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1:7070", "127.1.2.3:0", "[::1]:7070", "localhost:7070",
                        "LOCALHOST:1", "[::ffff:127.0.0.1]:80", "unix:/run/chaos.sock"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0:7070", "[::]:7070", ":7070", "host.example:7070",
                        "10.1.2.3:7070", "128.0.0.1:1", "[fe80::1]:7070", "localhost.evil:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(ListenPolicy, ReachableAddressIsTheListenHostWithThePortGot) {
  EXPECT_EQ(ReachableAddress("127.0.0.1:0", 7071, "ctl1"), "127.0.0.1:7071");
  EXPECT_EQ(ReachableAddress("[::1]:0", 7071, "ctl1"), "[::1]:7071");
  EXPECT_EQ(ReachableAddress("ctl1.example:7071", 7071, "ctl1"), "ctl1.example:7071");
  for (const char* wildcard : {"0.0.0.0:0", "[::]:7071", ":7071"}) {
    EXPECT_EQ(ReachableAddress(wildcard, 7071, "ctl1"), "ctl1:7071") << wildcard;
  }
}

TEST(ListenPolicy, PlaintextOffLoopbackIsRefusedInOneLine) {
  TransportOptions plaintext;
  absl::Status s = CheckListen("0.0.0.0:7070", plaintext);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("--listen 0.0.0.0:7070: plaintext"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("--tls-cert"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("--insecure"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("\n")));
  EXPECT_TRUE(CheckListen("127.0.0.1:7070", plaintext).ok());
  plaintext.set_insecure(true);
  EXPECT_TRUE(CheckListen("0.0.0.0:7070", plaintext).ok());
  // The metrics port has no TLS: only --insecure helps.
  absl::Status m = CheckPlaintextListen("--metrics-listen", "[::]:9464", false, false);
  EXPECT_EQ(m.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(m.message()), HasSubstr("--metrics-listen [::]:9464"));
  EXPECT_THAT(std::string(m.message()), Not(HasSubstr("--tls-cert")));
}

TEST(TransportFlags, NoneIsPlaintextAndAPartialSetNamesWhatIsMissing) {
  TransportFlags none;
  auto plaintext = TransportFromFlags(none, Endpoint::kClient);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  EXPECT_FALSE(plaintext->tls());

  TransportFlags partial;
  partial.cert = "/x/agent.crt";
  auto s = TransportFromFlags(partial, Endpoint::kClient);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "--tls-cert, --tls-key and --tls-ca go together: --tls-key and --tls-ca missing");
}

class TlsFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    pki_ = new testing::TestPki(dir_->path() + "/pki", {"a1"});
    other_ = new testing::TestPki(dir_->path() + "/other", {"a1"});
  }
  static void TearDownTestSuite() {
    delete other_;
    delete pki_;
    delete dir_;
  }
  static std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_->path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static testing::TempDir* dir_;
  static testing::TestPki* pki_;
  static testing::TestPki* other_;  // another CA
};
testing::TempDir* TlsFilesTest::dir_ = nullptr;
testing::TestPki* TlsFilesTest::pki_ = nullptr;
testing::TestPki* TlsFilesTest::other_ = nullptr;

TEST_F(TlsFilesTest, ValidFilesPass) {
  EXPECT_TRUE(CheckTlsFiles(pki_->Agent("a1")).ok());
  EXPECT_TRUE(CheckTlsFiles(pki_->Controller()).ok());
  EXPECT_TRUE(CheckTlsFiles(pki_->Operator()).ok());
}

TEST_F(TlsFilesTest, EachMistakeIsOneLineNamingItsFile) {
  TlsFiles f = pki_->Agent("a1");
  f.cert = dir_->path() + "/missing.crt";
  absl::Status s = CheckTlsFiles(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "--tls-cert " + f.cert + ": No such file or directory");

  f = pki_->Agent("a1");
  f.cert = Write("garbage.crt", "not a certificate\n");
  s = CheckTlsFiles(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "--tls-cert " + f.cert + ": holds no PEM certificate");

  f = pki_->Agent("a1");
  f.key = Write("garbage.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  s = CheckTlsFiles(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("--tls-key " + f.key + ": holds no PEM"));

  f = pki_->Agent("a1");
  f.key = pki_->Controller().key;
  s = CheckTlsFiles(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "--tls-key " + f.key + ": does not match the certificate in " + f.cert);

  f = pki_->Agent("a1");
  f.ca = dir_->path() + "/missing-ca.crt";
  s = CheckTlsFiles(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "--tls-ca " + f.ca + ": No such file or directory");

  f = pki_->Agent("a1");
  f.ca = other_->ca();
  s = CheckTlsFiles(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("--tls-cert " + f.cert + ": does not chain to --tls-ca " + f.ca));
}

TEST_F(TlsFilesTest, AnExpiredCertificateIsRefusedAtStart) {
  TlsFiles f = pki_->Issue("expired", "expired", "URI:spiffe://chaos/agent/old", true);
  absl::Status s = CheckTlsFiles(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("certificate has expired"));
}

// Describe answers with the caller's identity as its hostname.
class WhoAmI final : public chaos::v1::Agent::CallbackService {
  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* ctx,
                                     const chaos::v1::DescribeRequest*,
                                     chaos::v1::DescribeResponse* response) override {
    response->set_hostname(PeerIdentity(*ctx));
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class PeerIdentityTest : public TlsFilesTest {
 protected:
  void Serve(TransportOptions transport) {
    // Any authenticated identity may read (a TLS server without roles
    // refuses every call).
    auto roles = Roles::Parse("roles: {\"*\": viewer}", "test roles");
    ASSERT_TRUE(roles.ok()) << roles.status();
    transport.set_roles(*roles);
    grpc::ServerBuilder builder;
    ASSERT_TRUE(AddListeningPort(builder, "127.0.0.1:0", transport, &port_).ok());
    service_ = std::make_unique<WhoAmI>();  // one service per server
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_GT(port_, 0);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // {what the server saw of the client, what the client saw of the server}
  std::pair<std::string, std::string> Call(std::shared_ptr<grpc::Channel> channel) {
    auto stub = chaos::v1::Agent::NewStub(channel);
    auto ctx = ContextWithTimeout(absl::Seconds(30));
    chaos::v1::DescribeResponse resp;
    grpc::Status s = stub->Describe(ctx.get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << StatusText(s);
    return {resp.hostname(), PeerIdentity(*ctx->auth_context())};
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<WhoAmI> service_;
  int port_ = 0;
};

TEST_F(PeerIdentityTest, TheUriSanOfEitherSide) {
  auto agent = TransportOptions::MutualTls(pki_->Agent("a1"), absl::Seconds(10));
  ASSERT_TRUE(agent.ok()) << agent.status();
  Serve(*agent);
  auto op = TransportOptions::MutualTls(pki_->Operator(), absl::Seconds(10));
  ASSERT_TRUE(op.ok()) << op.status();
  auto [client, server] = Call(OpenChannel(address(), *op));
  EXPECT_EQ(client, "spiffe://chaos/operator/admin");
  EXPECT_EQ(server, "spiffe://chaos/agent/a1");
}

TEST_F(PeerIdentityTest, ElseTheDnsSanElseTheCommonName) {
  auto agent = TransportOptions::MutualTls(pki_->Agent("a1"), absl::Seconds(10));
  ASSERT_TRUE(agent.ok()) << agent.status();
  Serve(*agent);
  TlsFiles dns = pki_->Issue("dns-only", "dns-cn", "DNS:client.example");
  EXPECT_EQ(Call(testing::FreshChannel(address(), testing::RawTlsCredentials(dns))).first,
            "client.example");
  TlsFiles cn = pki_->Issue("cn-only", "just-a-cn", "");
  EXPECT_EQ(Call(testing::FreshChannel(address(), testing::RawTlsCredentials(cn))).first,
            "just-a-cn");
}

// The client side: the server's certificate must chain to the CA and name
// the host dialled (here 127.0.0.1).
TEST_F(PeerIdentityTest, ClientsRefuseAServerOfAnotherHostOrCa) {
  auto op = TransportOptions::MutualTls(pki_->Operator(), absl::Seconds(10));
  ASSERT_TRUE(op.ok()) << op.status();
  TlsFiles elsewhere =
      pki_->Issue("elsewhere", "elsewhere", "URI:spiffe://chaos/agent/x,DNS:elsewhere.example");
  for (const TlsFiles& server : {elsewhere, other_->Agent("a1")}) {
    auto transport = TransportOptions::MutualTls(server, absl::Seconds(10));
    ASSERT_TRUE(transport.ok()) << transport.status();
    Serve(*transport);
    auto stub = chaos::v1::Agent::NewStub(OpenChannel(address(), *op));
    chaos::v1::DescribeResponse resp;
    grpc::Status s = stub->Describe(ContextWithTimeout(absl::Seconds(30)).get(), {}, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << server.cert;
    server_->Shutdown();
    server_.reset();
  }
}

TEST_F(PeerIdentityTest, PlaintextHasNoIdentity) {
  Serve(TransportOptions());
  auto [client, server] = Call(OpenChannel(address(), TransportOptions()));
  EXPECT_EQ(client, "");
  EXPECT_EQ(server, "");
}

}  // namespace
}  // namespace chaos::rpc
