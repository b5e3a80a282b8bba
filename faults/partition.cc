#include "faults/partition.h"

#include <nftables/libnftables.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "faults/net_scope.h"
#include "faults/netlink_util.h"
#include "base/ids.h"
#include "base/status_macros.h"

namespace chaos::faults {
namespace {

struct NftDeleter {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Nft = std::unique_ptr<nft_ctx, NftDeleter>;

struct NftResult {
  int rc = 0;
  std::string error;
  std::string output;
};

// Runs one nftables script (one transaction) with buffered output.
absl::StatusOr<NftResult> RunNft(const std::string& script) {
  // libnftables exit()s the process when it cannot open its netlink socket
  // (a kernel without nfnetlink): find that out first.
  const int probe = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (probe < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the kernel has no nfnetlink/nf_tables (module nfnetlink, nf_tables): ",
        std::strerror(errno)));
  }
  close(probe);
  Nft ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return absl::ResourceExhaustedError("nftables: cannot create a context");
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  NftResult r;
  r.rc = nft_run_cmd_from_buffer(ctx.get(), script.c_str());
  const char* err = nft_ctx_get_error_buffer(ctx.get());
  r.error = err ? err : "";
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  r.output = out ? out : "";
  while (!r.error.empty() && (r.error.back() == '\n' || r.error.back() == ' ')) r.error.pop_back();
  return r;
}

std::string Set(const std::vector<std::string>& items) {
  return absl::StrCat("{ ", absl::StrJoin(items, ", "), " }");
}

bool LooksUnsupported(const std::string& error) {
  return absl::StrContains(error, "Operation not supported") ||
         absl::StrContains(error, "Protocol not supported") ||
         absl::StrContains(error, "Address family not supported") ||
         absl::StrContains(error, "No such file or directory");
}

constexpr char kMissing[] =
    "the kernel has no nf_tables support for the inet family (modules nf_tables, "
    "nft_chain_filter/CONFIG_NF_TABLES_INET)";

// Table names PartitionTableName makes: letters, digits and _.
constexpr base::IdRule kTableNameRule{256, "_"};

}  // namespace

std::string PartitionTableName(const std::string& fault_id) {
  std::string out = "chaos_";
  for (char c : fault_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out.push_back(ok ? c : '_');
  }
  return out;
}

absl::Status PartitionParams::Validate() const {
  RETURN_IF_ERROR(base::ValidateId("partition.fault_id", fault_id));
  RETURN_IF_ERROR(ParseCidrs("partition.cidrs", cidrs).status());
  RETURN_IF_ERROR(CheckPorts("partition.ports", ports));
  RETURN_IF_ERROR(ParseCidrs("partition.exclude_cidrs", exclude_cidrs).status());
  RETURN_IF_ERROR(CheckPorts("partition.exclude_ports", exclude_ports));
  if (cidrs.empty() && ports.empty()) {
    return absl::InvalidArgumentError(
        "partition.cidrs/ports: set at least one (an unscoped partition would cut every "
        "connection)");
  }
  return absl::OkStatus();
}

absl::Status PartitionAvailable() {
  TryModprobe({"nf_tables", "nft_chain_filter"});
  return RunInThrowawayNetns([]() -> absl::Status {
    ASSIGN_OR_RETURN(NftResult r, RunNft(
        "add table inet chaos_probe\n"
        "add chain inet chaos_probe c { type filter hook input priority 0 ; policy accept ; }\n"
        "add rule inet chaos_probe c meta l4proto { tcp, udp } th dport { 9 } drop\n"));
    if (r.rc != 0) return absl::FailedPreconditionError(absl::StrCat(kMissing, ": ", r.error));
    return absl::OkStatus();
  });
}

Partition::Partition(PartitionParams params) : params_(std::move(params)) {}

Partition::~Partition() = default;

