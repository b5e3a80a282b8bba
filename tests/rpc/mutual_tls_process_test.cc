// Mutual TLS and the listen policy with the real binaries: chaos-agent and
// chaos-controller started as processes on 127.0.0.1 with OS-chosen ports,
// chaosctl and test gRPC clients against them, certificates made at test
// time by deploy/pki/make-dev-pki.sh and openssl. Waits are for events,
// each with a generous hang guard; nothing asserts a duration.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "chaos/v1/controller.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/credentials.h"
#include "rpc/status.h"
#include "tests/rpc/test_pki.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int kHangGuardS = 120;

std::vector<std::string> TlsArgs(const rpc::TlsFiles& f) {
  return {"--tls-cert", f.cert, "--tls-key", f.key, "--tls-ca", f.ca};
}

// Calls `ok` every 50 ms until it holds; false only when the hang guard
// passes first.
bool Await(const std::function<bool()>& ok) {
  const absl::Time guard = absl::Now() + absl::Seconds(kHangGuardS);
  while (!ok()) {
    if (absl::Now() > guard) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The ports of the other ends of the TCP connections to or from `port` on
// 127.0.0.1 that the kernel still lists (/proc/net/tcp and tcp6, as gRPC
// serves IPv4 on a dual-stack socket: established, and closed ones in
// TIME_WAIT), listening sockets left out: one per connection made to a
// server at `port` within the last minute.
std::set<int> PeersOf(int port) {
  std::set<int> peers;
  const auto port_of = [](const std::string& address) {
    return static_cast<int>(std::stoul(address.substr(address.find(':') + 1), nullptr, 16));
  };
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream table(path);
    std::string line;
    std::getline(table, line);  // the header
    while (std::getline(table, line)) {
      std::vector<std::string> cols = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (cols.size() < 4 || cols[3] == "0A") continue;  // LISTEN
      if (port_of(cols[1]) == port) peers.insert(port_of(cols[2]));
      if (port_of(cols[2]) == port) peers.insert(port_of(cols[1]));
    }
  }
  return peers;
}

// Lines of `chaosctl faults` output whose state column is `state`: a
// fault's detail may say "reverted by ..." too, so words are not counted.
size_t FaultsIn(const std::string& table, const std::string& state) {
  size_t n = 0;
  for (absl::string_view line : absl::StrSplit(table, '\n')) {
    std::vector<absl::string_view> cols = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cols.size() >= 2 && cols[1] == state) ++n;
  }
  return n;
}

class MutualTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path() + "/pki", {"a1"});
    other_ = new TestPki(dir_->path() + "/other", {"a1"});
    expired_ = new rpc::TlsFiles(
        pki_->Issue("expired-admin", "admin", "URI:spiffe://chaos/operator/admin", true));
  }
  static void TearDownTestSuite() {
    delete expired_;
    delete other_;
    delete pki_;
    delete dir_;
  }

  // A daemon in a fresh state directory; DaemonProcess throws (failing
  // the test with the daemon's log) when it does not start.
  std::unique_ptr<DaemonProcess> Start(const std::string& binary, const std::string& name,
                                       const std::vector<std::string>& extra,
                                       const std::string& listen = "127.0.0.1:0") {
    const std::string state = absl::StrCat(dir_->path(), "/", name, "-", ++started_);
    return std::make_unique<DaemonProcess>(binary, state, extra, listen);
  }
  std::unique_ptr<DaemonProcess> StartAgent(const std::string& name,
                                            const std::vector<std::string>& extra) {
    return Start(AgentBinary(), "agent-" + name, extra);
  }
  std::unique_ptr<DaemonProcess> StartController(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--heartbeat-interval-ms", "200"});
    return Start(ControllerBinary(), "controller", extra);
  }
  // A controller over mutual TLS with the authz file `roles`, written to
  // `file` in the suite's directory, and agent a1 registering with it.
  std::pair<std::unique_ptr<DaemonProcess>, std::unique_ptr<DaemonProcess>> StartWithRoles(
      const std::string& file, const std::string& roles) {
    const std::string authz = dir_->path() + "/" + file;
    std::ofstream(authz) << roles;
    std::vector<std::string> controller_args = TlsArgs(pki_->Controller());
    controller_args.insert(controller_args.end(), {"--authz", authz});
    auto controller = StartController(controller_args);
    std::vector<std::string> agent_args = TlsArgs(pki_->Agent("a1"));
    agent_args.insert(agent_args.end(), {"--controller", controller->address()});
    return {std::move(controller), StartAgent("a1", agent_args)};
  }

  static TempDir* dir_;
  static TestPki* pki_;
  static TestPki* other_;  // another CA with the same names
  static rpc::TlsFiles* expired_;
  static int started_;  // daemons started by the suite: each gets a fresh directory
};
TempDir* MutualTls::dir_ = nullptr;
TestPki* MutualTls::pki_ = nullptr;
TestPki* MutualTls::other_ = nullptr;
rpc::TlsFiles* MutualTls::expired_ = nullptr;
int MutualTls::started_ = 0;

