// WatchPrefix and WatchRange: etcd's Watch stream over every key under a
// prefix, or in a key range, from a revision on: each change exactly once and in revision order, also across
// a member that is lost (the watch starts again on the next member from the
// revision after the last one delivered).
//
// Thread safety: blocks on the caller's thread; `cancel` ends it from any
// other.
#ifndef CHAOS_ETCD_WATCH_H_
#define CHAOS_ETCD_WATCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "etcd/client.h"

namespace chaos::etcd {

struct Change {
  bool deleted = false;  // else put
  KeyValue kv;           // for a delete, the key and the revision of the delete
};

// Delivers the changes to keys under `prefix` with revision >=
// `start_revision` to `on_changes` (one call per revision batch) until
// `cancel` is cancelled (CANCELLED). OUT_OF_RANGE when etcd has compacted
// the history past the revision the watch needs; UNAVAILABLE when no member
// answers. A member lost mid-watch is not an error while another answers.
[[nodiscard]] absl::Status WatchPrefix(Client* client, const std::string& prefix,
                                       int64_t start_revision, Cancellation* cancel,
                                       const std::function<void(const std::vector<Change>&)>& on_changes);
// The same for the keys in [key, range_end).
[[nodiscard]] absl::Status WatchRange(Client* client, const std::string& key,
                                      const std::string& range_end, int64_t start_revision,
                                      Cancellation* cancel,
                                      const std::function<void(const std::vector<Change>&)>& on_changes);

}  // namespace chaos::etcd

#endif  // CHAOS_ETCD_WATCH_H_
