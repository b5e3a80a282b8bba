#include "controller/probes/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "base/subprocess.h"
#include "rpc/credentials.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "httplib.h"
#include "re2/re2.h"

namespace chaos::controller {
namespace {

// HTTP bodies beyond this are not read further; the regex sees the head.
constexpr size_t kMaxBody = 1024 * 1024;

// "0ms", "300ms", "2.5s": rounded down to whole milliseconds.
std::string ShortDuration(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "inf";
  const int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms < 1000) return absl::StrCat(ms, "ms");
  return absl::FormatDuration(absl::Milliseconds(ms));
}

// A poll() timeout for what is left until `deadline`: at least 1 ms (so a
// deadline in the past still polls once without blocking forever), at most
// an hour (so an infinite deadline does not overflow int).
int PollMillis(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1, 3600 * 1000));
}

// Splits "host:port" or "[v6]:port".
absl::Status SplitHostPort(absl::string_view address, std::string* host, int* port) {
  absl::string_view h, p;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("bad address \"", address, "\""));
    }
    h = address.substr(1, close - 1);
    p = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad address \"", address, "\": want host:port"));
    }
    h = address.substr(0, colon);
    p = address.substr(colon + 1);
    if (h.find(':') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad address \"", address, "\": write IPv6 as [addr]:port"));
    }
  }
  int n = 0;
  if (h.empty() || !absl::SimpleAtoi(p, &n) || n <= 0 || n > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad address \"", address, "\""));
  }
  *host = std::string(h);
  *port = n;
  return absl::OkStatus();
}

struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path;  // with query, always starting with '/'
};

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL \"", url, "\": want http://host[:port]/path"));
  }
  std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  if (scheme == "https") {
    return absl::InvalidArgumentError(absl::StrCat("https is not supported: \"", url, "\""));
  }
  if (scheme != "http") {
    return absl::InvalidArgumentError(
        absl::StrCat("bad URL \"", url, "\": scheme \"", scheme, "\" is not http"));
  }
  absl::string_view rest = url.substr(scheme_end + 3);
  const size_t path_start = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, path_start);
  absl::string_view path =
      path_start == absl::string_view::npos ? absl::string_view() : rest.substr(path_start);
  if (const size_t hash = path.find('#'); hash != absl::string_view::npos) {
    path = path.substr(0, hash);
  }
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL \"", url, "\": userinfo is not supported"));
  }
  HttpUrl out;
  if (authority.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL \"", url, "\": no host"));
  }
  const bool bracketed = authority.front() == '[';
  const size_t colon = authority.rfind(':');
  const bool has_port = colon != absl::string_view::npos &&
                        (!bracketed || authority.find(']') < colon);
  if (has_port) {
    if (!SplitHostPort(authority, &out.host, &out.port).ok()) {
      return absl::InvalidArgumentError(absl::StrCat("bad URL \"", url, "\": bad host or port"));
    }
  } else if (bracketed) {
    if (authority.back() != ']' || authority.size() < 3) {
      return absl::InvalidArgumentError(absl::StrCat("bad URL \"", url, "\": bad host"));
    }
    out.host = std::string(authority.substr(1, authority.size() - 2));
  } else {
    out.host = std::string(authority);
  }
  for (char c : out.host) {
    if (c == ' ' || c == '/' || static_cast<unsigned char>(c) < 0x21) {
      return absl::InvalidArgumentError(absl::StrCat("bad URL \"", url, "\": bad host"));
    }
  }
  out.path = path.empty() ? "/" : std::string(path);
  if (out.path.front() == '?') out.path = "/" + out.path;
  for (char c : out.path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad URL \"", url, "\": unescaped space or control character in path"));
    }
  }
  return out;
}

std::chrono::microseconds ChronoMicros(absl::Duration d) {
  d = std::clamp(d, absl::Milliseconds(1), absl::Hours(1));
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_UNSPEC;
};

// getaddrinfo() for a stream socket; AI_ADDRCONFIG hides loopback-only
// families on hosts without other interfaces, so a miss is retried without.
int Lookup(const std::string& host, const std::string& service, int flags,
           std::vector<Endpoint>* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags | AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc == EAI_NONAME || rc == EAI_FAMILY || rc == EAI_ADDRFAMILY) {
    hints.ai_flags = flags;
    rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  }
  if (rc != 0) return rc;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Endpoint e;
    std::memcpy(&e.addr, ai->ai_addr, ai->ai_addrlen);
    e.len = ai->ai_addrlen;
    e.family = ai->ai_family;
    out->push_back(e);
  }
  freeaddrinfo(list);
  return 0;
}

