// DataLoss on real files in a private temporary directory: what disappears,
// what the journal holds before anything moves, and what each revert mode
// leaves behind.
#include "faults/data_loss.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using WhenRestored = DataLossParams::WhenRestored;

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

UndoRecorder Ignore() {
  return [](const UndoState&) { return absl::OkStatus(); };
}

// <tmp>/root is the data root, with a directory `db` holding a file and a
// file `wal`; <tmp>/state is the agent's state.
class DataLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(root().c_str(), 0755), 0);
    ASSERT_EQ(mkdir(db().c_str(), 0755), 0);
    ASSERT_EQ(mkdir(state().c_str(), 0755), 0);
    Write(db() + "/table", "rows");
    Write(wal(), "log");
  }
  std::string root() const { return tmp_.path() + "/root"; }
  std::string db() const { return root() + "/db"; }
  std::string wal() const { return root() + "/wal"; }
  std::string state() const { return tmp_.path() + "/state"; }
  std::string quarantine() const { return root() + "/.chaos-quarantine-t1"; }

  DataLossParams Params(std::vector<std::string> paths,
                        WhenRestored when = WhenRestored::kKeepOriginalAside) const {
    DataLossParams p;
    p.paths = std::move(paths);
    p.tag = "t1";
    p.allowed_roots = {root()};
    p.state_dir = state();
    p.when_restored = when;
    return p;
  }

  chaos::testing::TempDir tmp_;
};

TEST_F(DataLossTest, PathsDisappearAndTheRevertPutsThemBack) {
  DataLoss loss(Params({db(), wal()}));
  UndoState recorded;
  ASSERT_TRUE(loss.Inject([&](const UndoState& u) {
    // Journaled before anything moves or the quarantine exists.
    EXPECT_TRUE(Exists(db()) && Exists(wal()));
    EXPECT_FALSE(Exists(quarantine()));
    recorded = u;
    return absl::OkStatus();
  }).ok());
  EXPECT_FALSE(Exists(db()));
  EXPECT_FALSE(Exists(wal()));
  EXPECT_EQ(Read(quarantine() + "/0-db/table"), "rows");
  EXPECT_EQ(Read(quarantine() + "/1-wal"), "log");
  EXPECT_EQ(recorded.at("count"), "2");
  EXPECT_EQ(recorded.at("path.0"), db());
  EXPECT_EQ(recorded.at("dest.1"), quarantine() + "/1-wal");

  ASSERT_TRUE(loss.Revert().ok());
  EXPECT_EQ(Read(db() + "/table"), "rows");
  EXPECT_EQ(Read(wal()), "log");
  EXPECT_FALSE(Exists(quarantine()));
  EXPECT_TRUE(loss.Revert().ok());  // idempotent
  EXPECT_EQ(Read(wal()), "log");
}

TEST_F(DataLossTest, AnotherProcessAdoptsTheUndoStateAndReverts) {
  UndoState recorded;
  {
    DataLoss loss(Params({db()}));
    ASSERT_TRUE(loss.Inject([&](const UndoState& u) {
      recorded = u;
      return absl::OkStatus();
    }).ok());
  }  // the agent "crashes": nothing reverted
  EXPECT_FALSE(Exists(db()));
  DataLoss adopted(Params({db()}));
  ASSERT_TRUE(adopted.Adopt(recorded).ok());
  ASSERT_TRUE(adopted.Revert().ok());
  EXPECT_EQ(Read(db() + "/table"), "rows");
}

TEST_F(DataLossTest, AdoptRefusesADestinationOutsideAQuarantine) {
  DataLoss loss(Params({db()}));
  UndoState forged = {{"count", "1"}, {"path.0", "/etc"}, {"dest.0", "/tmp/x/etc"}};
  EXPECT_EQ(loss.Adopt(forged).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DataLossTest, AFailedJournalMovesNothing) {
  DataLoss loss(Params({db(), wal()}));
  absl::Status s = loss.Inject([](const UndoState&) { return absl::DataLossError("disk full"); });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Exists(db()) && Exists(wal()));
  EXPECT_FALSE(Exists(quarantine()));
}

