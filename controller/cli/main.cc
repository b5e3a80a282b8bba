// chaosctl: the operator's command line. See README.md and docs/CONTROLLER.md.
// This file only declares the commands and dispatches; each command lives
// in local_commands, agent_commands or controller_commands.
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "base/mutex_mode.h"
#include "controller/cli/agent_commands.h"
#include "controller/cli/completion.h"
#include "controller/cli/controller_commands.h"
#include "controller/cli/local_commands.h"
#include "rpc/transport_flags.h"

namespace {

using chaos::controller::AgentCommandArgs;
using chaos::controller::ControllerCommandArgs;
using chaos::controller::LocalRunArgs;

struct Args {
  std::string output = "table";
  std::string file;  // validate
  LocalRunArgs run;
  AgentCommandArgs agent;
  ControllerCommandArgs ctl;
  chaos::rpc::TransportFlags transport;
};

// The parsed subcommands, to dispatch on.
struct Commands {
  CLI::App *validate, *run, *revert, *faults, *describe, *halt, *resume;
  CLI::App *watch, *abort, *gate_confirm, *gate_fail, *runs, *show, *agents, *forget_agent;
  CLI::App *schedule_add, *schedule_list, *schedule_pause, *schedule_resume, *schedule_rm;
};

void DeclareLocal(CLI::App& app, Args& a, Commands& c) {
  c.validate = app.add_subcommand("validate", "check an experiment file; exit 2 on errors");
  c.validate->add_option("file", a.file, "experiment file (YAML)")->required()->type_name("FILE");
  c.run = app.add_subcommand(
      "run", "run an experiment; exit 0 passed, 1 failed or hypothesis not met, 2 invalid "
             "input, 3 rollback incomplete, 4 agent unreachable or unable (nothing injected), "
             "130 interrupted (rolled back)");
  c.run->add_option("file", a.run.file, "experiment file (YAML)")->required()->type_name("FILE");
  auto* agent = c.run->add_option("--agent", a.run.agents,
                                  "agent address host:port (repeatable): run from here");
  auto* inventory =
      c.run->add_option("--agents", a.run.inventory, "inventory file listing agents and labels")
          ->type_name("FILE");
  auto* ctl = c.run->add_option("--controller", a.ctl.controller,
                                "controller host:port: submit there and follow the run");
  agent->excludes(ctl);
  inventory->excludes(ctl);
  c.run->add_flag("--detach", a.ctl.detach, "with --controller: print the run id, do not follow");
  c.run->add_option("--lease", a.run.lease, "lease the agents hold between keep-alives")
      ->capture_default_str();
  c.run->add_option("--fan-out", a.run.fan_out,
                    "without --controller: how many agents are called at once (preflight, "
                    "inject, keep-alive, revert, verify)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  c.run->add_option("--start-lead", a.run.start_lead,
                    "without --controller: how far ahead a fault step on several agents "
                    "plans its one start (auto, off, or a duration up to 5m)")
      ->capture_default_str();
  c.run->add_option("--run-id", a.run.run_id, "id for this run (default: generated)");
  c.run->add_option("--seed", a.run.seed,
                    "seed for random target choice (default: random, reported)");
  c.run->add_option("--output", a.run.output,
                    "without --controller: write the JSON journal and HTML report into this "
                    "directory")
      ->type_name("DIR");
  c.run->add_flag("--dry-run", a.run.dry_run,
                  "resolve targets, check agents, print the plan; inject nothing");
}

void DeclareAgent(CLI::App& app, Args& a, Commands& c) {
  auto need_agent = [&](CLI::App* cmd) {
    cmd->add_option("--agent", a.agent.agent, "agent address host:port")->required();
  };
  c.revert = app.add_subcommand("revert", "revert faults on an agent by id");
  need_agent(c.revert);
  c.revert->add_option("fault_ids", a.agent.ids, "fault ids")->required();
  c.revert->add_flag("--abandon", a.agent.abandon,
                     "give up on faults whose revert failed: the agent stops retrying "
                     "(audited) and whatever they left stays on the host");
  c.faults = app.add_subcommand("faults", "list an agent's faults");
  need_agent(c.faults);
  c.faults->add_option("--experiment", a.agent.experiment, "only this experiment (run id)");
  c.faults->add_flag("--all", a.agent.all, "include ended faults");
  c.describe = app.add_subcommand("describe", "show an agent's host and capabilities");
  need_agent(c.describe);
  c.halt = app.add_subcommand("halt", "emergency stop: revert everything, refuse injects");
  auto* halt_agent = c.halt->add_option("--agent", a.agent.agent, "agent address host:port");
  c.halt->add_option("--controller", a.ctl.controller, "halt every agent the controller knows")
      ->excludes(halt_agent);
  c.halt->add_option("--reason", a.agent.reason, "why, for the audit log");
  c.resume = app.add_subcommand("resume", "accept injects again after halt");
  auto* resume_agent = c.resume->add_option("--agent", a.agent.agent, "agent address host:port");
  c.resume->add_option("--controller", a.ctl.controller,
                       "resume every agent the controller knows")
      ->excludes(resume_agent);
}

void DeclareRuns(CLI::App& app, Args& a, Commands& c,
                 const std::function<void(CLI::App*)>& need_controller) {
  c.watch = app.add_subcommand("watch", "follow a run's events until it ends");
  c.watch->add_option("run_id", a.ctl.run_id, "run id")->required();
  c.abort = app.add_subcommand("abort", "abort a run: its faults are rolled back");
  c.abort->add_option("run_id", a.ctl.run_id, "run id")->required();
  c.abort->add_option("--reason", a.ctl.reason, "why, for the journal");
  auto* gate = app.add_subcommand("gate", "answer a manual gate of a run");
  gate->require_subcommand(1);
  c.gate_confirm = gate->add_subcommand("confirm", "confirm the gate: the run goes on");
  c.gate_fail = gate->add_subcommand("fail", "fail the gate: the run fails and rolls back");
  for (CLI::App* g : {c.gate_confirm, c.gate_fail}) {
    g->add_option("run_id", a.ctl.run_id, "run id")->required();
    g->add_option("step", a.ctl.step, "the manual step's id")->required();
    g->add_option("--reason", a.ctl.reason, "why, for the journal");
  }
  c.runs = app.add_subcommand(
      "runs", "list runs, newest first; drills with their RTO, RPO and integrity, met or MISSED");
  c.runs->alias("history");  // `chaosctl history EXPERIMENT`
  auto* experiment = c.runs->add_option("experiment", a.ctl.experiment, "only this experiment");
  c.runs->add_option("--experiment", a.ctl.experiment, "only this experiment")
      ->excludes(experiment);
  c.runs->add_option("--state", a.ctl.state, "only this state (passed, failed, running, ...)");
  c.runs->add_option("--schedule", a.ctl.schedule_filter, "only runs of this schedule");
  c.runs->add_option("--limit", a.ctl.limit, "at most this many")->capture_default_str();
  c.show = app.add_subcommand("show", "show a run; with -o json, its JSON journal");
  c.show->add_option("run_id", a.ctl.run_id, "run id")->required();
  c.agents = app.add_subcommand("agents", "list registered agents");
  c.forget_agent = app.add_subcommand(
      "forget-agent", "forget a lost (decommissioned) agent: the controller and its store drop "
                      "it, and halt no longer calls it; a live agent is refused");
  c.forget_agent->add_option("address", a.ctl.address, "the agent's host:port")->required();
  for (CLI::App* cmd :
       {c.watch, c.abort, c.gate_confirm, c.gate_fail, c.runs, c.show, c.agents, c.forget_agent}) {
    need_controller(cmd);
  }
}

void DeclareSchedules(CLI::App& app, Args& a, Commands& c,
                      const std::function<void(CLI::App*)>& need_controller) {
  auto* schedule = app.add_subcommand("schedule", "manage schedules");
  schedule->require_subcommand(1);
  c.schedule_add = schedule->add_subcommand("add", "add a schedule");
  c.schedule_add->add_option("name", a.ctl.name, "schedule name")->required();
  c.schedule_add->add_option("file", a.ctl.file, "experiment file (YAML)")
      ->required()
      ->type_name("FILE");
  c.schedule_add->add_option("--cron", a.ctl.cron, "five-field cron expression")->required();
  c.schedule_add->add_option("--time-zone,--tz", a.ctl.time_zone, "IANA zone (default UTC)");
  c.schedule_add->add_flag("--allow-concurrent", a.ctl.allow_concurrent,
                           "start even while the previous run is running (default: skip)");
  c.schedule_add->add_option(
      "--blackout", a.ctl.blackouts,
      "\"DAYS [HOURS]\" when nothing starts, e.g. \"Mon-Fri 9-17\" (repeatable)");
  c.schedule_add->add_option("--starting-deadline", a.ctl.starting_deadline_s,
                             "seconds a missed firing may still start (default 60)");
  c.schedule_add->add_option("--history-limit", a.ctl.history_limit,
                             "ended runs to keep (default all)");
  c.schedule_list = schedule->add_subcommand("list", "list schedules");
  c.schedule_pause = schedule->add_subcommand("pause", "pause a schedule");
  c.schedule_resume = schedule->add_subcommand("resume", "resume a schedule");
  c.schedule_rm = schedule->add_subcommand("rm", "delete a schedule (its runs stay)");
  for (CLI::App* cmd : {c.schedule_pause, c.schedule_resume, c.schedule_rm}) {
    cmd->add_option("name", a.ctl.name, "schedule name")->required();
  }
  for (CLI::App* cmd : {c.schedule_add, c.schedule_list, c.schedule_pause, c.schedule_resume,
                        c.schedule_rm}) {
    need_controller(cmd);
  }
}

// run: through the controller when one is named, else from here.
int DispatchRun(Args& a) {
  if (!a.ctl.controller.empty()) {
    a.ctl.file = a.run.file;
    a.ctl.seed = a.run.seed;
    return chaos::controller::SubmitCommand(a.ctl);
  }
  if (a.run.agents.empty() && a.run.inventory.empty()) {
    std::fprintf(stderr,
                 "chaosctl run: give --agent HOST:PORT, --agents INVENTORY or --controller ADDR\n");
    return 2;
  }
  return chaos::controller::RunLocalCommand(a.run);
}

// halt and resume: every agent of a controller, or one agent.
int DispatchHaltResume(Args& a, bool halt) {
  if (a.agent.agent.empty() && a.ctl.controller.empty()) {
    std::fprintf(stderr, "chaosctl %s: give --agent ADDR or --controller ADDR\n",
                 halt ? "halt" : "resume");
    return 2;
  }
  if (!a.ctl.controller.empty()) {
    return halt ? chaos::controller::HaltAllCommand(a.ctl)
                : chaos::controller::ResumeAllCommand(a.ctl);
  }
  return halt ? chaos::controller::HaltCommand(a.agent) : chaos::controller::ResumeCommand(a.agent);
}

int Dispatch(const Commands& c, Args& a) {
  namespace cc = chaos::controller;
  if (c.validate->parsed()) return cc::ValidateCommand(a.file);
  if (c.run->parsed()) return DispatchRun(a);
  if (c.halt->parsed() || c.resume->parsed()) return DispatchHaltResume(a, c.halt->parsed());
  if (c.revert->parsed()) return cc::RevertCommand(a.agent);
  if (c.faults->parsed()) return cc::FaultsCommand(a.agent);
  if (c.describe->parsed()) return cc::DescribeCommand(a.agent);
  if (c.watch->parsed()) return cc::WatchCommand(a.ctl);
  if (c.abort->parsed()) return cc::AbortCommand(a.ctl);
  if (c.gate_confirm->parsed()) return cc::GateCommand(a.ctl, true);
  if (c.gate_fail->parsed()) return cc::GateCommand(a.ctl, false);
  if (c.runs->parsed()) return cc::RunsCommand(a.ctl);
  if (c.show->parsed()) return cc::ShowCommand(a.ctl);
  if (c.agents->parsed()) return cc::AgentsCommand(a.ctl);
  if (c.forget_agent->parsed()) return cc::ForgetAgentCommand(a.ctl);
  if (c.schedule_add->parsed()) return cc::ScheduleAddCommand(a.ctl);
  if (c.schedule_list->parsed()) return cc::ScheduleListCommand(a.ctl);
  if (c.schedule_pause->parsed()) return cc::SchedulePauseCommand(a.ctl, true);
  if (c.schedule_resume->parsed()) return cc::SchedulePauseCommand(a.ctl, false);
  if (c.schedule_rm->parsed()) return cc::ScheduleRemoveCommand(a.ctl);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  chaos::base::UseReleaseMutexes();  // base/mutex_mode.h
  CLI::App app{"chaosctl: run chaos experiments and manage agents"};
  app.set_version_flag("--version", CHAOS_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // --output may follow the subcommand
  Args a;
  app.add_option("--output,-o", a.output, "table (for people) or json (for scripts)")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json"}));
  chaos::rpc::AddTransportFlags(app, a.transport, chaos::rpc::Endpoint::kClient);
  auto need_controller = [&](CLI::App* cmd) {
    cmd->add_option("--controller", a.ctl.controller, "controller host:port")->required();
  };
  Commands c{};
  DeclareLocal(app, a, c);
  DeclareAgent(app, a, c);
  DeclareRuns(app, a, c, need_controller);
  DeclareSchedules(app, a, c, need_controller);
  if (chaos::controller::IsCompletionRequest(argc, argv)) {
    return chaos::controller::CompleteCommand(app, argc, argv);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  auto transport = chaos::rpc::TransportFromFlags(a.transport, chaos::rpc::Endpoint::kClient);
  if (!transport.ok()) {
    std::fprintf(stderr, "chaosctl: %s\n", std::string(transport.status().message()).c_str());
    return 2;
  }
  a.run.transport = a.agent.transport = a.ctl.transport = *transport;
  a.ctl.json = a.output == "json";
  if (a.ctl.reason.empty()) a.ctl.reason = a.agent.reason;
  return Dispatch(c, a);
}
