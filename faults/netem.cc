#include "faults/netem.h"

#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netlink/errno.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/prio.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "faults/net_scope.h"
#include "faults/netlink_util.h"
#include "base/status_macros.h"

namespace chaos::faults {
namespace {

constexpr uint32_t kRoot = Netem::kRootHandle;  // ca05: prio, or netem when unscoped
constexpr uint32_t kNetemUnderPrio = 0xCA060000;
constexpr uint32_t kTbf = 0xCA070000;
constexpr uint32_t kUntouchedClass = kRoot | 2;  // band 1: where TOS 0 goes anyway
constexpr uint32_t kNetemClass = kRoot | 4;      // band 3, never in the priomap
constexpr int kBands = 4;
constexpr absl::Duration kMaxDelay = absl::Seconds(100);
constexpr size_t kMaxFilters = 512;

template <typename T>
struct NlObjectDeleter {
  void operator()(T* p) const { nl_object_put(reinterpret_cast<nl_object*>(p)); }
};
using Qdisc = std::unique_ptr<rtnl_qdisc, NlObjectDeleter<rtnl_qdisc>>;
using Cls = std::unique_ptr<rtnl_cls, NlObjectDeleter<rtnl_cls>>;
struct CacheDeleter {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Cache = std::unique_ptr<nl_cache, CacheDeleter>;

std::string HandleText(uint32_t h) {
  return absl::StrFormat("%x:%x", TC_H_MAJ(h) >> 16, TC_H_MIN(h));
}

uint32_t Probability(double percent) {
  const double v = std::round(percent / 100.0 * 4294967295.0);
  return static_cast<uint32_t>(std::clamp(v, 0.0, 4294967295.0));
}

// The kernel piece that a tc object kind needs.
std::string ModuleFor(const std::string& kind) {
  return kind == "u32" ? "cls_u32" : absl::StrCat("sch_", kind);
}

// Adding `kind` failed with `err`: say so in terms the caller can act on.
absl::Status AddError(int err, const std::string& kind, const std::string& what) {
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_OPNOTSUPP) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": the kernel has no ", kind, " support (module ", ModuleFor(kind),
        " missing): ", nl_geterror(err)));
  }
  return NlError(err, what);
}

absl::StatusOr<std::vector<int16_t>> LoadDistribution(const std::string& name) {
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu/tc", "/usr/lib/aarch64-linux-gnu/tc",
                          "/usr/lib/tc", "/usr/lib64/tc", "/usr/local/lib/tc"}) {
    std::ifstream in(absl::StrCat(dir, "/", name, ".dist"));
    if (!in) continue;
    std::vector<int16_t> table;
    std::string line;
    while (std::getline(in, line)) {
      if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      for (absl::string_view tok : absl::StrSplit(line, absl::ByAnyChar(" \t\r"),
                                                  absl::SkipEmpty())) {
        int v;
        if (!absl::SimpleAtoi(tok, &v) || v < -32768 || v > 32767) {
          return absl::FailedPreconditionError(
              absl::StrCat("netem.distribution: ", dir, "/", name, ".dist is malformed"));
        }
        table.push_back(static_cast<int16_t>(v));
      }
    }
    if (table.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("netem.distribution: ", dir, "/", name, ".dist is empty"));
    }
    return table;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "netem.distribution: no table ", name, ".dist found (iproute2 ships them)"));
}

// One u32 match key (offsets from the network header).
struct Key {
  uint32_t val, mask;
  int off;
};

struct FilterSpec {
  uint16_t prio;
  uint16_t protocol;  // ETH_P_*
  uint32_t classid;
  std::vector<Key> keys;
};

void AddAddressKeys(const Cidr& c, bool source, std::vector<Key>* keys) {
  const int base = c.family == AF_INET ? (source ? 12 : 16) : (source ? 8 : 24);
  const int words = c.family == AF_INET ? 1 : 4;
  for (int w = 0; w < words; ++w) {
    const int bits = std::clamp(c.prefix - 32 * w, 0, 32);
    if (bits == 0) break;
    const uint32_t mask = bits == 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> bits);
    uint32_t val = 0;
    for (int b = 0; b < 4; ++b) val = (val << 8) | c.addr[4 * w + b];
    keys->push_back({val & mask, mask, base + 4 * w});
  }
}

