// EtcdCluster: a real etcd cluster of N members on loopback (Debian's
// etcd-server), for the tests of the etcd client and the controller's etcd
// store. Each member has its own client and peer ports (probed free) and
// data directory; members can be killed and started again. Everything is
// killed and removed on destruction.
#ifndef CHAOS_TESTS_ETCD_CLUSTER_H_
#define CHAOS_TESTS_ETCD_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rpc/credentials.h"
#include "tests/test_util.h"

namespace chaos::testing {

class EtcdCluster {
 public:
  // Starts `members` members and waits until each answers (throws with the
  // logs when one does not within a minute). When another process took a
  // probed port first, the cluster starts anew on other ports (3 times at
  // most). With `tls` (a certificate for
  // 127.0.0.1, its key and the CA), clients must speak TLS and present a
  // certificate of that CA; members speak plaintext among themselves.
  explicit EtcdCluster(int members = 3, std::optional<rpc::TlsFiles> tls = std::nullopt);
  ~EtcdCluster();

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of member i's client URL.
  std::string endpoint(int i) const;
  std::vector<std::string> endpoints() const;
  // SIGKILL, like a machine lost.
  void Kill(int i);
  // Starts member i again on its data directory (it rejoins the cluster).
  void Start(int i);
  // SIGSTOP / SIGCONT.
  void Pause(int i);
  void Resume(int i);
  std::string Log(int i) const;
  // Compacts the cluster's history up to `revision`, through member i
  // (etcdctl compact): a watch from an older revision is then refused.
  // Throws with etcdctl's output when it fails.
  void Compact(int i, int64_t revision);

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::unique_ptr<Subprocess> process;
  };
  // Probes ports for `members` members, starts them, and waits until each
  // serves.
  void Launch(int members);
  void StopAll();
  std::vector<std::string> Argv(int i) const;
  // etcdctl's argv up to its command, for member i.
  std::vector<std::string> Etcdctl(int i) const;
  void WaitServing(int i);

  std::string ClientUrl(int i) const;

  TempDir dir_;
  std::optional<rpc::TlsFiles> tls_;
  std::string initial_cluster_;
  std::string token_;
  std::vector<Member> members_;
};

// One cluster for every test of the process, of `members` members (the
// first call's), started on first use. It is killed and its data removed
// when the process exits: a cluster never destroyed would leave its data
// directories (about 120 MB a member) behind after every test process.
EtcdCluster& SharedEtcdCluster(int members);

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_ETCD_CLUSTER_H_
