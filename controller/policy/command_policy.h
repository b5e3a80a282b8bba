// CommandPolicy: which commands an experiment submitted to the controller
// may run on the controller's machine (command probes, command steps and
// rollback actions without a `target`), read from the YAML file of
// `chaos-controller --command-policy FILE` (see docs/CONTROLLER.md,
// "Command policy"):
//
//   commands:
//     - path: /usr/bin/pg_ctl        # absolute; symbolic links resolved at load
//       args: ["-D", "/srv/pg/[a-z]+", "start|stop"]   # argument i full-matches pattern i
//     - path: /usr/bin/touch
//       moreArgs: "/var/tmp/chaos/[a-z.-]+"            # each further argument
//     - path: /usr/bin/true          # neither: no arguments at all
//
// The rules and how a command matches them are policy::CommandAllowList's
// (policy/command_allow_list.h), the same the agent's policy uses for the
// commands it runs on its host.
//
// Without a file (the default-constructed policy) every command is
// refused, and the refusal says how to allow it: the controller runs no
// command from a request unless its operator listed it. Local runs by
// chaosctl do not consult this policy (the operator's own machine). A
// command with a `target` runs on the agents of that group, through their
// RunCommand RPC and under their own policies: Check() leaves it out.
//
// Check() answers OK or PERMISSION_DENIED naming the command, where the
// experiment holds it and the rule that failed:
//   command "sh" (step "x", resolved to /usr/bin/dash): not in the
//   controller's command policy (--command-policy FILE)
//   command "/usr/bin/pg_ctl" (rollbackActions[0]): argument 3 "kill" does
//   not match /start|stop/ of rule "/usr/bin/pg_ctl"
//
// Load() refuses a bad file with one line INVALID_ARGUMENT naming the file,
// the position and the field: unreadable or over kMaxCommandPolicyBytes, an
// unknown field, a relative or missing path, one that is not an executable
// file, a pattern that does not compile.
//
// Immutable after loading, cheap to copy (rules are shared); Check() is
// safe for concurrent use.
#ifndef CHAOS_CONTROLLER_POLICY_COMMAND_POLICY_H_
#define CHAOS_CONTROLLER_POLICY_COMMAND_POLICY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "experiments/experiment.h"
#include "policy/command_allow_list.h"

namespace chaos::controller {

// The largest command policy file Load() reads: 1 MiB.
inline constexpr size_t kMaxCommandPolicyBytes = size_t{1} << 20;

// The marker a drill's canary write is checked with: the milliseconds
// since the Unix epoch the run appends have this shape.
inline constexpr char kSampleCanaryMarker[] = "1764000000000";

class CommandPolicy {
 public:
  // No policy file: every command is refused.
  CommandPolicy();

  // Reads and parses a policy file, resolving every rule's path.
  [[nodiscard]] static absl::StatusOr<CommandPolicy> Load(const std::string& path);
  // The same from text; `name` names it in errors ("FILE:LINE:COL: ...").
  [[nodiscard]] static absl::StatusOr<CommandPolicy> Parse(const std::string& text,
                                                          const std::string& name);

  // Every command `experiment` runs on this machine: each probe's, each
  // command step's and each rollback action's that has no target, and its
  // drill's (canary write, with a sample marker appended as the run appends
  // one, and read, manifest, backupSize). OK, or PERMISSION_DENIED for the
  // first refused.
  [[nodiscard]] absl::Status Check(const experiments::Experiment& experiment) const;
  // One command; `where` says where it is ("step \"x\"") in the refusal.
  [[nodiscard]] absl::Status CheckCommand(const std::vector<std::string>& argv,
                                          const std::string& where) const;

  // For the controller's start-up log: "command policy FILE: 3 rules" or
  // "no command policy: ...".
  std::string Summary() const;

 private:
  [[nodiscard]] absl::Status CheckDrill(const experiments::Drill& drill) const;

  bool configured_ = false;  // false: no file was given
  std::string file_;
  policy::CommandAllowList rules_;
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_POLICY_COMMAND_POLICY_H_
