// Probes: checks of whether the system under test is healthy, used for
// steady state, abort guards and recovery measurement. What a probe checks
// is declared in the experiment (experiments/probe_spec.h); this runs it.
//
// RunProbe() performs one check and never blocks longer than the probe's
// timeout (plus a small scheduling margin). It never throws; every failure
// is a result with ok == false and a one-line detail saying why
// ("HTTP 503 (want 200)", "connect 127.0.0.1:6379: Connection refused",
// "exit 1 (want 0)", "NOT_SERVING"). A command probe is killed at once
// when `cancel` is cancelled. Thread-safe: probes may run concurrently.
#ifndef CHAOS_CONTROLLER_PROBES_PROBE_H_
#define CHAOS_CONTROLLER_PROBES_PROBE_H_

#include <string>

#include "absl/time/time.h"
#include "base/subprocess.h"
#include "experiments/probe_spec.h"

namespace chaos::controller {

using experiments::CommandCheck;
using experiments::GrpcHealthCheck;
using experiments::HttpCheck;
using experiments::ProbeSpec;
using experiments::TcpCheck;

struct ProbeResult {
  bool ok = false;
  absl::Duration latency;  // how long the check took
  std::string detail;      // why it failed, or a short note on success
};

// A command check with a target runs on that group's agents, which the run
// engine reaches: RunProbe() runs none here and fails it.
ProbeResult RunProbe(const ProbeSpec& probe, const base::CancelToken* cancel = nullptr);

// How a command check judges a command's outcome (exit code, output
// pattern, timeout, cancel), wherever the command ran: RunProbe() runs it
// here, the engine on an agent. `timeout` is the probe's, for the detail.
ProbeResult JudgeCommandProbe(const CommandCheck& check, const base::CommandOutcome& out,
                              absl::Duration timeout);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_PROBES_PROBE_H_
