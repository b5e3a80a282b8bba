#include "agent/request_check.h"

#include "base/ids.h"
#include "base/status_macros.h"
#include "proto/duration.h"

namespace chaos::agent {

absl::StatusOr<absl::Duration> CheckInjectRequest(const chaos::v1::InjectRequest& request,
                                                  absl::Duration default_lease) {
  const chaos::v1::FaultSpec& spec = request.spec();
  RETURN_IF_ERROR(ValidateDurations(request));
  RETURN_IF_ERROR(base::ValidateId("spec.fault_id", spec.fault_id()));
  RETURN_IF_ERROR(base::ValidateId("spec.experiment_id", spec.experiment_id()));
  if (FromProto(spec.duration()) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("spec.duration: required and must be > 0");
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
