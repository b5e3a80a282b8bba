// The audit line of a state-changing request, one format for every way in
// (the gRPC API, the dashboard): who (an authenticated identity, never only
// what the request claims), what, on what, and how it went. Logged at
// warning level so that it survives a quiet log level.
// Thread safety: safe for concurrent use.
#ifndef CHAOS_CONTROLLER_SERVER_AUDIT_H_
#define CHAOS_CONTROLLER_SERVER_AUDIT_H_

#include <string>

#include "absl/status/status.h"

namespace chaos::controller {

void Audit(const char* action, const std::string& caller, const std::string& target,
           const absl::Status& result);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_SERVER_AUDIT_H_
