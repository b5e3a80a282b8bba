// Include rules: which component may include which.
//
// The tree is one CMake library per component, and dependencies between them
// must point one way (see each folder's CMakeLists.txt). The linker catches
// only part of that: a header-only include across the line builds fine. So
// this test reads every .h/.cc of the source tree, takes its #include lines
// ("..." and <...>) and checks them against kRules, written once below.
// It also runs the same check over a known-bad sample tree,
// tests/layout/testdata/bad (never compiled), so a checker that can no
// longer fail fails here too.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

// Files below `folder` ("" = every file) must not include anything matching
// a `forbidden` pattern: "x/" matches by prefix, "*.y" by suffix. A file may
// always include its own folder (so "" -> "controller/cli/" spares the CLI).
struct Rule {
  std::string_view folder;
  std::vector<std::string_view> forbidden;
  std::string_view reason;
};

const std::vector<Rule> kRules = {
    {"base/", {"agent/", "faults/", "proto/", "rpc/", "experiments/", "controller/", "chaos/",
               "tests/", "bench/"},
     "base/ is the plumbing under everything: it includes nothing of ours but base/"},
    {"base/", {"grpcpp/", "grpc/", "google/protobuf/", "*.pb.h"},
     "base/ links neither gRPC nor protobuf (base/CMakeLists.txt)"},
    {"faults/", {"grpcpp/", "grpc/", "*.grpc.pb.h"},
     "faults/ knows nothing of gRPC: the agent adapts it to the RPC service"},
    {"faults/", {"*.pb.h", "google/protobuf/", "proto/"},
     "faults/ knows nothing of protobuf: parameter structs in, absl::Status out"},
    {"faults/", {"rpc/", "agent/", "experiments/", "controller/"},
     "faults/ is a leaf: the agent and the controller use it, never the reverse"},
    {"rpc/", {"agent/", "faults/", "proto/", "chaos/", "experiments/", "controller/"},
     "rpc/ is the gRPC plumbing under all three binaries: of ours it includes base/ only"},
    {"policy/", {"agent/", "faults/", "proto/", "rpc/", "experiments/", "controller/", "chaos/",
                 "tests/", "bench/"},
     "policy/ is the command allow-list the agent and the controller share: of ours it "
     "includes base/ only"},
    {"policy/", {"grpcpp/", "grpc/", "google/protobuf/", "*.pb.h", "yaml-cpp/"},
     "policy/ is plain C++: each user reads its own file and builds the rules"},
    {"etcd/", {"agent/", "faults/", "policy/", "experiments/", "controller/", "chaos/",
               "tests/", "bench/"},
     "etcd/ is the client of etcd's API: of ours it includes base/, rpc/ and the etcd "
     "messages generated in proto/"},
    {"agent/", {"etcd/"}, "the agent never talks to etcd: the controller's store does"},
    {"agent/", {"controller/", "experiments/"},
     "the agent runs faults on its host; experiments and the controller drive it over RPC"},
    {"experiments/", {"grpcpp/", "grpc/", "*.grpc.pb.h"},
     "experiments/ is the experiment language: plain protobuf, never gRPC"},
    {"experiments/", {"rpc/", "agent/", "controller/"},
     "experiments/ is read by the controller; it knows nothing of who runs it"},
    {"controller/report/", {"controller/engine/", "controller/server/", "controller/probes/",
                            "controller/dashboard/"},
     "report is the run's data model and views: below the engine, apart from probes"},
    {"controller/probes/", {"controller/engine/", "controller/server/", "controller/report/",
                            "controller/dashboard/"},
     "probes check the system under test: below the engine, apart from report"},
    {"controller/engine/", {"controller/server/", "controller/dashboard/"},
     "the engine runs one experiment; the server and the dashboard drive it, not the reverse"},
    {"controller/policy/", {"controller/engine/", "controller/server/", "controller/probes/",
                            "controller/report/", "controller/dashboard/"},
     "the command policy judges an experiment's model; it knows nothing of who runs it"},
    {"controller/policy/", {"grpcpp/", "grpc/", "*.grpc.pb.h", "rpc/"},
     "the command policy is plain C++ over the experiment model, never gRPC"},
    {"controller/engine/", {"controller/policy/"},
     "the engine runs what it is given (a local run is the operator's own); the server "
     "applies the command policy"},
    {"controller/metrics/", {"controller/engine/", "controller/server/", "controller/probes/",
                             "controller/report/", "controller/policy/", "controller/dashboard/",
                             "experiments/", "rpc/"},
     "the controller's metrics are plain counters below the engine: the engine and the server "
     "update them"},
    {"controller/metrics/", {"grpcpp/", "grpc/", "google/protobuf/", "*.pb.h", "proto/"},
     "the controller's metrics know nothing of gRPC or protobuf"},
    {"controller/store/", {"controller/engine/", "controller/server/", "controller/probes/",
                           "controller/report/", "controller/policy/", "controller/metrics/",
                           "controller/dashboard/", "experiments/", "agent/", "faults/"},
     "the store keeps the controller's records; the server uses it, it knows nothing of runs "
     "being run"},
    {"", {"controller/cli/"}, "chaosctl is the top: nothing outside controller/cli/ includes it"},
};

// The components walked, relative to the root; tests/ and bench/ only for
// the last rule. Directories skipped: build trees and the bad sample.
const std::vector<std::string_view> kRoots = {"base",        "agent",      "faults", "proto",
                                              "rpc",         "policy",     "etcd",       "experiments",
                                              "controller", "tests",      "bench"};