// Keys for "IP protocol proto, source (or destination) port p", assuming a
// header without options.
void AddPortKeys(int family, int proto, bool source, uint32_t port, std::vector<Key>* keys) {
  if (family == AF_INET) {
    keys->push_back({0x05000000, 0x0F000000, 0});      // IHL 5: no options
    keys->push_back({0, 0x00001FFF, 4});               // first fragment
    keys->push_back({uint32_t(proto) << 16, 0x00FF0000, 8});
    keys->push_back(source ? Key{port << 16, 0xFFFF0000, 20} : Key{port, 0x0000FFFF, 20});
  } else {
    keys->push_back({uint32_t(proto) << 8, 0x0000FF00, 4});  // next header
    keys->push_back(source ? Key{port << 16, 0xFFFF0000, 40} : Key{port, 0x0000FFFF, 40});
  }
}

uint16_t EthProto(int family) { return family == AF_INET ? ETH_P_IP : ETH_P_IPV6; }

// The filters that implement scope and exclusions. Empty when neither.
std::vector<FilterSpec> PlanFilters(const std::vector<Cidr>& dests,
                                    const std::vector<uint32_t>& ports,
                                    const std::vector<Cidr>& excl_cidrs,
                                    const std::vector<uint32_t>& excl_ports) {
  std::vector<FilterSpec> out;
  const int families[] = {AF_INET, AF_INET6};
  // Exclusions: priority 1 (IPv4) and 2 (IPv6), to the untouched band.
  for (const Cidr& c : excl_cidrs) {
    for (bool source : {false, true}) {
      FilterSpec f{uint16_t(c.family == AF_INET ? 1 : 2), EthProto(c.family), kUntouchedClass, {}};
      AddAddressKeys(c, source, &f.keys);
      out.push_back(std::move(f));
    }
  }
  for (uint32_t p : excl_ports) {
    for (int fam : families) {
      for (int proto : {IPPROTO_TCP, IPPROTO_UDP}) {
        for (bool source : {false, true}) {
          FilterSpec f{uint16_t(fam == AF_INET ? 1 : 2), EthProto(fam), kUntouchedClass, {}};
          AddPortKeys(fam, proto, source, p, &f.keys);
          out.push_back(std::move(f));
        }
      }
    }
  }
  // Scope: priority 3 (IPv4) and 4 (IPv6), to netem's band.
  if (!dests.empty() || !ports.empty()) {
    auto scoped = [&](const Cidr* c, int fam) {
      if (ports.empty()) {
        FilterSpec f{uint16_t(fam == AF_INET ? 3 : 4), EthProto(fam), kNetemClass, {}};
        AddAddressKeys(*c, false, &f.keys);
        out.push_back(std::move(f));
        return;
      }
      for (uint32_t p : ports) {
        for (int proto : {IPPROTO_TCP, IPPROTO_UDP}) {
          for (bool source : {false, true}) {
            FilterSpec f{uint16_t(fam == AF_INET ? 3 : 4), EthProto(fam), kNetemClass, {}};
            if (c != nullptr) AddAddressKeys(*c, false, &f.keys);
            AddPortKeys(fam, proto, source, p, &f.keys);
            out.push_back(std::move(f));
          }
        }
      }
    };
    if (dests.empty()) {
      for (int fam : families) scoped(nullptr, fam);
    } else {
      for (const Cidr& c : dests) scoped(&c, c.family);
    }
  } else if (!out.empty()) {
    // Unscoped with exclusions: everything else goes to netem.
    out.push_back({5, ETH_P_ALL, kNetemClass, {{0, 0, 0}}});
  }
  return out;
}

