#include "experiments/experiment.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/ids.h"
#include "experiments/variables.h"
#include "experiments/yaml_proto.h"
#include "proto/duration.h"
#include "google/protobuf/descriptor.h"
#include "re2/re2.h"

namespace chaos::experiments {
namespace {

using google::protobuf::FieldDescriptor;

// Reads a scalar string; reports a type error otherwise.
bool GetString(const YAML::Node& node, const std::string& path, std::string* out,
               Diagnostics* diags) {
  if (!node.IsScalar()) {
    diags->Add(node, absl::StrCat(path, ": expected a string"));
    return false;
  }
  *out = node.Scalar();
  return true;
}

std::vector<std::string> KindKeys() {
  std::vector<std::string> keys;
  const auto* oneof = chaos::v1::FaultSpec::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < oneof->field_count(); ++i) keys.push_back(oneof->field(i)->json_name());
  return keys;
}

void ParseFault(const YAML::Node& node, const std::string& path, Step* step,
                Diagnostics* diags) {
  const auto keys = KindKeys();
  if (!node.IsMap() || node.size() != 1) {
    diags->Add(node, absl::StrCat(path, ": expected exactly one fault kind (one of: ",
                                  absl::StrJoin(keys, ", "), ")"));
    return;
  }
  const std::string kind = node.begin()->first.Scalar();
  const auto* desc = chaos::v1::FaultSpec::descriptor();
  const FieldDescriptor* f = nullptr;
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* c = desc->field(i);
    if (c->real_containing_oneof() != nullptr && (c->json_name() == kind || c->name() == kind)) {
      f = c;
    }
  }
  if (f == nullptr) {
    diags->Add(node.begin()->first, absl::StrCat(path, ": unknown fault kind \"", kind,
                                                 "\" (known: ", absl::StrJoin(keys, ", "), ")"));
    return;
  }
  chaos::v1::FaultSpec spec;
  const size_t errors_before = diags->items().size();
  YamlToProto(node, path, &spec, diags);
  if (diags->items().size() == errors_before) step->fault = std::move(spec);
}

bool GetDuration(const YAML::Node& node, const std::string& path, absl::Duration* out,
                 Diagnostics* diags) {
  std::string s;
  if (!GetString(node, path, &s, diags)) return false;
  auto d = ParseDuration(s);
  if (!d.ok()) {
    diags->Add(node, absl::StrCat(path, ": ", d.status().message()));
    return false;
  }
  *out = *d;
  return true;
}

bool GetInt(const YAML::Node& node, const std::string& path, int64_t lo, int64_t hi,
            int64_t* out, Diagnostics* diags) {
  int64_t v = 0;
  if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &v)) {
    diags->Add(node, absl::StrCat(path, ": expected an integer"));
    return false;
  }
  if (v < lo || v > hi) {
    diags->Add(node, absl::StrCat(path, ": must be ", lo, "..", hi, ", got ", v));
    return false;
  }
  *out = v;
  return true;
}

// A string or a list of strings.
bool GetStringList(const YAML::Node& node, const std::string& path,
                   std::vector<std::string>* out, Diagnostics* diags) {
  if (node.IsScalar()) {
    out->push_back(node.Scalar());
    return true;
  }
  if (!node.IsSequence()) {
    diags->Add(node, absl::StrCat(path, ": expected a string or a list of strings"));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < node.size(); ++i) {
    std::string s;
    if (GetString(node[i], absl::StrCat(path, "[", i, "]"), &s, diags)) out->push_back(s);
    else ok = false;
  }
  return ok;
}

bool GetStringMap(const YAML::Node& node, const std::string& path,
                  std::map<std::string, std::string>* out, Diagnostics* diags) {
  if (!node.IsMap()) {
    diags->Add(node, absl::StrCat(path, ": expected a mapping of strings"));
    return false;
  }
  for (const auto& kv : node) {
    std::string v;
    if (GetString(kv.second, absl::StrCat(path, ".", kv.first.Scalar()), &v, diags)) {
      (*out)[kv.first.Scalar()] = v;
    }
  }
  return true;
}

