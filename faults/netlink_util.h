// Small helpers shared by the libnl-based network faults: an owned route
// netlink socket, libnl error mapping, modprobe, and running a function in
// a throwaway network namespace. Thread-safe unless stated.
#ifndef CHAOS_FAULTS_NETLINK_UTIL_H_
#define CHAOS_FAULTS_NETLINK_UTIL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct nl_sock;

namespace chaos::faults {

struct NlSockDeleter {
  void operator()(nl_sock* s) const;
};
using NlSock = std::unique_ptr<nl_sock, NlSockDeleter>;

// A connected NETLINK_ROUTE socket in the calling thread's network namespace.
absl::StatusOr<NlSock> OpenRouteSocket();

// Maps a libnl error (negative NLE_*) to a canonical status: NLE_PERM and
// NLE_NOACCESS to PERMISSION_DENIED, NLE_NODEV to NOT_FOUND, others to
// INTERNAL; the message is "<what>: <libnl message>".
absl::Status NlError(int err, const std::string& what);

// Runs `modprobe -q MODULE` for each of `modules` not loaded yet (no
// /sys/module/MODULE), all at once, and waits for them; failures are ignored
// (the module may be built in, or modprobe absent). Each module is tried
// once per process.
void TryModprobe(const std::vector<std::string>& modules);

// Runs fn on a fresh thread that has unshared its network namespace, so fn
// can change qdiscs or nftables without touching the host. Returns fn's
// result, or FAILED_PRECONDITION if the namespace cannot be made.
absl::Status RunInThrowawayNetns(const std::function<absl::Status()>& fn);

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_NETLINK_UTIL_H_