absl::Status AddFilter(nl_sock* sock, int ifindex, const FilterSpec& spec) {
  Cls cls(rtnl_cls_alloc());
  if (!cls) return absl::ResourceExhaustedError("netlink: cannot allocate a filter");
  rtnl_tc_set_ifindex(TC_CAST(cls.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(cls.get()), kRoot);
  if (int err = rtnl_tc_set_kind(TC_CAST(cls.get()), "u32"); err < 0) {
    return AddError(err, "u32", "u32 filter");
  }
  rtnl_cls_set_prio(cls.get(), spec.prio);
  rtnl_cls_set_protocol(cls.get(), spec.protocol);
  for (const Key& k : spec.keys) {
    if (int err = rtnl_u32_add_key_uint32(cls.get(), k.val, k.mask, k.off, 0); err < 0) {
      return NlError(err, "u32 filter key");
    }
  }
  if (int err = rtnl_u32_set_classid(cls.get(), spec.classid); err < 0) {
    return NlError(err, "u32 filter classid");
  }
  if (int err = rtnl_u32_set_cls_terminal(cls.get()); err < 0) {
    return NlError(err, "u32 filter flags");
  }
  if (int err = rtnl_cls_add(sock, cls.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return AddError(err, "u32", "adding u32 filter");
  }
  return absl::OkStatus();
}

Qdisc NewQdisc(int ifindex, uint32_t parent, uint32_t handle, const char* kind) {
  Qdisc q(rtnl_qdisc_alloc());
  if (!q) return q;
  rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(q.get()), parent);
  rtnl_tc_set_handle(TC_CAST(q.get()), handle);
  if (rtnl_tc_set_kind(TC_CAST(q.get()), kind) < 0) q.reset();
  return q;
}

absl::Status AddQdisc(nl_sock* sock, rtnl_qdisc* q, const std::string& kind) {
  if (int err = rtnl_qdisc_add(sock, q, NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return AddError(err, kind, absl::StrCat("adding ", kind, " qdisc"));
  }
  return absl::OkStatus();
}

// Our prio root: 4 bands, the default priomap (bands 0-2 as pfifo_fast).
absl::Status AddPrio(nl_sock* sock, int ifindex) {
  Qdisc prio = NewQdisc(ifindex, TC_H_ROOT, kRoot, "prio");
  if (!prio) return absl::InternalError("netlink: cannot allocate a qdisc");
  rtnl_qdisc_prio_set_bands(prio.get(), kBands);
  uint8_t priomap[TC_PRIO_MAX + 1] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  if (int err = rtnl_qdisc_prio_set_priomap(prio.get(), priomap, sizeof priomap); err < 0) {
    return NlError(err, "prio priomap");
  }
  return AddQdisc(sock, prio.get(), "prio");
}

// Netem's options as the kernel reads them: struct tc_netem_qopt, then
// TCA_NETEM_* attributes, all inside TCA_OPTIONS.
struct NetemOptions {
  tc_netem_qopt qopt{};
  bool corr = false, reorder = false, corrupt = false;
  tc_netem_corr corr_v{};
  tc_netem_reorder reorder_v{};
  tc_netem_corrupt corrupt_v{};
  int64_t latency_ns = 0, jitter_ns = 0;
  std::vector<int16_t> dist;
};

// Adds a netem qdisc. The request is built with libnl's message API rather
// than rtnl_netem_*: libnl 3.7's netem_msg_fill_raw() adds the length of
// every attribute after the qopt to nlmsg_len a second time, so with
// correlation, reordering, corruption or a distribution table it sends
// bytes past what it wrote (the kernel logs "bytes leftover after parsing
// attributes") and the table was not reliably applied.
absl::Status AddNetem(nl_sock* sock, int ifindex, uint32_t parent, uint32_t handle,
                      const NetemOptions& o) {
  struct MsgDeleter {
    void operator()(nl_msg* m) const { nlmsg_free(m); }
  };
  std::unique_ptr<nl_msg, MsgDeleter> msg(
      nlmsg_alloc_size(4096 + o.dist.size() * sizeof(int16_t)));
  if (!msg) return absl::ResourceExhaustedError("netlink: cannot allocate a message");
  if (nlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, RTM_NEWQDISC, 0,
                NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL) == nullptr) {
    return absl::InternalError("netlink: netem request too large");
  }
  tcmsg tcm{};
  tcm.tcm_family = AF_UNSPEC;
  tcm.tcm_ifindex = ifindex;
  tcm.tcm_handle = handle;
  tcm.tcm_parent = parent;
  bool ok = nlmsg_append(msg.get(), &tcm, sizeof tcm, NLMSG_ALIGNTO) == 0 &&
            nla_put_string(msg.get(), TCA_KIND, "netem") == 0;
  nlattr* opts = ok ? nla_nest_start(msg.get(), TCA_OPTIONS) : nullptr;
  ok = opts != nullptr;
  tc_netem_qopt qopt = o.qopt;
  ok = ok && nlmsg_append(msg.get(), &qopt, sizeof qopt, NLMSG_ALIGNTO) == 0;
  if (ok && o.corr) ok = nla_put(msg.get(), TCA_NETEM_CORR, sizeof o.corr_v, &o.corr_v) == 0;
  if (ok && o.reorder) {
    ok = nla_put(msg.get(), TCA_NETEM_REORDER, sizeof o.reorder_v, &o.reorder_v) == 0;
  }
  if (ok && o.corrupt) {
    ok = nla_put(msg.get(), TCA_NETEM_CORRUPT, sizeof o.corrupt_v, &o.corrupt_v) == 0;
  }
  if (ok && !o.dist.empty()) {
    ok = nla_put(msg.get(), TCA_NETEM_DELAY_DIST, int(o.dist.size() * sizeof(int16_t)),
                 o.dist.data()) == 0;
  }
  if (ok) ok = nla_put_s64(msg.get(), TCA_NETEM_LATENCY64, o.latency_ns) == 0;
  if (ok) ok = nla_put_s64(msg.get(), TCA_NETEM_JITTER64, o.jitter_ns) == 0;
  if (ok) ok = nla_nest_end(msg.get(), opts) == 0;
  if (!ok) return absl::InternalError("netlink: cannot build the netem request");
  // nl_send_sync frees the message.
  if (int err = nl_send_sync(sock, msg.release()); err < 0) {
    return AddError(err, "netem", "adding netem qdisc");
  }
  return absl::OkStatus();
}

struct QdiscInfo {
  std::string kind;
  uint32_t handle, parent;
};

absl::StatusOr<std::vector<QdiscInfo>> ListQdiscs(nl_sock* sock, int ifindex) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_qdisc_alloc_cache(sock, &raw); err < 0) {
    return NlError(err, "listing qdiscs");
  }
  Cache cache(raw);
  std::vector<QdiscInfo> out;
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    rtnl_tc* tc = TC_CAST(o);
    if (rtnl_tc_get_ifindex(tc) != ifindex) continue;
    const char* kind = rtnl_tc_get_kind(tc);
    out.push_back({kind ? kind : "?", rtnl_tc_get_handle(tc), rtnl_tc_get_parent(tc)});
  }
  return out;
}