// Calls `field` for each key; reports keys it does not know.
void ForFields(const YAML::Node& node, const std::string& path,
               const std::vector<std::string>& known,
               const std::function<void(const std::string&, const YAML::Node&,
                                        const std::string&)>& field,
               Diagnostics* diags) {
  if (!node.IsMap()) {
    diags->Add(node, absl::StrCat(path, ": expected a mapping (fields: ",
                                  absl::StrJoin(known, ", "), ")"));
    return;
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string p = path.empty() ? key : absl::StrCat(path, ".", key);
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      diags->Add(kv.first, absl::StrCat(p, ": unknown field (known: ", absl::StrJoin(known, ", "),
                                        ")"));
      continue;
    }
    field(key, kv.second, p);
  }
}

void ParseCommand(const YAML::Node& node, const std::string& path, CommandSpec* cmd,
                  Diagnostics* diags) {
  ForFields(node, path, {"run", "timeout"},
            [&](const std::string& key, const YAML::Node& v, const std::string& p) {
              if (key == "run") {
                if (!v.IsSequence() || v.size() == 0) {
                  diags->Add(v, absl::StrCat(p, ": expected a non-empty list: [program, args...] "
                                                "(no shell)"));
                } else {
                  GetStringList(v, p, &cmd->argv, diags);
                }
              } else if (key == "timeout") {
                GetDuration(v, p, &cmd->timeout, diags);
              }
            },
            diags);
  if (node.IsMap() && !node["run"]) diags->Add(node, absl::StrCat(path, ".run: required"));
}

void ParseStep(const YAML::Node& node, size_t index, Step* step, Diagnostics* diags) {
  const std::string path = absl::StrCat("method[", index, "]");
  step->line = node.Mark().line + 1;
  std::optional<absl::Duration> duration;
  YAML::Node duration_node;
  int bodies = 0;
  ForFields(node, path, {"id", "fault", "target", "duration", "wait", "command", "manual", "after"},
            [&](const std::string& key, const YAML::Node& v, const std::string& p) {
              if (key == "id") {
                if (GetString(v, p, &step->id, diags) && !base::IsValidId(step->id, base::kStepIdRule)) {
                  diags->Add(v, absl::StrCat(p, ": \"", step->id,
                                             "\" must be 1-64 letters, digits, - or _"));
                }
              } else if (key == "fault") {
                ++bodies;
                ParseFault(v, p, step, diags);
              } else if (key == "target") {
                GetString(v, p, &step->target, diags);
              } else if (key == "duration") {
                duration_node = v;
                absl::Duration d;
                if (GetDuration(v, p, &d, diags)) duration = d;
              } else if (key == "wait") {
                ++bodies;
                GetDuration(v, p, &step->wait, diags);
              } else if (key == "command") {
                ++bodies;
                step->command.emplace();
                ParseCommand(v, p, &*step->command, diags);
              } else if (key == "manual") {
                ++bodies;
                step->manual.emplace();
                ForFields(v, p, {"prompt", "timeout"},
                          [&](const std::string& k, const YAML::Node& mv, const std::string& mp) {
                            if (k == "prompt") GetString(mv, mp, &step->manual->prompt, diags);
                            else GetDuration(mv, mp, &step->manual->timeout, diags);
                          },
                          diags);
              } else if (key == "after") {
                GetStringList(v, p, &step->after, diags);
              }
            },
            diags);
  if (!node.IsMap()) return;
  if (!node["id"]) diags->Add(node, absl::StrCat(path, ".id: required"));
  if (bodies == 0) {
    diags->Add(node, absl::StrCat(path, ": needs one of fault, wait, command or manual"));
  } else if (bodies > 1) {
    diags->Add(node, absl::StrCat(path, ": a step is one of fault, wait, command or manual, "
                                        "not several"));
  }
  const bool has_fault = static_cast<bool>(node["fault"]);
  if (has_fault && !node["duration"]) {
    diags->Add(node, absl::StrCat(path, ".duration: required for a fault step"));
  }
  if (!has_fault && node["duration"]) {
    diags->Add(duration_node, absl::StrCat(path, ".duration: only a fault step has a duration"));
  }
  if (!has_fault && node["target"]) {
    diags->Add(node["target"], absl::StrCat(path, ".target: only a fault step has a target"));
  }
  if (duration && *duration <= absl::ZeroDuration()) {
    diags->Add(duration_node, absl::StrCat(path, ".duration: must be greater than 0"));
  }
  if (step->fault && duration) ToProto(*duration, step->fault->mutable_duration());
}

