// ProbeSpec: a probe as the experiment file declares it (see
// docs/EXPERIMENTS.md, "probes"). Plain data; controller/probes runs them.
#ifndef CHAOS_EXPERIMENTS_PROBE_SPEC_H_
#define CHAOS_EXPERIMENTS_PROBE_SPEC_H_

#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"

namespace chaos::experiments {

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
  // A target group: the check runs on each of its agents (RunCommand) and
  // holds when it holds on every one; "" runs it where the experiment runs.
  std::string target;
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

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_PROBE_SPEC_H_