// A lookup running on its own thread, shared with the caller until one of
// them is done with it.
struct PendingLookup {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  int rc ABSL_GUARDED_BY(mu) = 0;
  std::vector<Endpoint> endpoints ABSL_GUARDED_BY(mu);
};

// Resolves host:port by the deadline. Numeric addresses resolve at once;
// names are looked up on a detached thread, because getaddrinfo() cannot be
// cancelled and a slow DNS server must not hold the probe past its timeout.
// A lookup abandoned at the deadline finishes (and is dropped) on its own.
absl::StatusOr<std::vector<Endpoint>> Resolve(const std::string& host, int port,
                                              absl::Time deadline, absl::Duration timeout) {
  const std::string service = std::to_string(port);
  std::vector<Endpoint> endpoints;
  if (Lookup(host, service, AI_NUMERICHOST | AI_NUMERICSERV, &endpoints) == 0) {
    return endpoints;
  }
  auto pending = std::make_shared<PendingLookup>();
  try {
    std::thread([pending, host, service] {
      std::vector<Endpoint> found;
      const int rc = Lookup(host, service, AI_NUMERICSERV, &found);
      absl::MutexLock lock(&pending->mu);
      pending->rc = rc;
      pending->endpoints = std::move(found);
      pending->done = true;
    }).detach();
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(absl::StrCat("resolve ", host, ": no thread: ", e.what()));
  }
  absl::MutexLock lock(&pending->mu);
  if (!pending->mu.AwaitWithDeadline(absl::Condition(&pending->done), deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("resolve ", host, ": timed out after ", ShortDuration(timeout)));
  }
  if (pending->rc != 0) {
    return absl::NotFoundError(absl::StrCat("resolve ", host, ": ", gai_strerror(pending->rc)));
  }
  if (pending->endpoints.empty()) {
    return absl::NotFoundError(absl::StrCat("resolve ", host, ": no address"));
  }
  return std::move(pending->endpoints);
}

// Connects to one resolved address; returns 0 or an errno value.
int ConnectOne(const Endpoint& e, absl::Time deadline) {
  int fd = socket(e.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  absl::Cleanup close_fd = [fd] { close(fd); };
  if (connect(fd, reinterpret_cast<const sockaddr*>(&e.addr), e.len) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return ETIMEDOUT;
    pollfd p{fd, POLLOUT, 0};
    const int n = poll(&p, 1, PollMillis(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) continue;  // loop re-checks the deadline
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
  }
}

ProbeResult RunTcp(const TcpCheck& check, absl::Duration timeout, absl::Time start) {
  ProbeResult r;
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(check.address, &host, &port); !s.ok()) {
    r.detail = std::string(s.message());
    return r;
  }
  const absl::Time deadline = start + timeout;
  auto endpoints = Resolve(host, port, deadline, timeout);
  if (!endpoints.ok()) {
    r.latency = absl::Now() - start;
    r.detail = std::string(endpoints.status().message());
    return r;
  }
  int err = ENOENT;
  for (const Endpoint& e : *endpoints) {
    err = ConnectOne(e, deadline);
    if (err == 0 || err == ETIMEDOUT) break;
  }
  r.latency = absl::Now() - start;
  if (err == 0) {
    r.ok = true;
    r.detail = absl::StrCat("connected to ", check.address, " in ", ShortDuration(r.latency));
  } else if (err == ETIMEDOUT) {
    r.detail = absl::StrCat("connect ", check.address, ": timed out after ",
                            ShortDuration(timeout));
  } else {
    r.detail = absl::StrCat("connect ", check.address, ": ", std::strerror(err));
  }
  return r;
}

// Compiles `pattern` into *re unless it is empty. False, with the probe's
// detail saying why, when it does not compile.
bool CompileOptionalRegex(const std::string& pattern, const char* what,
                          std::unique_ptr<RE2>* re, ProbeResult* r) {
  if (pattern.empty()) return true;
  *re = std::make_unique<RE2>(pattern, RE2::Quiet);
  if ((*re)->ok()) return true;
  r->detail = absl::StrCat("bad ", what, " regex: ", (*re)->error());
  return false;
}

// One HTTP GET's result, with its body (at most kMaxBody kept).
struct HttpAttempt {
  httplib::Result res{nullptr, httplib::Error::Connection, httplib::Headers{}};
  std::string body;
  bool truncated = false;
  bool stopped = false;  // the watchdog stopped it at the deadline
};

// GET `url` from one resolved address, bounded as a whole by `deadline`.
void GetFrom(const HttpUrl& url, const char* ip, absl::Time deadline, absl::Duration timeout,
             HttpAttempt* out) {
  httplib::Client cli(url.host, url.port);
  cli.set_hostname_addr_map({{url.host, ip}});
  cli.set_connection_timeout(ChronoMicros(deadline - absl::Now()));
  cli.set_read_timeout(ChronoMicros(timeout));
  cli.set_write_timeout(ChronoMicros(timeout));
  cli.set_keep_alive(false);
  cli.set_follow_location(false);
  // httplib's timeouts apply per socket operation; a server that trickles
  // bytes could keep a request alive far longer. A watchdog stops the
  // client at the deadline so the whole request is bounded.
  absl::Mutex mu;
  bool done = false;
  std::thread watchdog([&] {
    absl::MutexLock lock(&mu);
    if (!mu.AwaitWithDeadline(absl::Condition(&done), deadline)) {
      out->stopped = true;
      cli.stop();
    }
  });
  out->body.clear();
  out->truncated = false;
  httplib::Headers headers = {{"User-Agent", "chaos-probe"}};
  out->res = cli.Get(
      url.path, headers, [](const httplib::Response&) { return true; },
      [&](const char* data, size_t len) {
        if (out->body.size() < kMaxBody) {
          out->body.append(data, std::min(len, kMaxBody - out->body.size()));
        } else {
          out->truncated = true;
        }
        return absl::Now() < deadline;
      });
  {
    absl::MutexLock lock(&mu);
    done = true;
  }
  watchdog.join();
}

// Each resolved address in turn while the connection is refused, as
// httplib itself would do with a name.
HttpAttempt GetFromAny(const HttpUrl& url, const std::vector<Endpoint>& endpoints,
                       absl::Time deadline, absl::Duration timeout) {
  HttpAttempt attempt;
  for (const Endpoint& e : endpoints) {
    char ip[NI_MAXHOST];
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&e.addr), e.len, ip, sizeof(ip), nullptr,
                    0, NI_NUMERICHOST) != 0) {
      continue;
    }
    GetFrom(url, ip, deadline, timeout, &attempt);
    if (attempt.res || attempt.res.error() != httplib::Error::Connection || attempt.stopped ||
        absl::Now() >= deadline) {
      break;
    }
  }
  return attempt;
}

