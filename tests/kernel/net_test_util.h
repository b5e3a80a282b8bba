// Helpers for kernel-in-the-loop network tests: loopback TCP/UDP endpoints,
// timing, and running iproute2's tc as an independent oracle.
#ifndef CHAOS_TESTS_KERNEL_NET_TEST_UTIL_H_
#define CHAOS_TESTS_KERNEL_NET_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace chaos::testing {

// Output of a shell command (stdout and stderr), and its exit status.
inline std::string Shell(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return "popen failed";
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  int st = pclose(f);
  if (status) *status = st;
  return out;
}

inline sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A TCP listener on 127.0.0.1; port 0 picks one.
struct TcpListener {
  int fd = -1;
  uint16_t port = 0;
  explicit TcpListener(uint16_t want = 0) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = Loopback(want);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0) {
      close(fd);
      fd = -1;
      return;
    }
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~TcpListener() {
    if (fd >= 0) close(fd);
  }
};

inline double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Times `n` TCP connects to 127.0.0.1:port (one SYN/SYN-ACK round trip
// each), accepting each on `listener`. Returns milliseconds per connect;
// a failed connect is recorded as -1.
inline std::vector<double> ConnectTimesMs(const TcpListener& listener, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(listener.port);
    const double t0 = NowMs();
    const int rc = connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    const double t1 = NowMs();
    out.push_back(rc == 0 ? t1 - t0 : -1);
    pollfd p{listener.fd, POLLIN, 0};
    if (poll(&p, 1, 2000) == 1) {
      int s = accept(listener.fd, nullptr, nullptr);
      if (s >= 0) close(s);
    }
    close(c);
  }
  return out;
}

inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

inline double StdDev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= v.size();
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / (v.size() - 1));
}

inline std::string Join(const std::vector<double>& v) {
  std::string s;
  for (double x : v) {
    char b[32];
    std::snprintf(b, sizeof b, "%s%.1f", s.empty() ? "" : " ", x);
    s += b;
  }
  return s;
}

// Sends `n` UDP datagrams over loopback in bursts and returns how many
// arrived, waiting until none has come for quiet_ms.
inline int UdpDelivered(int n, int quiet_ms = 300) {
  int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int big = 8 << 20;
  setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  sockaddr_in a = Loopback(0);
  bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(rx, reinterpret_cast<sockaddr*>(&a), &len);
  int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  char payload[64] = "chaos";
  int got = 0;
  auto drain = [&](int wait_ms) {
    char b[128];
    pollfd p{rx, POLLIN, 0};
    while (poll(&p, 1, wait_ms) == 1) {
      if (recv(rx, b, sizeof b, 0) > 0) ++got;
    }
  };
  for (int i = 0; i < n; ++i) {
    sendto(tx, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (i % 50 == 49) drain(0);
  }
  drain(quiet_ms);
  close(tx);
  close(rx);
  return got;
}

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_KERNEL_NET_TEST_UTIL_H_
