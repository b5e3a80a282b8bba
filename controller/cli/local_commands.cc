#include "controller/cli/local_commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "base/interrupts.h"
#include "controller/cli/progress.h"
#include "controller/engine/runner.h"
#include "controller/report/report.h"
#include "experiments/experiment.h"
#include "experiments/inventory.h"
#include "experiments/yaml_proto.h"

namespace chaos::controller {
namespace {

// The run's options from the command line; nullopt after printing why not.
std::optional<RunOptions> OptionsFrom(const LocalRunArgs& args) {
  auto lease = experiments::ParseDuration(args.lease);
  if (!lease.ok() || *lease < absl::Seconds(1)) {
    std::fprintf(stderr, "chaosctl: --lease %s: must be a duration of at least 1s\n",
                 args.lease.c_str());
    return std::nullopt;
  }
  auto start_lead = ParseStartLead(args.start_lead);
  if (!start_lead.ok()) {
    std::fprintf(stderr, "chaosctl: %s\n", std::string(start_lead.status().message()).c_str());
    return std::nullopt;
  }
  RunOptions options;
  options.agents = args.agents;
  options.start_lead = *start_lead;
  if (!args.inventory.empty()) {
    experiments::Diagnostics diags;
    auto inventory = experiments::LoadInventory(args.inventory, &diags);
    if (!inventory) {
      std::fputs(diags.Format(args.inventory).c_str(), stderr);
      return std::nullopt;
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
  options.fan_out = args.fan_out;
  options.operator_fd = STDIN_FILENO;
  options.transport = args.transport;
  return options;
}

// Runs with live progress; SIGINT/SIGTERM interrupt it (it rolls back).
RunReport RunWithProgress(const experiments::Experiment& exp, const RunOptions& options) {
  // Signals are taken by one thread, which interrupts the run (rollback).
  base::BlockInterrupts();
  Progress progress(exp, stdout, isatty(STDOUT_FILENO));
  Runner runner(exp, options, &progress);
  RunReport report;
  {
    base::InterruptWatcher interrupts([&](int sig, int n) {
      if (n == 1) {
        runner.Interrupt(sig == SIGINT ? "interrupted by the operator (SIGINT)"
                                       : "terminated (SIGTERM)");
      } else if (n == 2) {
        std::fprintf(stderr,
                     "\nchaosctl: cancelling rollback actions; faults are still reverted\n");
        runner.CancelRollbackActions(sig == SIGINT ? "interrupted again by the operator (SIGINT)"
                                                   : "terminated again (SIGTERM)");
      } else {
        std::fprintf(stderr, "\nchaosctl: rollback in progress; waiting for it to finish\n");
      }
    });
    report = runner.Run();
  }
  progress.Stop();
  return report;
}

}  // namespace

int ValidateCommand(const std::string& file) {
  experiments::Diagnostics diags;
  auto loaded = experiments::LoadExperimentFile(file, &diags);
  if (!loaded) {
    std::fputs(diags.Format(file).c_str(), stderr);
    return 2;
  }
  std::printf("%s: ok (%zu step(s), about %s)\n", file.c_str(),
              loaded->experiment.method.size(),
              absl::FormatDuration(loaded->experiment.PlannedDuration()).c_str());
  return 0;
}

int RunLocalCommand(const LocalRunArgs& args) {
  experiments::Diagnostics diags;
  auto loaded = experiments::LoadExperimentFile(args.file, &diags);
  if (!loaded) {
    std::fputs(diags.Format(args.file).c_str(), stderr);
    return 2;
  }
  std::optional<RunOptions> options = OptionsFrom(args);
  if (!options) return 2;
  options->variables = loaded->source.variables;
  const RunReport report = RunWithProgress(loaded->experiment, *options);
  std::fputs(ReportText(report).c_str(), stdout);
  if (!args.output.empty() && !args.dry_run) {
    absl::Status s = WriteReports(report, args.output);
    if (s.ok()) {
      std::printf("report: %s/%s.json and .html\n", args.output.c_str(), report.run_id.c_str());
    } else {
      std::fprintf(stderr, "chaosctl: cannot write the report: %s\n",
                   std::string(s.message()).c_str());
    }
  }
  std::fflush(stdout);
  return ExitCode(report.outcome);
}

}  // namespace chaos::controller
