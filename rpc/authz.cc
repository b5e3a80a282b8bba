#include "rpc/authz.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "rpc/credentials.h"
#include "yaml-cpp/yaml.h"

namespace chaos::rpc {
namespace {

constexpr size_t kMaxAuthzBytes = size_t{1} << 20;

struct Named {
  const char* name;
  Role role;
};
constexpr Named kRoleNames[] = {{"agent", Role::kAgent},
                                {"viewer", Role::kViewer},
                                {"operator", Role::kOperator},
                                {"admin", Role::kAdmin}};

// The one table of what each method needs. Unlisted methods need admin.
const std::map<std::string, Role>& MethodTable() {
  static const auto* table = new std::map<std::string, Role>{
      {"/grpc.health.v1.Health/Check", Role::kAny},
      {"/grpc.health.v1.Health/Watch", Role::kAny},
      {"/chaos.v1.Agent/ListFaults", Role::kViewer},
      {"/chaos.v1.Agent/Describe", Role::kViewer},
      {"/chaos.v1.Agent/Inject", Role::kOperator},
      {"/chaos.v1.Agent/Revert", Role::kOperator},
      {"/chaos.v1.Agent/RevertExperiment", Role::kOperator},
      {"/chaos.v1.Agent/KeepAlive", Role::kOperator},
      {"/chaos.v1.Agent/Halt", Role::kOperator},
      {"/chaos.v1.Agent/Resume", Role::kOperator},
      // A command runs on the host like a fault: whoever may inject.
      {"/chaos.v1.Agent/RunCommand", Role::kOperator},
      {"/chaos.v1.Controller/GetRun", Role::kViewer},
      {"/chaos.v1.Controller/ListRuns", Role::kViewer},
      {"/chaos.v1.Controller/WatchRun", Role::kViewer},
      {"/chaos.v1.Controller/ListAgents", Role::kViewer},
      {"/chaos.v1.Controller/ListSchedules", Role::kViewer},
      {"/chaos.v1.Controller/SubmitRun", Role::kOperator},
      {"/chaos.v1.Controller/AbortRun", Role::kOperator},
      {"/chaos.v1.Controller/AnswerGate", Role::kOperator},
      {"/chaos.v1.Controller/CreateSchedule", Role::kOperator},
      {"/chaos.v1.Controller/SetSchedulePaused", Role::kOperator},
      {"/chaos.v1.Controller/DeleteSchedule", Role::kOperator},
      {"/chaos.v1.Controller/RegisterAgent", Role::kAgent},
      // Fleet-wide: the agent leaves every controller's registry for good.
      {"/chaos.v1.Controller/ForgetAgent", Role::kAdmin},
      {"/chaos.v1.Controller/HaltAll", Role::kAdmin},
      {"/chaos.v1.Controller/ResumeAll", Role::kAdmin},
  };
  return *table;
}

int Rank(Role r) {
  switch (r) {
    case Role::kViewer:
      return 1;
    case Role::kOperator:
      return 2;
    case Role::kAdmin:
      return 3;
    default:
      return 0;
  }
}

absl::Status Bad(const std::string& name, const YAML::Node& node, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(name, ":", node.Mark().line + 1, ":", node.Mark().column + 1, ": ", what));
}

class AuthzProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit AuthzProcessor(Roles roles) : roles_(std::move(roles)) {}
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    auto path = metadata.find(":path");
    const std::string method =
        path == metadata.end() ? "" : std::string(path->second.data(), path->second.size());
    const std::string identity = PeerIdentity(*context);
    absl::Status s = roles_.Check(identity, method);
    if (!s.ok()) return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, std::string(s.message()));
    context->AddProperty(kIdentityProperty, identity);
    return grpc::Status::OK;
  }

 private:
  const Roles roles_;
};

}  // namespace

std::optional<Role> RoleFromName(const std::string& name) {
  for (const Named& n : kRoleNames) {
    if (name == n.name) return n.role;
  }
  return std::nullopt;
}

const char* RoleName(Role role) {
  for (const Named& n : kRoleNames) {
    if (role == n.role) return n.name;
  }
  return "any authenticated identity";
}

Role MethodRole(const std::string& method) {
  auto it = MethodTable().find(method);
  return it == MethodTable().end() ? Role::kAdmin : it->second;
}

bool MethodListed(const std::string& method) { return MethodTable().contains(method); }

