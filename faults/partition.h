// Partition: drops traffic to/from CIDRs and/or TCP/UDP ports (a blackhole)
// through an nftables table of our own, via libnftables (never by running
// nft).
//
// Inject creates, in one atomic nftables transaction, the table
// `inet chaos_<fault id with every character outside [A-Za-z0-9_] replaced
// by '_'>` with an input chain (direction ingress/both: packets whose
// source is in cidrs and/or whose TCP/UDP source or destination port is in
// ports) and an output chain (egress/both: destination in cidrs and/or the
// same ports), both at hook priority -10 with policy accept. The control
// channel comes first in each chain: traffic with exclude_cidrs as source
// or destination, or exclude_ports as TCP/UDP source or destination port,
// is accepted. If the table exists already, Inject refuses with
// FAILED_PRECONDITION; when the kernel has no nf_tables for the inet family
// it says so (FAILED_PRECONDITION). The table name is recorded before the
// transaction, so another process can Adopt and Revert.
//
// Revert deletes exactly that table and nothing else; a table already gone
// is success. Works in the calling thread's network namespace. Not
// thread-safe (see fault.h).
#ifndef CHAOS_FAULTS_PARTITION_H_
#define CHAOS_FAULTS_PARTITION_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "faults/fault.h"

namespace chaos::faults {

enum class PartitionDirection { kIngress, kEgress, kBoth };

struct PartitionParams {
  std::string fault_id;            // names the table; [A-Za-z0-9._:-]{1,128}
  std::vector<std::string> cidrs;  // "10.0.0.0/8", "fd00::/8", "10.1.2.3"
  std::vector<uint32_t> ports;     // 1..65535, TCP/UDP source or destination
  PartitionDirection direction = PartitionDirection::kBoth;
  // Never dropped (the agent fills these with its control channel).
  std::vector<std::string> exclude_cidrs;
  std::vector<uint32_t> exclude_ports;

  // INVALID_ARGUMENT naming the first bad field. At least one of cidrs and
  // ports is required: an unscoped partition would cut every connection.
  absl::Status Validate() const;
};

// The nftables table name for a fault id: "chaos_" + sanitized id.
std::string PartitionTableName(const std::string& fault_id);

// OK when the kernel offers nf_tables with the inet family (probed in a
// throwaway network namespace after trying modprobe nf_tables);
// FAILED_PRECONDITION naming what is missing otherwise.
[[nodiscard]] absl::Status PartitionAvailable();

// Start-up sweep: deletes every nftables table of the inet family in the
// calling thread's network namespace whose name PartitionTableName could
// have made ("chaos_" then only [A-Za-z0-9_]), except those in `keep`
// (tables a ledger record still names). No other table is touched. One
// Leftover per table found ("inet <name>"). A kernel without nf_tables has
// nothing to sweep (empty result); another error listing the tables is one
// Leftover with item "nftables tables".
std::vector<Leftover> RemoveLeftoverPartitions(const std::set<std::string>& keep);

class Partition final : public Fault {
 public:
  explicit Partition(PartitionParams params);
  ~Partition() override;  // does not revert: the owner decides

  [[nodiscard]] absl::Status Inject(const UndoRecorder& record) override;
  [[nodiscard]] absl::Status Revert() override;
  [[nodiscard]] absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  // The nftables script Inject runs (for tests and reports).
  std::string Script() const;

 private:
  const PartitionParams params_;
  std::string table_;  // set once recorded
  bool reverted_ = false;
};

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_PARTITION_H_