// Judges an HTTP answer against the check.
void JudgeHttp(const HttpCheck& check, const HttpUrl& url, const HttpAttempt& a,
               absl::Duration timeout, absl::Time deadline, const RE2* re, ProbeResult* r) {
  if (!a.res) {
    const std::string where = absl::StrCat("GET ", check.url);
    if (a.stopped || absl::Now() >= deadline) {
      r->detail = absl::StrCat(where, ": timed out after ", ShortDuration(timeout));
    } else if (a.res.error() == httplib::Error::Connection) {
      r->detail = absl::StrCat("connect ", url.host, ":", url.port, ": connection failed");
    } else {
      r->detail = absl::StrCat(where, ": ", httplib::to_string(a.res.error()));
    }
    return;
  }
  const int status = a.res->status;
  if (status != check.status) {
    r->detail = absl::StrCat("HTTP ", status, " (want ", check.status, ")");
  } else if (re != nullptr && !RE2::PartialMatch(a.body, *re)) {
    r->detail = absl::StrCat("HTTP ", status, ": body does not match /", check.body_regex, "/",
                             a.truncated ? " (first 1 MiB searched)" : "");
  } else if (r->latency > check.max_latency) {
    r->detail = absl::StrCat("HTTP ", status, " in ", ShortDuration(r->latency), " (max ",
                             ShortDuration(check.max_latency), ")");
  } else {
    r->ok = true;
    r->detail = absl::StrCat("HTTP ", status, " in ", ShortDuration(r->latency));
  }
}

ProbeResult RunHttp(const HttpCheck& check, absl::Duration timeout, absl::Time start) {
  ProbeResult r;
  auto url = ParseHttpUrl(check.url);
  if (!url.ok()) {
    r.detail = std::string(url.status().message());
    return r;
  }
  std::unique_ptr<RE2> re;
  if (!CompileOptionalRegex(check.body_regex, "body", &re, &r)) return r;
  const absl::Time deadline = start + timeout;
  // Resolved here, within the deadline; httplib then connects to the
  // address without a lookup of its own (the Host header keeps the name).
  auto endpoints = Resolve(url->host, url->port, deadline, timeout);
  if (!endpoints.ok()) {
    r.latency = absl::Now() - start;
    r.detail = std::string(endpoints.status().message());
    return r;
  }
  const HttpAttempt attempt = GetFromAny(*url, *endpoints, deadline, timeout);
  r.latency = absl::Now() - start;
  JudgeHttp(check, *url, attempt, timeout, deadline, re.get(), &r);
  return r;
}

}  // namespace