absl::StatusOr<std::string> Snapshot(nl_sock* sock, int ifindex) {
  ASSIGN_OR_RETURN(std::vector<QdiscInfo> qdiscs, ListQdiscs(sock, ifindex));
  std::vector<std::string> lines;
  std::vector<uint32_t> parents;
  for (const QdiscInfo& q : qdiscs) {
    lines.push_back(absl::StrCat("qdisc ", q.kind, " ", HandleText(q.handle), " parent ",
                                 q.parent == TC_H_ROOT ? "root" : HandleText(q.parent)));
    if (q.kind == "clsact") {
      parents.push_back(TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
      parents.push_back(TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
    } else if (q.handle != 0) {
      parents.push_back(q.handle);
    }
  }
  for (uint32_t parent : parents) {
    nl_cache* raw = nullptr;
    if (int err = rtnl_cls_alloc_cache(sock, ifindex, parent, &raw); err < 0) {
      return NlError(err, "listing filters");
    }
    Cache cache(raw);
    for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
      rtnl_cls* cls = reinterpret_cast<rtnl_cls*>(o);
      const char* kind = rtnl_tc_get_kind(TC_CAST(o));
      lines.push_back(absl::StrFormat("filter %s parent %s prio %u protocol 0x%04x handle %s",
                                      kind ? kind : "?", HandleText(parent),
                                      rtnl_cls_get_prio(cls), rtnl_cls_get_protocol(cls),
                                      HandleText(rtnl_tc_get_handle(TC_CAST(o)))));
    }
  }
  std::sort(lines.begin(), lines.end());
  return absl::StrJoin(lines, "\n");
}

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  uint32_t mtu = 1500;
};

// By name (ifindex 0) or by index (name empty). NOT_FOUND when absent.
absl::StatusOr<LinkInfo> GetLink(nl_sock* sock, int ifindex, const std::string& name) {
  rtnl_link* link = nullptr;
  int err = rtnl_link_get_kernel(sock, ifindex, name.empty() ? nullptr : name.c_str(), &link);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV || err == -NLE_INVAL) {
    return absl::NotFoundError(name.empty() ? absl::StrCat("no interface with index ", ifindex)
                                            : absl::StrCat("no interface named \"", name, "\""));
  }
  if (err < 0) return NlError(err, "looking up interface");
  LinkInfo info{rtnl_link_get_ifindex(link), rtnl_link_get_name(link) ? rtnl_link_get_name(link) : "",
                rtnl_link_get_mtu(link)};
  rtnl_link_put(link);
  return info;
}

// Link speed in bytes per second from sysfs, or 0 when unknown (lo, veth).
uint64_t LinkSpeed(const std::string& name) {
  std::ifstream in(absl::StrCat("/sys/class/net/", name, "/speed"));
  long mbit = 0;
  if (in >> mbit && mbit > 0) return uint64_t(mbit) * 1'000'000 / 8;
  return 0;
}

// The interface by name; a missing one is INVALID_ARGUMENT naming `field`.
absl::StatusOr<LinkInfo> FindInterface(nl_sock* sock, const std::string& name,
                                       const std::string& field) {
  auto link = GetLink(sock, 0, name);
  if (absl::IsNotFound(link.status())) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", link.status().message()));
  }
  return link;
}