bool Grants(Role held, Role needed) {
  if (needed == Role::kAny || held == Role::kAdmin) return true;
  if (needed == Role::kAgent || held == Role::kAgent) return held == needed;
  return Rank(held) >= Rank(needed);
}

absl::StatusOr<Roles> Roles::Load(const std::string& path) {
  auto text = base::ReadFileUpTo(path, kMaxAuthzBytes);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--authz ", path, ": ", text.status().message()));
  }
  return Parse(*text, path);
}

absl::StatusOr<Roles> Roles::Parse(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": not YAML: ", e.what()));
  }
  if (!root.IsMap())
    return absl::InvalidArgumentError(absl::StrCat(name, ": must be a map with 'roles'"));
  Roles roles;
  roles.source_ = name;
  for (const auto& field : root) {
    const std::string key = field.first.as<std::string>("");
    if (key != "roles")
      return Bad(name, field.first, absl::StrCat("unknown field \"", key, "\" (known: roles)"));
    if (!field.second.IsMap())
      return Bad(name, field.second, "roles: must map identities to roles");
    for (const auto& entry : field.second) {
      const std::string identity = entry.first.as<std::string>("");
      const std::string role_name = entry.second.IsScalar() ? entry.second.as<std::string>("") : "";
      const std::optional<Role> role = RoleFromName(role_name);
      if (!role) {
        return Bad(name, entry.second,
                   absl::StrCat("roles[\"", identity, "\"]: unknown role \"", role_name,
                                "\" (known: viewer, operator, admin, agent)"));
      }
      const size_t star = identity.find('*');
      if (identity.empty() || (star != std::string::npos && star + 1 != identity.size())) {
        return Bad(name, entry.first,
                   absl::StrCat("roles: identity \"", identity,
                                "\" must be non-empty, with '*' only at its end"));
      }
      if (star == std::string::npos) {
        roles.exact_[identity] = *role;
      } else {
        roles.prefixes_[identity.substr(0, star)] = *role;
      }
    }
  }
  return roles;
}

std::optional<Role> Roles::Of(const std::string& identity) const {
  if (identity.empty()) return std::nullopt;
  if (auto it = exact_.find(identity); it != exact_.end()) return it->second;
  std::optional<Role> best;
  size_t longest = 0;
  for (const auto& [prefix, role] : prefixes_) {
    if (absl::StartsWith(identity, prefix) && (!best || prefix.size() >= longest)) {
      best = role;
      longest = prefix.size();
    }
  }
  return best;
}

absl::Status Roles::Check(const std::string& identity, const std::string& method) const {
  const Role needed = MethodRole(method);
  const std::optional<Role> held = Of(identity);
  if (needed == Role::kAny && !identity.empty()) return absl::OkStatus();
  if (held && Grants(*held, needed)) return absl::OkStatus();
  const std::string source = source_.empty() ? "no roles are configured" : source_;
  const std::string who =
      identity.empty() ? "an unauthenticated peer" : absl::StrCat("identity ", identity);
  return absl::PermissionDeniedError(
      absl::StrCat(who, held ? absl::StrCat(" has role ", RoleName(*held)) : " has no role", "; ",
                   method, " needs ", RoleName(needed), " (", source, ")"));
}

Roles DefaultRoles(Daemon daemon) {
  const std::string text = daemon == Daemon::kAgent
                               ? "roles: {\"spiffe://chaos/controller\": admin, "
                                 "\"spiffe://chaos/operator/*\": operator}"
                               : "roles: {\"spiffe://chaos/operator/*\": operator, "
                                 "\"spiffe://chaos/agent/*\": agent}";
  auto roles = Roles::Parse(text, "the default roles; give --authz FILE to change them");
  return *std::move(roles);  // a constant that parses
}

std::string CallerOf(const grpc::ServerContextBase& context, const std::string& claimed) {
  std::string identity = PeerIdentity(context);
  if (identity.empty()) identity = absl::StrCat("unauthenticated ", context.peer());
  if (claimed.empty() || claimed == identity) return identity;
  return absl::StrCat(identity, " on behalf of ", claimed);
}

std::shared_ptr<grpc::AuthMetadataProcessor> NewAuthzProcessor(Roles roles) {
  return std::make_shared<AuthzProcessor>(std::move(roles));
}

}  // namespace chaos::rpc
