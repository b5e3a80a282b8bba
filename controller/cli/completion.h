// Shell completion for chaosctl. `chaosctl __complete WORD...` prints what
// may come next on a command line, computed from the commands and flags
// chaosctl declares, so the bash and zsh scripts (deploy/completion/) stay
// thin and never fall behind the binary.
//
// WORD... is the command line after "chaosctl", the last word being the one
// under the cursor ("" when the cursor follows a space). The answer is one
// candidate per line, each starting with that word, then a line ":files"
// when the shell should offer file names as well (an experiment or
// inventory file).
//
// Candidates: subcommands (and aliases), flags of the subcommand and the
// global ones, the values of --output, and run ids for a `run_id`
// argument, asked of the controller that `--controller ADDR` on the line
// names (over the line's --tls-* flags; nothing when it does not answer
// within a second).
#ifndef CHAOS_CONTROLLER_CLI_COMPLETION_H_
#define CHAOS_CONTROLLER_CLI_COMPLETION_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace chaos::controller {

struct Completion {
  std::vector<std::string> words;  // in the order declared, each once
  bool files = false;
};

// The values of the flags given on the line, by long name ("--controller").
using FlagValues = std::map<std::string, std::string>;
// The run ids to offer, newest first; empty when there are none to offer.
using RunIdSource = std::function<std::vector<std::string>(const FlagValues&)>;

// What may follow `line` in `app`'s command line.
Completion Complete(CLI::App& app, const std::vector<std::string>& line,
                    const RunIdSource& run_ids);

// Whether argv asks for completion (argv[1] is "__complete").
bool IsCompletionRequest(int argc, char** argv);

// Prints the completion of argv[2...] and returns 0. Run ids come from
// the controller the line names (RecentRunIds).
int CompleteCommand(CLI::App& app, int argc, char** argv);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_CLI_COMPLETION_H_