using Call = std::function<grpc::Status(std::shared_ptr<grpc::Channel>)>;

grpc::Status Describe(std::shared_ptr<grpc::Channel> channel) {
  chaos::v1::DescribeResponse resp;
  return chaos::v1::Agent::NewStub(channel)->Describe(
      rpc::ContextWithTimeout(absl::Seconds(30)).get(), {}, &resp);
}

grpc::Status ListAgents(std::shared_ptr<grpc::Channel> channel) {
  chaos::v1::ListAgentsResponse resp;
  return chaos::v1::Controller::NewStub(channel)->ListAgents(
      rpc::ContextWithTimeout(absl::Seconds(30)).get(), {}, &resp);
}

// The server at `daemon` answers a client with a valid certificate, and
// refuses at the handshake one without a certificate, one from another CA
// and an expired one (gRPC logs each handshake failure with OpenSSL's
// reason on the server's side), and plaintext; it answers afterwards.
void ExpectHandshakeRefusals(const DaemonProcess& daemon, const Call& call, const TestPki& pki,
                             const TestPki& other, const rpc::TlsFiles& expired) {
  const std::string ca = pki.ca();
  const rpc::TlsFiles op = pki.Operator();
  EXPECT_TRUE(call(FreshChannel(daemon.address(), RawTlsCredentials(op))).ok());
  struct Case {
    const char* what;
    std::string cert, key;
    const char* reason;  // in the server's log
  } cases[] = {
      {"no client certificate", "", "", "peer did not return a certificate"},
      {"another CA", other.Operator().cert, other.Operator().key, "certificate verify failed"},
      {"expired", expired.cert, expired.key, "certificate verify failed"},
  };
  for (const Case& c : cases) {
    const size_t before = Count(daemon.log(), c.reason);
    grpc::Status s = call(FreshChannel(daemon.address(), RawTlsCredentials(ca, c.cert, c.key)));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << c.what << ": " << rpc::StatusText(s);
    EXPECT_TRUE(Await([&] { return Count(daemon.log(), c.reason) > before; }))
        << c.what << ": " << daemon.log();
    EXPECT_THAT(daemon.log(), HasSubstr(std::string("Handshake failed with fatal error "
                                                    "SSL_ERROR_SSL: ")));
  }
  grpc::Status plain = call(FreshChannel(daemon.address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << rpc::StatusText(plain);
  EXPECT_TRUE(call(FreshChannel(daemon.address(), RawTlsCredentials(op))).ok());
}

TEST_F(MutualTls, AgentRefusesBadClientCertificatesAtTheHandshake) {
  auto agent = StartAgent("a1", TlsArgs(pki_->Agent("a1")));
  ExpectHandshakeRefusals(*agent, Describe, *pki_, *other_, *expired_);
  EXPECT_THAT(agent->log(), HasSubstr("mutual TLS"));
}

TEST_F(MutualTls, ControllerRefusesBadClientCertificatesAtTheHandshake) {
  auto controller = StartController(TlsArgs(pki_->Controller()));
  ExpectHandshakeRefusals(*controller, ListAgents, *pki_, *other_, *expired_);
}

TEST_F(MutualTls, ServersSpeakTls12AtLeast) {
  auto agent = StartAgent("a1", TlsArgs(pki_->Agent("a1")));
  const rpc::TlsFiles op = pki_->Operator();
  // The client offers TLS 1.1 only (its own floor lowered to allow that);
  // stdin from /dev/null, so s_client ends after the handshake.
  CommandResult r = RunCommand({"/bin/sh", "-c", "exec \"$@\" </dev/null", "s_client",
                                "/usr/bin/openssl", "s_client", "-connect", agent->address(),
                                "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", op.ca,
                                "-cert", op.cert, "-key", op.key},
                               kHangGuardS);
  EXPECT_THAT(r.output, HasSubstr("Cipher is (NONE)"));
  EXPECT_TRUE(Await([&] { return agent->log().find("unsupported protocol") != std::string::npos; }))
      << agent->log();
}

// chaosctl -> controller, agent -> controller (registration), controller ->
// agent (a run), chaosctl -> agent (direct), all over mutual TLS.
TEST_F(MutualTls, EveryHopWorksEndToEnd) {
  auto controller = StartController(TlsArgs(pki_->Controller()));
  std::vector<std::string> agent_args = TlsArgs(pki_->Agent("a1"));
  agent_args.insert(agent_args.end(), {"--controller", controller->address(), "--label",
                                       "tier=demo"});
  auto agent = StartAgent("a1", agent_args);
  const std::vector<std::string> op = TlsArgs(pki_->Operator());
  auto chaosctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), ChaosctlBinary());
    args.insert(args.end(), op.begin(), op.end());
    return RunCommand(args, kHangGuardS);
  };

  // Registration over TLS, seen through chaosctl over TLS.
  EXPECT_TRUE(Await([&] {
    CommandResult r = chaosctl({"agents", "--controller", controller->address()});
    return r.exit_code == 0 && r.output.find(agent->address()) != std::string::npos;
  })) << agent->log() << controller->log();

  const std::string yaml = dir_->path() + "/burn.yaml";
  std::ofstream(yaml) << "name: tls-burn\nmethod:\n  - id: burn\n    duration: 1s\n"
                         "    fault:\n      cpuBurn:\n        workers: 1\n"
                         "        loadPercent: 20\nrollback: always\n";
  CommandResult run = chaosctl({"run", yaml, "--controller", controller->address()});
  EXPECT_EQ(run.exit_code, 0) << run.output << controller->log() << agent->log();

  // chaosctl -> agent: a local run, then a direct command.
  CommandResult local = chaosctl({"run", yaml, "--agent", agent->address()});
  EXPECT_EQ(local.exit_code, 0) << local.output << agent->log();
  CommandResult direct = chaosctl({"faults", "--agent", agent->address(), "--all"});
  EXPECT_EQ(direct.exit_code, 0) << direct.output;
  // Each fault ended either way at its planned end: reverted by the run, or
  // by the agent's own timer ("duration elapsed"), whichever came first.
  EXPECT_EQ(FaultsIn(direct.output, "reverted"), 2u) << direct.output;

  // Without a certificate chaosctl gets nowhere: unreachable (exit 4).
  CommandResult plain = RunCommand(
      {ChaosctlBinary(), "agents", "--controller", controller->address()}, kHangGuardS);
  EXPECT_EQ(plain.exit_code, 4) << plain.output;
}

