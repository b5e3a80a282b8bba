#include "tests/rpc/test_pki.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/support/channel_arguments.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

constexpr char kOpenssl[] = "/usr/bin/openssl";

void Run(const std::vector<std::string>& argv) {
  CommandResult r = RunCommand(argv, 120);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const std::string& a : argv) cmd += a + " ";
    throw std::runtime_error(cmd + "exited " + std::to_string(r.exit_code) + ": " + r.output);
  }
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// An `openssl ca` configuration issuing from dir/ca.crt with extensions
// section "leaf".
std::string CaConfig(const std::string& dir, const std::string& san) {
  std::string c = "[ca]\ndefault_ca = tca\n[tca]\ndatabase = " + dir + "/ca-db/index.txt\n" +
                  "new_certs_dir = " + dir + "/ca-db\nserial = " + dir + "/ca-db/serial\n" +
                  "default_md = sha256\npolicy = pol\nunique_subject = no\n" +
                  "[pol]\ncommonName = supplied\n" +
                  "[leaf]\nbasicConstraints = critical, CA:FALSE\n" +
                  "keyUsage = critical, digitalSignature\n" +
                  "extendedKeyUsage = serverAuth, clientAuth\n";
  if (!san.empty()) c += "subjectAltName = " + san + "\n";
  c += "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n";
  return c;
}

}  // namespace

void RunPkiScript(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/bash",
                                   std::string(CHAOS_SOURCE_DIR) + "/deploy/pki/make-dev-pki.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  Run(argv);
}

TestPki::TestPki(const std::string& dir, const std::vector<std::string>& agents) : dir_(dir) {
  std::vector<std::string> args = {dir};
  args.insert(args.end(), agents.begin(), agents.end());
  RunPkiScript(args);
}

rpc::TlsFiles TestPki::Controller() const {
  return {dir_ + "/controller.crt", dir_ + "/controller.key", ca()};
}
rpc::TlsFiles TestPki::Agent(const std::string& name) const {
  return {dir_ + "/agent-" + name + ".crt", dir_ + "/agent-" + name + ".key", ca()};
}
rpc::TlsFiles TestPki::Operator(const std::string& name) const {
  return {dir_ + "/operator-" + name + ".crt", dir_ + "/operator-" + name + ".key", ca()};
}

rpc::TlsFiles TestPki::Issue(const std::string& name, const std::string& cn,
                             const std::string& san, bool expired) const {
  const std::string db = dir_ + "/ca-db";
  std::filesystem::create_directories(db);
  if (!std::filesystem::exists(db + "/index.txt")) WriteFile(db + "/index.txt", "");
  const std::string cnf = dir_ + "/" + name + ".cnf";
  WriteFile(cnf, CaConfig(dir_, san));
  rpc::TlsFiles f{dir_ + "/" + name + ".crt", dir_ + "/" + name + ".key", ca()};
  const std::string csr = dir_ + "/" + name + ".csr";
  Run({kOpenssl, "req", "-new", "-config", cnf, "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", f.key, "-subj", "/CN=" + cn, "-out", csr});
  std::vector<std::string> sign = {kOpenssl, "ca", "-batch", "-config", cnf, "-extensions",
                                   "leaf", "-cert", ca(), "-keyfile", dir_ + "/ca.key",
                                   "-rand_serial", "-notext", "-in", csr, "-out", f.cert};
  if (expired) {
    sign.insert(sign.end(), {"-startdate", "20200101000000Z", "-enddate", "20200102000000Z"});
  } else {
    sign.insert(sign.end(), {"-days", "2"});
  }
  Run(sign);
  return f;
}

std::shared_ptr<grpc::ChannelCredentials> RawTlsCredentials(const std::string& ca,
                                                            const std::string& cert,
                                                            const std::string& key) {
  using namespace grpc::experimental;
  std::vector<IdentityKeyCertPair> identity;
  if (!cert.empty()) identity.push_back({ReadFileOrEmpty(key), ReadFileOrEmpty(cert)});
  auto provider = std::make_shared<StaticDataCertificateProvider>(ReadFileOrEmpty(ca), identity);
  TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  if (!identity.empty()) options.watch_identity_key_cert_pairs();
  options.set_certificate_verifier(std::make_shared<HostNameCertificateVerifier>());
  return TlsCredentials(options);
}

std::shared_ptr<grpc::Channel> FreshChannel(const std::string& address,
                                            std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, creds, args);
}

}  // namespace chaos::testing
