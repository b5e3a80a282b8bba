// chaosctl's commands against a controller (--controller ADDR): run (submit
// and follow), watch, abort, gate confirm|fail, runs (also named history;
// drills with their RTO, RPO and integrity), show, agents, forget-agent, halt,
// resume and schedule add|list|pause|resume|rm. Experiment files are read
// as a local run reads them (${VARIABLES} expanded here, from this
// environment). Output is a human table by default and JSON with --output
// json: the wire messages in proto3 JSON, except `show`, which prints the
// run's JSON journal (the same document as a local run's --output).
// Exit codes: 0 done (for run/watch: the run passed), 1 the run failed or
// the controller refused, 2 invalid input (INVALID_ARGUMENT, or a file that
// does not parse), 3 rollback incomplete, 4 controller unreachable, 5 not
// found, 130 the run was aborted or interrupted.
#ifndef CHAOS_CONTROLLER_CONTROLLER_COMMANDS_H_
#define CHAOS_CONTROLLER_CONTROLLER_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "rpc/credentials.h"

namespace chaos::controller {

struct ControllerCommandArgs {
  std::string controller;  // host:port
  bool json = false;
  std::string run_id;
  std::string step;  // gate confirm|fail: the manual step's id
  std::string address;  // forget-agent: the agent's host:port
  std::string file;
  uint64_t seed = 0;
  std::string reason;
  bool detach = false;  // run: submit and return without following
  // runs filters
  std::string experiment;
  std::string state;
  std::string schedule_filter;
  uint32_t limit = 20;
  // schedule add
  std::string name;
  std::string cron;
  std::string time_zone;
  bool allow_concurrent = false;
  std::vector<std::string> blackouts;  // "DAYS HOURS", e.g. "Sat,Sun *" or "Mon-Fri 9-17"
  uint32_t starting_deadline_s = 0;
  uint32_t history_limit = 0;
  rpc::TransportOptions transport;
};

int SubmitCommand(const ControllerCommandArgs& args);
int WatchCommand(const ControllerCommandArgs& args);
int AbortCommand(const ControllerCommandArgs& args);
// gate confirm|fail RUN STEP: answers a live run's manual gate.
int GateCommand(const ControllerCommandArgs& args, bool confirm);
int RunsCommand(const ControllerCommandArgs& args);
int ShowCommand(const ControllerCommandArgs& args);
int AgentsCommand(const ControllerCommandArgs& args);
// forget-agent ADDRESS: the controller forgets a lost (decommissioned) agent.
int ForgetAgentCommand(const ControllerCommandArgs& args);
int HaltAllCommand(const ControllerCommandArgs& args);
int ResumeAllCommand(const ControllerCommandArgs& args);
int ScheduleAddCommand(const ControllerCommandArgs& args);
int ScheduleListCommand(const ControllerCommandArgs& args);
int SchedulePauseCommand(const ControllerCommandArgs& args, bool paused);
int ScheduleRemoveCommand(const ControllerCommandArgs& args);

// For completion: the ids of the controller's 50 newest runs, newest
// first; empty when it does not answer within a second.
std::vector<std::string> RecentRunIds(const ControllerCommandArgs& args);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_CONTROLLER_COMMANDS_H_