// What Inject builds, worked out before anything is touched.
struct Plan {
  std::vector<FilterSpec> filters;  // empty: netem is the root qdisc
  std::vector<int16_t> dist;        // the delay distribution table, if any
};

absl::StatusOr<Plan> MakePlan(const NetemParams& p) {
  RETURN_IF_ERROR(p.Validate());
  ASSIGN_OR_RETURN(std::vector<Cidr> dests,
                   ParseCidrs("netem.destination_cidrs", p.destination_cidrs));
  ASSIGN_OR_RETURN(std::vector<Cidr> excl, ParseCidrs("netem.exclude_cidrs", p.exclude_cidrs));
  Plan plan;
  plan.filters = PlanFilters(dests, p.ports, excl, p.exclude_ports);
  if (!p.distribution.empty() && p.distribution != "uniform") {
    ASSIGN_OR_RETURN(plan.dist, LoadDistribution(p.distribution));
  }
  return plan;
}

// Prior state: only the kernel's default root qdisc may be replaced.
absl::Status CheckDefaultRoot(nl_sock* sock, int ifindex, const std::string& interface) {
  ASSIGN_OR_RETURN(std::vector<QdiscInfo> qdiscs, ListQdiscs(sock, ifindex));
  for (const QdiscInfo& q : qdiscs) {
    if (q.parent != TC_H_ROOT || q.handle == 0) continue;
    if (q.handle == kRoot) {
      return absl::FailedPreconditionError(absl::StrCat(
          "netem.interface: ", interface, " already carries a chaos network fault "
          "(root qdisc ", q.kind, " ", HandleText(q.handle), "); revert it first"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "netem.interface: ", interface, " has a non-default root qdisc (", q.kind, " ",
        HandleText(q.handle), ") that this fault would replace; remove it or pick another "
        "interface"));
  }
  return absl::OkStatus();
}

// Queue limit: rate x (delay + 4 jitter) in 1500-byte packets, twice over;
// see netem.h for the rate used and the bounds.
int QueueLimit(const NetemParams& p) {
  uint64_t rate = p.rate_bytes_per_second;
  if (rate == 0) rate = LinkSpeed(p.interface);
  if (rate == 0) rate = 10'000'000'000 / 8;
  const double hold_s = absl::ToDoubleSeconds(p.delay + 4 * p.jitter);
  const double pkts = 2.0 * double(rate) * hold_s / 1500.0;
  return int(std::clamp(std::ceil(pkts), 1000.0, double(1 << 20)));
}

NetemOptions OptionsFor(const NetemParams& p, int limit, std::vector<int16_t> dist) {
  NetemOptions o;
  o.latency_ns = absl::ToInt64Nanoseconds(p.delay);
  o.jitter_ns = absl::ToInt64Nanoseconds(p.jitter);
  // Old kernels read 64 ns ticks from the qopt; newer ones the 64-bit ns.
  o.qopt.latency = uint32_t(std::min<int64_t>(o.latency_ns >> 6, UINT32_MAX));
  o.qopt.jitter = uint32_t(std::min<int64_t>(o.jitter_ns >> 6, UINT32_MAX));
  o.qopt.limit = uint32_t(limit);
  o.qopt.loss = Probability(p.loss_percent);
  o.qopt.duplicate = Probability(p.duplicate_percent);
  if (p.delay_correlation_percent > 0 || p.loss_correlation_percent > 0) {
    o.corr = true;
    o.corr_v.delay_corr = Probability(p.delay_correlation_percent);
    o.corr_v.loss_corr = Probability(p.loss_correlation_percent);
  }
  if (p.reorder_percent > 0) {
    o.reorder = true;
    o.reorder_v.probability = Probability(p.reorder_percent);
    o.qopt.gap = p.reorder_gap == 0 ? 1 : p.reorder_gap;
  }
  if (p.corrupt_percent > 0) {
    o.corrupt = true;
    o.corrupt_v.probability = Probability(p.corrupt_percent);
  }
  o.dist = std::move(dist);
  return o;
}

// The rate limit: a tbf qdisc as the child of netem (class <netem>:1).
absl::Status AddRateLimit(nl_sock* sock, int ifindex, uint32_t netem_handle, uint64_t rate,
                          uint32_t mtu) {
  // Bucket: 10 ms worth, but at least two full frames so no packet is too
  // big for it. Queue: one second worth on top of the bucket.
  const uint64_t frame = uint64_t(mtu) + 64;
  const uint64_t bucket = std::max<uint64_t>(rate / 100, 2 * frame);
  const uint64_t qlimit = std::min<uint64_t>(bucket + rate, INT32_MAX);
  Qdisc tbf = NewQdisc(ifindex, netem_handle | 1, kTbf, "tbf");
  if (!tbf) return absl::InternalError("netlink: cannot allocate a qdisc");
  rtnl_qdisc_tbf_set_limit(tbf.get(), int(qlimit));
  rtnl_qdisc_tbf_set_rate(tbf.get(), int(rate), int(std::min<uint64_t>(bucket, INT32_MAX)), 0);
  return AddQdisc(sock, tbf.get(), "tbf");
}

}  // namespace