struct Violation {
  std::string file;  // relative to the root, with '/'
  int line = 0;
  std::string include;
  std::string_view pattern;
  const Rule* rule = nullptr;
};

struct Report {
  int files = 0;
  std::vector<Violation> violations;
};

std::string Describe(const Violation& v) {
  const std::string folder = v.rule->folder.empty() ? "*" : std::string(v.rule->folder);
  return v.file + ":" + std::to_string(v.line) + ": #include \"" + v.include +
         "\" breaks rule [" + folder + " must not include " + std::string(v.pattern) +
         "]: " + std::string(v.rule->reason);
}

// The path in an #include line ("..." or <...>), or nullopt for other lines.
std::optional<std::string> IncludedPath(std::string_view line) {
  auto skip_blanks = [&line] {
    line.remove_prefix(std::min(line.find_first_not_of(" \t"), line.size()));
  };
  skip_blanks();
  if (!line.starts_with('#')) return std::nullopt;
  line.remove_prefix(1);
  skip_blanks();
  if (!line.starts_with("include")) return std::nullopt;
  line.remove_prefix(std::string_view("include").size());
  skip_blanks();
  if (line.empty() || (line[0] != '"' && line[0] != '<')) return std::nullopt;
  const size_t end = line.find(line[0] == '"' ? '"' : '>', 1);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(line.substr(1, end - 1));
}

bool Matches(std::string_view path, std::string_view pattern) {
  if (pattern.starts_with('*')) return path.ends_with(pattern.substr(1));
  return path.starts_with(pattern);
}

// The first rule `file` breaks by including `include` at `line`, if any.
std::optional<Violation> FindBrokenRule(const std::string& file, int line,
                                        const std::string& include) {
  for (const Rule& rule : kRules) {
    if (!file.starts_with(rule.folder)) continue;
    for (std::string_view pattern : rule.forbidden) {
      if (Matches(include, pattern) && !file.starts_with(pattern)) {
        return Violation{file, line, include, pattern, &rule};
      }
    }
  }
  return std::nullopt;
}

bool Skipped(const fs::path& dir, const fs::path& root) {
  const std::string rel = dir.lexically_relative(root).generic_string();
  return dir.filename().string().starts_with("build") || rel == "tests/layout/testdata";
}

// Every .h/.cc below the roots, relative to `root`, sorted.
std::vector<std::string> SourceFiles(const fs::path& root) {
  std::vector<std::string> files;
  for (std::string_view top : kRoots) {
    if (!fs::is_directory(root / top)) continue;
    for (auto it = fs::recursive_directory_iterator(root / top);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_directory() && Skipped(it->path(), root)) it.disable_recursion_pending();
      const std::string ext = it->path().extension().string();
      if (it->is_regular_file() && (ext == ".h" || ext == ".cc")) {
        files.push_back(it->path().lexically_relative(root).generic_string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Checks every source file below `root` against kRules.
Report CheckIncludes(const fs::path& root) {
  Report report;
  for (const std::string& file : SourceFiles(root)) {
    ++report.files;
    std::ifstream in(root / file);
    std::string text;
    for (int n = 1; std::getline(in, text); ++n) {
      const std::optional<std::string> include = IncludedPath(text);
      if (!include) continue;
      if (auto v = FindBrokenRule(file, n, *include)) report.violations.push_back(*v);
    }
  }
  return report;
}

std::vector<std::string> Locations(const Report& report) {
  std::vector<std::string> out;
  for (const Violation& v : report.violations) {
    out.push_back(v.file + ":" + std::to_string(v.line) + " " + v.include);
  }
  return out;
}

const fs::path kSourceDir = CHAOS_SOURCE_DIR;
const fs::path kBadSample = kSourceDir / "tests/layout/testdata/bad";

TEST(IncludeRules, RealTreeFollowsTheRules) {
  const Report report = CheckIncludes(kSourceDir);
  EXPECT_GT(report.files, 100) << "walked the wrong directory? " << kSourceDir;
  for (const Violation& v : report.violations) ADD_FAILURE() << Describe(v);
}

TEST(IncludeRules, CatchesEveryViolationInTheBadSample) {
  const Report report = CheckIncludes(kBadSample);
  EXPECT_EQ(report.files, 5);
  EXPECT_THAT(Locations(report), testing::ElementsAre(
                                     "agent/bad.cc:4 controller/engine/runner.h",
                                     "controller/server/bad.cc:3 controller/cli/progress.h",
                                     "experiments/bad.h:3 chaos/v1/agent.grpc.pb.h",
                                     "faults/bad_fault.cc:3 grpcpp/grpcpp.h",
                                     "faults/bad_fault.cc:4 chaos/v1/faults.pb.h",
                                     "faults/bad_fault.cc:6 grpc/grpc.h"));
  ASSERT_FALSE(report.violations.empty());
  EXPECT_EQ(Describe(report.violations[0]),
            "agent/bad.cc:4: #include \"controller/engine/runner.h\" breaks rule [agent/ must "
            "not include controller/]: the agent runs faults on its host; experiments and the "
            "controller drive it over RPC");
}

// The near misses in the sample: plain protobuf in experiments/, the CLI
// including itself, an include in a comment.
TEST(IncludeRules, AllowsWhatTheRulesAllow) {
  for (const Violation& v : CheckIncludes(kBadSample).violations) {
    EXPECT_FALSE(v.file == "experiments/bad.h" && v.include == "chaos/v1/faults.pb.h");
    EXPECT_NE(v.file, "controller/cli/ok.cc") << Describe(v);
    EXPECT_FALSE(v.file == "agent/bad.cc" && v.line == 3) << Describe(v);
  }
}

}  // namespace
