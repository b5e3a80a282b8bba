// The `probes:` section: named health checks, each exactly one of http,
// tcp, command or grpc, with how often and how long to check.
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "experiments/parse_sections.h"
#include "experiments/yaml_fields.h"
#include "re2/re2.h"

namespace chaos::experiments {
namespace {

// RE2's complaint about `pattern`, or nullopt when it compiles ("" does).
std::optional<std::string> RegexError(const std::string& pattern) {
  const RE2 re(pattern, RE2::Quiet);
  if (re.ok()) return std::nullopt;
  return re.error();
}

HttpCheck ParseHttpCheck(const YAML::Node& node, const std::string& path, Diagnostics* diags) {
  HttpCheck c;
  ForFields(node, path,
            {{"url", FieldInto(&GetString, &c.url, diags)},
             {"status", IntFieldInto(100, 599, &c.status, diags)},
             {"body", FieldInto(&GetString, &c.body_regex, diags)},
             {"maxLatency", FieldInto(&GetDuration, &c.max_latency, diags)}},
            diags);
  RequireField(node, path, "url", diags);
  if (!c.url.empty() && !absl::StartsWith(c.url, "http://")) {
    diags->Add(node["url"], absl::StrCat(path, ".url: \"", c.url, "\" must start with http://"));
  }
  if (std::optional<std::string> error = RegexError(c.body_regex)) {
    diags->Add(node["body"],
               absl::StrCat(path, ".body: not a valid regular expression: ", *error));
  }
  return c;
}

TcpCheck ParseTcpCheck(const YAML::Node& node, const std::string& path, Diagnostics* diags) {
  TcpCheck c;
  ForFields(node, path, {{"address", FieldInto(&GetString, &c.address, diags)}}, diags);
  RequireField(node, path, "address", diags);
  return c;
}

CommandCheck ParseCommandCheck(const YAML::Node& node, const std::string& path,
                               Diagnostics* diags) {
  CommandCheck c;
  ForFields(node, path,
            {{"run", FieldInto(&GetStringList, &c.argv, diags)},
             {"exitCode", IntFieldInto(0, 255, &c.exit_code, diags)},
             {"output", FieldInto(&GetString, &c.output_regex, diags)},
             {"target", FieldInto(&GetString, &c.target, diags)}},
            diags);
  RequireField(node, path, "run", diags);
  if (RegexError(c.output_regex)) {
    diags->Add(node["output"], absl::StrCat(path, ".output: not a valid regular expression"));
  }
  return c;
}

GrpcHealthCheck ParseGrpcCheck(const YAML::Node& node, const std::string& path,
                               Diagnostics* diags) {
  GrpcHealthCheck c;
  ForFields(node, path,
            {{"address", FieldInto(&GetString, &c.address, diags)},
             {"service", FieldInto(&GetString, &c.service, diags)}},
            diags);
  RequireField(node, path, "address", diags);
  return c;
}

// Reads a check of one kind into probe->check and counts the kinds given.
template <typename Check>
FieldParser CheckField(Check (*parse)(const YAML::Node&, const std::string&, Diagnostics*),
                       ProbeSpec* probe, int* kinds, Diagnostics* diags) {
  return [=](NodeRef v, PathRef p) {
    ++*kinds;
    probe->check = parse(v, p, diags);
  };
}

void ParseProbe(const std::string& name, const YAML::Node& node, ProbeSpec* probe,
                Diagnostics* diags) {
  const std::string path = absl::StrCat("probes.", name);
  probe->name = name;
  int kinds = 0;
  ForFields(node, path,
            {{"http", CheckField(&ParseHttpCheck, probe, &kinds, diags)},
             {"tcp", CheckField(&ParseTcpCheck, probe, &kinds, diags)},
             {"command", CheckField(&ParseCommandCheck, probe, &kinds, diags)},
             {"grpc", CheckField(&ParseGrpcCheck, probe, &kinds, diags)},
             {"interval", FieldInto(&GetDuration, &probe->interval, diags)},
             {"timeout", FieldInto(&GetDuration, &probe->timeout, diags)}},
            diags);
  if (node.IsMap() && kinds != 1) {
    diags->Add(node, absl::StrCat(path, ": needs exactly one of http, tcp, command, grpc"));
  }
  if (probe->timeout <= absl::ZeroDuration() || probe->interval <= absl::ZeroDuration()) {
    diags->Add(node, absl::StrCat(path, ": interval and timeout must be greater than 0"));
  }
}

}  // namespace

void ParseProbes(const YAML::Node& node, std::vector<ProbeSpec>* probes, Diagnostics* diags) {
  if (!node.IsMap()) {
    diags->Add(node, "probes: expected a mapping of probe names");
    return;
  }
  for (const auto& entry : node) {
    probes->emplace_back();
    ParseProbe(entry.first.Scalar(), entry.second, &probes->back(), diags);
  }
}

}  // namespace chaos::experiments
