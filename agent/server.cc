#include "agent/server.h"

#include "absl/strings/str_cat.h"
#include "rpc/limits.h"
#include "rpc/listen_policy.h"
#include "base/status_macros.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(
    AgentOptions options, const std::string& listen, const rpc::TransportOptions& transport) {
  RETURN_IF_ERROR(rpc::CheckListen(listen, transport));
  std::unique_ptr<AgentServer> s(new AgentServer());
  ASSIGN_OR_RETURN(s->agent_, Agent::Create(std::move(options)));
  const size_t recovered = s->agent_->Recover();
  if (recovered > 0) {
    spdlog::warn("recovery: reverted {} fault(s) left by an earlier run", recovered);
  }
  if (const size_t killed = s->agent_->RecoverCommands(); killed > 0) {
    spdlog::warn("recovery: killed {} process(es) left by commands of an earlier run", killed);
  }
  if (const size_t swept = s->agent_->Sweep(); swept > 0) {
    spdlog::warn("sweep: removed {} leftover(s) no ledger record named", swept);
  }
  s->agent_->Start();
  s->service_ = std::make_unique<AgentService>(s->agent_.get());
  grpc::ServerBuilder builder;
  RETURN_IF_ERROR(rpc::AddListeningPort(builder, listen, transport, &s->port_));
  s->service_->Register(builder);
  builder.SetMaxReceiveMessageSize(rpc::kAgentMaxRequestBytes);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }
  s->service_->Start(s->server_.get());
  return s;
}

AgentServer::~AgentServer() {
  // The server waits for every call to end, and a RunCommand ends when its
  // command does: kill the commands first.
  if (agent_) agent_->StopCommands("agent shutting down");
  if (service_) service_->Stop();  // shuts the server down
  if (agent_) agent_->Shutdown();
}

}  // namespace chaos::agent