absl::Status NetemParams::Validate() const {
  if (interface.empty()) return absl::InvalidArgumentError("netem.interface: required");
  if (interface.size() >= 16 || interface.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("netem.interface: not a valid interface name: \"", interface, "\""));
  }
  auto check_duration = [](const char* field, absl::Duration d) -> absl::Status {
    if (d < absl::ZeroDuration() || d > kMaxDelay) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": must be 0..", absl::ToInt64Seconds(kMaxDelay), "s, got ",
          absl::FormatDuration(d)));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_duration("netem.delay", delay));
  RETURN_IF_ERROR(check_duration("netem.jitter", jitter));
  RETURN_IF_ERROR(CheckPercent("netem.delay_correlation_percent", delay_correlation_percent));
  RETURN_IF_ERROR(CheckPercent("netem.loss_percent", loss_percent));
  RETURN_IF_ERROR(CheckPercent("netem.loss_correlation_percent", loss_correlation_percent));
  RETURN_IF_ERROR(CheckPercent("netem.duplicate_percent", duplicate_percent));
  RETURN_IF_ERROR(CheckPercent("netem.corrupt_percent", corrupt_percent));
  RETURN_IF_ERROR(CheckPercent("netem.reorder_percent", reorder_percent));
  if (!distribution.empty() && distribution != "uniform" && distribution != "normal" &&
      distribution != "pareto" && distribution != "paretonormal") {
    return absl::InvalidArgumentError(absl::StrCat(
        "netem.distribution: must be uniform, normal, pareto or paretonormal, got \"",
        distribution, "\""));
  }
  if (!distribution.empty() && distribution != "uniform" && jitter == absl::ZeroDuration()) {
    return absl::InvalidArgumentError("netem.distribution: needs a jitter");
  }
  if (reorder_percent > 0 && delay == absl::ZeroDuration()) {
    return absl::InvalidArgumentError("netem.reorder_percent: needs a delay (reordering "
                                      "sends some packets early)");
  }
  if (reorder_gap > 0 && reorder_percent == 0) {
    return absl::InvalidArgumentError("netem.reorder_gap: needs reorder_percent");
  }
  if (rate_bytes_per_second != 0 &&
      (rate_bytes_per_second < 8 || rate_bytes_per_second > uint64_t{INT32_MAX})) {
    return absl::InvalidArgumentError(absl::StrCat(
        "netem.rate_bytes_per_second: must be 0 (no limit) or 8..", INT32_MAX, ", got ",
        rate_bytes_per_second));
  }
  RETURN_IF_ERROR(ParseCidrs("netem.destination_cidrs", destination_cidrs).status());
  RETURN_IF_ERROR(CheckPorts("netem.ports", ports));
  RETURN_IF_ERROR(ParseCidrs("netem.exclude_cidrs", exclude_cidrs).status());
  RETURN_IF_ERROR(CheckPorts("netem.exclude_ports", exclude_ports));
  // Filter count (see PlanFilters).
  const size_t n = exclude_cidrs.size() * 2 + exclude_ports.size() * 8 +
                   std::max<size_t>(1, destination_cidrs.size()) *
                       std::max<size_t>(1, ports.size() * 8);
  if (n > kMaxFilters) {
    return absl::InvalidArgumentError(absl::StrCat(
        "netem.destination_cidrs/ports: too many combinations (", n, " filters, at most ",
        kMaxFilters, ")"));
  }
  return absl::OkStatus();
}

absl::Status NetemAvailable() {
  TryModprobe({"sch_netem", "sch_prio", "cls_u32", "sch_tbf"});
  return RunInThrowawayNetns([]() -> absl::Status {
    ASSIGN_OR_RETURN(NlSock sock, OpenRouteSocket());
    ASSIGN_OR_RETURN(LinkInfo lo, GetLink(sock.get(), 0, "lo"));
    RETURN_IF_ERROR(AddPrio(sock.get(), lo.ifindex));
    NetemOptions o;
    o.qopt.limit = 1000;
    o.latency_ns = 1'000'000;
    RETURN_IF_ERROR(AddNetem(sock.get(), lo.ifindex, kRoot | 3, kNetemUnderPrio, o));
    RETURN_IF_ERROR(AddRateLimit(sock.get(), lo.ifindex, kNetemUnderPrio, 1'000'000, lo.mtu));
    RETURN_IF_ERROR(AddFilter(sock.get(), lo.ifindex,
                              {1, ETH_P_IP, kRoot | 3, {{0, 0, 0}}}));
    return absl::OkStatus();  // the namespace and all of it go with the thread
  });
}

