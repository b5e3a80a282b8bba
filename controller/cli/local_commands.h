// chaosctl's commands that run here, without a controller: validate an
// experiment file, and run one against agents named on the command line
// or in an inventory file. They print what happens and return the process
// exit code (see RunLocalCommand).
#ifndef CHAOS_CONTROLLER_CLI_LOCAL_COMMANDS_H_
#define CHAOS_CONTROLLER_CLI_LOCAL_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "rpc/credentials.h"

namespace chaos::controller {

struct LocalRunArgs {
  std::string file;
  std::vector<std::string> agents;  // host:port
  std::string inventory;            // inventory file
  std::string lease = "15s";
  std::string run_id;
  std::string output;  // directory for the JSON journal and HTML report
  uint64_t seed = 0;
  bool dry_run = false;
  size_t fan_out = 64;              // how many agents are called at once
  std::string start_lead = "auto";  // see ParseStartLead (runner.h)
  rpc::TransportOptions transport;  // how agents are reached
};

// 0 when the file is valid, 2 (errors printed as file:line:col) otherwise.
int ValidateCommand(const std::string& file);

// Runs the experiment from this process; manual gates read the terminal.
// Exit codes: 0 passed, 1 failed or hypothesis not met, 2 invalid input,
// 3 rollback incomplete, 4 agent unreachable or unable (nothing injected),
// 130 interrupted by SIGINT/SIGTERM (rolled back).
int RunLocalCommand(const LocalRunArgs& args);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_CLI_LOCAL_COMMANDS_H_