void ParseTarget(const std::string& name, const YAML::Node& node, TargetGroup* group,
                 Diagnostics* diags) {
  const std::string path = absl::StrCat("targets.", name);
  group->name = name;
  ForFields(node, path, {"selector", "count", "percent", "whenEmpty"},
            [&](const std::string& key, const YAML::Node& v, const std::string& p) {
              int64_t n = 0;
              if (key == "selector") {
                GetStringMap(v, p, &group->selector, diags);
              } else if (key == "count") {
                if (GetInt(v, p, 1, 100000, &n, diags)) {
                  group->mode = TargetGroup::Mode::kCount;
                  group->amount = static_cast<uint32_t>(n);
                }
              } else if (key == "percent") {
                if (GetInt(v, p, 1, 100, &n, diags)) {
                  group->mode = TargetGroup::Mode::kPercent;
                  group->amount = static_cast<uint32_t>(n);
                }
              } else if (key == "whenEmpty") {
                std::string s;
                if (GetString(v, p, &s, diags)) {
                  if (s == "fail") group->fail_when_empty = true;
                  else if (s == "skip") group->fail_when_empty = false;
                  else diags->Add(v, absl::StrCat(p, ": \"", s, "\" is not one of: fail, skip"));
                }
              }
            },
            diags);
  if (node.IsMap() && node["count"] && node["percent"]) {
    diags->Add(node["percent"], absl::StrCat(path, ".percent: conflicts with count"));
  }
}

void ParseProbe(const std::string& name, const YAML::Node& node, ProbeSpec* probe,
                Diagnostics* diags) {
  const std::string path = absl::StrCat("probes.", name);
  probe->name = name;
  int kinds = 0;
  ForFields(node, path, {"http", "tcp", "command", "grpc", "interval", "timeout"},
            [&](const std::string& key, const YAML::Node& v, const std::string& p) {
              if (key == "interval") {
                GetDuration(v, p, &probe->interval, diags);
              } else if (key == "timeout") {
                GetDuration(v, p, &probe->timeout, diags);
              } else if (key == "http") {
                ++kinds;
                HttpCheck c;
                ForFields(v, p, {"url", "status", "body", "maxLatency"},
                          [&](const std::string& k, const YAML::Node& hv, const std::string& hp) {
                            int64_t n = 0;
                            if (k == "url") GetString(hv, hp, &c.url, diags);
                            else if (k == "status") {
                              if (GetInt(hv, hp, 100, 599, &n, diags)) c.status = static_cast<int>(n);
                            } else if (k == "body") GetString(hv, hp, &c.body_regex, diags);
                            else GetDuration(hv, hp, &c.max_latency, diags);
                          },
                          diags);
                if (v.IsMap() && !v["url"]) diags->Add(v, absl::StrCat(p, ".url: required"));
                if (!c.url.empty() && c.url.rfind("http://", 0) != 0) {
                  diags->Add(v["url"], absl::StrCat(p, ".url: \"", c.url,
                                                    "\" must start with http://"));
                }
                if (!c.body_regex.empty() && !RE2(c.body_regex, RE2::Quiet).ok()) {
                  diags->Add(v["body"], absl::StrCat(p, ".body: not a valid regular expression: ",
                                                     RE2(c.body_regex, RE2::Quiet).error()));
                }
                probe->check = c;
              } else if (key == "tcp") {
                ++kinds;
                TcpCheck c;
                ForFields(v, p, {"address"},
                          [&](const std::string&, const YAML::Node& tv, const std::string& tp) {
                            GetString(tv, tp, &c.address, diags);
                          },
                          diags);
                if (v.IsMap() && !v["address"]) diags->Add(v, absl::StrCat(p, ".address: required"));
                probe->check = c;
              } else if (key == "command") {
                ++kinds;
                CommandCheck c;
                ForFields(v, p, {"run", "exitCode", "output"},
                          [&](const std::string& k, const YAML::Node& cv, const std::string& cp) {
                            int64_t n = 0;
                            if (k == "run") GetStringList(cv, cp, &c.argv, diags);
                            else if (k == "exitCode") {
                              if (GetInt(cv, cp, 0, 255, &n, diags)) c.exit_code = static_cast<int>(n);
                            } else GetString(cv, cp, &c.output_regex, diags);
                          },
                          diags);
                if (v.IsMap() && !v["run"]) diags->Add(v, absl::StrCat(p, ".run: required"));
                if (!c.output_regex.empty() && !RE2(c.output_regex, RE2::Quiet).ok()) {
                  diags->Add(v["output"], absl::StrCat(p, ".output: not a valid regular expression"));
                }
                probe->check = c;
              } else if (key == "grpc") {
                ++kinds;
                GrpcHealthCheck c;
                ForFields(v, p, {"address", "service"},
                          [&](const std::string& k, const YAML::Node& gv, const std::string& gp) {
                            GetString(gv, gp, k == "address" ? &c.address : &c.service, diags);
                          },
                          diags);
                if (v.IsMap() && !v["address"]) diags->Add(v, absl::StrCat(p, ".address: required"));
                probe->check = c;
              }
            },
            diags);
  if (node.IsMap() && kinds != 1) {
    diags->Add(node, absl::StrCat(path, ": needs exactly one of http, tcp, command, grpc"));
  }
  if (probe->timeout <= absl::ZeroDuration() || probe->interval <= absl::ZeroDuration()) {
    diags->Add(node, absl::StrCat(path, ": interval and timeout must be greater than 0"));
  }
}

