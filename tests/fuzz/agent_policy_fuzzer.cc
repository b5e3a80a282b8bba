// Fuzz target: the agent's policy file (agent/policy.h), parsed with
// Policy::Parse. Any input ends in a policy or in INVALID_ARGUMENT, never
// in a crash, a sanitizer report or a hang; a parsed policy holds the
// ranges policy.h documents, and Check() answers for it.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/policy.h"
#include "tests/fuzz/fuzz_check.h"

namespace chaos::agent {
namespace {

void CheckRanges(const Policy& p) {
  FUZZ_CHECK(!std::isnan(p.max_fill_percent));
  FUZZ_CHECK(p.max_fill_percent >= 0 && p.max_fill_percent <= 100);
  FUZZ_CHECK(p.max_cpu_percent >= 1 && p.max_cpu_percent <= 100);
  FUZZ_CHECK(p.max_duration > absl::ZeroDuration());
  FUZZ_CHECK(p.max_processes_per_fault >= 1);
  for (const std::string& root : p.fill_roots) FUZZ_CHECK(!root.empty() && root[0] == '/');
}

// A few specs of different kinds, for Check() against the parsed policy.
std::vector<chaos::v1::FaultSpec> Specs() {
  std::vector<chaos::v1::FaultSpec> specs(5);
  specs[0].mutable_cpu_burn()->set_load_percent(50);
  specs[1].mutable_disk_fill()->set_directory("/var/tmp/./a//b");
  specs[1].mutable_disk_fill()->set_target_percent(90);
  specs[2].mutable_process_kill()->mutable_target()->set_name("sshd");
  specs[3].mutable_netem()->set_interface("eth0");
  specs[4].mutable_memory_pressure()->set_bytes(1 << 20);
  for (auto& s : specs) s.mutable_duration()->set_seconds(60);
  return specs;
}

}  // namespace
}  // namespace chaos::agent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using chaos::agent::Policy;
  static const std::vector<chaos::v1::FaultSpec> specs = chaos::agent::Specs();
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Policy> policy = Policy::Parse(text, "fuzz.yaml");
  if (!policy.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(policy.status()));
    return 0;
  }
  chaos::agent::CheckRanges(*policy);
  for (const auto& spec : specs) {
    const absl::Status s = policy->Check(spec);
    FUZZ_CHECK(s.ok() || absl::IsPermissionDenied(s));
  }
  FUZZ_CHECK(policy->CheckProcessCount(0, 0).ok());
  const absl::Status command = policy->CheckCommand({"/bin/true", "x"}, {{"LANG", "C"}});
  FUZZ_CHECK(command.ok() || absl::IsPermissionDenied(command));
  return 0;
}
