#include "controller/dashboard/run_feed.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace chaos::controller {
namespace {

// How often the agents' last-seen times are sent when nothing changed.
constexpr absl::Duration kAgentsEvery = absl::Seconds(5);
// A comment after this long without a write.
constexpr absl::Duration kKeepAlive = absl::Seconds(15);

}  // namespace

std::string ServerSentEvent(const std::string& name, const std::string& data) {
  return absl::StrCat("event: ", name, "\ndata: ", data, "\n\n");
}

std::string ProtoJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, opts);
  return json;
}

RunFeed::RunFeed(RunManager* runs, AgentRegistry* registry) : runs_(runs), registry_(registry) {
  runs_->WatchAll(this);
}

RunFeed::~RunFeed() { runs_->UnwatchAll(this); }

void RunFeed::Push(std::string event) {
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= kMaxQueued) {
    overflow_ = true;
    return;
  }
  queue_.push_back(std::move(event));
}

void RunFeed::OnRunStarted(const chaos::v1::Run& run) { Push(ServerSentEvent("run", ProtoJson(run))); }
void RunFeed::OnRunEvent(const chaos::v1::RunEvent& event) {
  Push(ServerSentEvent("journal", ProtoJson(event)));
}
void RunFeed::OnRunEnded(const chaos::v1::Run& run) { Push(ServerSentEvent("run", ProtoJson(run))); }

std::string RunFeed::AgentsUpdate(absl::Time now) {
  chaos::v1::ListAgentsResponse agents;
  std::string shape;
  for (chaos::v1::AgentInfo& a : registry_->List()) {
    absl::StrAppend(&shape, a.address(), a.lost() ? " lost;" : " live;");
    *agents.add_agents() = std::move(a);
  }
  if (shape == agents_shape_ && now - agents_sent_ < kAgentsEvery) return "";
  agents_shape_ = shape;
  agents_sent_ = now;
  return ServerSentEvent("agents", ProtoJson(agents));
}

bool RunFeed::Next(const rpc::HttpWrite& write) {
  std::string out;
  if (!greeted_) {
    greeted_ = true;
    out = absl::StrCat("retry: 2000\n\n", ServerSentEvent("hello", "{}"));
  }
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !queue_.empty() || overflow_;
    };
    if (out.empty()) mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
    if (overflow_) return false;
    for (std::string& e : queue_) out += e;
    queue_.clear();
  }
  const absl::Time now = absl::Now();
  out += AgentsUpdate(now);
  if (out.empty() && now - last_write_ >= kKeepAlive) out = ": keep-alive\n\n";
  if (out.empty()) return true;
  last_write_ = now;
  return write(out);
}

}  // namespace chaos::controller
