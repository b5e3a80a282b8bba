// CommandAllowList: which commands may run, as a list of rules, each an
// executable and patterns for its arguments. One format, two users: the
// controller's --command-policy file (commands an experiment submitted to
// it runs on its machine) and the agent's policy file (commands RunCommand
// runs on its host). Each reads its file and builds the rules with the
// functions below; matching is here, once.
//
//   - path: /usr/bin/pg_ctl        # absolute; symbolic links resolved at load
//     args: ["-D", "/srv/pg/[a-z]+", "start|stop"]   # argument i full-matches pattern i
//   - path: /usr/bin/touch
//     moreArgs: "/var/tmp/chaos/[a-z.-]+"            # each further argument
//   - path: /usr/bin/true          # neither: no arguments at all
//
// A command is allowed when its argv[0], found the way base::RunCommand
// finds it (PATH when it has no '/') and resolved to its real path, is the
// real path of a rule, it is run under the name the rule's path ends with
// (a program may act on the name it is run as), and its arguments match
// that rule: exactly one argument per `args` pattern, in order, then as
// many more as match `moreArgs` (none without it). Patterns are RE2,
// matched against the whole argument. A path may have several rules; a
// command needs to match one of them. No rule: nothing is allowed.
//
// Immutable once built, cheap to copy (the rules are shared); Check() is
// safe for concurrent use.
#ifndef CHAOS_POLICY_COMMAND_ALLOW_LIST_H_
#define CHAOS_POLICY_COMMAND_ALLOW_LIST_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace chaos::policy {

// An RE2 pattern, compiled once.
struct CommandPattern {
  std::string text;
  std::shared_ptr<const re2::RE2> re;
};

// INVALID_ARGUMENT "bad pattern \"(\": missing )" when `text` does not
// compile. The caller adds where the pattern is.
[[nodiscard]] absl::StatusOr<CommandPattern> CompileCommandPattern(const std::string& text);

// The real path of a rule's executable: INVALID_ARGUMENT, for the caller to
// prefix with the field, when `path` is not absolute ("\"bin/true\" is not
// an absolute path"), cannot be resolved ("/no/such: No such file or
// directory") or is not an executable regular file ("/etc/passwd is not
// an executable file").
[[nodiscard]] absl::StatusOr<std::string> ResolveRuleExecutable(const std::string& path);

// One rule, as its file gives it and resolved.
struct CommandRule {
  std::string path;  // as written
  std::string real;  // ResolveRuleExecutable(path)
  std::vector<CommandPattern> args;
  std::optional<CommandPattern> more_args;
};

// How refusals speak of the host and of the list, e.g. "the controller" and
// "the controller's command policy (--command-policy FILE)".
struct AllowListWording {
  std::string host;
  std::string list;
};

class CommandAllowList {
 public:
  CommandAllowList();  // no rule: nothing is allowed
  explicit CommandAllowList(std::vector<CommandRule> rules);

  // OK, or PERMISSION_DENIED naming the command, `where` it is (may be ""),
  // what it resolved to and each rule of its executable that failed:
  //   command "sh" (step "x", resolved to /usr/bin/dash): not in LIST
  //   command "/usr/bin/pg_ctl" (rollbackActions[0]): argument 3 "kill"
  //   does not match /start|stop/ of rule "/usr/bin/pg_ctl"
  //   command "x": not found on HOST (x: command not found in PATH), so
  //   its command policy cannot allow it
  // A rule is named by its path, and by its index ("(commands[1])") when
  // another rule has the same executable.
  [[nodiscard]] absl::Status Check(const std::vector<std::string>& argv, const std::string& where,
                                   const AllowListWording& wording) const;

  size_t size() const;
  bool empty() const { return size() == 0; }
  // The rules' paths as written, in order.
  std::vector<std::string> Paths() const;

  struct NamedRule;  // a rule with its name in refusals (defined in the .cc)

 private:
  std::shared_ptr<const std::vector<NamedRule>> rules_;
};

// An argument or a command name as refusals show it: quoted, C-escaped,
// cut at 200 bytes.
std::string QuoteForRefusal(const std::string& s);

}  // namespace chaos::policy

#endif  // CHAOS_POLICY_COMMAND_ALLOW_LIST_H_
