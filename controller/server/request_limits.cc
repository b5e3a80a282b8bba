#include "controller/server/request_limits.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "experiments/variables.h"

namespace chaos::controller {
namespace {

absl::Status Bytes(absl::string_view field, absl::string_view value, size_t limit) {
  if (value.size() <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", value.size(),
                                                 " bytes, more than the limit of ", limit,
                                                 " bytes"));
}

absl::Status Entries(absl::string_view field, size_t n, size_t limit) {
  if (n <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", n, " entries, more than the limit of ", limit));
}

// A map field: its size, then each key and value. A key is named in the
// message only once it is known to be short.
absl::Status StringMap(absl::string_view field,
                       const google::protobuf::Map<std::string, std::string>& map,
                       size_t max_entries, size_t max_key, size_t max_value) {
  RETURN_IF_ERROR(Entries(field, map.size(), max_entries));
  for (const auto& [key, value] : map) {
    if (key.size() > max_key) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": a key of ", key.size(),
                                                     " bytes, more than the limit of ", max_key,
                                                     " bytes"));
    }
    RETURN_IF_ERROR(
        Bytes(absl::StrCat(field, "[\"", absl::CHexEscape(key), "\"]"), value, max_value));
  }
  return absl::OkStatus();
}

absl::Status Variables(const google::protobuf::Map<std::string, std::string>& variables) {
  return StringMap("variables", variables, kMaxVariables, kMaxVariableNameBytes,
                   kMaxVariableValueBytes);
}

absl::Status CallerAndReason(const std::string& caller, const std::string& reason) {
  RETURN_IF_ERROR(Bytes("caller", caller, kMaxNameBytes));
  return Bytes("reason", reason, kMaxReasonBytes);
}

}  // namespace

absl::Status CheckRequest(const chaos::v1::SubmitRunRequest& req) {
  RETURN_IF_ERROR(
      Bytes("experiment_yaml", req.experiment_yaml(), experiments::kMaxExperimentBytes));
  RETURN_IF_ERROR(Variables(req.variables()));
  return Bytes("caller", req.caller(), kMaxNameBytes);
}

absl::Status CheckRequest(const chaos::v1::CreateScheduleRequest& req) {
  const chaos::v1::Schedule& s = req.schedule();
  RETURN_IF_ERROR(
      Bytes("experiment_yaml", s.experiment_yaml(), experiments::kMaxExperimentBytes));
  RETURN_IF_ERROR(Variables(s.variables()));
  RETURN_IF_ERROR(Bytes("cron", s.cron(), kMaxNameBytes));
  RETURN_IF_ERROR(Bytes("time_zone", s.time_zone(), kMaxNameBytes));
  RETURN_IF_ERROR(Entries("blackouts", s.blackouts_size(), kMaxBlackouts));
  for (int i = 0; i < s.blackouts_size(); ++i) {
    RETURN_IF_ERROR(Bytes(absl::StrCat("blackouts[", i, "].days"), s.blackouts(i).days(),
                          kMaxNameBytes));
    RETURN_IF_ERROR(Bytes(absl::StrCat("blackouts[", i, "].hours"), s.blackouts(i).hours(),
                          kMaxNameBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckRequest(const chaos::v1::AbortRunRequest& req) {
  return CallerAndReason(req.caller(), req.reason());
}

absl::Status CheckRequest(const chaos::v1::AnswerGateRequest& req) {
  return CallerAndReason(req.caller(), req.reason());
}

absl::Status CheckRequest(const chaos::v1::RegisterAgentRequest& req) {
  RETURN_IF_ERROR(Bytes("address", req.address(), kMaxNameBytes));
  RETURN_IF_ERROR(Bytes("hostname", req.hostname(), kMaxNameBytes));
  return StringMap("labels", req.labels(), kMaxLabels, kMaxNameBytes, kMaxNameBytes);
}

absl::Status CheckRequest(const chaos::v1::ForgetAgentRequest& req) {
  RETURN_IF_ERROR(Bytes("address", req.address(), kMaxNameBytes));
  return Bytes("caller", req.caller(), kMaxNameBytes);
}

absl::Status CheckRequest(const chaos::v1::HaltAllRequest& req) {
  return CallerAndReason(req.caller(), req.reason());
}

absl::Status CheckRequest(const chaos::v1::ResumeAllRequest& req) {
  return Bytes("caller", req.caller(), kMaxNameBytes);
}

}  // namespace chaos::controller
