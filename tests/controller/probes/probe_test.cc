// Probes against real servers on 127.0.0.1 with OS-chosen ports: a
// cpp-httplib server, plain sockets, real commands and the real
// chaos-controller binary for gRPC health.
#include "controller/probes/probe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "chaos/v1/controller.grpc.pb.h"
#include "rpc/credentials.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "httplib.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using ::chaos::testing::ReadFileOrEmpty;
using ::chaos::testing::Subprocess;
using ::chaos::testing::TempDir;
using ::testing::HasSubstr;

// Generous bound for "returned because of the timeout, not because the
// slow thing finished": the slow things below take 5 s or more.
constexpr absl::Duration kBounded = absl::Seconds(2);

// A port bound on 127.0.0.1 but not listening: connecting to it is refused,
// and no other process can take it while this object lives.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~ClosedPort() { close(fd_); }
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class HttpServer {
 public:
  HttpServer() {
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("status: healthy\n", "text/plain");
    });
    server_.Get("/down", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("maintenance\n", "text/plain");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      res.set_content("slow but fine\n", "text/plain");
    });
    // Answers after 5 s, or as soon as the server is being torn down.
    server_.Get("/hang", [this](const httplib::Request&, httplib::Response& res) {
      for (int i = 0; i < 500 && !stopping_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      res.set_content("late\n", "text/plain");
    });
    // Sends the body one byte every 100 ms for 5 s: each read is quick, the
    // whole response is slow.
    server_.Get("/trickle", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [this](size_t offset, httplib::DataSink& sink) {
        if (offset >= 50 || stopping_) {
          sink.done();
          return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return sink.write("x", 1);
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~HttpServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  std::thread thread_;
};

ProbeSpec Http(const std::string& url, int status = 200, const std::string& regex = "",
               absl::Duration max_latency = absl::InfiniteDuration()) {
  ProbeSpec p;
  p.name = "http";
  p.check = HttpCheck{url, status, regex, max_latency};
  p.timeout = absl::Seconds(5);
  return p;
}

TEST(HttpProbeTest, StatusAndBody) {
  HttpServer server;
  ProbeResult r = RunProbe(Http(server.Url("/ok"), 200, "status: (healthy|ok)"));
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("HTTP 200"));

  r = RunProbe(Http(server.Url("/down")));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 503 (want 200)");

  r = RunProbe(Http(server.Url("/down"), 503));
  EXPECT_TRUE(r.ok) << r.detail;

  r = RunProbe(Http(server.Url("/ok"), 200, "sick"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("does not match /sick/"));

  // The regex is searched, not fully matched; ^ anchors at the body's start.
  r = RunProbe(Http(server.Url("/ok?x=1"), 200, "^healthy"));
  EXPECT_FALSE(r.ok) << r.detail;
  r = RunProbe(Http(server.Url("/ok?x=1"), 200, "^status"));
  EXPECT_TRUE(r.ok) << r.detail;

  r = RunProbe(Http(server.Url("/ok"), 200, "(unclosed"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("bad body regex"));
}

TEST(HttpProbeTest, HostNameIsResolved) {
  HttpServer server;
  ProbeResult r = RunProbe(Http(absl::StrCat("http://localhost:", server.port(), "/ok")));
  EXPECT_TRUE(r.ok) << r.detail;
  r = RunProbe(Http(absl::StrCat("http://host.invalid:", server.port(), "/ok")));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("resolve host.invalid"));
}

TEST(HttpProbeTest, MaxLatency) {
  HttpServer server;
  ProbeResult r = RunProbe(Http(server.Url("/slow"), 200, "", absl::Milliseconds(50)));
  EXPECT_FALSE(r.ok);
  EXPECT_GE(r.latency, absl::Milliseconds(300));
  EXPECT_THAT(r.detail, HasSubstr("(max 50ms)"));

  r = RunProbe(Http(server.Url("/slow"), 200, "", absl::Seconds(4)));
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST(HttpProbeTest, TimeoutBoundsTheRequest) {
  HttpServer server;
  ProbeSpec p = Http(server.Url("/hang"));
  p.timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  ProbeResult r = RunProbe(p);
  const absl::Duration took = absl::Now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("timed out after 300ms"));
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, kBounded);
}

TEST(HttpProbeTest, TimeoutBoundsATricklingBody) {
  HttpServer server;
  ProbeSpec p = Http(server.Url("/trickle"));
  p.timeout = absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  ProbeResult r = RunProbe(p);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("timed out after 500ms"));
  EXPECT_LT(absl::Now() - start, kBounded);
}

TEST(HttpProbeTest, ConnectionRefused) {
  ClosedPort closed;
  ProbeResult r = RunProbe(Http(absl::StrCat("http://127.0.0.1:", closed.port(), "/")));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr(absl::StrCat("connect 127.0.0.1:", closed.port())));
}

