#include "controller/cli/completion.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "controller/cli/controller_commands.h"
#include "rpc/transport_flags.h"

namespace chaos::controller {
namespace {

// Where the line so far leaves the parse: the (sub)command the next word
// belongs to, the flags given with their values, how many of the
// command's arguments were given, and the flag still waiting for its value.
struct Position {
  CLI::App* app = nullptr;
  FlagValues values;
  size_t arguments = 0;
  const CLI::Option* waiting = nullptr;
};

std::vector<CLI::App*> SubcommandsOf(CLI::App* app) {
  const std::function<bool(CLI::App*)> all = [](CLI::App*) { return true; };
  return app->get_subcommands(all);
}

// The flag `name` ("--x" or "-x") of `app` or of a command above it
// (chaosctl's global flags may follow the subcommand).
const CLI::Option* FindFlag(const CLI::App* app, const std::string& name) {
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* o : app->get_options()) {
      if (o->nonpositional() && o->check_name(name)) return o;
    }
  }
  return nullptr;
}

std::string LongName(const CLI::Option& o, const std::string& given) {
  return o.get_lnames().empty() ? given : "--" + o.get_lnames().front();
}

// Takes in one word of the line before the cursor.
void Advance(Position& at, const std::string& word) {
  if (at.waiting != nullptr) {
    at.values[LongName(*at.waiting, "")] = word;
    at.waiting = nullptr;
    return;
  }
  if (word.size() > 1 && word[0] == '-') {
    const std::vector<std::string> parts = absl::StrSplit(word, absl::MaxSplits('=', 1));
    const CLI::Option* flag = FindFlag(at.app, parts[0]);
    if (flag == nullptr || flag->get_type_size() == 0) return;
    if (parts.size() == 2) {
      at.values[LongName(*flag, parts[0])] = parts[1];
    } else {
      at.waiting = flag;
    }
    return;
  }
  for (CLI::App* sub : SubcommandsOf(at.app)) {
    if (sub->check_name(word)) {
      at.app = sub;
      at.arguments = 0;
      return;
    }
  }
  ++at.arguments;
}

// The `{a,b}` of an option checked with CLI::IsMember, from its type name
// ("TEXT:{table,json}").
std::vector<std::string> MemberValues(const CLI::Option& o) {
  const std::string type = o.get_type_name();
  const size_t open = type.find('{'), close = type.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  return absl::StrSplit(type.substr(open + 1, close - open - 1), ',');
}

bool NamesAPath(const CLI::Option& o) {
  return absl::StartsWith(o.get_type_name(), "FILE") ||
         absl::StartsWith(o.get_type_name(), "DIR");
}

// What an option's value (or an argument) may be.
void AddValues(const CLI::Option& o, const Position& at, const RunIdSource& run_ids,
               Completion& out) {
  if (NamesAPath(o)) out.files = true;
  for (const std::string& v : MemberValues(o)) out.words.push_back(v);
  if (o.get_positional() && o.get_name() == "run_id" && run_ids) {
    for (const std::string& id : run_ids(at.values)) out.words.push_back(id);
  }
}

// The argument of `app` that the next word gives, if any.
const CLI::Option* NextArgument(const CLI::App* app, size_t given) {
  size_t index = 0;
  for (const CLI::Option* o : app->get_options()) {
    if (o->nonpositional()) continue;
    if (index++ == given) return o;
  }
  return nullptr;
}

void AddFlags(const CLI::App* app, Completion& out) {
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* o : app->get_options()) {
      for (const std::string& l : o->get_lnames()) out.words.push_back("--" + l);
      for (const std::string& s : o->get_snames()) out.words.push_back("-" + s);
    }
  }
}

// Keeps the words that start with `prefix`, each once, in order.
void KeepMatching(const std::string& prefix, std::vector<std::string>& words) {
  std::vector<std::string> kept;
  for (const std::string& w : words) {
    if (absl::StartsWith(w, prefix) && std::find(kept.begin(), kept.end(), w) == kept.end()) {
      kept.push_back(w);
    }
  }
  words = std::move(kept);
}

// The controller's recent run ids, for the line's --controller and TLS flags.
std::vector<std::string> AskController(const FlagValues& values) {
  auto value = [&](const char* name) {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second;
  };
  ControllerCommandArgs args;
  args.controller = value("--controller");
  if (args.controller.empty()) return {};
  rpc::TransportFlags flags;
  flags.cert = value("--tls-cert");
  flags.key = value("--tls-key");
  flags.ca = value("--tls-ca");
  auto transport = rpc::TransportFromFlags(flags, rpc::Endpoint::kClient);
  if (!transport.ok()) return {};
  args.transport = *transport;
  return RecentRunIds(args);
}

}  // namespace

Completion Complete(CLI::App& app, const std::vector<std::string>& line,
                    const RunIdSource& run_ids) {
  Position at;
  at.app = &app;
  const std::string current = line.empty() ? "" : line.back();
  for (size_t i = 0; i + 1 < line.size(); ++i) Advance(at, line[i]);
  Completion out;
  if (at.waiting != nullptr) {
    AddValues(*at.waiting, at, run_ids, out);
  } else if (absl::StartsWith(current, "-")) {
    AddFlags(at.app, out);
  } else {
    for (CLI::App* sub : SubcommandsOf(at.app)) {
      out.words.push_back(sub->get_name());
      for (const std::string& alias : sub->get_aliases()) out.words.push_back(alias);
    }
    if (const CLI::Option* arg = NextArgument(at.app, at.arguments)) {
      AddValues(*arg, at, run_ids, out);
    }
  }
  KeepMatching(current, out.words);
  return out;
}

bool IsCompletionRequest(int argc, char** argv) {
  return argc >= 2 && std::string_view(argv[1]) == "__complete";
}

int CompleteCommand(CLI::App& app, int argc, char** argv) {
  const std::vector<std::string> line(argv + 2, argv + argc);
  const Completion c = Complete(app, line, AskController);
  for (const std::string& w : c.words) std::printf("%s\n", w.c_str());
  if (c.files) std::printf(":files\n");
  return 0;
}

}  // namespace chaos::controller
