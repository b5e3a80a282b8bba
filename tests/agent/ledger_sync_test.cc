// The agent's ledger writes seen from outside, under strace: the intent
// and the undo state reach the disk before the host is touched (fsync of
// the record, rename, fsync of the directory), and only the record of a
// revert that held is written without waiting for the disk.
#include <signal.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent_client.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

using ::testing::ElementsAre;

// How one write of a record went to the disk, by the trace: "durable"
// when its temporary file was fsync'ed before the rename and the directory
// after it, "lazy" when neither, "partial" otherwise.
std::vector<std::string> WritesOf(const std::string& trace, const std::string& record) {
  const std::string tmp = record + ".tmp.";
  const std::string dir = record.substr(0, record.rfind('/'));
  std::vector<std::string> writes;
  bool file_synced = false;
  bool renamed = false;
  bool dir_synced = false;
  auto end_write = [&] {  // at the next write's first step, or the trace's end
    if (!renamed) return;
    writes.push_back(file_synced && dir_synced   ? "durable"
                     : file_synced || dir_synced ? "partial"
                                                 : "lazy");
    file_synced = renamed = dir_synced = false;
  };
  for (absl::string_view line : absl::StrSplit(trace, '\n')) {
    if (absl::StrContains(line, absl::StrCat("rename(\"", tmp))) {
      end_write();
      renamed = true;
    } else if (absl::StrContains(line, "fsync(") && absl::StrContains(line, tmp)) {
      end_write();
      file_synced = true;
    } else if (absl::StrContains(line, "fsync(") && absl::StrContains(line, dir + ">")) {
      dir_synced = renamed;
    }
  }
  end_write();
  return writes;
}

// The agent's pid: the only child of its tracer.
pid_t TracedChild(pid_t tracer) {
  const std::string children =
      ReadFileOrEmpty(absl::StrCat("/proc/", tracer, "/task/", tracer, "/children"));
  return static_cast<pid_t>(std::atol(children.c_str()));
}

TEST(LedgerSyncTest, OnlyTheRecordOfARevertThatHeldSkipsTheSyncs) {
  TempDir dir;
  const std::string trace = dir.path() + "/trace";
  Subprocess victim({"/bin/sleep", "600"});
  {
    const std::vector<std::string> strace = {"/usr/bin/strace", "-f", "-qq", "-y", "-e",
                                             "trace=fsync,rename", "-o", trace};
    DaemonProcess agent(AgentBinary(), dir.path(), {}, "127.0.0.1:0", {strace, ""});
    const pid_t traced = TracedChild(agent.process().pid());
    ASSERT_GT(traced, 0) << "no agent under strace";
    // strace killed (the test failing) would leave its agent running.
    absl::Cleanup stop = [&] {
      kill(traced, SIGTERM);
      agent.process().Wait();
    };
    auto stub = AgentStub(agent.address());
    chaos::v1::InjectRequest inject;
    inject.mutable_spec()->set_fault_id("paused");
    inject.mutable_spec()->set_experiment_id("sync");
    inject.mutable_spec()->mutable_duration()->set_seconds(60);
    inject.mutable_spec()->mutable_process_pause()->mutable_target()->set_pid(victim.pid());
    grpc::ClientContext inject_ctx;
    chaos::v1::InjectResponse injected;
    const grpc::Status s = stub->Inject(&inject_ctx, inject, &injected);
    ASSERT_TRUE(s.ok()) << s.error_message();
    chaos::v1::RevertRequest revert;
    revert.set_fault_id("paused");
    grpc::ClientContext revert_ctx;
    chaos::v1::RevertResponse reverted;
    ASSERT_TRUE(stub->Revert(&revert_ctx, revert, &reverted).ok());
    ASSERT_EQ(reverted.status().state(), chaos::v1::FAULT_STATE_REVERTED);
    ASSERT_EQ(kill(traced, SIGTERM), 0);
    ASSERT_EQ(agent.process().Wait(), 0) << agent.log();  // strace ends with the agent
    std::move(stop).Cancel();
  }
  const std::string text = ReadFileOrEmpty(trace);
  // The intent, the undo state, and the record of the revert.
  EXPECT_THAT(WritesOf(text, dir.path() + "/ledger/paused.rec"),
              ElementsAre("durable", "durable", "lazy"))
      << text;
}

}  // namespace
}  // namespace chaos::testing
