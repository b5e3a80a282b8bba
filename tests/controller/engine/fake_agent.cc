#include "tests/controller/engine/fake_agent.h"

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "proto/duration.h"

namespace chaos::testing {

FakeAgent::FakeAgent(Mode mode, int port) : mode_(mode) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) throw std::runtime_error("fake agent: cannot listen");
}

FakeAgent::~FakeAgent() {
  Release();
  server_->Shutdown(std::chrono::system_clock::now());
}

std::string FakeAgent::address() const { return absl::StrCat("127.0.0.1:", port_); }

void FakeAgent::Release() {
  absl::MutexLock lock(&mu_);
  released_ = true;
}

int FakeAgent::injects_received() {
  absl::MutexLock lock(&mu_);
  return injects_;
}

std::vector<std::string> FakeAgent::commands_received() {
  absl::MutexLock lock(&mu_);
  return commands_;
}

grpc::Status FakeAgent::RunCommand(grpc::ServerContext*, const chaos::v1::RunCommandRequest* req,
                                   chaos::v1::RunCommandResponse* resp) {
  absl::MutexLock lock(&mu_);
  commands_.push_back(absl::StrJoin(req->argv(), " "));
  if (mode_ == Mode::kError) return grpc::Status(grpc::StatusCode::INTERNAL, "fake agent: no");
  resp->set_exit_code(0);
  return grpc::Status::OK;
}

grpc::Status FakeAgent::Describe(grpc::ServerContext*, const chaos::v1::DescribeRequest*,
                                 chaos::v1::DescribeResponse* resp) {
  resp->set_hostname(mode_ == Mode::kSlow ? "fake-slow" : "fake-erroring");
  resp->set_agent_version("fake");
  // Every kind of the oneof, available.
  const auto* kind = chaos::v1::FaultSpec::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < kind->field_count(); ++i) {
    chaos::v1::FaultCapability* cap = resp->add_capabilities();
    cap->set_kind(kind->field(i)->name());
    cap->set_available(true);
  }
  return grpc::Status::OK;
}

grpc::Status FakeAgent::Inject(grpc::ServerContext*, const chaos::v1::InjectRequest* req,
                               chaos::v1::InjectResponse* resp) {
  const absl::Time received = absl::Now();
  absl::MutexLock lock(&mu_);
  ++injects_;
  mu_.Await(absl::Condition(&released_));
  if (mode_ == Mode::kError) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "fake agent: the disk is on fire");
  }
  active_.insert(req->spec().fault_id());
  chaos::v1::FaultStatus* st = resp->mutable_status();
  *st->mutable_spec() = req->spec();
  st->set_state(chaos::v1::FAULT_STATE_ACTIVE);
  st->set_summary("nothing (fake agent)");
  st->set_injected_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  st->set_expires_at_unix_ms(absl::ToUnixMillis(received + FromProto(req->ends_in())));
  return grpc::Status::OK;
}

grpc::Status FakeAgent::Revert(grpc::ServerContext*, const chaos::v1::RevertRequest* req,
                               chaos::v1::RevertResponse* resp) {
  absl::MutexLock lock(&mu_);
  if (active_.erase(req->fault_id()) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "fault_id: unknown to the fake agent");
  }
  resp->mutable_status()->mutable_spec()->set_fault_id(req->fault_id());
  resp->mutable_status()->set_state(chaos::v1::FAULT_STATE_REVERTED);
  resp->mutable_status()->set_reason("reverted by caller");
  return grpc::Status::OK;
}

grpc::Status FakeAgent::RevertExperiment(grpc::ServerContext*,
                                         const chaos::v1::RevertExperimentRequest*,
                                         chaos::v1::RevertExperimentResponse*) {
  absl::MutexLock lock(&mu_);
  active_.clear();
  return grpc::Status::OK;
}

grpc::Status FakeAgent::ListFaults(grpc::ServerContext*, const chaos::v1::ListFaultsRequest*,
                                   chaos::v1::ListFaultsResponse* resp) {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : active_) {
    chaos::v1::FaultStatus* st = resp->add_faults();
    st->mutable_spec()->set_fault_id(id);
    st->set_state(chaos::v1::FAULT_STATE_ACTIVE);
  }
  return grpc::Status::OK;
}

grpc::Status FakeAgent::KeepAlive(grpc::ServerContext*, const chaos::v1::KeepAliveRequest*,
                                  chaos::v1::KeepAliveResponse* resp) {
  absl::MutexLock lock(&mu_);
  if (active_.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no active fault");
  resp->set_active_faults(static_cast<uint32_t>(active_.size()));
  return grpc::Status::OK;
}

}  // namespace chaos::testing