TEST(HttpProbeTest, RejectsHttpsAndMalformedUrls) {
  ProbeResult r = RunProbe(Http("https://127.0.0.1:1/"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("https is not supported"));
  for (const char* url : {"127.0.0.1:80/health", "http://", "http://:80/", "http://host:0/",
                          "http://host:99999/", "http://host:port/", "ftp://host/",
                          "http://user@host/", "http://host/a b"}) {
    r = RunProbe(Http(url));
    EXPECT_FALSE(r.ok) << url;
    EXPECT_THAT(r.detail, HasSubstr("bad URL")) << url;
  }
}

ProbeSpec Tcp(const std::string& address) {
  ProbeSpec p;
  p.name = "tcp";
  p.check = TcpCheck{address};
  p.timeout = absl::Seconds(2);
  return p;
}

TEST(TcpProbeTest, OpenAndClosedPorts) {
  HttpServer server;
  ProbeResult r = RunProbe(Tcp(absl::StrCat("127.0.0.1:", server.port())));
  EXPECT_TRUE(r.ok) << r.detail;
  r = RunProbe(Tcp(absl::StrCat("localhost:", server.port())));
  EXPECT_TRUE(r.ok) << r.detail;

  ClosedPort closed;
  r = RunProbe(Tcp(closed.address()));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, absl::StrCat("connect ", closed.address(), ": Connection refused"));

  r = RunProbe(Tcp("no-port-here"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("bad address"));
  r = RunProbe(Tcp("host.invalid:80"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("resolve host.invalid"));
}

// A DNS server that never answers must not hold a probe past its timeout.
// The test re-runs itself in new network and mount namespaces, where
// /etc/resolv.conf names 127.0.0.1 and the child keeps port 53 open
// without answering. Needs root (as do the other namespace tests).
TEST(ResolveTest, SlowDnsIsBoundedByTheTimeout) {
  constexpr char kSlowName[] = "chaos-slow-dns.example";
  if (std::getenv("CHAOS_SLOW_DNS_CHILD") != nullptr) {
    const int dns = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(53);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(dns, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    for (ProbeSpec p : {Tcp(absl::StrCat(kSlowName, ":80")),
                        Http(absl::StrCat("http://", kSlowName, "/"))}) {
      p.timeout = absl::Milliseconds(300);
      const absl::Time start = absl::Now();
      ProbeResult r = RunProbe(p);
      EXPECT_LT(absl::Now() - start, kBounded);
      EXPECT_FALSE(r.ok);
      EXPECT_EQ(r.detail, absl::StrCat("resolve ", kSlowName, ": timed out after 300ms"));
    }
    close(dns);
    return;
  }
  TempDir dir;
  const std::string conf = dir.path() + "/resolv.conf";
  std::ofstream(conf) << "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n";
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(n, 0);
  self[n] = 0;
  base::CommandOutcome out = base::RunCommand(
      {"unshare", "-n", "-m", "sh", "-c",
       "PATH=$PATH:/usr/sbin:/sbin; ip link set lo up && mount --bind \"$1\" /etc/resolv.conf "
       "&& CHAOS_SLOW_DNS_CHILD=1 exec \"$0\" --gtest_filter=ResolveTest.SlowDnsIsBoundedByTheTimeout",
       self, conf},
      absl::Seconds(60));
  EXPECT_EQ(out.exit_code, 0) << out.error << out.output;
  EXPECT_THAT(out.output, HasSubstr("[  PASSED  ] 1 test")) << out.output;
}

// Pids of this process's children, zombies included.
std::vector<pid_t> OwnChildren() {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc/self/task");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string children =
        ReadFileOrEmpty(absl::StrCat("/proc/self/task/", e->d_name, "/children"));
    for (absl::string_view p : absl::StrSplit(children, ' ', absl::SkipWhitespace())) {
      pid_t pid = 0;
      if (absl::SimpleAtoi(p, &pid)) out.push_back(pid);
    }
  }
  closedir(d);
  return out;
}

bool ProcessGone(pid_t pid) {
  // Orphans are reaped by init (or a subreaper) asynchronously.
  for (int i = 0; i < 200; ++i) {
    if (kill(pid, 0) < 0 && errno == ESRCH) return true;
    const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
    const size_t close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') {
      return true;  // dead, waiting for its new parent to reap it
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(RunWithTimeoutTest, ExitCodeAndCombinedOutput) {
  base::CommandOutcome out = base::RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"},
                                      absl::Seconds(10));
  EXPECT_TRUE(out.error.empty()) << out.error;
  EXPECT_FALSE(out.timed_out);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.output, "out\nerr\n");
  EXPECT_TRUE(OwnChildren().empty());
}

TEST(RunWithTimeoutTest, CommandInheritsNoDescriptorsBeyondStdio) {
  const int fd = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(fd, 3);
  base::CommandOutcome out = base::RunCommand(
      {"sh", "-c", absl::StrCat("if [ -e /proc/self/fd/", fd, " ]; then echo leaked; else echo clean; fi")},
      absl::Seconds(10));
  close(fd);
  EXPECT_EQ(out.output, "clean\n");
}

TEST(RunWithTimeoutTest, KilledBySignalIs128PlusSignal) {
  base::CommandOutcome out = base::RunCommand({"sh", "-c", "kill -TERM $$"}, absl::Seconds(10));
  EXPECT_FALSE(out.timed_out);
  EXPECT_EQ(out.exit_code, 128 + SIGTERM);
}

TEST(RunWithTimeoutTest, KeepsAtMost64KiB) {
  base::CommandOutcome out =
      base::RunCommand({"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a"}, absl::Seconds(10));
  EXPECT_EQ(out.exit_code, 0) << out.error;
  EXPECT_FALSE(out.timed_out);
  EXPECT_EQ(out.output, std::string(64 * 1024, 'a'));
}

TEST(RunWithTimeoutTest, StdinIsEmpty) {
  base::CommandOutcome out = base::RunCommand({"cat"}, absl::Seconds(10));
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_FALSE(out.timed_out);
  EXPECT_EQ(out.output, "");
}

TEST(RunWithTimeoutTest, TimeoutKillsTheWholeGroup) {
  // The shell prints its background sleep's pid, then waits for it.
  const absl::Time start = absl::Now();
  base::CommandOutcome out =
      base::RunCommand({"sh", "-c", "sleep 10 & echo $!; wait"}, absl::Milliseconds(200));
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(out.timed_out);
  EXPECT_EQ(out.exit_code, 128 + SIGKILL);
  EXPECT_LT(took, kBounded);
  EXPECT_GE(out.took, absl::Milliseconds(200));
  pid_t sleeper = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(out.output), &sleeper)) << out.output;
  EXPECT_TRUE(ProcessGone(sleeper)) << "background sleep " << sleeper << " survived";
  EXPECT_TRUE(OwnChildren().empty());

  out = base::RunCommand({"sleep", "10"}, absl::Milliseconds(200));
  EXPECT_TRUE(out.timed_out);
  EXPECT_EQ(out.exit_code, 128 + SIGKILL);
  EXPECT_TRUE(OwnChildren().empty()) << "the sleep child was not reaped";
}

