#include "tests/etcd_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace chaos::testing {

EtcdCluster& SharedEtcdCluster(int members) {
  static std::unique_ptr<EtcdCluster> cluster;  // destroyed at exit
  if (cluster == nullptr) cluster = std::make_unique<EtcdCluster>(members);
  return *cluster;
}

EtcdCluster::EtcdCluster(int members, std::optional<rpc::TlsFiles> tls) : tls_(std::move(tls)) {
  // A probed port can still be taken before etcd binds it, by a server of
  // another test process that probed the same one; the cluster then starts
  // again, anew, on other ports.
  for (int attempt = 1;; ++attempt) {
    try {
      Launch(members);
      return;
    } catch (const std::runtime_error& e) {
      if (attempt == 3 || !absl::StrContains(e.what(), "address already in use")) throw;
      StopAll();
      for (const Member& m : members_) {
        std::filesystem::remove_all(dir_.path() + "/" + m.name);
        std::filesystem::remove(dir_.path() + "/" + m.name + ".log");
      }
      members_.clear();
    }
  }
}

EtcdCluster::~EtcdCluster() { StopAll(); }

void EtcdCluster::Launch(int members) {
  token_ = absl::StrCat("chaos-test-", getpid(), "-", FreeLoopbackPort());
  std::vector<std::string> peers;
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = absl::StrCat("m", i);
    m.client_port = FreeLoopbackPort();
    m.peer_port = FreeLoopbackPort();
    peers.push_back(absl::StrCat(m.name, "=http://127.0.0.1:", m.peer_port));
    members_.push_back(std::move(m));
  }
  initial_cluster_ = absl::StrJoin(peers, ",");
  for (int i = 0; i < members; ++i) Start(i);
  for (int i = 0; i < members; ++i) WaitServing(i);
}

void EtcdCluster::StopAll() {
  for (Member& m : members_) {
    if (m.process != nullptr) {
      m.process->Signal(SIGCONT);
      m.process.reset();  // SIGKILL and reap
    }
  }
}

std::vector<std::string> EtcdCluster::Argv(int i) const {
  const Member& m = members_[i];
  const std::string client = ClientUrl(i);
  const std::string peer = absl::StrCat("http://127.0.0.1:", m.peer_port);
  // etcd's default heartbeat and election timeout (100 ms, 1 s): a lost
  // leader is replaced within a few seconds, and a loaded machine (a
  // parallel build) does not make the members elect a new one by mistake.
  // setpriv: a member dies with the test process, also when a test crashes.
  std::vector<std::string> argv = {"/usr/bin/setpriv", "--pdeathsig", "KILL", "/usr/bin/etcd", "--name", m.name, "--data-dir", dir_.path() + "/" + m.name,
          "--listen-client-urls", client, "--advertise-client-urls", client,
          "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
          "--initial-cluster", initial_cluster_, "--initial-cluster-token", token_,
          "--initial-cluster-state", "new", "--heartbeat-interval", "100",
          "--election-timeout", "1000", "--log-level", "warn", "--logger", "zap"};
  if (tls_.has_value()) {
    argv.insert(argv.end(), {"--cert-file", tls_->cert, "--key-file", tls_->key,
                             "--trusted-ca-file", tls_->ca, "--client-cert-auth"});
  }
  return argv;
}

std::string EtcdCluster::ClientUrl(int i) const {
  return absl::StrCat(tls_.has_value() ? "https" : "http", "://127.0.0.1:",
                      members_[i].client_port);
}

std::vector<std::string> EtcdCluster::Etcdctl(int i) const {
  std::vector<std::string> argv = {"/usr/bin/etcdctl", "--endpoints", ClientUrl(i),
                                   "--command-timeout=2s"};
  if (tls_.has_value()) {
    // The member's own certificate serves as a client's too.
    argv.insert(argv.end(), {"--cacert", tls_->ca, "--cert", tls_->cert, "--key", tls_->key});
  }
  return argv;
}

void EtcdCluster::Compact(int i, int64_t revision) {
  std::vector<std::string> argv = Etcdctl(i);
  argv.insert(argv.end(), {"compact", absl::StrCat(revision)});
  CommandResult r = RunCommand(argv, 30);
  if (r.exit_code != 0) {
    throw std::runtime_error(absl::StrCat("etcdctl compact ", revision, ": ", r.output));
  }
}

void EtcdCluster::WaitServing(int i) {
  std::vector<std::string> argv = Etcdctl(i);
  argv.insert(argv.end(), {"endpoint", "health"});
  for (int tries = 0; tries < 600; ++tries) {
    CommandResult r = RunCommand(argv, 10);
    if (r.exit_code == 0) return;
    // A member that exited (its port taken, say) never lets the cluster
    // serve: say so now, with its log.
    for (int j = 0; j < size(); ++j) {
      if (!members_[j].process->running()) {
        throw std::runtime_error(absl::StrCat("etcd member ", members_[j].name,
                                              " exited: ", Log(j)));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error(absl::StrCat("etcd member ", members_[i].name,
                                        " does not serve: ", Log(i)));
}

std::string EtcdCluster::endpoint(int i) const {
  return absl::StrCat("127.0.0.1:", members_[i].client_port);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
  return out;
}

void EtcdCluster::Kill(int i) {
  members_[i].process->Signal(SIGCONT);
  members_[i].process.reset();
}

void EtcdCluster::Start(int i) {
  members_[i].process = std::make_unique<Subprocess>(Argv(i), dir_.path() + "/" +
                                                                  members_[i].name + ".log");
}

void EtcdCluster::Pause(int i) { members_[i].process->Signal(SIGSTOP); }
void EtcdCluster::Resume(int i) { members_[i].process->Signal(SIGCONT); }

std::string EtcdCluster::Log(int i) const {
  return ReadFileOrEmpty(dir_.path() + "/" + members_[i].name + ".log");
}

}  // namespace chaos::testing
