// Builds faults from wire specs: the one place that maps a chaos.v1 fault
// kind to its implementation in faults/, and reports which kinds this host
// can run.
#ifndef CHAOS_AGENT_FAULT_FACTORY_H_
#define CHAOS_AGENT_FAULT_FACTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "chaos/v1/agent.pb.h"
#include "faults/fault.h"

namespace chaos::agent {

// The agent's control channel: network faults (netem, partition) never
// touch traffic to or from these addresses or TCP/UDP ports. The agent sets
// it once it knows its listening port; thread-safe.
struct ControlChannel {
  std::vector<std::string> cidrs;  // e.g. the controller's address
  std::vector<uint32_t> ports;     // e.g. the agent's own listening port
};
void SetControlChannel(ControlChannel channel);
ControlChannel GetControlChannel();

// "cpu_burn", "netem", ...: the name of the spec's `kind` field in the
// protocol; "" when no kind is set.
std::string KindName(const chaos::v1::FaultSpec& spec);

// Every kind the protocol defines (the names KindName returns), in field
// order, whether or not this host can run it (see Capabilities).
std::vector<std::string> KindNames();

// Host settings the wire spec does not carry.
struct FactoryOptions {
  // The agent's state directory: disk fill refuses its filesystem unless the
  // spec allows it explicitly.
  std::string state_dir = "/var/lib/chaos-agent";
  // Disk fill only fills directories under these roots.
  std::vector<std::string> fill_roots = {"/tmp", "/var/tmp", "/mnt", "/srv"};
  // Data loss only moves paths below these roots; empty refuses it.
  std::vector<std::string> data_roots;
  // Process kill/pause never signal processes with these names (comm).
  std::vector<std::string> protected_names = {
      "chaos-agent", "systemd", "systemd-journal", "systemd-logind", "sshd", "dbus-daemon",
      "containerd", "dockerd", "kubelet"};
  // Process kill/pause refuse a selection of more processes than this
  // (PERMISSION_DENIED, nothing signalled); 0: no cap.
  uint32_t max_processes_per_fault = 5;
};

// Validates the kind's parameters and builds the fault (not injected).
// INVALID_ARGUMENT naming the field; FAILED_PRECONDITION when the kind
// cannot run on this host, saying why.
absl::StatusOr<std::unique_ptr<faults::Fault>> MakeFault(
    const chaos::v1::FaultSpec& spec, const FactoryOptions& options = FactoryOptions());

// A dry run of a process kill/pause selection (nothing signalled): how many
// processes match the spec's selector on this host now, and how many the
// fault would signal. nullopt for other kinds, or when the selection itself
// fails (the inject reports why).
struct ProcessSelectionPreview {
  size_t matched = 0;
  size_t chosen = 0;
};
std::optional<ProcessSelectionPreview> PreviewProcessSelection(const chaos::v1::FaultSpec& spec,
                                                               const FactoryOptions& options);

// Which kinds this host can run, and why not.
std::vector<chaos::v1::FaultCapability> Capabilities();

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_FAULT_FACTORY_H_