absl::Status SnapshotTcTree(const std::string& interface, std::string* out) {
  ASSIGN_OR_RETURN(NlSock sock, OpenRouteSocket());
  ASSIGN_OR_RETURN(LinkInfo link, FindInterface(sock.get(), interface, "interface"));
  ASSIGN_OR_RETURN(*out, Snapshot(sock.get(), link.ifindex));
  return absl::OkStatus();
}

Netem::Netem(NetemParams params) : params_(std::move(params)) {}

Netem::~Netem() = default;

absl::Status Netem::Inject(const UndoRecorder& record) {
  ASSIGN_OR_RETURN(Plan plan, MakePlan(params_));
  ASSIGN_OR_RETURN(NlSock sock, OpenRouteSocket());
  ASSIGN_OR_RETURN(LinkInfo link, FindInterface(sock.get(), params_.interface, "netem.interface"));
  RETURN_IF_ERROR(CheckDefaultRoot(sock.get(), link.ifindex, params_.interface));
  ASSIGN_OR_RETURN(std::string snapshot, Snapshot(sock.get(), link.ifindex));
  const bool use_prio = !plan.filters.empty();
  const uint32_t netem_handle = use_prio ? kNetemUnderPrio : kRoot;

  interface_ = params_.interface;
  ifindex_ = link.ifindex;
  snapshot_ = std::move(snapshot);
  RETURN_IF_ERROR(record({{"interface", interface_},
                          {"ifindex", absl::StrCat(ifindex_)},
                          {"handle", HandleText(kRoot)},
                          {"snapshot", snapshot_}}));
  injected_ = true;
  reverted_ = false;
  absl::Cleanup undo_partial = [this] { (void)Revert(); };

  if (use_prio) RETURN_IF_ERROR(AddPrio(sock.get(), ifindex_));
  const NetemOptions options = OptionsFor(params_, QueueLimit(params_), std::move(plan.dist));
  RETURN_IF_ERROR(AddNetem(sock.get(), ifindex_, use_prio ? kNetemClass : TC_H_ROOT,
                           netem_handle, options));
  if (params_.rate_bytes_per_second > 0) {
    RETURN_IF_ERROR(AddRateLimit(sock.get(), ifindex_, netem_handle,
                                 params_.rate_bytes_per_second, link.mtu));
  }
  for (const FilterSpec& f : plan.filters) RETURN_IF_ERROR(AddFilter(sock.get(), ifindex_, f));
  std::move(undo_partial).Cancel();
  return absl::OkStatus();
}