// The controller keeps one channel per agent: three HaltAlls and three
// ResumeAlls reach the agent over one TLS connection, not one each, as the
// kernel's socket table shows (a closed connection stays listed in
// TIME_WAIT for a minute).
TEST_F(MutualTls, HaltAllAndResumeAllReuseOneConnectionPerAgent) {
  auto [controller, agent] = StartWithRoles("authz-admin.yaml",
                                            "roles:\n"
                                            "  \"spiffe://chaos/operator/admin\": admin\n"
                                            "  \"spiffe://chaos/agent/*\": agent\n");
  const std::vector<std::string> admin = TlsArgs(pki_->Operator());
  auto chaosctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), ChaosctlBinary());
    args.insert(args.end(), {"--controller", controller->address()});
    args.insert(args.end(), admin.begin(), admin.end());
    return RunCommand(args, kHangGuardS);
  };
  ASSERT_TRUE(Await([&] {
    CommandResult r = chaosctl({"agents"});
    return r.exit_code == 0 && r.output.find(agent->address()) != std::string::npos;
  })) << agent->log() << controller->log();
  const int port = std::stoi(agent->address().substr(agent->address().rfind(':') + 1));
  // Nothing has called the agent yet; a connection an earlier process left
  // in TIME_WAIT on the same port number is not counted.
  const std::set<int> before = PeersOf(port);

  for (int i = 0; i < 3; ++i) {
    CommandResult halt = chaosctl({"halt", "--reason", "drill"});
    ASSERT_EQ(halt.exit_code, 0) << halt.output << controller->log();
    EXPECT_THAT(halt.output, HasSubstr(agent->address())) << halt.output;
    CommandResult resume = chaosctl({"resume"});
    ASSERT_EQ(resume.exit_code, 0) << resume.output << controller->log();
    EXPECT_THAT(resume.output, HasSubstr(agent->address())) << resume.output;
  }
  std::set<int> made;
  for (int peer : PeersOf(port)) {
    if (before.count(peer) == 0) made.insert(peer);
  }
  EXPECT_THAT(made, SizeIs(1)) << agent->log();
  EXPECT_THAT(agent->log(), HasSubstr("audit action=halt")) << agent->log();
}

