// Fuzz target: the agent's checks of what a peer sends, on arbitrary bytes
// read as a serialized chaos.v1.InjectRequest, a KeepAliveRequest and a
// RunCommandRequest (its checks and the policy's allow-list; nothing runs).
// The Inject path runs what Agent::Inject runs before it records anything,
// in its order: CheckInjectRequest (request_check.h), MakeFault
// (fault_factory.h: the kind's parameters into a fault object, built and
// never injected), then Policy::Check (policy.h) under the default policy
// and under one that allows more. Left out: the count of processes a
// kill/pause selector matches on this host (it reads /proc).
//
// Nothing here touches the host: no fault's Inject() is ever called.
// Any input ends in OK or in a documented error code, never in a crash, a
// sanitizer report or a hang.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/fault_factory.h"
#include "agent/policy.h"
#include "agent/request_check.h"
#include "chaos/v1/agent.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/fuzz_check.h"

namespace chaos::agent {
namespace {

// A policy that lets more through to the checks after it.
Policy Permissive() {
  Policy p = Policy::Default();
  p.fill_roots = {"/", "/var/tmp"};
  p.max_duration = absl::Hours(24 * 365);
  p.protected_processes.clear();
  return p;
}

void CheckInject(const chaos::v1::InjectRequest& request) {
  static const Policy kPolicies[] = {Policy::Default(), Permissive()};
  absl::StatusOr<absl::Duration> lease = CheckInjectRequest(request, absl::Seconds(15));
  if (!lease.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(lease.status()));
    return;
  }
  FUZZ_CHECK(*lease > absl::ZeroDuration());
  for (const Policy& policy : kPolicies) {
    auto fault = MakeFault(request.spec(), policy.ToFactoryOptions("/var/lib/chaos-agent"));
    if (!fault.ok()) {
      FUZZ_CHECK(absl::IsInvalidArgument(fault.status()) ||
                 absl::IsFailedPrecondition(fault.status()));
      continue;
    }
    FUZZ_CHECK(*fault != nullptr);
    const absl::Status allowed = policy.Check(request.spec());
    FUZZ_CHECK(allowed.ok() || absl::IsPermissionDenied(allowed));
  }  // the fault is destroyed here, never injected
}

void CheckKeepAlive(const chaos::v1::KeepAliveRequest& request) {
  const absl::Status s = CheckKeepAliveRequest(request);
  FUZZ_CHECK(s.ok() || absl::IsInvalidArgument(s));
}

// What Agent::RunCommand checks before anything runs: the request, then
// the policy's allow-list (a policy without rules and one with a rule).
void CheckRunCommand(const chaos::v1::RunCommandRequest& request) {
  static const Policy kWithRule = *Policy::Parse(
      "commands: [{path: /bin/true, moreArgs: \"[a-z]+\"}]\ncommandEnv: [LANG]\n", "fuzz.yaml");
  absl::StatusOr<absl::Duration> lease =
      CheckRunCommandRequest(request, absl::Hours(1), absl::Seconds(15));
  if (!lease.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(lease.status()));
    return;
  }
  FUZZ_CHECK(*lease > absl::ZeroDuration());
  const std::vector<std::string> argv(request.argv().begin(), request.argv().end());
  const std::map<std::string, std::string> env(request.env().begin(), request.env().end());
  for (const Policy& policy : {Policy::Default(), kWithRule}) {
    const absl::Status allowed = policy.CheckCommand(argv, env);
    FUZZ_CHECK(allowed.ok() || absl::IsPermissionDenied(allowed));
  }
}

}  // namespace
}  // namespace chaos::agent

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Parsing logs one line per string that is not UTF-8, i.e. for most
  // inputs: it would fill the log and slow the fuzzer down.
  google::protobuf::SetLogHandler(nullptr);
  // As an agent sets it: a controller address and its own port.
  chaos::agent::SetControlChannel({{"192.0.2.10/32", "2001:db8::1/128"}, {7070}});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chaos::v1::InjectRequest inject;
  if (inject.ParseFromArray(data, static_cast<int>(size))) chaos::agent::CheckInject(inject);
  chaos::v1::KeepAliveRequest keep_alive;
  if (keep_alive.ParseFromArray(data, static_cast<int>(size))) {
    chaos::agent::CheckKeepAlive(keep_alive);
  }
  chaos::v1::RunCommandRequest run_command;
  if (run_command.ParseFromArray(data, static_cast<int>(size))) {
    chaos::agent::CheckRunCommand(run_command);
  }
  return 0;
}
