// chaosctl: the operator's command line. See README.md and docs/CLI.md.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "CLI/CLI.hpp"
#include "controller/cli/agent_commands.h"
#include "controller/cli/controller_commands.h"
#include "experiments/experiment.h"
#include "controller/cli/interrupt_watcher.h"
#include "experiments/inventory.h"
#include "controller/cli/progress.h"
#include "controller/report/report.h"
#include "controller/engine/runner.h"
#include "experiments/yaml_proto.h"

namespace {

using chaos::experiments::Diagnostics;

int Validate(const std::string& file) {
  Diagnostics diags;
  auto exp = chaos::experiments::LoadExperimentFile(file, &diags);
  if (!exp) {
    std::fputs(diags.Format(file).c_str(), stderr);
    return 2;
  }
  std::printf("%s: ok (%zu step(s), about %s)\n", file.c_str(), exp->experiment.method.size(),
              absl::FormatDuration(exp->experiment.PlannedDuration()).c_str());
  return 0;
}

struct RunArgs {
  std::string file;
  std::vector<std::string> agents;
  std::string inventory;
  std::string lease = "15s";
  std::string run_id;
  std::string output;
  uint64_t seed = 0;
  bool dry_run = false;
};

int Run(const RunArgs& args) {
  Diagnostics diags;
  auto loaded = chaos::experiments::LoadExperimentFile(args.file, &diags);
  if (!loaded) {
    std::fputs(diags.Format(args.file).c_str(), stderr);
    return 2;
  }
  const chaos::experiments::Experiment* exp = &loaded->experiment;
  auto lease = chaos::experiments::ParseDuration(args.lease);
  if (!lease.ok() || *lease < absl::Seconds(1)) {
    std::fprintf(stderr, "chaosctl: --lease %s: must be a duration of at least 1s\n",
                 args.lease.c_str());
    return 2;
  }
  chaos::controller::RunOptions options;
  options.agents = args.agents;
  options.variables = loaded->source.variables;
  if (!args.inventory.empty()) {
    Diagnostics inv_diags;
    auto inventory = chaos::experiments::LoadInventory(args.inventory, &inv_diags);
    if (!inventory) {
      std::fputs(inv_diags.Format(args.inventory).c_str(), stderr);
      return 2;
    }
    for (const auto& a : *inventory) {
      if (std::find(options.agents.begin(), options.agents.end(), a.address) ==
          options.agents.end()) {
        options.agents.push_back(a.address);
      }
      options.inventory_labels[a.address] = a.labels;
    }
  }
  options.lease = *lease;
  options.run_id = args.run_id;
  options.seed = args.seed;
  options.dry_run = args.dry_run;
  options.operator_fd = STDIN_FILENO;

  // Signals are taken by one thread, which interrupts the run (rollback).
  chaos::controller::BlockInterrupts();
  const bool tty = isatty(STDOUT_FILENO);
  chaos::controller::Progress progress(*exp, stdout, tty);
  chaos::controller::Runner runner(*exp, options, &progress);
  chaos::controller::RunReport report;
  {
    chaos::controller::InterruptWatcher interrupts([&](int sig, int n) {
      if (n == 1) {
        runner.Interrupt(sig == SIGINT ? "interrupted by the operator (SIGINT)"
                                       : "terminated (SIGTERM)");
      } else {
        std::fprintf(stderr, "\nchaosctl: rollback in progress; waiting for it to finish\n");
      }
    });
    report = runner.Run();
  }
  progress.Stop();
  std::fputs(chaos::controller::ReportText(report).c_str(), stdout);
  if (!args.output.empty() && !args.dry_run) {
    absl::Status s = chaos::controller::WriteReports(report, args.output);
    if (s.ok()) {
      std::printf("report: %s/%s.json and .html\n", args.output.c_str(), report.run_id.c_str());
    } else {
      std::fprintf(stderr, "chaosctl: cannot write the report: %s\n",
                   std::string(s.message()).c_str());
    }
  }
  std::fflush(stdout);
  return chaos::controller::ExitCode(report.outcome);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chaosctl: run chaos experiments and manage agents"};
  app.require_subcommand(1);
  app.fallthrough();  // --output may follow the subcommand
  std::string output = "table";
  app.add_option("--output,-o", output, "table (for people) or json (for scripts)")
      ->capture_default_str()->check(CLI::IsMember({"table", "json"}));
  chaos::controller::ControllerCommandArgs c;

  std::string file;
  auto* validate = app.add_subcommand("validate", "check an experiment file; exit 2 on errors");
  validate->add_option("file", file, "experiment file (YAML)")->required();

  RunArgs r;
  auto* run = app.add_subcommand(
      "run", "run an experiment; exit 0 passed, 1 failed or hypothesis not met, 2 invalid "
             "input, 3 rollback incomplete, 4 agent unreachable or unable (nothing injected), "
             "130 interrupted (rolled back)");
  run->add_option("file", r.file, "experiment file (YAML)")->required();
  auto* run_agent =
      run->add_option("--agent", r.agents, "agent address host:port (repeatable): run from here");
  auto* run_inventory =
      run->add_option("--agents", r.inventory, "inventory file listing agents and labels");
  auto* run_ctl = run->add_option("--controller", c.controller,
                                  "controller host:port: submit there and follow the run");
  run_agent->excludes(run_ctl);
  run_inventory->excludes(run_ctl);
  run->add_flag("--detach", c.detach, "with --controller: print the run id, do not follow");
  run->add_option("--lease", r.lease, "lease the agents hold between keep-alives")
      ->capture_default_str();
  run->add_option("--run-id", r.run_id, "id for this run (default: generated)");
  run->add_option("--seed", r.seed, "seed for random target choice (default: random, reported)");
  run->add_option("--output", r.output,
                  "without --controller: write the JSON journal and HTML report into this directory");
  run->add_flag("--dry-run", r.dry_run, "resolve targets, check agents, print the plan; inject nothing");

  chaos::controller::AgentCommandArgs a;
  auto* revert = app.add_subcommand("revert", "revert faults on an agent by id");
  revert->add_option("--agent", a.agent, "agent address host:port")->required();
  revert->add_option("fault_ids", a.ids, "fault ids")->required();
  auto* faults = app.add_subcommand("faults", "list an agent's faults");
  faults->add_option("--agent", a.agent, "agent address host:port")->required();
  faults->add_option("--experiment", a.experiment, "only this experiment (run id)");
  faults->add_flag("--all", a.all, "include ended faults");
  auto* describe = app.add_subcommand("describe", "show an agent's host and capabilities");
  describe->add_option("--agent", a.agent, "agent address host:port")->required();
  auto* halt = app.add_subcommand("halt", "emergency stop: revert everything, refuse injects");
  auto* halt_agent = halt->add_option("--agent", a.agent, "agent address host:port");
  halt->add_option("--controller", c.controller, "halt every agent the controller knows")
      ->excludes(halt_agent);
  halt->add_option("--reason", a.reason, "why, for the audit log");
  auto* resume = app.add_subcommand("resume", "accept injects again after halt");
  auto* resume_agent = resume->add_option("--agent", a.agent, "agent address host:port");
  resume->add_option("--controller", c.controller, "resume every agent the controller knows")
      ->excludes(resume_agent);

  // Commands that need a controller.
  auto need_controller = [&](CLI::App* cmd) {
    cmd->add_option("--controller", c.controller, "controller host:port")->required();
  };
  auto* watch = app.add_subcommand("watch", "follow a run's events until it ends");
  need_controller(watch);
  watch->add_option("run_id", c.run_id, "run id")->required();
  auto* abort_cmd = app.add_subcommand("abort", "abort a run: its faults are rolled back");
  need_controller(abort_cmd);
  abort_cmd->add_option("run_id", c.run_id, "run id")->required();
  abort_cmd->add_option("--reason", c.reason, "why, for the journal");
  auto* runs = app.add_subcommand("runs", "list runs, newest first");
  need_controller(runs);
  runs->add_option("--experiment", c.experiment, "only this experiment");
  runs->add_option("--state", c.state, "only this state (passed, failed, running, ...)");
  runs->add_option("--schedule", c.schedule_filter, "only runs of this schedule");
  runs->add_option("--limit", c.limit, "at most this many")->capture_default_str();
  auto* show = app.add_subcommand("show", "show a run and its report");
  need_controller(show);
  show->add_option("run_id", c.run_id, "run id")->required();
  auto* agents_cmd = app.add_subcommand("agents", "list registered agents");
  need_controller(agents_cmd);
  auto* schedule = app.add_subcommand("schedule", "manage schedules");
  schedule->require_subcommand(1);
  auto* sadd = schedule->add_subcommand("add", "add a schedule");
  need_controller(sadd);
  sadd->add_option("name", c.name, "schedule name")->required();
  sadd->add_option("file", c.file, "experiment file (YAML)")->required();
  sadd->add_option("--cron", c.cron, "five-field cron expression")->required();
  sadd->add_option("--time-zone,--tz", c.time_zone, "IANA zone (default UTC)");
  sadd->add_flag("--allow-concurrent", c.allow_concurrent,
                 "start even while the previous run is running (default: skip)");
  sadd->add_option("--blackout", c.blackouts,
                   "\"DAYS [HOURS]\" when nothing starts, e.g. \"Mon-Fri 9-17\" (repeatable)");
  sadd->add_option("--starting-deadline", c.starting_deadline_s,
                   "seconds a missed firing may still start (default 60)");
  sadd->add_option("--history-limit", c.history_limit, "ended runs to keep (default all)");
  auto* slist = schedule->add_subcommand("list", "list schedules");
  need_controller(slist);
  auto* spause = schedule->add_subcommand("pause", "pause a schedule");
  need_controller(spause);
  spause->add_option("name", c.name, "schedule name")->required();
  auto* sresume = schedule->add_subcommand("resume", "resume a schedule");
  need_controller(sresume);
  sresume->add_option("name", c.name, "schedule name")->required();
  auto* srm = schedule->add_subcommand("rm", "delete a schedule (its runs stay)");
  need_controller(srm);
  srm->add_option("name", c.name, "schedule name")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  c.json = output == "json";
  c.reason = c.reason.empty() ? a.reason : c.reason;
  auto either = [&](CLI::App* cmd) {
    if (a.agent.empty() && c.controller.empty()) {
      std::fprintf(stderr, "chaosctl %s: give --agent ADDR or --controller ADDR\n",
                   cmd->get_name().c_str());
      return false;
    }
    return true;
  };
  if (validate->parsed()) return Validate(file);
  if (run->parsed()) {
    if (!c.controller.empty()) {
      c.file = r.file;
      c.seed = r.seed;
      return chaos::controller::SubmitCommand(c);
    }
    if (r.agents.empty() && r.inventory.empty()) {
      std::fprintf(stderr,
                   "chaosctl run: give --agent HOST:PORT, --agents INVENTORY or --controller ADDR\n");
      return 2;
    }
    return Run(r);
  }
  if (watch->parsed()) return chaos::controller::WatchCommand(c);
  if (abort_cmd->parsed()) return chaos::controller::AbortCommand(c);
  if (runs->parsed()) return chaos::controller::RunsCommand(c);
  if (show->parsed()) return chaos::controller::ShowCommand(c);
  if (agents_cmd->parsed()) return chaos::controller::AgentsCommand(c);
  if (sadd->parsed()) return chaos::controller::ScheduleAddCommand(c);
  if (slist->parsed()) return chaos::controller::ScheduleListCommand(c);
  if (spause->parsed()) return chaos::controller::SchedulePauseCommand(c, true);
  if (sresume->parsed()) return chaos::controller::SchedulePauseCommand(c, false);
  if (srm->parsed()) return chaos::controller::ScheduleRemoveCommand(c);
  if (halt->parsed() || resume->parsed()) {
    if (!either(halt->parsed() ? halt : resume)) return 2;
    if (!c.controller.empty()) {
      return halt->parsed() ? chaos::controller::HaltAllCommand(c)
                            : chaos::controller::ResumeAllCommand(c);
    }
  }
  if (revert->parsed()) return chaos::controller::RevertCommand(a);
  if (faults->parsed()) return chaos::controller::FaultsCommand(a);
  if (describe->parsed()) return chaos::controller::DescribeCommand(a);
  if (halt->parsed()) return chaos::controller::HaltCommand(a);
  if (resume->parsed()) return chaos::controller::ResumeCommand(a);
  return 2;
}