// Roles over real TLS: the controller with an authz file, the agent with
// the default roles. A viewer reads but cannot run, abort or halt; an
// operator runs and aborts but cannot halt all; an admin halts all. An
// agent refuses inject from a valid certificate that has no role there.
// Audit lines and the stored run carry the certificate's identity; the
// request's caller only adds "on behalf of".
TEST_F(MutualTls, RolesDecideWhatEachIdentityMayCallAndAuditNamesIt) {
  const rpc::TlsFiles alice =
      pki_->Issue("alice", "alice", "URI:spiffe://chaos/operator/alice");
  const rpc::TlsFiles bob = pki_->Issue("bob", "bob", "URI:spiffe://chaos/operator/bob");
  const rpc::TlsFiles root = pki_->Issue("root", "root", "URI:spiffe://chaos/operator/root");
  const rpc::TlsFiles stranger = pki_->Issue("a9", "a9", "URI:spiffe://chaos/agent/a9");
  auto [controller, agent] = StartWithRoles("authz.yaml",
                                            "roles:\n"
                                            "  \"spiffe://chaos/operator/alice\": operator\n"
                                            "  \"spiffe://chaos/operator/bob\": viewer\n"
                                            "  \"spiffe://chaos/operator/root\": admin\n"
                                            "  \"spiffe://chaos/agent/*\": agent\n");
  auto stub = [&](const rpc::TlsFiles& who) {
    return chaos::v1::Controller::NewStub(
        FreshChannel(controller->address(), RawTlsCredentials(who)));
  };
  auto ctx = [] { return rpc::ContextWithTimeout(absl::Seconds(30)); };
  ASSERT_TRUE(Await([&] {
    chaos::v1::ListAgentsResponse agents;
    return stub(bob)->ListAgents(ctx().get(), {}, &agents).ok() && agents.agents_size() == 1;
  })) << controller->log() << agent->log();

  chaos::v1::SubmitRunRequest submit;
  submit.set_experiment_yaml(
      "name: roles\nmethod:\n  - {id: burn, duration: 60s, fault: {cpuBurn: {loadPercent: 5}}}\n");
  submit.set_caller("mallory");
  chaos::v1::Run run;
  grpc::Status s = stub(bob)->SubmitRun(ctx().get(), submit, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(),
              HasSubstr("identity spiffe://chaos/operator/bob has role viewer; "
                        "/chaos.v1.Controller/SubmitRun needs operator (" + dir_->path() +
                        "/authz.yaml)"));
  chaos::v1::ListRunsResponse runs;
  ASSERT_TRUE(stub(bob)->ListRuns(ctx().get(), {}, &runs).ok());
  EXPECT_EQ(runs.runs_size(), 0);

  s = stub(alice)->SubmitRun(ctx().get(), submit, &run);
  ASSERT_TRUE(s.ok()) << rpc::StatusText(s);
  EXPECT_EQ(run.caller(), "spiffe://chaos/operator/alice on behalf of mallory");
  chaos::v1::GetRunRequest get;
  get.set_run_id(run.run_id());
  chaos::v1::Run stored;
  ASSERT_TRUE(stub(bob)->GetRun(ctx().get(), get, &stored).ok());
  EXPECT_EQ(stored.caller(), "spiffe://chaos/operator/alice on behalf of mallory");

  chaos::v1::AbortRunRequest abort;
  abort.set_run_id(run.run_id());
  EXPECT_EQ(stub(bob)->AbortRun(ctx().get(), abort, &stored).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  chaos::v1::HaltAllRequest halt;
  chaos::v1::HaltAllResponse halted;
  for (const rpc::TlsFiles* who : {&bob, &alice}) {
    grpc::Status h = stub(*who)->HaltAll(ctx().get(), halt, &halted);
    EXPECT_EQ(h.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who->cert;
    EXPECT_THAT(h.error_message(), HasSubstr("/chaos.v1.Controller/HaltAll needs admin"));
  }
  EXPECT_TRUE(stub(alice)->AbortRun(ctx().get(), abort, &stored).ok());
  EXPECT_TRUE(Await([&] {
    return stub(bob)->GetRun(ctx().get(), get, &stored).ok() &&
           stored.state() == chaos::v1::RUN_STATE_ABORTED;
  }));
  s = stub(root)->HaltAll(ctx().get(), halt, &halted);
  EXPECT_TRUE(s.ok()) << rpc::StatusText(s);
  chaos::v1::ResumeAllResponse resumed;
  EXPECT_TRUE(stub(root)->ResumeAll(ctx().get(), {}, &resumed).ok());

  // The agent: a valid certificate with no role there cannot inject.
  chaos::v1::InjectRequest inject;
  inject.mutable_spec()->set_fault_id("f1");
  inject.mutable_spec()->set_experiment_id("e1");
  inject.mutable_spec()->mutable_duration()->set_seconds(5);
  inject.mutable_spec()->mutable_cpu_burn()->set_load_percent(5);
  chaos::v1::InjectResponse injected;
  s = chaos::v1::Agent::NewStub(FreshChannel(agent->address(), RawTlsCredentials(stranger)))
          ->Inject(ctx().get(), inject, &injected);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(),
              HasSubstr("identity spiffe://chaos/agent/a9 has no role; /chaos.v1.Agent/Inject "
                        "needs operator"));
  // Running a command needs what injecting needs; past that, the agent's
  // policy decides (this one allows no command), and the audit names the
  // certificate's identity.
  chaos::v1::RunCommandRequest command;
  command.add_argv("/bin/true");
  command.set_command_id("c1");
  command.set_experiment_id("e1");
  command.mutable_timeout()->set_seconds(5);
  chaos::v1::RunCommandResponse ran;
  s = chaos::v1::Agent::NewStub(FreshChannel(agent->address(), RawTlsCredentials(stranger)))
          ->RunCommand(ctx().get(), command, &ran);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("/chaos.v1.Agent/RunCommand needs operator"));
  s = chaos::v1::Agent::NewStub(FreshChannel(agent->address(), RawTlsCredentials(alice)))
          ->RunCommand(ctx().get(), command, &ran);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("policy commands: this agent runs no command"));
  EXPECT_THAT(agent->log(), HasSubstr("audit action=command-refuse command=c1 experiment=e1 "
                                      "caller=\"spiffe://chaos/operator/alice\""));

  EXPECT_THAT(controller->log(),
              HasSubstr("audit action=submit caller=\"spiffe://chaos/operator/alice on behalf of "
                        "mallory\" target=\"" + run.run_id() + "\" result=\"ok\""));
  EXPECT_THAT(controller->log(),
              HasSubstr("audit action=halt_all caller=\"spiffe://chaos/operator/root\""));
  EXPECT_THAT(agent->log(), HasSubstr("audit action=inject fault=" + run.run_id()));
  EXPECT_THAT(agent->log(), HasSubstr("caller=\"spiffe://chaos/controller"));
  EXPECT_THAT(agent->log(), HasSubstr("audit action=halt caller=\"spiffe://chaos/controller"));
}

