#include "controller/cli/agent_commands.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "rpc/credentials.h"
#include "google/protobuf/util/json_util.h"
#include "rpc/status.h"

namespace chaos::controller {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(10);

int Fail(const std::string& agent, const grpc::Status& s) {
  std::fprintf(stderr, "chaosctl: agent %s: %s\n", agent.c_str(), s.error_message().c_str());
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                 s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
             ? 4
             : 1;
}

const char* StateName(chaos::v1::FaultState s) {
  switch (s) {
    case chaos::v1::FAULT_STATE_INJECTING: return "injecting";
    case chaos::v1::FAULT_STATE_ACTIVE: return "active";
    case chaos::v1::FAULT_STATE_REVERTING: return "reverting";
    case chaos::v1::FAULT_STATE_REVERTED: return "reverted";
    case chaos::v1::FAULT_STATE_FAILED: return "failed";
    case chaos::v1::FAULT_STATE_SCHEDULED: return "scheduled";
    default: return "?";
  }
}

// A failed fault says whether the agent still retries its revert.
std::string StateText(const chaos::v1::FaultStatus& f) {
  if (f.abandoned()) return "abandoned";
  if (f.state_unknown()) return "unknown";
  if (f.next_retry_unix_ms() > 0) return "retrying";
  return StateName(f.state());
}

void PrintFault(const chaos::v1::FaultStatus& f) {
  std::string retry;
  if (f.next_retry_unix_ms() > 0) {
    retry = absl::StrCat(" [revert failed ", f.revert_attempts(), " time(s); next retry ",
                         absl::FormatTime(absl::FromUnixMillis(f.next_retry_unix_ms())), "]");
  }
  std::printf("%-40s %-10s %s%s%s%s\n", f.spec().fault_id().c_str(), StateText(f).c_str(),
              f.summary().c_str(), f.reason().empty() ? "" : " -- ", f.reason().c_str(),
              retry.c_str());
}

}  // namespace

int RevertCommand(const AgentCommandArgs& args) {
  auto stub = chaos::v1::Agent::NewStub(rpc::OpenChannel(args.agent, args.transport));
  int rc = 0;
  for (const std::string& id : args.ids) {
    chaos::v1::RevertRequest req;
    req.set_fault_id(id);
    req.set_caller(args.abandon ? "chaosctl revert --abandon" : "chaosctl revert");
    req.set_abandon(args.abandon);
    chaos::v1::RevertResponse resp;
    grpc::Status s = stub->Revert(rpc::ContextWithTimeout(kCallTimeout).get(), req, &resp);
    if (!s.ok()) {
      rc = std::max(rc, Fail(args.agent, s));
      continue;
    }
    PrintFault(resp.status());
  }
  return rc;
}

int FaultsCommand(const AgentCommandArgs& args) {
  auto stub = chaos::v1::Agent::NewStub(rpc::OpenChannel(args.agent, args.transport));
  chaos::v1::ListFaultsRequest req;
  req.set_experiment_id(args.experiment);
  req.set_include_ended(args.all);
  chaos::v1::ListFaultsResponse resp;
  grpc::Status s = stub->ListFaults(rpc::ContextWithTimeout(kCallTimeout).get(), req, &resp);
  if (!s.ok()) return Fail(args.agent, s);
  for (const auto& f : resp.faults()) PrintFault(f);
  if (resp.faults().empty()) std::printf("no %sfaults\n", args.all ? "" : "active ");
  return 0;
}

int DescribeCommand(const AgentCommandArgs& args) {
  auto stub = chaos::v1::Agent::NewStub(rpc::OpenChannel(args.agent, args.transport));
  chaos::v1::DescribeResponse resp;
  grpc::Status s = stub->Describe(rpc::ContextWithTimeout(kCallTimeout).get(), {}, &resp);
  if (!s.ok()) return Fail(args.agent, s);
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(resp, &json, opts);
  std::fputs(json.c_str(), stdout);
  return 0;
}

int HaltCommand(const AgentCommandArgs& args) {
  auto stub = chaos::v1::Agent::NewStub(rpc::OpenChannel(args.agent, args.transport));
  chaos::v1::HaltRequest req;
  req.set_caller("chaosctl halt");
  req.set_reason(args.reason);
  chaos::v1::HaltResponse resp;
  grpc::Status s = stub->Halt(rpc::ContextWithTimeout(kCallTimeout).get(), req, &resp);
  if (!s.ok()) return Fail(args.agent, s);
  std::printf("agent %s halted; %d fault(s) reverted\n", args.agent.c_str(),
              resp.reverted_size());
  for (const auto& f : resp.reverted()) PrintFault(f);
  for (const std::string& id : resp.stopped_commands()) {
    std::printf("  command %s killed\n", id.c_str());
  }
  return 0;
}

int ResumeCommand(const AgentCommandArgs& args) {
  auto stub = chaos::v1::Agent::NewStub(rpc::OpenChannel(args.agent, args.transport));
  chaos::v1::ResumeResponse resp;
  grpc::Status s = stub->Resume(rpc::ContextWithTimeout(kCallTimeout).get(), {}, &resp);
  if (!s.ok()) return Fail(args.agent, s);
  std::printf("agent %s accepts injects again\n", args.agent.c_str());
  return 0;
}

}  // namespace chaos::controller
