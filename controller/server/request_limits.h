// Request limits: how much text the controller accepts from one request,
// checked by the service before any domain code sees the request, so that
// a client cannot make the controller parse, store or hold more than this.
// Every refusal is INVALID_ARGUMENT naming the field, its size and the
// limit: "experiment_yaml: 2000000 bytes, more than the limit of 1048576
// bytes", "variables: 300 entries, more than the limit of 256".
//
// Requests larger than rpc/limits.h's message limit never get here: gRPC
// answers RESOURCE_EXHAUSTED itself. Capacity limits (agents in the
// registry, schedules) are RESOURCE_EXHAUSTED from the registry and the
// scheduler, with these constants. Stateless; thread-safe.
#ifndef CHAOS_CONTROLLER_REQUEST_LIMITS_H_
#define CHAOS_CONTROLLER_REQUEST_LIMITS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "chaos/v1/controller.pb.h"

namespace chaos::controller {

// experiment_yaml: experiments::kMaxExperimentBytes (1 MiB).
// The variables a client expanded into the text.
inline constexpr size_t kMaxVariables = 256;
inline constexpr size_t kMaxVariableNameBytes = 128;
inline constexpr size_t kMaxVariableValueBytes = 4096;
// Names and words: caller, address, hostname, label keys and values, cron,
// time zone, blackout fields.
inline constexpr size_t kMaxNameBytes = 256;
// Free text people write: abort and gate reasons.
inline constexpr size_t kMaxReasonBytes = 4096;
inline constexpr size_t kMaxLabels = 64;
inline constexpr size_t kMaxBlackouts = 64;
// Capacity: registered agents (live or lost) and schedules.
inline constexpr size_t kMaxAgents = 10000;
inline constexpr size_t kMaxSchedules = 1000;

[[nodiscard]] absl::Status CheckRequest(const chaos::v1::SubmitRunRequest& req);
[[nodiscard]] absl::Status CheckRequest(const chaos::v1::CreateScheduleRequest& req);
[[nodiscard]] absl::Status CheckRequest(const chaos::v1::AbortRunRequest& req);
[[nodiscard]] absl::Status CheckRequest(const chaos::v1::AnswerGateRequest& req);
[[nodiscard]] absl::Status CheckRequest(const chaos::v1::RegisterAgentRequest& req);
[[nodiscard]] absl::Status CheckRequest(const chaos::v1::ForgetAgentRequest& req);
[[nodiscard]] absl::Status CheckRequest(const chaos::v1::HaltAllRequest& req);
[[nodiscard]] absl::Status CheckRequest(const chaos::v1::ResumeAllRequest& req);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_REQUEST_LIMITS_H_