TEST_F(MutualTls, PlaintextOffLoopbackIsOneLineAndExitTwo) {
  for (const std::string& binary : {AgentBinary(), ControllerBinary()}) {
    TempDir state;
    CommandResult r =
        RunCommand({binary, "--listen", "0.0.0.0:0", "--state-dir", state.path()}, kHangGuardS);
    EXPECT_EQ(r.exit_code, 2) << binary << ": " << r.output;
    EXPECT_THAT(NonEmptyLines(r.output), SizeIs(1)) << r.output;
    EXPECT_THAT(r.output, HasSubstr("--listen 0.0.0.0:0: plaintext is served on loopback only"));
  }
  TempDir state;
  CommandResult m = RunCommand({AgentBinary(), "--listen", "127.0.0.1:0", "--state-dir",
                                state.path(), "--metrics-listen", "0.0.0.0:0"},
                               kHangGuardS);
  EXPECT_EQ(m.exit_code, 2) << m.output;
  EXPECT_THAT(NonEmptyLines(m.output), SizeIs(1)) << m.output;
  EXPECT_THAT(m.output, HasSubstr("--metrics-listen 0.0.0.0:0"));
}

TEST_F(MutualTls, InsecureServesOffLoopbackAndWarnsOncePerPeer) {
  auto agent = Start(AgentBinary(), "insecure-agent", {"--insecure"}, "0.0.0.0:0");
  auto controller = Start(ControllerBinary(), "insecure-controller", {"--insecure"}, "0.0.0.0:0");
  for (DaemonProcess* d : {agent.get(), controller.get()}) {
    EXPECT_THAT(d->log(), HasSubstr("insecure: serving plaintext gRPC on 0.0.0.0:0"));
    EXPECT_EQ(Count(d->log(), "plaintext call from"), 0u);
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(Describe(FreshChannel(agent->address(), grpc::InsecureChannelCredentials())).ok());
    EXPECT_TRUE(
        ListAgents(FreshChannel(controller->address(), grpc::InsecureChannelCredentials())).ok());
  }
  for (DaemonProcess* d : {agent.get(), controller.get()}) {
    EXPECT_TRUE(Await([&] { return Count(d->log(), "plaintext call from ipv4:127.0.0.1") > 0; }))
        << d->log();
    EXPECT_EQ(Count(d->log(), "plaintext call from"), 1u) << d->log();
  }
}

