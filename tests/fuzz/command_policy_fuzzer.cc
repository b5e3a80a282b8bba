// Fuzz target: the controller's command policy file
// (controller/policy/command_policy.h), parsed with CommandPolicy::Parse,
// then asked about a few commands. Any input ends in a policy or in
// INVALID_ARGUMENT, never in a crash, a sanitizer report or a hang; a
// parsed policy answers OK or PERMISSION_DENIED.
//
// Parse resolves each rule's path on this machine (realpath, stat): it
// reads the filesystem and changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "controller/policy/command_policy.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using chaos::controller::CommandPolicy;
  static const std::vector<std::vector<std::string>> kCommands = {
      {"/bin/true"}, {"true"}, {"/usr/bin/touch", "/var/tmp/chaos/a.b"},
      {"sh", "-c", "id"}, {"/bin/true", "x", "y", "z"}};
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<CommandPolicy> policy = CommandPolicy::Parse(text, "fuzz.yaml");
  if (!policy.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(policy.status()));
    return 0;
  }
  for (const auto& argv : kCommands) {
    const absl::Status s = policy->CheckCommand(argv, "step \"fuzz\"");
    FUZZ_CHECK(s.ok() || absl::IsPermissionDenied(s));
  }
  (void)policy->Summary();
  return 0;
}
