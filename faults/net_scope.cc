#include "faults/net_scope.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chaos::faults {

absl::StatusOr<Cidr> ParseCidr(const std::string& field, const std::string& text) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": malformed CIDR \"", text, "\": ", why));
  };
  Cidr c;
  std::string addr = text;
  int prefix = -1;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    addr = text.substr(0, slash);
    const std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
        !absl::SimpleAtoi(p, &prefix)) {
      return bad("prefix length is not a number");
    }
  }
  if (inet_pton(AF_INET, addr.c_str(), c.addr.data()) == 1) {
    c.family = AF_INET;
    if (prefix < 0) prefix = 32;
    if (prefix > 32) return bad("prefix length must be 0..32");
  } else if (inet_pton(AF_INET6, addr.c_str(), c.addr.data()) == 1) {
    c.family = AF_INET6;
    if (prefix < 0) prefix = 128;
    if (prefix > 128) return bad("prefix length must be 0..128");
  } else {
    return bad("not an IPv4 or IPv6 address");
  }
  c.prefix = prefix;
  const int bytes = c.family == AF_INET ? 4 : 16;
  for (int i = 0; i < bytes; ++i) {
    const int keep = std::max(0, std::min(8, prefix - 8 * i));
    c.addr[i] &= static_cast<uint8_t>(keep == 0 ? 0 : 0xFF << (8 - keep));
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(c.family, c.addr.data(), buf, sizeof buf);
  c.text = absl::StrCat(buf, "/", prefix);
  return c;
}

absl::StatusOr<std::vector<Cidr>> ParseCidrs(const std::string& field,
                                             const std::vector<std::string>& texts) {
  std::vector<Cidr> out;
  for (const std::string& t : texts) {
    auto c = ParseCidr(field, t);
    if (!c.ok()) return c.status();
    out.push_back(*std::move(c));
  }
  return out;
}

absl::Status CheckPorts(const std::string& field, const std::vector<uint32_t>& ports) {
  for (uint32_t p : ports) {
    if (p < 1 || p > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": port must be 1..65535, got ", p));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPercent(const std::string& field, double value) {
  if (!std::isfinite(value) || value < 0 || value > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be 0..100, got ", value));
  }
  return absl::OkStatus();
}

}  // namespace chaos::faults