std::string Partition::Script() const {
  const std::string table = PartitionTableName(params_.fault_id);
  auto cidrs = ParseCidrs("partition.cidrs", params_.cidrs);
  auto excl = ParseCidrs("partition.exclude_cidrs", params_.exclude_cidrs);
  if (!cidrs.ok() || !excl.ok()) return "";
  auto by_family = [](const std::vector<Cidr>& cs, int family) {
    std::vector<std::string> out;
    for (const Cidr& c : cs) {
      if (c.family == family) out.push_back(c.text);
    }
    return out;
  };
  std::vector<std::string> ports, excl_ports;
  for (uint32_t p : params_.ports) ports.push_back(absl::StrCat(p));
  for (uint32_t p : params_.exclude_ports) excl_ports.push_back(absl::StrCat(p));

  std::string s = absl::StrCat("create table inet ", table, "\n");
  auto chain = [&](const char* name, const char* hook, const char* addr_dir) {
    const std::string rule = absl::StrCat("add rule inet ", table, " ", name, " ");
    s += absl::StrCat("add chain inet ", table, " ", name, " { type filter hook ", hook,
                      " priority -10 ; policy accept ; }\n");
    // The control channel first.
    for (int fam : {AF_INET, AF_INET6}) {
      const char* kw = fam == AF_INET ? "ip" : "ip6";
      auto e = by_family(*excl, fam);
      if (e.empty()) continue;
      s += absl::StrCat(rule, kw, " saddr ", Set(e), " accept\n");
      s += absl::StrCat(rule, kw, " daddr ", Set(e), " accept\n");
    }
    if (!excl_ports.empty()) {
      for (const char* dir : {"sport", "dport"}) {
        s += absl::StrCat(rule, "meta l4proto { tcp, udp } th ", dir, " ", Set(excl_ports),
                          " accept\n");
      }
    }
    // Then what to drop.
    std::vector<std::string> addr_matches;
    for (int fam : {AF_INET, AF_INET6}) {
      auto c = by_family(*cidrs, fam);
      if (!c.empty()) {
        addr_matches.push_back(
            absl::StrCat(fam == AF_INET ? "ip " : "ip6 ", addr_dir, " ", Set(c), " "));
      }
    }
    if (addr_matches.empty()) addr_matches.push_back("");
    for (const std::string& a : addr_matches) {
      if (ports.empty()) {
        s += absl::StrCat(rule, a, "drop\n");
        continue;
      }
      for (const char* dir : {"sport", "dport"}) {
        s += absl::StrCat(rule, a, "meta l4proto { tcp, udp } th ", dir, " ", Set(ports),
                          " drop\n");
      }
    }
  };
  if (params_.direction != PartitionDirection::kEgress) chain("input", "input", "saddr");
  if (params_.direction != PartitionDirection::kIngress) chain("output", "output", "daddr");
  return s;
}

absl::Status Partition::Inject(const UndoRecorder& record) {
  RETURN_IF_ERROR(params_.Validate());
  const std::string table = PartitionTableName(params_.fault_id);
  const std::string script = Script();
  // Refuse a table that exists (another fault with this id, or a sanitized
  // clash), before recording it as ours.
  ASSIGN_OR_RETURN(NftResult exists, RunNft(absl::StrCat("list table inet ", table, "\n")));
  if (exists.rc == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition: nftables table inet ", table, " exists already; revert that fault first"));
  }
  RETURN_IF_ERROR(record({{"family", "inet"}, {"table", table}}));
  table_ = table;
  reverted_ = false;
  ASSIGN_OR_RETURN(NftResult r, RunNft(script));
  if (r.rc != 0) {
    // One transaction: nothing of it is left, so there is nothing to undo.
    // Do not delete by name here: on "File exists" the table is someone
    // else's (created between our check and our transaction).
    table_.clear();
    reverted_ = true;
    if (absl::StrContains(r.error, "File exists")) {
      return absl::FailedPreconditionError(
          absl::StrCat("partition: nftables table inet ", table, " exists already"));
    }
    if (LooksUnsupported(r.error)) {
      return absl::FailedPreconditionError(absl::StrCat("partition: ", kMissing, ": ", r.error));
    }
    return absl::InternalError(absl::StrCat("partition: nftables rejected the table: ", r.error));
  }
  return absl::OkStatus();
}