TEST_F(DataLossTest, AMissingPathRefusesTheWholeFaultBeforeAnythingMoves) {
  DataLoss loss(Params({db(), root() + "/backup"}));
  absl::Status s = loss.Inject(Ignore());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("data_loss.paths[1]: " + root() + "/backup does not exist"));
  EXPECT_TRUE(Exists(db()));
  EXPECT_FALSE(Exists(quarantine()));
}

TEST_F(DataLossTest, AFailedRenameMovesBackWhatWasMoved) {
  ASSERT_EQ(mkdir(quarantine().c_str(), 0700), 0);
  Write(quarantine() + "/1-wal", "someone else's");  // never replaced
  DataLoss loss(Params({db(), wal()}));
  absl::Status s = loss.Inject(Ignore());
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_EQ(Read(db() + "/table"), "rows");
  EXPECT_EQ(Read(wal()), "log");
  EXPECT_EQ(Read(quarantine() + "/1-wal"), "someone else's");
}

TEST_F(DataLossTest, RefusesPathsOutsideTheRootsThroughSymlinksAndTheAgentsState) {
  ASSERT_EQ(symlink(tmp_.path().c_str(), (root() + "/escape").c_str()), 0);
  Write(tmp_.path() + "/outside", "x");
  struct Case {
    std::string path;
    std::string want;
  } cases[] = {
      {root() + "/escape/outside", "is not below a data root"},  // parent resolves outside
      {root(), "is not below a data root"},                      // the root itself
      {state(), "is not below a data root"},
  };
  for (const Case& c : cases) {
    DataLoss loss(Params({c.path}));
    absl::Status s = loss.Inject(Ignore());
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << c.path << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(c.want)) << c.path;
  }
  EXPECT_EQ(Read(tmp_.path() + "/outside"), "x");

  DataLossParams p = Params({db()});
  p.state_dir = db() + "/agent";  // the state lies in the path
  ASSERT_EQ(mkdir(p.state_dir.c_str(), 0700), 0);
  DataLoss holds_state(p);
  absl::Status s = holds_state.Inject(Ignore());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("agent's state"));
  EXPECT_TRUE(Exists(db() + "/agent"));
}

TEST_F(DataLossTest, ASymlinkItselfIsMovedNotItsTarget) {
  ASSERT_EQ(symlink(wal().c_str(), (root() + "/current").c_str()), 0);
  DataLoss loss(Params({root() + "/current"}));
  ASSERT_TRUE(loss.Inject(Ignore()).ok());
  EXPECT_FALSE(Exists(root() + "/current"));
  EXPECT_EQ(Read(wal()), "log");
  ASSERT_TRUE(loss.Revert().ok());
  EXPECT_EQ(Read(root() + "/current"), "log");
}

// The drill's restore recreated `db` before the revert.
TEST_F(DataLossTest, RestoredDataIsKeptAndTheOriginalKeptAside) {
  DataLoss loss(Params({db()}, WhenRestored::kKeepOriginalAside));
  ASSERT_TRUE(loss.Inject(Ignore()).ok());
  ASSERT_EQ(mkdir(db().c_str(), 0755), 0);
  Write(db() + "/table", "restored");
  ASSERT_TRUE(loss.Revert().ok());
  EXPECT_EQ(Read(db() + "/table"), "restored");
  EXPECT_EQ(Read(quarantine() + "/0-db/table"), "rows");
  EXPECT_THAT(loss.Status().details.at("revert.0"), HasSubstr(quarantine() + "/0-db"));
  ASSERT_TRUE(loss.Revert().ok());  // and again: nothing changes
  EXPECT_EQ(Read(db() + "/table"), "restored");
  EXPECT_EQ(Read(quarantine() + "/0-db/table"), "rows");
}