absl::Status Netem::Revert() {
  if (!injected_) return absl::OkStatus();  // nothing was ever done
  ASSIGN_OR_RETURN(NlSock sock, OpenRouteSocket());
  auto link = GetLink(sock.get(), ifindex_, "");
  if (absl::IsNotFound(link.status())) {
    reverted_ = true;  // the interface went away, and our qdiscs with it
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(link.status());
  ASSIGN_OR_RETURN(std::vector<QdiscInfo> qdiscs, ListQdiscs(sock.get(), ifindex_));
  for (const QdiscInfo& q : qdiscs) {
    if (q.parent != TC_H_ROOT || q.handle != kRoot) continue;
    Qdisc ours = NewQdisc(ifindex_, TC_H_ROOT, kRoot, q.kind.c_str());
    if (!ours) return absl::InternalError("netlink: cannot allocate a qdisc");
    int err = rtnl_qdisc_delete(sock.get(), ours.get());
    if (err < 0 && err != -NLE_OBJ_NOTFOUND) {
      return NlError(err, absl::StrCat("deleting qdisc ", HandleText(kRoot), " on ", interface_));
    }
  }
  ASSIGN_OR_RETURN(std::string now, Snapshot(sock.get(), ifindex_));
  if (now != snapshot_) {
    return absl::InternalError(absl::StrCat(
        "after revert, the qdiscs/filters of ", interface_, " differ from before the fault:\n"
        "before:\n", snapshot_, "\nnow:\n", now));
  }
  reverted_ = true;
  return absl::OkStatus();
}

std::vector<Leftover> RemoveLeftoverNetem(const std::set<int>& keep_ifindexes) {
  auto sock = OpenRouteSocket();
  if (!sock.ok()) return {{"qdiscs", sock.status()}};
  nl_cache* raw = nullptr;
  if (int err = rtnl_qdisc_alloc_cache(sock->get(), &raw); err < 0) {
    return {{"qdiscs", NlError(err, "listing qdiscs")}};
  }
  Cache cache(raw);
  std::vector<Leftover> out;
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    rtnl_tc* tc = TC_CAST(o);
    const int ifindex = rtnl_tc_get_ifindex(tc);
    if (rtnl_tc_get_parent(tc) != TC_H_ROOT || rtnl_tc_get_handle(tc) != kRoot ||
        keep_ifindexes.contains(ifindex)) {
      continue;
    }
    const char* kind = rtnl_tc_get_kind(tc);
    auto link = GetLink(sock->get(), ifindex, "");
    const std::string name = link.ok() ? link->name : absl::StrCat("ifindex ", ifindex);
    Leftover item{absl::StrCat(name, " root ", kind ? kind : "?", " ", HandleText(kRoot)), {}};
    Qdisc ours = NewQdisc(ifindex, TC_H_ROOT, kRoot, kind ? kind : "");
    if (!ours) {
      item.removed = absl::InternalError("netlink: cannot allocate a qdisc");
    } else if (int err = rtnl_qdisc_delete(sock->get(), ours.get());
               err < 0 && err != -NLE_OBJ_NOTFOUND) {
      item.removed = NlError(err, absl::StrCat("deleting qdisc ", HandleText(kRoot), " on ", name));
    }
    out.push_back(std::move(item));
  }
  return out;
}

absl::Status Netem::Adopt(const UndoState& undo) {
  ASSIGN_OR_RETURN(interface_, UndoValue(undo, "netem", "interface"));
  ASSIGN_OR_RETURN(std::string ifindex, UndoValue(undo, "netem", "ifindex"));
  ASSIGN_OR_RETURN(std::string handle, UndoValue(undo, "netem", "handle"));
  ASSIGN_OR_RETURN(snapshot_, UndoValue(undo, "netem", "snapshot"));
  if (!absl::SimpleAtoi(ifindex, &ifindex_) || ifindex_ <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("netem undo state: bad ifindex \"", ifindex, "\""));
  }
  if (handle != HandleText(kRoot)) {
    return absl::InvalidArgumentError(
        absl::StrCat("netem undo state: handle ", handle, " is not ours (", HandleText(kRoot), ")"));
  }
  injected_ = true;
  return absl::OkStatus();
}

FaultStatus Netem::Status() const {
  FaultStatus s;
  std::vector<std::string> parts;
  if (params_.delay > absl::ZeroDuration()) {
    parts.push_back(absl::StrCat("delay ", absl::FormatDuration(params_.delay),
                                 params_.jitter > absl::ZeroDuration()
                                     ? absl::StrCat(" ± ", absl::FormatDuration(params_.jitter))
                                     : ""));
  }
  if (params_.loss_percent > 0) parts.push_back(absl::StrCat("loss ", params_.loss_percent, "%"));
  if (params_.duplicate_percent > 0) {
    parts.push_back(absl::StrCat("duplicate ", params_.duplicate_percent, "%"));
  }
  if (params_.corrupt_percent > 0) {
    parts.push_back(absl::StrCat("corrupt ", params_.corrupt_percent, "%"));
  }
  if (params_.reorder_percent > 0) {
    parts.push_back(absl::StrCat("reorder ", params_.reorder_percent, "%"));
  }
  if (params_.rate_bytes_per_second > 0) {
    parts.push_back(absl::StrCat("rate ", params_.rate_bytes_per_second, " B/s"));
  }
  std::string scope;
  if (!params_.destination_cidrs.empty()) {
    scope += absl::StrCat(" to ", absl::StrJoin(params_.destination_cidrs, ","));
  }
  if (!params_.ports.empty()) scope += absl::StrCat(" ports ", absl::StrJoin(params_.ports, ","));
  s.summary = reverted_ ? absl::StrCat("netem removed from ", interface_)
                        : absl::StrCat("netem on ", interface_.empty() ? params_.interface : interface_,
                                       scope, ": ",
                                       parts.empty() ? "no impairment" : absl::StrJoin(parts, ", "));
  s.details["interface"] = interface_.empty() ? params_.interface : interface_;
  s.details["ifindex"] = absl::StrCat(ifindex_);
  s.details["handle"] = HandleText(kRoot);
  return s;
}

}  // namespace chaos::faults