// The agent's files live in a directory reached through a symlink; the
// rotation swaps the symlink (docs/SECURITY.md) and the next connection
// gets the new certificate from the same process.
TEST_F(MutualTls, RotatedCertificateIsServedWithoutARestart) {
  const std::string root = dir_->path() + "/rotation";
  std::filesystem::create_directories(root + "/v1");
  std::filesystem::create_directories(root + "/v2-pki");
  namespace fs = std::filesystem;
  const rpc::TlsFiles a1 = pki_->Agent("a1");
  fs::copy_file(a1.cert, root + "/v1/agent.crt");
  fs::copy_file(a1.key, root + "/v1/agent.key");
  fs::copy_file(pki_->ca(), root + "/v1/ca.crt");
  // A new key and certificate from the same CA, under another name.
  fs::copy_file(pki_->ca(), root + "/v2-pki/ca.crt");
  fs::copy_file(pki_->dir() + "/ca.key", root + "/v2-pki/ca.key");
  RunPkiScript({root + "/v2-pki", "a1-rotated"});
  fs::create_directories(root + "/v2");
  fs::copy_file(root + "/v2-pki/agent-a1-rotated.crt", root + "/v2/agent.crt");
  fs::copy_file(root + "/v2-pki/agent-a1-rotated.key", root + "/v2/agent.key");
  fs::copy_file(pki_->ca(), root + "/v2/ca.crt");
  fs::create_directory_symlink(root + "/v1", root + "/current");

  const std::string cur = root + "/current";
  auto agent = StartAgent("rotating", {"--tls-cert", cur + "/agent.crt", "--tls-key",
                                       cur + "/agent.key", "--tls-ca", cur + "/ca.crt",
                                       "--tls-reload-interval", "1"});
  const pid_t pid = agent->process().pid();
  auto served = [&] {
    auto channel = FreshChannel(agent->address(), RawTlsCredentials(pki_->Operator()));
    auto ctx = rpc::ContextWithTimeout(absl::Seconds(30));
    chaos::v1::DescribeResponse resp;
    grpc::Status s = chaos::v1::Agent::NewStub(channel)->Describe(ctx.get(), {}, &resp);
    return s.ok() ? rpc::PeerIdentity(*ctx->auth_context()) : "error: " + s.error_message();
  };
  EXPECT_EQ(served(), "spiffe://chaos/agent/a1");

  fs::create_directory_symlink(root + "/v2", root + "/current.new");
  fs::rename(root + "/current.new", root + "/current");
  std::string last;
  EXPECT_TRUE(Await([&] { return (last = served()) == "spiffe://chaos/agent/a1-rotated"; }))
      << last << "\n" << agent->log();
  EXPECT_TRUE(agent->process().running());
  EXPECT_EQ(agent->process().pid(), pid);
}

