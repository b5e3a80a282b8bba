// The controller's --store: where its history and schedules live.
//   sqlite (the default)   STATE_DIR/history.db, this controller's alone;
//   etcd://HOST:PORT[,HOST:PORT...][/PREFIX]
//                          an etcd cluster shared by every controller that
//                          names it, under PREFIX (default /chaos/); one of
//                          them leads (leadership.h). TLS to etcd with
//                          --etcd-ca, --etcd-cert and --etcd-key, all three
//                          or none.
// Errors are INVALID_ARGUMENT naming the flag; a TLS file that cannot be
// used is the error of rpc::CheckTlsFiles, naming the --etcd-* flag.
#ifndef CHAOS_CONTROLLER_STORE_STORE_TARGET_H_
#define CHAOS_CONTROLLER_STORE_STORE_TARGET_H_

#include <string>

#include "absl/status/statusor.h"
#include "etcd/client.h"
#include "rpc/credentials.h"

namespace chaos::controller {

struct StoreFlags {
  std::string store = "sqlite";
  rpc::TlsFiles etcd_tls;  // --etcd-cert, --etcd-key, --etcd-ca
};

struct StoreTarget {
  bool etcd = false;
  etcd::ClientOptions client;  // endpoints and transport, when etcd
  std::string prefix;          // ends in '/', when etcd
};

[[nodiscard]] absl::StatusOr<StoreTarget> ParseStoreTarget(const StoreFlags& flags);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_STORE_STORE_TARGET_H_
