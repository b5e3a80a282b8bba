// Probes: checks of whether the system under test is healthy, used for
// steady state, abort guards and recovery measurement.
//
// RunProbe() performs one check and never blocks longer than the probe's
// timeout (plus a small scheduling margin). It never throws; every failure
// is a result with ok == false and a one-line detail saying why
// ("HTTP 503 (want 200)", "connect 127.0.0.1:6379: Connection refused",
// "exit 1 (want 0)", "NOT_SERVING"). Thread-safe: probes may run
// concurrently.
#ifndef CHAOS_CONTROLLER_PROBE_H_
#define CHAOS_CONTROLLER_PROBE_H_

#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"

namespace chaos::controller {

struct HttpCheck {
  std::string url;               // http://host:port/path (https not supported)
  int status = 200;              // expected status code
  std::string body_regex;        // RE2, searched in the body; empty: any
  absl::Duration max_latency = absl::InfiniteDuration();  // slower is a failure
};

struct TcpCheck {
  std::string address;  // host:port
};

struct CommandCheck {
  std::vector<std::string> argv;  // run directly, no shell; argv[0] looked up in PATH
  int exit_code = 0;
  std::string output_regex;  // RE2 over stdout+stderr; empty: any
};

struct GrpcHealthCheck {
  std::string address;  // host:port, plaintext
  std::string service;  // "" for the server as a whole
};

struct ProbeSpec {
  std::string name;
  std::variant<HttpCheck, TcpCheck, CommandCheck, GrpcHealthCheck> check;
  absl::Duration interval = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(2);
};

struct ProbeResult {
  bool ok = false;
  absl::Duration latency;  // how long the check took
  std::string detail;      // why it failed, or a short note on success
};

ProbeResult RunProbe(const ProbeSpec& probe);

// Runs argv (no shell) with a time limit, capturing stdout and stderr
// together (at most 64 KiB kept). On timeout the process group is killed
// with SIGKILL and timed_out is set. Used by command probes and by command
// steps and rollback actions.
struct CommandOutcome {
  int exit_code = -1;  // exit status, or 128 + signal
  bool timed_out = false;
  std::string output;
  absl::Duration took;
  std::string error;   // set when the command could not be started
};
CommandOutcome RunWithTimeout(const std::vector<std::string>& argv, absl::Duration timeout);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_PROBE_H_