// Malformed certificate, a key of another certificate, a missing CA, a
// partial set: one line naming the file (or the flags), exit 2, for all
// three binaries.
TEST_F(MutualTls, BadTlsFilesAreOneLineNamingTheFile) {
  const rpc::TlsFiles good = pki_->Agent("a1");
  const std::string garbage = dir_->path() + "/garbage.crt";
  std::ofstream(garbage) << "this is not PEM\n";
  struct Case {
    std::vector<std::string> flags;
    std::string expected;
  };
  const std::string missing_ca = dir_->path() + "/no-such-ca.crt";
  const std::vector<Case> cases = {
      {{"--tls-cert", garbage, "--tls-key", good.key, "--tls-ca", good.ca},
       "--tls-cert " + garbage + ": holds no PEM certificate"},
      {{"--tls-cert", good.cert, "--tls-key", pki_->Controller().key, "--tls-ca", good.ca},
       "--tls-key " + pki_->Controller().key + ": does not match the certificate in " +
           good.cert},
      {{"--tls-cert", good.cert, "--tls-key", good.key, "--tls-ca", missing_ca},
       "--tls-ca " + missing_ca + ": No such file or directory"},
      {{"--tls-cert", good.cert, "--tls-key", good.key},
       "--tls-cert, --tls-key and --tls-ca go together: --tls-ca missing"},
  };
  TempDir state;
  const std::vector<std::vector<std::string>> commands = {
      {AgentBinary(), "--listen", "127.0.0.1:0", "--state-dir", state.path()},
      {ControllerBinary(), "--listen", "127.0.0.1:0", "--state-dir", state.path()},
      {ChaosctlBinary(), "describe", "--agent", "127.0.0.1:1"},
  };
  for (const auto& command : commands) {
    for (const Case& c : cases) {
      std::vector<std::string> argv = command;
      argv.insert(argv.end(), c.flags.begin(), c.flags.end());
      CommandResult r = RunCommand(argv, kHangGuardS);
      EXPECT_EQ(r.exit_code, 2) << command[0] << ": " << r.output;
      EXPECT_THAT(NonEmptyLines(r.output), SizeIs(1)) << command[0] << ": " << r.output;
      EXPECT_THAT(r.output, HasSubstr(c.expected)) << command[0];
    }
  }
}

}  // namespace
}  // namespace chaos::testing
