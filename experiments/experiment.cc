// The model's methods (experiment.h); parsing is in parse.cc.
#include "experiments/experiment.h"

#include <algorithm>
#include <functional>
#include <variant>

#include "google/protobuf/descriptor.h"
#include "proto/duration.h"

namespace chaos::experiments {
namespace {

const google::protobuf::OneofDescriptor& FaultKindOneof() {
  return *chaos::v1::FaultSpec::descriptor()->FindOneofByName("kind");
}

}  // namespace

std::string FaultKindKey(const chaos::v1::FaultSpec& spec) {
  const google::protobuf::FieldDescriptor* f =
      spec.GetReflection()->GetOneofFieldDescriptor(spec, &FaultKindOneof());
  return f == nullptr ? "" : f->json_name();
}

std::vector<std::string> FaultKindKeys() {
  const google::protobuf::OneofDescriptor& kinds = FaultKindOneof();
  std::vector<std::string> keys;
  for (int i = 0; i < kinds.field_count(); ++i) keys.push_back(kinds.field(i)->json_name());
  return keys;
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

std::set<std::string> Experiment::CommandTargets() const {
  std::set<std::string> out;
  for (const Step& s : method) {
    if (s.command && !s.command->target.empty()) out.insert(s.command->target);
  }
  for (const ProbeSpec& p : probes) {
    const auto* check = std::get_if<CommandCheck>(&p.check);
    if (check != nullptr && !check->target.empty()) out.insert(check->target);
  }
  for (const CommandSpec& c : rollback_actions) {
    if (!c.target.empty()) out.insert(c.target);
  }
  return out;
}

const Step* Experiment::FindStep(const std::string& id) const {
  const std::optional<size_t> index = StepIndex(id);
  return index ? &method[*index] : nullptr;
}

std::optional<size_t> Experiment::StepIndex(const std::string& id) const {
  for (size_t i = 0; i < method.size(); ++i) {
    if (method[i].id == id) return i;
  }
  return std::nullopt;
}

absl::Duration Experiment::PlannedDuration() const {
  std::map<std::string, absl::Duration> end;
  auto length = [](const Step& s) {
    return s.fault ? FromProto(s.fault->duration()) : s.wait;
  };
  std::function<absl::Duration(const Step&)> finish = [&](const Step& s) {
    if (auto it = end.find(s.id); it != end.end()) return it->second;
    absl::Duration start = absl::ZeroDuration();
    for (const std::string& a : s.after) {
      if (const Step* o = FindStep(a)) start = std::max(start, finish(*o));
    }
    if (const Step* o = FindStep(s.during)) start = std::max(start, finish(*o) - length(*o));
    return end[s.id] = start + length(s);
  };
  absl::Duration total = absl::ZeroDuration();
  for (const Step& s : method) total = std::max(total, finish(s));
  return total;
}

bool TargetGroup::Matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

size_t TargetGroup::Chosen(size_t matching) const {
  size_t n = matching;
  if (mode == Mode::kCount) n = std::min<size_t>(amount, matching);
  if (mode == Mode::kPercent) n = (matching * amount + 99) / 100;
  if (max != 0) n = std::min<size_t>(n, max);
  if (max_percent != 0) n = std::min<size_t>(n, (matching * max_percent + 99) / 100);
  return n;
}

size_t TargetGroup::MayLose(size_t chosen) const {
  return max_unavailable_percent ? chosen * max_unavailable / 100 : max_unavailable;
}

std::optional<LoadedExperiment> LoadExperimentFile(const std::string& path, Diagnostics* diags) {
  std::optional<ExpandedText> expanded = ReadExperimentFile(path, diags);
  if (!expanded) return std::nullopt;
  std::optional<Experiment> experiment = ParseExperiment(expanded->text, diags);
  if (!experiment) return std::nullopt;
  return LoadedExperiment{*std::move(experiment), std::move(*expanded)};
}

}  // namespace chaos::experiments