void CheckOrder(const std::vector<Step>& steps, const YAML::Node& method, Diagnostics* diags) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].id.empty()) continue;
    if (!index.emplace(steps[i].id, i).second) {
      diags->Add(method[i], absl::StrCat("method[", i, "].id: duplicate step id \"",
                                         steps[i].id, "\""));
    }
  }
  bool refs_ok = true;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const std::string& a : steps[i].after) {
      if (!index.contains(a)) {
        refs_ok = false;
        diags->Add(method[i]["after"], absl::StrCat("method[", i, "].after: no step has id \"",
                                                    a, "\""));
      }
    }
  }
  if (!refs_ok) return;
  // Cycle detection by depth-first search.
  std::vector<int> color(steps.size(), 0);
  std::vector<std::string> trail;
  std::function<bool(size_t)> visit = [&](size_t i) {
    color[i] = 1;
    trail.push_back(steps[i].id);
    for (const std::string& a : steps[i].after) {
      size_t j = index[a];
      if (color[j] == 1) {
        trail.push_back(a);
        return true;
      }
      if (color[j] == 0 && visit(j)) return true;
    }
    color[i] = 2;
    trail.pop_back();
    return false;
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    if (color[i] == 0 && visit(i)) {
      diags->Add(method[i], absl::StrCat("method: steps wait for each other in a cycle: ",
                                         absl::StrJoin(trail, " -> ")));
      return;
    }
  }
}

}  // namespace

std::string FaultKindKey(const chaos::v1::FaultSpec& spec) {
  const auto* oneof = chaos::v1::FaultSpec::descriptor()->FindOneofByName("kind");
  const FieldDescriptor* f = spec.GetReflection()->GetOneofFieldDescriptor(spec, oneof);
  return f == nullptr ? "" : f->json_name();
}

std::string Step::Kind() const {
  if (fault) return FaultKindKey(*fault);
  if (command) return "command";
  if (manual) return "manual";
  return "wait";
}