TEST(RunWithTimeoutTest, StartFailures) {
  base::CommandOutcome out = base::RunCommand({}, absl::Seconds(1));
  EXPECT_EQ(out.error, "empty command");
  out = base::RunCommand({"chaos-no-such-command"}, absl::Seconds(1));
  EXPECT_THAT(out.error, HasSubstr("chaos-no-such-command: command not found"));
  TempDir dir;
  const std::string not_executable = dir.path() + "/data";
  std::ofstream(not_executable) << "just data\n";
  chmod(not_executable.c_str(), 0644);
  out = base::RunCommand({not_executable}, absl::Seconds(1));
  EXPECT_EQ(out.error, absl::StrCat("exec ", not_executable, ": Permission denied"));
  EXPECT_EQ(out.exit_code, -1);
  const std::string garbage = dir.path() + "/garbage";
  std::ofstream(garbage) << "\x7f\x01\x02 not a program";
  chmod(garbage.c_str(), 0755);
  out = base::RunCommand({garbage}, absl::Seconds(1));
  EXPECT_EQ(out.error, absl::StrCat("exec ", garbage, ": Exec format error"));
  EXPECT_TRUE(OwnChildren().empty());
}

TEST(RunWithTimeoutTest, ConcurrentCallsKeepTheirOwnOutput) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string tag = absl::StrCat("tag-", t, "-", i);
        base::CommandOutcome out = base::RunCommand({"sh", "-c", "echo \"$0\"", tag}, absl::Seconds(20));
        if (out.output != tag + "\n" || out.exit_code != 0 || out.timed_out) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(OwnChildren().empty());
}

ProbeSpec Command(std::vector<std::string> argv, int exit_code = 0,
                  const std::string& regex = "") {
  ProbeSpec p;
  p.name = "cmd";
  p.check = CommandCheck{std::move(argv), exit_code, regex, /*target=*/""};
  p.timeout = absl::Seconds(10);
  return p;
}

