#include "agent/request_check.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/policy.h"
#include "base/ids.h"
#include "base/status_macros.h"
#include "proto/duration.h"

namespace chaos::agent {
namespace {

// A string that reaches execve(), chdir() or the environment: a NUL byte
// would cut it short of what was checked.
absl::Status CheckCString(const std::string& field, const std::string& value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": longer than ", max_bytes, " bytes (", value.size(), ")"));
  }
  if (absl::StrContains(value, absl::string_view("\0", 1))) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": contains a NUL byte"));
  }
  return absl::OkStatus();
}

absl::Status CheckArgv(const chaos::v1::RunCommandRequest& request) {
  if (request.argv().empty() || request.argv(0).empty()) {
    return absl::InvalidArgumentError(
        "argv: required: the program and its arguments (no shell), argv[0] not empty");
  }
  if (static_cast<size_t>(request.argv_size()) > kMaxCommandArgs) {
    return absl::InvalidArgumentError(absl::StrCat("argv: more than ", kMaxCommandArgs,
                                                   " arguments (", request.argv_size(), ")"));
  }
  size_t total = 0;
  for (int i = 0; i < request.argv_size(); ++i) {
    RETURN_IF_ERROR(CheckCString(absl::StrCat("argv[", i, "]"), request.argv(i),
                                 kMaxCommandArgBytes));
    total += request.argv(i).size();
  }
  if (total > kMaxCommandArgvBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("argv: more than ", kMaxCommandArgvBytes, " bytes in all (", total, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckEnv(const chaos::v1::RunCommandRequest& request) {
  if (request.env().size() > kMaxCommandEnv) {
    return absl::InvalidArgumentError(absl::StrCat("env: more than ", kMaxCommandEnv,
                                                   " variables (", request.env().size(), ")"));
  }
  for (const auto& [name, value] : request.env()) {
    if (!IsEnvName(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("env: \"", absl::CHexEscape(name.substr(0, 64)),
                       "\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*, at most ",
                       kMaxEnvNameLength, " characters)"));
    }
    RETURN_IF_ERROR(CheckCString(absl::StrCat("env[", name, "]"), value, kMaxCommandEnvValueBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckCommandTimes(const chaos::v1::RunCommandRequest& request,
                               absl::Duration max_duration) {
  const absl::Duration timeout = FromProto(request.timeout());
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout: required and must be > 0");
  }
  if (timeout > max_duration) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout: ", absl::FormatDuration(timeout), " exceeds the agent policy's ",
                     "maxDuration of ", absl::FormatDuration(max_duration)));
  }
  if (FromProto(request.lease()) < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease: must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Duration> CheckInjectRequest(const chaos::v1::InjectRequest& request,
                                                  absl::Duration default_lease) {
  const chaos::v1::FaultSpec& spec = request.spec();
  RETURN_IF_ERROR(ValidateDurations(request));
  RETURN_IF_ERROR(base::ValidateId("spec.fault_id", spec.fault_id()));
  RETURN_IF_ERROR(base::ValidateId("spec.experiment_id", spec.experiment_id()));
  if (FromProto(spec.duration()) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("spec.duration: required and must be > 0");
  }
  const absl::Duration ends_in = FromProto(request.ends_in());
  if (ends_in < absl::ZeroDuration() || ends_in > FromProto(spec.duration())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ends_in: ", absl::FormatDuration(ends_in), " must not be negative nor longer than spec.duration (",
        absl::FormatDuration(FromProto(spec.duration())), ")"));
  }
  const absl::Duration starts_in = FromProto(request.starts_in());
  if (starts_in < absl::ZeroDuration() || starts_in > kMaxStartsIn) {
    return absl::InvalidArgumentError(
        absl::StrCat("starts_in: ", absl::FormatDuration(starts_in),
                     " must not be negative nor longer than ", absl::FormatDuration(kMaxStartsIn)));
  }
  const absl::Duration lease = FromProto(request.lease());
  if (lease < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease: must not be negative");
  }
  return lease == absl::ZeroDuration() ? default_lease : lease;
}

absl::Status CheckKeepAliveRequest(const chaos::v1::KeepAliveRequest& request) {
  RETURN_IF_ERROR(base::ValidateId("experiment_id", request.experiment_id()));
  return ValidateDurations(request);
}

}  // namespace chaos::agent

namespace chaos::agent {

absl::StatusOr<absl::Duration> CheckRunCommandRequest(const chaos::v1::RunCommandRequest& request,
                                                      absl::Duration max_duration,
                                                      absl::Duration default_lease) {
  RETURN_IF_ERROR(ValidateDurations(request));
  RETURN_IF_ERROR(base::ValidateId("command_id", request.command_id()));
  RETURN_IF_ERROR(base::ValidateId("experiment_id", request.experiment_id()));
  RETURN_IF_ERROR(CheckArgv(request));
  RETURN_IF_ERROR(CheckEnv(request));
  const std::string& dir = request.working_dir();
  RETURN_IF_ERROR(CheckCString("working_dir", dir, kMaxCommandPathBytes));
  if (!dir.empty() && dir[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "working_dir: \"", absl::CHexEscape(dir.substr(0, 200)), "\" is not an absolute path"));
  }
  RETURN_IF_ERROR(CheckCommandTimes(request, max_duration));
  if (request.caller().size() > kMaxCallerBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("caller: longer than ", kMaxCallerBytes, " bytes"));
  }
  const absl::Duration lease = FromProto(request.lease());
  return lease == absl::ZeroDuration() ? default_lease : lease;
}

}  // namespace chaos::agent
