// Request checks: what the agent verifies in an Inject, KeepAlive or
// RunCommand request
// before it reads a field for use, records anything or touches the host.
// Pure functions of the request: Agent calls them first, and the fuzz
// target tests/fuzz/agent_request_fuzzer.cc calls the very same ones.
//
// Each answers OK or INVALID_ARGUMENT naming the first bad field: every
// google.protobuf.Duration anywhere in the request must be one protobuf
// defines (ValidateDurations), ids must follow base::kFaultIdRule. Thread-safe.
#ifndef CHAOS_AGENT_REQUEST_CHECK_H_
#define CHAOS_AGENT_REQUEST_CHECK_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chaos/v1/agent.pb.h"

namespace chaos::agent {

// How far ahead an inject may be scheduled (InjectRequest.starts_in).
inline constexpr absl::Duration kMaxStartsIn = absl::Minutes(5);

// The durations, spec.fault_id and spec.experiment_id, a duration > 0, an
// ends_in between 0 (unset) and the duration, a starts_in between 0
// (unset) and kMaxStartsIn, and a lease >= 0. Returns the lease the fault gets: the request's, or
// `default_lease` when the request leaves it 0. The spec's kind and its
// parameters are MakeFault's to check (fault_factory.h), the host's rules
// Policy::Check's (policy.h).
[[nodiscard]] absl::StatusOr<absl::Duration> CheckInjectRequest(
    const chaos::v1::InjectRequest& request, absl::Duration default_lease);

// experiment_id and the durations (the lease; 0 keeps the current one).
[[nodiscard]] absl::Status CheckKeepAliveRequest(const chaos::v1::KeepAliveRequest& request);

// Bounds of a RunCommand request (see agent.proto).
inline constexpr size_t kMaxCommandArgs = 256;
inline constexpr size_t kMaxCommandArgBytes = 4096;
inline constexpr size_t kMaxCommandArgvBytes = 64 * 1024;
inline constexpr size_t kMaxCommandEnv = 32;
inline constexpr size_t kMaxCommandEnvValueBytes = 4096;
inline constexpr size_t kMaxCommandPathBytes = 4096;
inline constexpr size_t kMaxCallerBytes = 1024;

// The ids, argv, env names and values, working_dir (absolute, or empty),
// a timeout > 0 and at most `max_duration` (the policy's maxDuration), a
// lease >= 0 and the caller's length. Returns the lease the command holds:
// the request's, or `default_lease` when it leaves it 0. Whether the
// command and its variables are allowed is Policy::CheckCommand's.
[[nodiscard]] absl::StatusOr<absl::Duration> CheckRunCommandRequest(
    const chaos::v1::RunCommandRequest& request, absl::Duration max_duration,
    absl::Duration default_lease);

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_REQUEST_CHECK_H_