TEST(CommandProbeTest, ExitCodeRegexAndTimeout) {
  ProbeResult r = RunProbe(Command({"sh", "-c", "echo replicas=3; exit 2"}, 2, "replicas=[0-9]+"));
  EXPECT_TRUE(r.ok) << r.detail;
  r = RunProbe(Command({"sh", "-c", "echo replicas=3; exit 2"}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "exit 2 (want 0)");
  r = RunProbe(Command({"sh", "-c", "echo replicas=0"}, 0, "replicas=[1-9]"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("output does not match"));
  r = RunProbe(Command({"chaos-no-such-command"}));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("command not found"));

  ProbeSpec slow = Command({"sleep", "10"});
  slow.timeout = absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  r = RunProbe(slow);
  EXPECT_LT(absl::Now() - start, kBounded);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("timed out after 200ms"));
  EXPECT_TRUE(OwnChildren().empty());
}

// A command check with a target runs on its group's agents, which only the
// run engine reaches: RunProbe runs nothing here, and the same judgement
// applies to the agent's answer.
TEST(CommandProbeTest, WithATargetItRunsNothingHereAndItsOutcomeIsJudgedAlike) {
  ProbeSpec remote = Command({"sh", "-c", "exit 0"});
  std::get<CommandCheck>(remote.check).target = "db";
  ProbeResult r = RunProbe(remote);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "runs on the agents of target group db, through the run engine");
  base::CommandOutcome out;
  out.exit_code = 1;
  r = JudgeCommandProbe(std::get<CommandCheck>(remote.check), out, absl::Seconds(1));
  EXPECT_EQ(r.detail, "exit 1 (want 0)");
  out.exit_code = 0;
  EXPECT_TRUE(JudgeCommandProbe(std::get<CommandCheck>(remote.check), out, absl::Seconds(1)).ok);
}

class ControllerProcess {
 public:
  explicit ControllerProcess(const TempDir& dir) {
    const std::string port_file = dir.path() + "/port";
    process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{std::string(CHAOS_BINARY_DIR) + "/bin/chaos-controller",
                                 "--listen", "127.0.0.1:0", "--port-file", port_file,
                                 "--state-dir", dir.path() + "/state"},
        dir.path() + "/controller.log");
    for (int i = 0; i < 400 && port_ == 0 && process_->running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(port_file)), &port_);
    }
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
};

ProbeSpec Health(const std::string& address, const std::string& service = "") {
  ProbeSpec p;
  p.name = "health";
  p.check = GrpcHealthCheck{address, service};
  p.timeout = absl::Seconds(5);
  return p;
}

TEST(GrpcHealthProbeTest, ServingAgainstChaosController) {
  TempDir dir;
  ControllerProcess controller(dir);
  ASSERT_NE(controller.port(), 0) << ReadFileOrEmpty(dir.path() + "/controller.log");
  const std::string address = absl::StrCat("127.0.0.1:", controller.port());
  ProbeResult r = RunProbe(Health(address));
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.detail, "SERVING");

  r = RunProbe(Health(address, "no.such.Service"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("NOT_FOUND"));

  // The same server answers the chaos.v1.Controller service.
  auto stub = chaos::v1::Controller::NewStub(rpc::OpenChannel(address, rpc::TransportOptions()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  chaos::v1::ListAgentsRequest req;
  chaos::v1::ListAgentsResponse resp;
  EXPECT_TRUE(stub->ListAgents(&ctx, req, &resp).ok());
}

TEST(GrpcHealthProbeTest, NotServingInProcess) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::CallbackGenericService unimplemented;
  grpc::ServerBuilder builder;
  builder.RegisterCallbackGenericService(&unimplemented);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  server->GetHealthCheckService()->SetServingStatus("shop.Cart", true);
  ProbeResult r = RunProbe(Health(address, "shop.Cart"));
  EXPECT_TRUE(r.ok) << r.detail;
  server->GetHealthCheckService()->SetServingStatus("shop.Cart", false);
  r = RunProbe(Health(address, "shop.Cart"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "NOT_SERVING");
  server->GetHealthCheckService()->SetServingStatus(false);
  r = RunProbe(Health(address));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "NOT_SERVING");
  server->Shutdown();
}

TEST(GrpcHealthProbeTest, ClosedPortFailsWithinTimeout) {
  ClosedPort closed;
  ProbeSpec p = Health(closed.address());
  // Refused at once on loopback; the timeout only has to outlast channel
  // set-up on a busy machine, so that the answer is UNAVAILABLE rather than
  // DEADLINE_EXCEEDED.
  p.timeout = absl::Milliseconds(1500);
  const absl::Time start = absl::Now();
  ProbeResult r = RunProbe(p);
  EXPECT_LT(absl::Now() - start, p.timeout + kBounded);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("UNAVAILABLE"));

  r = RunProbe(Health("not an address"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("bad address"));
}

}  // namespace
}  // namespace chaos::controller
