// chaosctl's direct agent commands: revert, faults, describe, halt, resume.
// Each prints one line per result and returns the process exit code:
// 0 done, 1 the agent refused or failed, 4 the agent is unreachable.
#ifndef CHAOS_CONTROLLER_AGENT_COMMANDS_H_
#define CHAOS_CONTROLLER_AGENT_COMMANDS_H_

#include <string>
#include <vector>

#include "rpc/credentials.h"

namespace chaos::controller {

struct AgentCommandArgs {
  std::string agent;
  std::vector<std::string> ids;
  std::string experiment;
  std::string reason;
  bool all = false;
  bool abandon = false;  // revert --abandon: give up on failed reverts
  rpc::TransportOptions transport;
};

int RevertCommand(const AgentCommandArgs& args);
int FaultsCommand(const AgentCommandArgs& args);
int DescribeCommand(const AgentCommandArgs& args);
int HaltCommand(const AgentCommandArgs& args);
int ResumeCommand(const AgentCommandArgs& args);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_AGENT_COMMANDS_H_
