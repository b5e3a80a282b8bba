// Authorization: who may call what, on a daemon serving mutual TLS.
//
// An identity is what rpc::PeerIdentity reads from the peer's certificate
// (its URI SAN, else DNS SAN, else CN). The authz file (`--authz FILE`,
// YAML) gives identities roles:
//
//   roles:
//     "spiffe://chaos/controller": admin
//     "spiffe://chaos/operator/*": operator     # a trailing * matches any rest
//     "spiffe://chaos/viewer/alice": viewer
//     "spiffe://chaos/agent/*": agent
//
// An exact entry wins over a wildcard; among wildcards the longest prefix
// wins. Roles, and what each may call (MethodRole below is the one table):
// - viewer: read (ListRuns, GetRun, WatchRun, ListAgents, ListSchedules;
//   an agent's ListFaults and Describe);
// - operator: a viewer's calls, plus run, abort, gate, schedule; on an
//   agent inject, revert, keep-alive, halt and resume of that agent, and
//   RunCommand (what may inject may run the commands the agent's policy
//   allows);
// - admin: everything, HaltAll, ResumeAll and ForgetAgent included;
// - agent: only RegisterAgent (an agent announcing itself).
// Health checks need any authenticated identity. A method the table does
// not list needs admin.
//
// Without --authz each daemon uses DefaultRoles(): on an agent the
// controller is admin and operators are operators; on the controller
// operators are operators and agents are agents. Any other certificate,
// even one from the right CA, has no role.
//
// Enforcement is gRPC's own per-call hook (grpc::AuthMetadataProcessor,
// installed on the TLS server credentials): it runs before any handler and
// refuses with PERMISSION_DENIED naming the identity, its role and the role
// the method needs. On plaintext (loopback, see listen_policy.h) there is no
// identity and nothing is checked.
#ifndef CHAOS_RPC_AUTHZ_H_
#define CHAOS_RPC_AUTHZ_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"

namespace chaos::rpc {

enum class Role { kAny, kAgent, kViewer, kOperator, kAdmin };

// "viewer", "operator", ...; nullopt for an unknown name.
std::optional<Role> RoleFromName(const std::string& name);
const char* RoleName(Role role);

// The role `method` ("/chaos.v1.Agent/Inject") needs.
Role MethodRole(const std::string& method);
// Whether the table names `method` (an unlisted one falls back to admin).
bool MethodListed(const std::string& method);

// True when `held` may call a method that needs `needed`.
bool Grants(Role held, Role needed);

class Roles {
 public:
  // The authz file; INVALID_ARGUMENT naming the file (and the entry) when it
  // cannot be read, is not YAML, has an unknown field or role, or an
  // identity with a '*' anywhere but at its end.
  [[nodiscard]] static absl::StatusOr<Roles> Load(const std::string& path);
  [[nodiscard]] static absl::StatusOr<Roles> Parse(const std::string& text,
                                                   const std::string& name);

  // The role of `identity`; nullopt when no entry matches.
  std::optional<Role> Of(const std::string& identity) const;

  // OK, or PERMISSION_DENIED: "identity spiffe://x has role viewer;
  // /chaos.v1.Agent/Inject needs operator (--authz FILE)".
  absl::Status Check(const std::string& identity, const std::string& method) const;

  const std::string& source() const { return source_; }

 private:
  std::map<std::string, Role> exact_;
  std::map<std::string, Role> prefixes_;  // the entry without its '*'
  std::string source_;                    // the file, or "the default roles"
};

enum class Daemon { kAgent, kController };
Roles DefaultRoles(Daemon daemon);

// The per-call check for a TLS server: gRPC hands it each call's ":path"
// and the peer's auth context. A granted call's context carries the
// identity as property kIdentityProperty.
std::shared_ptr<grpc::AuthMetadataProcessor> NewAuthzProcessor(Roles roles);
inline constexpr char kIdentityProperty[] = "chaos_identity";

// Who made a call, for audit lines and stored records: the peer's TLS
// identity, or "unauthenticated PEER_ADDRESS" on plaintext. A request's
// own `claimed` caller only adds " on behalf of CLAIMED"; it never replaces
// the identity.
std::string CallerOf(const grpc::ServerContextBase& context, const std::string& claimed);

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_AUTHZ_H_
