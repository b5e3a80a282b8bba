// Certificates made at test time with openssl (never committed), and gRPC
// TLS clients built from raw PEM files: a test client may present what
// rpc::CheckTlsFiles would refuse to load (an expired certificate, one
// from another CA, none at all), so the server's handshake is what is
// tested.
#ifndef CHAOS_TESTS_RPC_TEST_PKI_H_
#define CHAOS_TESTS_RPC_TEST_PKI_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "rpc/credentials.h"

namespace chaos::testing {

// A development PKI in `dir`, made by deploy/pki/make-dev-pki.sh: the CA,
// the controller, agents `agents` and the operator "admin". Throws when
// the script fails.
class TestPki {
 public:
  explicit TestPki(const std::string& dir, const std::vector<std::string>& agents = {"a1"});

  const std::string& dir() const { return dir_; }
  std::string ca() const { return dir_ + "/ca.crt"; }
  rpc::TlsFiles Controller() const;
  rpc::TlsFiles Agent(const std::string& name) const;
  rpc::TlsFiles Operator(const std::string& name = "admin") const;

  // A leaf signed by this CA, "name.crt"/"name.key" in dir(), with subject
  // CN `cn` and `san` ("URI:...,DNS:..."; empty: no SAN). `expired`: valid
  // in 2020 only. Throws when openssl fails.
  rpc::TlsFiles Issue(const std::string& name, const std::string& cn, const std::string& san,
                      bool expired = false) const;

 private:
  std::string dir_;
};

// Runs deploy/pki/make-dev-pki.sh with `args`; throws unless it exits 0.
void RunPkiScript(const std::vector<std::string>& args);

// TLS channel credentials from PEM files as they are. `cert`/`key` empty:
// no client certificate. The server is verified against `ca` and the
// host name dialled.
std::shared_ptr<grpc::ChannelCredentials> RawTlsCredentials(const std::string& ca,
                                                            const std::string& cert,
                                                            const std::string& key);
inline std::shared_ptr<grpc::ChannelCredentials> RawTlsCredentials(const rpc::TlsFiles& f) {
  return RawTlsCredentials(f.ca, f.cert, f.key);
}

// A channel with a connection of its own (no subchannel shared with other
// channels), so each one makes a fresh handshake.
std::shared_ptr<grpc::Channel> FreshChannel(const std::string& address,
                                            std::shared_ptr<grpc::ChannelCredentials> creds);

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_RPC_TEST_PKI_H_