TEST_F(DataLossTest, RestoredDataIsKeptAndTheOriginalDiscarded) {
  DataLoss loss(Params({db()}, WhenRestored::kDiscardOriginal));
  ASSERT_TRUE(loss.Inject(Ignore()).ok());
  ASSERT_EQ(symlink(wal().c_str(), (quarantine() + "/0-db/link").c_str()), 0);
  ASSERT_EQ(mkdir(db().c_str(), 0755), 0);
  Write(db() + "/table", "restored");
  ASSERT_TRUE(loss.Revert().ok());
  EXPECT_EQ(Read(db() + "/table"), "restored");
  EXPECT_FALSE(Exists(quarantine()));
  EXPECT_EQ(Read(wal()), "log");  // the link was removed, not followed
}

TEST_F(DataLossTest, TheOriginalIsPutBackAndTheRestoredDataKeptAside) {
  DataLoss loss(Params({db()}, WhenRestored::kPutOriginalBack));
  ASSERT_TRUE(loss.Inject(Ignore()).ok());
  ASSERT_EQ(mkdir(db().c_str(), 0755), 0);
  Write(db() + "/table", "restored");
  ASSERT_TRUE(loss.Revert().ok());
  EXPECT_EQ(Read(db() + "/table"), "rows");
  EXPECT_EQ(Read(quarantine() + "/0-db.restored/table"), "restored");
}

TEST_F(DataLossTest, ARevertThatCannotPutBackFailsAndConvergesOnRetry) {
  const std::string nested = db() + "/base";
  ASSERT_EQ(mkdir(nested.c_str(), 0755), 0);
  Write(nested + "/f", "data");
  DataLoss loss(Params({nested, wal()}));
  ASSERT_TRUE(loss.Inject(Ignore()).ok());
  std::filesystem::remove_all(db());  // its parent is gone
  absl::Status s = loss.Revert();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_EQ(Read(wal()), "log");  // the other path went back anyway
  EXPECT_EQ(Read(quarantine() + "/0-base/f"), "data");
  ASSERT_EQ(mkdir(db().c_str(), 0755), 0);
  ASSERT_TRUE(loss.Revert().ok());
  EXPECT_EQ(Read(nested + "/f"), "data");
  EXPECT_FALSE(Exists(quarantine()));
}

TEST(DataLossParamsTest, BadFieldsAreNamed) {
  DataLossParams p;
  p.paths = {"/srv/a"};
  EXPECT_TRUE(p.Validate().ok());
  struct Case {
    std::vector<std::string> paths;
    std::string want;
  } cases[] = {
      {{}, "data_loss.paths: 1 to 64 paths, got 0"},
      {{"relative"}, "data_loss.paths[0]: must be an absolute path"},
      {{"/"}, "data_loss.paths[0]: must be an absolute path"},
      {{"/srv/a/"}, "data_loss.paths[0]: must be an absolute path"},
      {{"/srv/../etc"}, "data_loss.paths[0]: must be a clean path"},
      {{"/srv//a"}, "data_loss.paths[0]: must be a clean path"},
      {{"/srv/a", "/srv/a/b"}, "data_loss.paths[1]: /srv/a/b repeats or overlaps /srv/a"},
      {{"/srv/a/b", "/srv/a"}, "data_loss.paths[1]: /srv/a repeats or overlaps /srv/a/b"},
      {{"/srv/a", "/srv/a"}, "data_loss.paths[1]: /srv/a repeats or overlaps /srv/a"},
  };
  for (const Case& c : cases) {
    p.paths = c.paths;
    EXPECT_THAT(p.Validate().message(), HasSubstr(c.want));
    EXPECT_EQ(p.Validate().code(), absl::StatusCode::kInvalidArgument);
  }
  p.paths = {"/srv/a", "/srv/ab"};  // a prefix, not a parent
  EXPECT_TRUE(p.Validate().ok());
  p.tag = "a/b";
  EXPECT_THAT(p.Validate().message(), HasSubstr("data_loss.tag"));
  EXPECT_THAT(p.Validate().message(), Not(HasSubstr("paths")));
}

}  // namespace
}  // namespace chaos::faults