absl::Status Partition::Revert() {
  if (table_.empty()) return absl::OkStatus();  // never recorded anything
  ASSIGN_OR_RETURN(NftResult r, RunNft(absl::StrCat("delete table inet ", table_, "\n")));
  if (r.rc != 0 && !absl::StrContains(r.error, "No such file or directory")) {
    return absl::InternalError(
        absl::StrCat("partition: deleting nftables table inet ", table_, ": ", r.error));
  }
  reverted_ = true;
  return absl::OkStatus();
}

std::vector<Leftover> RemoveLeftoverPartitions(const std::set<std::string>& keep) {
  auto listed = RunNft("list tables inet\n");
  if (absl::IsFailedPrecondition(listed.status())) return {};  // no nf_tables
  if (!listed.ok()) return {{"nftables tables", listed.status()}};
  if (listed->rc != 0) {
    if (LooksUnsupported(listed->error)) return {};
    return {{"nftables tables",
             absl::InternalError(absl::StrCat("listing nftables tables: ", listed->error))}};
  }
  std::vector<Leftover> out;
  for (absl::string_view line : absl::StrSplit(listed->output, '\n', absl::SkipEmpty())) {
    // Lines read "table inet NAME".
    if (!absl::ConsumePrefix(&line, "table inet ")) continue;
    const std::string table(absl::StripAsciiWhitespace(line));
    if (!absl::StartsWith(table, "chaos_") || !base::IsValidId(table, kTableNameRule) ||
        keep.contains(table)) {
      continue;
    }
    Leftover item{absl::StrCat("inet ", table), {}};
    auto r = RunNft(absl::StrCat("delete table inet ", table, "\n"));
    if (!r.ok()) {
      item.removed = r.status();
    } else if (r->rc != 0 && !absl::StrContains(r->error, "No such file or directory")) {
      item.removed = absl::InternalError(
          absl::StrCat("deleting nftables table inet ", table, ": ", r->error));
    }
    out.push_back(std::move(item));
  }
  return out;
}

absl::Status Partition::Adopt(const UndoState& undo) {
  ASSIGN_OR_RETURN(std::string table, UndoValue(undo, "partition", "table"));
  // Only a table PartitionTableName could have made: chaos_ and [A-Za-z0-9_].
  if (!absl::StartsWith(table, "chaos_") || !base::IsValidId(table, kTableNameRule)) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition undo state: table \"", table, "\" is not one of ours"));
  }
  auto fam = undo.find("family");
  if (fam != undo.end() && fam->second != "inet") {
    return absl::InvalidArgumentError(
        absl::StrCat("partition undo state: family ", fam->second, " is not ours"));
  }
  table_ = std::move(table);
  return absl::OkStatus();
}

FaultStatus Partition::Status() const {
  FaultStatus s;
  const char* dir = params_.direction == PartitionDirection::kIngress  ? "incoming"
                    : params_.direction == PartitionDirection::kEgress ? "outgoing"
                                                                       : "all";
  std::string what;
  if (!params_.cidrs.empty()) what += absl::StrCat(" cidrs ", absl::StrJoin(params_.cidrs, ","));
  if (!params_.ports.empty()) what += absl::StrCat(" ports ", absl::StrJoin(params_.ports, ","));
  s.summary = reverted_ ? absl::StrCat("nftables table ", table_, " removed")
                        : absl::StrCat("dropping ", dir, " traffic for", what, " (nftables table inet ",
                                       PartitionTableName(params_.fault_id), ")");
  s.details["table"] = PartitionTableName(params_.fault_id);
  s.details["direction"] = dir;
  return s;
}

}  // namespace chaos::faults
