// Audit: the agent's audit log lines, in one place. Each is one spdlog line
// starting "audit action=<action>", with key=value pairs after it; values
// that may hold spaces are quoted ("result=\"...\""). Tests and operators
// grep for these, so the shapes are stable. An empty caller is written "-".
// Thread-safe (spdlog is).
#ifndef CHAOS_AGENT_AUDIT_H_
#define CHAOS_AGENT_AUDIT_H_

#include <string>

#include "absl/status/status.h"
#include "chaos/v1/agent.pb.h"

namespace chaos::agent {

// A fault changed state: action is inject, revert or recover, or schedule
// and cancel for a scheduled start (info level).
void AuditFault(const std::string& action, const chaos::v1::FaultStatus& status,
                const std::string& caller, const std::string& result);

// The policy refused an inject (warning).
void AuditRefusal(const chaos::v1::FaultSpec& spec, const std::string& caller,
                  const absl::Status& why);

// An experiment's lease lapsed, so the agent reverts this fault (warning).
void AuditLeaseExpiry(const chaos::v1::FaultSpec& spec, const std::string& reason);

// The agent was halted or resumed (warning).
void AuditHalt(const std::string& caller, const std::string& reason);
void AuditResume(const std::string& caller);

// A RunCommand: action is command-refuse (the policy said no; warning),
// command-start (before it starts) or command-end (with how it ended), with
// the command's argv C-escaped and cut at 512 bytes.
void AuditCommand(const std::string& action, const chaos::v1::RunCommandRequest& request,
                  const std::string& caller, const std::string& result);

// The start-up sweep found a leftover no ledger record names (see sweep.h)
// and removed it or failed to (warning).
void AuditSweep(const std::string& kind, const std::string& item, const std::string& result);

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_AUDIT_H_