ProbeResult JudgeCommandProbe(const CommandCheck& check, const base::CommandOutcome& out,
                              absl::Duration timeout) {
  ProbeResult r;
  std::unique_ptr<RE2> re;
  if (!CompileOptionalRegex(check.output_regex, "output", &re, &r)) return r;
  r.latency = out.took;
  if (!out.error.empty()) {
    r.detail = out.error;
  } else if (out.cancelled) {
    r.detail = "cancelled (the run is stopping)";
  } else if (out.timed_out) {
    r.detail = absl::StrCat("timed out after ", ShortDuration(timeout), " (killed)");
  } else if (out.exit_code != check.exit_code) {
    r.detail = absl::StrCat("exit ", out.exit_code, " (want ", check.exit_code, ")");
  } else if (re != nullptr && !RE2::PartialMatch(out.output, *re)) {
    r.detail = absl::StrCat("exit ", out.exit_code, ": output does not match /",
                            check.output_regex, "/");
  } else {
    r.ok = true;
    r.detail = absl::StrCat("exit ", out.exit_code);
  }
  return r;
}

namespace {

ProbeResult RunCommandProbe(const CommandCheck& check, absl::Duration timeout,
                            const base::CancelToken* cancel) {
  return JudgeCommandProbe(check, base::RunCommand(check.argv, timeout, cancel), timeout);
}

const char* ServingStatusName(grpc::health::v1::HealthCheckResponse::ServingStatus s) {
  using R = grpc::health::v1::HealthCheckResponse;
  switch (s) {
    case R::UNKNOWN: return "UNKNOWN";
    case R::SERVING: return "SERVING";
    case R::NOT_SERVING: return "NOT_SERVING";
    case R::SERVICE_UNKNOWN: return "SERVICE_UNKNOWN";
    default: return "unrecognized status";
  }
}

ProbeResult RunGrpcHealth(const GrpcHealthCheck& check, absl::Duration timeout, absl::Time start) {
  ProbeResult r;
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(check.address, &host, &port); !s.ok()) {
    r.detail = std::string(s.message());
    return r;
  }
  // The system under test's health service, not a chaos hop: plaintext.
  auto stub =
      grpc::health::v1::Health::NewStub(rpc::OpenChannel(check.address, rpc::TransportOptions()));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(start + timeout));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(check.service);
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status s = stub->Check(&ctx, req, &resp);
  r.latency = absl::Now() - start;
  const std::string what =
      check.service.empty() ? check.address : absl::StrCat(check.address, " ", check.service);
  if (!s.ok()) {
    r.detail = absl::StrCat("health ", what, ": ", absl::StatusCodeToString(
                                                       static_cast<absl::StatusCode>(s.error_code())),
                            ": ", s.error_message());
    return r;
  }
  if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    r.detail = ServingStatusName(resp.status());
    return r;
  }
  r.ok = true;
  r.detail = "SERVING";
  return r;
}

}  // namespace

ProbeResult RunProbe(const ProbeSpec& probe, const base::CancelToken* cancel) {
  const absl::Time start = absl::Now();
  const absl::Duration timeout =
      probe.timeout > absl::ZeroDuration() ? probe.timeout : absl::Milliseconds(1);
  ProbeResult r;
  if (const auto* http = std::get_if<HttpCheck>(&probe.check)) {
    r = RunHttp(*http, timeout, start);
  } else if (const auto* tcp = std::get_if<TcpCheck>(&probe.check)) {
    r = RunTcp(*tcp, timeout, start);
  } else if (const auto* cmd = std::get_if<CommandCheck>(&probe.check)) {
    if (!cmd->target.empty()) {
      r.detail = absl::StrCat("runs on the agents of target group ", cmd->target,
                              ", through the run engine");
    } else {
      r = RunCommandProbe(*cmd, timeout, cancel);
    }
  } else if (const auto* grpc_check = std::get_if<GrpcHealthCheck>(&probe.check)) {
    r = RunGrpcHealth(*grpc_check, timeout, start);
  }
  if (r.latency == absl::ZeroDuration()) r.latency = absl::Now() - start;
  return r;
}

}  // namespace chaos::controller
