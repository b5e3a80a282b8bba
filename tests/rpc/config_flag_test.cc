// --config: flags from a file, the command line winning, and the two ways
// a file is refused (unreadable: say what to write; unknown key).
#include "rpc/config_flag.h"

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::rpc {
namespace {

using ::testing::HasSubstr;

struct Parsed {
  std::optional<int> code;
  std::string listen = "default";
  std::vector<std::string> labels;
  std::string err;
};

Parsed Parse(std::vector<std::string> args) {
  CLI::App app{"test"};
  Parsed p;
  app.add_option("--listen", p.listen);
  app.add_option("--label", p.labels);
  AddConfigFlag(app);
  args.insert(args.begin(), "daemon");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStderr();
  p.code = ParseFlags(app, "daemon", "listen = \"127.0.0.1:1\"", static_cast<int>(argv.size()),
                      argv.data());
  p.err = ::testing::internal::GetCapturedStderr();
  return p;
}

std::string WriteFile(const chaos::testing::TempDir& dir, const std::string& text) {
  const std::string path = dir.path() + "/daemon.conf";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigFlagTest, ReadsFlagsFromTheFileAndTheCommandLineWins) {
  chaos::testing::TempDir dir;
  const std::string file =
      WriteFile(dir, "# comment\nlisten = \"127.0.0.1:7070\"\nlabel = [\"a=b\", \"c=d\"]\n");
  Parsed p = Parse({"--config", file});
  EXPECT_FALSE(p.code.has_value()) << p.err;
  EXPECT_EQ(p.listen, "127.0.0.1:7070");
  EXPECT_THAT(p.labels, ::testing::ElementsAre("a=b", "c=d"));
  p = Parse({"--config", file, "--listen", "127.0.0.1:9"});
  EXPECT_FALSE(p.code.has_value()) << p.err;
  EXPECT_EQ(p.listen, "127.0.0.1:9");
}

TEST(ConfigFlagTest, WithoutConfigTheDefaultsHold) {
  Parsed p = Parse({});
  EXPECT_FALSE(p.code.has_value()) << p.err;
  EXPECT_EQ(p.listen, "default");
}

TEST(ConfigFlagTest, AMissingFileSaysWhatToWrite) {
  chaos::testing::TempDir dir;
  Parsed p = Parse({"--config", dir.path() + "/absent.conf"});
  EXPECT_EQ(p.code, 2);
  EXPECT_THAT(p.err, HasSubstr("daemon: --config " + dir.path() +
                               "/absent.conf: cannot read it; write it"));
  EXPECT_THAT(p.err, HasSubstr("listen = \"127.0.0.1:1\""));
}

TEST(ConfigFlagTest, AnUnknownKeyIsRefused) {
  chaos::testing::TempDir dir;
  Parsed p = Parse({"--config", WriteFile(dir, "lisen = \"127.0.0.1:7070\"\n")});
  EXPECT_EQ(p.code, 2);
  EXPECT_THAT(p.err, HasSubstr("daemon: --config "));
  EXPECT_THAT(p.err, HasSubstr("lisen"));
}

TEST(ConfigFlagTest, HelpStillExitsZero) {
  Parsed p = Parse({"--help"});
  EXPECT_EQ(p.code, 0);
}

}  // namespace
}  // namespace chaos::rpc
