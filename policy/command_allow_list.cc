#include "policy/command_allow_list.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "base/paths.h"
#include "base/subprocess.h"
#include "re2/re2.h"

namespace chaos::policy {

struct CommandAllowList::NamedRule {
  CommandRule rule;
  std::string name;  // "\"/usr/bin/x\"", plus " (commands[i])" when ambiguous
};

namespace {

using NamedRule = CommandAllowList::NamedRule;

// Names each rule for refusals: its path, and its index when another rule
// has the same executable.
std::vector<NamedRule> NameRules(std::vector<CommandRule> rules) {
  std::map<std::string, int> per_executable;
  for (const CommandRule& r : rules) ++per_executable[r.real];
  std::vector<NamedRule> named;
  for (size_t i = 0; i < rules.size(); ++i) {
    std::string name = QuoteForRefusal(rules[i].path);
    if (per_executable[rules[i].real] > 1) absl::StrAppend(&name, " (commands[", i, "])");
    named.push_back({std::move(rules[i]), std::move(name)});
  }
  return named;
}

// The last component of a path: the name a program is run as.
absl::string_view BaseName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

// Why `argv`, whose executable is the rule's, does not match `rule`, or ""
// when it does. The name counts too: a program that acts on the name it is
// run as (busybox, pg_wrapper behind /usr/bin/pg_ctl and /usr/bin/psql) is
// the same file under its every name.
std::string Mismatch(const NamedRule& named, const std::vector<std::string>& argv) {
  const CommandRule& rule = named.rule;
  if (BaseName(argv[0]) != BaseName(rule.path)) {
    return absl::StrCat("rule ", named.name, " allows that file only when run as ",
                        QuoteForRefusal(std::string(BaseName(rule.path))));
  }
  const size_t n = argv.size() - 1;
  if (n < rule.args.size() || (!rule.more_args && n > rule.args.size())) {
    return absl::StrCat("rule ", named.name, " takes ", rule.more_args ? "at least " : "",
                        rule.args.size(), " argument(s), got ", n);
  }
  for (size_t i = 1; i <= n; ++i) {
    const bool positional = i <= rule.args.size();
    const CommandPattern& p = positional ? rule.args[i - 1] : *rule.more_args;
    if (!RE2::FullMatch(argv[i], *p.re)) {
      return absl::StrCat("argument ", i, " ", QuoteForRefusal(argv[i]), " does not match /",
                          p.text, "/", positional ? "" : " (moreArgs)", " of rule ", named.name);
    }
  }
  return "";
}

// `command "x" (where, resolved to R)`, leaving out what is empty.
std::string Describe(const std::vector<std::string>& argv, const std::string& where,
                     const std::string& real) {
  std::vector<std::string> notes;
  if (!where.empty()) notes.push_back(where);
  if (!real.empty() && real != argv[0]) notes.push_back(absl::StrCat("resolved to ", real));
  return absl::StrCat("command ", QuoteForRefusal(argv.empty() ? std::string() : argv[0]),
                      notes.empty() ? "" : absl::StrCat(" (", absl::StrJoin(notes, ", "), ")"));
}

}  // namespace

std::string QuoteForRefusal(const std::string& s) {
  constexpr size_t kShown = 200;
  const bool cut = s.size() > kShown;
  return absl::StrCat("\"", absl::CHexEscape(cut ? s.substr(0, kShown) : s), cut ? "...\"" : "\"");
}

absl::StatusOr<CommandPattern> CompileCommandPattern(const std::string& text) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(text, options);
  if (!re->ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad pattern ", QuoteForRefusal(text), ": ", re->error()));
  }
  return CommandPattern{text, std::move(re)};
}

absl::StatusOr<std::string> ResolveRuleExecutable(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(QuoteForRefusal(path), " is not an absolute path"));
  }
  absl::StatusOr<std::string> real = base::RealPath(path);
  if (!real.ok()) return absl::InvalidArgumentError(real.status().message());
  struct stat st;
  if (stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode) || access(real->c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, *real == path ? "" : absl::StrCat(" (", *real, ")"),
                     " is not an executable file"));
  }
  return real;
}

CommandAllowList::CommandAllowList() : rules_(std::make_shared<const std::vector<NamedRule>>()) {}

CommandAllowList::CommandAllowList(std::vector<CommandRule> rules)
    : rules_(std::make_shared<const std::vector<NamedRule>>(NameRules(std::move(rules)))) {}

absl::Status CommandAllowList::Check(const std::vector<std::string>& argv,
                                     const std::string& where,
                                     const AllowListWording& wording) const {
  if (argv.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(Describe(argv, where, ""), ": empty command"));
  }
  absl::StatusOr<std::string> found = base::ResolveExecutable(argv[0]);
  absl::StatusOr<std::string> real =
      found.ok() ? base::RealPath(*found) : absl::StatusOr<std::string>(found.status());
  if (!real.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        Describe(argv, where, ""), ": not found on ", wording.host, " (", real.status().message(),
        "), so its command policy cannot allow it"));
  }
  std::vector<std::string> mismatches;
  for (const NamedRule& rule : *rules_) {
    if (rule.rule.real != *real) continue;
    std::string why = Mismatch(rule, argv);
    if (why.empty()) return absl::OkStatus();
    mismatches.push_back(std::move(why));
  }
  const std::string what = Describe(argv, where, *real);
  if (mismatches.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(what, ": not in ", wording.list));
  }
  return absl::PermissionDeniedError(absl::StrCat(what, ": ", absl::StrJoin(mismatches, "; ")));
}

size_t CommandAllowList::size() const { return rules_->size(); }

std::vector<std::string> CommandAllowList::Paths() const {
  std::vector<std::string> paths;
  for (const NamedRule& rule : *rules_) paths.push_back(rule.rule.path);
  return paths;
}

}  // namespace chaos::policy
