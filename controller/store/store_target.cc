#include "controller/store/store_target.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace chaos::controller {
namespace {

constexpr char kForm[] = "sqlite or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]";

bool AnyTls(const rpc::TlsFiles& f) { return !f.cert.empty() || !f.key.empty() || !f.ca.empty(); }

// Mutual TLS to etcd from the three files; errors name the --etcd-* flags.
absl::StatusOr<rpc::TransportOptions> EtcdTransport(const rpc::TlsFiles& files) {
  if (!AnyTls(files)) return rpc::TransportOptions();
  for (const auto& [flag, path] : {std::pair{"--etcd-cert", &files.cert},
                                   std::pair{"--etcd-key", &files.key},
                                   std::pair{"--etcd-ca", &files.ca}}) {
    if (path->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--etcd-cert, --etcd-key and --etcd-ca go together: ", flag, " is missing"));
    }
  }
  absl::StatusOr<rpc::TransportOptions> tls =
      rpc::TransportOptions::MutualTls(files, absl::Seconds(10));
  if (tls.ok()) return tls;
  // rpc/credentials names the daemon's own --tls-* flags.
  return absl::Status(tls.status().code(),
                      absl::StrReplaceAll(tls.status().message(), {{"--tls-", "--etcd-"}}));
}

}  // namespace

absl::StatusOr<StoreTarget> ParseStoreTarget(const StoreFlags& flags) {
  StoreTarget target;
  if (flags.store == "sqlite") {
    if (AnyTls(flags.etcd_tls)) {
      return absl::InvalidArgumentError("--etcd-cert, --etcd-key and --etcd-ca need --store etcd://...");
    }
    return target;
  }
  if (!absl::StartsWith(flags.store, "etcd://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--store \"", flags.store, "\": expected ", kForm));
  }
  const std::string rest = flags.store.substr(std::string("etcd://").size());
  const size_t slash = rest.find('/');
  target.etcd = true;
  target.client.endpoints =
      absl::StrSplit(rest.substr(0, slash), ',', absl::SkipWhitespace());
  if (target.client.endpoints.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--store \"", flags.store, "\": names no etcd member; expected ", kForm));
  }
  target.prefix = slash == std::string::npos ? "/chaos/" : rest.substr(slash);
  if (target.prefix.back() != '/') target.prefix += '/';
  absl::StatusOr<rpc::TransportOptions> transport = EtcdTransport(flags.etcd_tls);
  if (!transport.ok()) return transport.status();
  target.client.transport = *std::move(transport);
  return target;
}

}  // namespace chaos::controller
