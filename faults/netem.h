// Netem: network emulation (delay, jitter, loss, duplication, corruption,
// reordering, rate) on one interface's egress, through libnl (never by
// running tc): rtnl_qdisc_* for prio and tbf, rtnl_cls_*/rtnl_u32_* for the
// filters, and for netem itself a request built with libnl's nl_msg API
// (libnl 3.7's rtnl_netem_* encoder miscounts the message length; see
// AddNetem in netem.cc). Only egress is affected: packets the interface
// receives are not delayed (netem is an egress qdisc; no IFB is used).
//
// Shape of what Inject builds, all under handles of our own:
// - Unscoped and nothing to exclude: netem as the root qdisc, handle ca05:.
// - Otherwise: a prio qdisc ca05: at the root with 4 bands and the default
//   priomap (so bands 1-3 behave as pfifo_fast), netem ca06: on band 4
//   (class ca05:4), and u32 filters on ca05:. Filters of higher priority
//   (1, 2) steer the excluded control-channel traffic (exclude_cidrs as
//   source or destination, exclude_ports as TCP/UDP source or destination
//   port) to the untouched band ca05:2; filters of priority 3, 4 steer the
//   scoped traffic (destination in one of destination_cidrs and/or TCP/UDP
//   source or destination port in ports) to ca05:4; with no scope a
//   catch-all filter (priority 5) does. Port matches assume IP headers
//   without options/extension headers (as tc's "match ip dport" does);
//   IPv4 packets with options and non-first fragments are not matched.
// - A rate: a tbf qdisc ca07: as the child of netem (class <netem>:1).
// Netem's queue limit is sized for rate x (delay + 4 x jitter) with 1500
// byte packets and 2x headroom (rate: the requested one, else the link's
// speed from sysfs, else 10 Gbit/s), at least 1000 and at most 2^20
// packets, so the fault does not add loss of its own.
//
// Prior state: Inject snapshots the interface's qdiscs and filters first.
// If the root qdisc is not the kernel's default (handle 0:), Inject refuses
// with FAILED_PRECONDITION and says which qdisc is in the way. The undo
// state (interface, ifindex, our handle, snapshot) is recorded before the
// first change, so another process can Adopt and Revert. Revert deletes
// only our root qdisc (which takes our children and filters with it), then
// checks the qdisc/filter tree equals the snapshot (INTERNAL if not).
// Reverting twice, or an interface that has gone away, is OK.
//
// Missing kernel support (no sch_netem, sch_prio, cls_u32 or sch_tbf) is
// FAILED_PRECONDITION naming the module; nothing is left configured.
// Not thread-safe (see fault.h); different interfaces never interact.
#ifndef CHAOS_FAULTS_NETEM_H_
#define CHAOS_FAULTS_NETEM_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "faults/fault.h"

namespace chaos::faults {

struct NetemParams {
  std::string interface;  // required
  absl::Duration delay = absl::ZeroDuration();   // 0..100 s
  absl::Duration jitter = absl::ZeroDuration();  // 0..100 s
  double delay_correlation_percent = 0;          // 0..100
  // "", "uniform", "normal", "pareto", "paretonormal"; non-uniform ones need
  // a jitter and iproute2's .dist tables.
  std::string distribution;
  double loss_percent = 0;              // 0..100
  double loss_correlation_percent = 0;  // 0..100
  double duplicate_percent = 0;         // 0..100
  double corrupt_percent = 0;           // 0..100
  double reorder_percent = 0;           // 0..100; needs a delay
  uint32_t reorder_gap = 0;             // 0 means 1 (as tc)
  uint64_t rate_bytes_per_second = 0;   // 0: no limit; else 8..2^31-1
  // Scope: empty means all traffic on the interface.
  std::vector<std::string> destination_cidrs;  // "10.0.0.0/8", "fd00::/8"
  std::vector<uint32_t> ports;                 // 1..65535, TCP/UDP src or dst
  // Never affected (the agent fills these with its control channel).
  std::vector<std::string> exclude_cidrs;
  std::vector<uint32_t> exclude_ports;

  // INVALID_ARGUMENT naming the first bad field ("netem.loss_percent: must
  // be 0..100, got 140"). Does not look at the host (see Inject).
  absl::Status Validate() const;
};

// OK when this kernel can run a Netem fault (netem, prio, u32 and tbf
// qdiscs/classifiers, probed in a throwaway network namespace after trying
// modprobe); FAILED_PRECONDITION naming the missing piece otherwise.
[[nodiscard]] absl::Status NetemAvailable();

class Netem final : public Fault {
 public:
  explicit Netem(NetemParams params);
  ~Netem() override;  // does not revert: the owner decides

  [[nodiscard]] absl::Status Inject(const UndoRecorder& record) override;
  [[nodiscard]] absl::Status Revert() override;
  [[nodiscard]] absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  // Our root qdisc handle (major:0).
  static constexpr uint32_t kRootHandle = 0xCA050000;

 private:
  const NetemParams params_;
  // Target, from Inject or Adopt.
  std::string interface_;
  int ifindex_ = 0;
  std::string snapshot_;
  bool injected_ = false;
  bool reverted_ = false;
};

// Start-up sweep: on every interface of the calling thread's network
// namespace except those in `keep_ifindexes` (interfaces a ledger record
// still names), deletes the root qdisc with our handle (Netem::kRootHandle),
// which takes our children and filters with it, as Revert does; the
// kernel's default root qdisc comes back. No other qdisc is touched. One
// Leftover per qdisc found ("<interface> root <kind> ca05:"); an error
// listing the qdiscs is returned as a single Leftover with item "qdiscs".
std::vector<Leftover> RemoveLeftoverNetem(const std::set<int>& keep_ifindexes);

// The interface's qdiscs and filters as sorted text lines, for comparing
// states and for tests. INVALID_ARGUMENT if there is no such interface.
[[nodiscard]] absl::Status SnapshotTcTree(const std::string& interface, std::string* out);

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_NETEM_H_