const ProbeSpec* Experiment::FindProbe(const std::string& name) const {
  for (const ProbeSpec& p : probes) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

absl::Duration Experiment::PlannedDuration() const {
  std::map<std::string, absl::Duration> end;
  std::function<absl::Duration(const Step&)> finish = [&](const Step& s) {
    if (auto it = end.find(s.id); it != end.end()) return it->second;
    absl::Duration start = absl::ZeroDuration();
    for (const std::string& a : s.after) {
      for (const Step& o : method) {
        if (o.id == a) start = std::max(start, finish(o));
      }
    }
    absl::Duration len = s.wait;
    if (s.fault) len = FromProto(s.fault->duration());
    return end[s.id] = start + len;
  };
  absl::Duration total = absl::ZeroDuration();
  for (const Step& s : method) total = std::max(total, finish(s));
  return total;
}

std::optional<Experiment> ParseExperiment(const std::string& text, Diagnostics* diags) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diags->Add(e.mark, absl::StrCat("malformed YAML: ", e.msg));
    return std::nullopt;
  }
  if (!root.IsMap()) {
    diags->Add(root, "an experiment file must be a mapping with name and method");
    return std::nullopt;
  }
  Experiment exp;
  YAML::Node method;
  std::map<std::string, YAML::Node> refs;  // where probe and step names are used
  try {
    ForFields(
        root, "",
        {"name", "description", "hypothesis", "labels", "targets", "probes", "steadyState",
         "method", "guards", "recovery", "rollback", "rollbackActions"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) {
          if (key == "name") {
            GetString(v, p, &exp.name, diags);
          } else if (key == "description") {
            GetString(v, p, &exp.description, diags);
          } else if (key == "hypothesis") {
            GetString(v, p, &exp.hypothesis, diags);
          } else if (key == "labels") {
            GetStringMap(v, p, &exp.labels, diags);
          } else if (key == "targets") {
            if (!v.IsMap()) return diags->Add(v, "targets: expected a mapping of group names");
            for (const auto& t : v) ParseTarget(t.first.Scalar(), t.second,
                                                &exp.targets[t.first.Scalar()], diags);
          } else if (key == "probes") {
            if (!v.IsMap()) return diags->Add(v, "probes: expected a mapping of probe names");
            for (const auto& pr : v) {
              exp.probes.emplace_back();
              ParseProbe(pr.first.Scalar(), pr.second, &exp.probes.back(), diags);
            }
          } else if (key == "steadyState") {
            ForFields(v, p, {"before", "after"},
                      [&](const std::string& k, const YAML::Node& sv, const std::string& sp) {
                        GetStringList(sv, sp, k == "before" ? &exp.steady_before : &exp.steady_after,
                                      diags);
                        refs[sp] = sv;
                      },
                      diags);
          } else if (key == "method") {
            method = v;
            if (!method.IsSequence()) {
              diags->Add(method, "method: expected a list of steps");
              method = YAML::Node();
            }
          } else if (key == "guards") {
            if (!v.IsSequence()) return diags->Add(v, "guards: expected a list");
            for (size_t i = 0; i < v.size(); ++i) {
              const std::string gp = absl::StrCat("guards[", i, "]");
              ProbeGuard guard;
              bool is_probe = false;
              ForFields(v[i], gp, {"probe", "failures", "maxDuration"},
                        [&](const std::string& k, const YAML::Node& gv, const std::string& kp) {
                          int64_t n = 0;
                          if (k == "probe") {
                            is_probe = GetString(gv, kp, &guard.probe, diags);
                            refs[kp] = gv;
                          } else if (k == "failures") {
                            if (GetInt(gv, kp, 1, 1000, &n, diags)) guard.failures = static_cast<int>(n);
                          } else {
                            absl::Duration d;
                            if (GetDuration(gv, kp, &d, diags)) exp.max_duration = d;
                          }
                        },
                        diags);
              if (is_probe) exp.guards.push_back(guard);
              if (v[i].IsMap() && !v[i]["probe"] && !v[i]["maxDuration"]) {
                diags->Add(v[i], absl::StrCat(gp, ": needs probe or maxDuration"));
              }
            }
          } else if (key == "recovery") {
            exp.recovery.present = true;
            ForFields(v, p, {"from", "probes", "successes", "timeout", "objective"},
                      [&](const std::string& k, const YAML::Node& rv, const std::string& rp) {
                        int64_t n = 0;
                        if (k == "from") {
                          std::string from;
                          if (GetString(rv, rp, &from, diags) && from != "rollback") {
                            exp.recovery.from_step = from;
                            refs["recovery.from"] = rv;
                          }
                        } else if (k == "probes") {
                          GetStringList(rv, rp, &exp.recovery.probes, diags);
                          refs[rp] = rv;
                        } else if (k == "successes") {
                          if (GetInt(rv, rp, 1, 1000, &n, diags)) {
                            exp.recovery.successes = static_cast<int>(n);
                          }
                        } else if (k == "timeout") {
                          GetDuration(rv, rp, &exp.recovery.timeout, diags);
                        } else {
                          absl::Duration d;
                          if (GetDuration(rv, rp, &d, diags)) exp.recovery.objective = d;
                        }
                      },
                      diags);
            if (v.IsMap() && !v["probes"]) diags->Add(v, "recovery.probes: required");
          } else if (key == "rollback") {
            std::string s;
            if (GetString(v, p, &s, diags)) {
              if (s == "always") exp.rollback = RollbackPolicy::kAlways;
              else if (s == "on-abort") exp.rollback = RollbackPolicy::kOnAbort;
              else if (s == "never") exp.rollback = RollbackPolicy::kNever;
              else diags->Add(v, absl::StrCat("rollback: \"", s,
                                              "\" is not one of: always, on-abort, never"));
            }
          } else if (key == "rollbackActions") {
            if (!v.IsSequence()) return diags->Add(v, "rollbackActions: expected a list");
            for (size_t i = 0; i < v.size(); ++i) {
              exp.rollback_actions.emplace_back();
              ParseCommand(v[i], absl::StrCat("rollbackActions[", i, "]"),
                           &exp.rollback_actions.back(), diags);
            }
          }
        },
        diags);
  } catch (const YAML::Exception& e) {
    diags->Add(e.mark, absl::StrCat("malformed YAML: ", e.msg));
    return std::nullopt;
  }
  if (!root["name"]) diags->Add(root, "name: required");
  if (!root["method"]) diags->Add(root, "method: required (a list of steps)");
  if (method && method.IsSequence()) {
    if (method.size() == 0) diags->Add(method, "method: needs at least one step");
    for (size_t i = 0; i < method.size(); ++i) {
      Step step;
      ParseStep(method[i], i, &step, diags);
      if (!step.target.empty() && !exp.targets.contains(step.target)) {
        diags->Add(method[i]["target"],
                   absl::StrCat("method[", i, "].target: no target group named \"", step.target,
                                "\""));
      }
      exp.method.push_back(std::move(step));
    }
    CheckOrder(exp.method, method, diags);
  }
  // References to probes and steps must resolve.
  auto check_probes = [&](const std::vector<std::string>& names, const std::string& where) {
    for (const std::string& n : names) {
      if (exp.FindProbe(n) == nullptr) {
        auto it = refs.find(where);
        diags->Add(it == refs.end() ? root : it->second,
                   absl::StrCat(where, ": no probe named \"", n, "\""));
      }
    }
  };
  check_probes(exp.steady_before, "steadyState.before");
  check_probes(exp.steady_after, "steadyState.after");
  check_probes(exp.recovery.probes, "recovery.probes");
  for (size_t i = 0; i < exp.guards.size(); ++i) {
    if (exp.FindProbe(exp.guards[i].probe) == nullptr) {
      for (const auto& [where, node] : refs) {
        if (absl::StartsWith(where, "guards[") && node.Scalar() == exp.guards[i].probe) {
          diags->Add(node, absl::StrCat(where, ": no probe named \"", exp.guards[i].probe, "\""));
        }
      }
    }
  }
  if (!exp.recovery.from_step.empty()) {
    bool found = false;
    for (const Step& s : exp.method) found |= s.id == exp.recovery.from_step;
    if (!found) {
      diags->Add(refs["recovery.from"], absl::StrCat("recovery.from: \"", exp.recovery.from_step,
                                                      "\" is neither rollback nor a step id"));
    }
  }
  if (!diags->empty()) return std::nullopt;
  return exp;
}

std::optional<LoadedExperiment> LoadExperimentFile(const std::string& path, Diagnostics* diags) {
  std::optional<ExpandedText> expanded = ReadExperimentFile(path, diags);
  if (!expanded) return std::nullopt;
  std::optional<Experiment> experiment = ParseExperiment(expanded->text, diags);
  if (!experiment) return std::nullopt;
  return LoadedExperiment{*std::move(experiment), std::move(*expanded)};
}

}  // namespace chaos::experiments
