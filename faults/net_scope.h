// Parsing and checking of the address/port scopes shared by network faults.
// Pure functions; thread-safe.
#ifndef CHAOS_FAULTS_NET_SCOPE_H_
#define CHAOS_FAULTS_NET_SCOPE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chaos::faults {

struct Cidr {
  int family = 0;                  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};  // network byte order, host bits cleared
  int prefix = 0;                  // 0..32 or 0..128
  std::string text;                // canonical "a.b.c.d/n"
};

// "10.1.2.0/24", "fd00::/8", or a bare address (a /32 or /128). Host bits
// are cleared. INVALID_ARGUMENT naming `field` on anything else.
absl::StatusOr<Cidr> ParseCidr(const std::string& field, const std::string& text);
absl::StatusOr<std::vector<Cidr>> ParseCidrs(const std::string& field,
                                             const std::vector<std::string>& texts);

// Each port must be 1..65535. INVALID_ARGUMENT naming `field`.
absl::Status CheckPorts(const std::string& field, const std::vector<uint32_t>& ports);

// Checks a percentage is within 0..100 (and a number).
absl::Status CheckPercent(const std::string& field, double value);

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_NET_SCOPE_H_
