// The controller's /metrics page through the real thing: a chaos-controller
// with --http-listen on an OS-chosen loopback port, a chaos-agent registered
// with it, and chaosctl running an experiment that injects and reverts a
// light CPU burn through the controller. The page then shows the passed
// run, the live agent, the Inject and Revert RPCs in their histograms and
// the fault no longer held, and promtool (Debian's prometheus package,
// which the Makefile installs) accepts it. While a longer run holds its
// fault the page counts it by kind and agent, and an abort releases it.
// Other paths are 404, and a non-loopback --http-listen is refused at start.
#include <fstream>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/test_util.h"

namespace chaos::controller {
namespace {

using ::testing::HasSubstr;
using chaos::testing::AgentProcess;
using chaos::testing::ChaosctlBinary;
using chaos::testing::CommandResult;
using chaos::testing::ControllerBinary;
using chaos::testing::ControllerProcess;
using chaos::testing::RunCommand;
using chaos::testing::TempDir;

constexpr char kBurn[] = R"(name: metrics-burn
method:
  - {id: burn, duration: 300ms, fault: {cpuBurn: {workers: 1, loadPercent: 5}}}
)";

// Holds its fault until aborted.
constexpr char kLongBurn[] = R"(name: metrics-long-burn
method:
  - {id: burn, duration: 5m, fault: {cpuBurn: {workers: 1, loadPercent: 5}}}
)";

// The value of the sample line starting with `series` (name and labels),
// or -1 when there is none.
double SampleValue(const std::string& page, const std::string& series) {
  const std::string line_start = series + " ";
  for (size_t at = page.find(line_start); at != std::string::npos;
       at = page.find(line_start, at + 1)) {
    if (at != 0 && page[at - 1] != '\n') continue;
    const size_t end = page.find('\n', at);
    double value = -1;
    if (absl::SimpleAtod(page.substr(at + line_start.size(), end - at - line_start.size()),
                         &value)) {
      return value;
    }
  }
  return -1;
}

class MetricsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    controller_ = std::make_unique<ControllerProcess>(
        dir_.path() + "/ctl", std::vector<std::string>{"--heartbeat-interval-ms", "200",
                                                       "--http-listen", "127.0.0.1:0"});
    // Logged before the port file is written, which the constructor waits for.
    const std::string log = controller_->log();
    const std::string marker = "serving HTTP (/metrics, dashboard at /) on port ";
    const size_t at = log.find(marker);
    ASSERT_NE(at, std::string::npos) << log;
    const size_t from = at + marker.size();
    ASSERT_TRUE(absl::SimpleAtoi(log.substr(from, log.find('\n', from) - from), &http_port_))
        << log;
    agent_ = std::make_unique<AgentProcess>(
        dir_.path() + "/agent", std::vector<std::string>{"--controller", controller_->address()});
  }

  CommandResult Chaosctl(std::vector<std::string> args) {
    args.insert(args.begin(), ChaosctlBinary());
    args.insert(args.end(), {"--controller", controller_->address()});
    return RunCommand(args, 120);
  }
  httplib::Result Get(const std::string& path) {
    httplib::Client http("127.0.0.1", http_port_);
    http.set_read_timeout(30, 0);
    return http.Get(path.c_str());
  }
  std::string Metrics() {
    httplib::Result res = Get("/metrics");
    if (!res || res->status != 200) return "";
    return res->body;
  }
  // Polls the page until `series` has `value` (a generous deadline: the
  // agent registers at its own pace).
  bool MetricReaches(const std::string& series, double value) {
    for (int i = 0; i < 1200; ++i) {
      if (SampleValue(Metrics(), series) == value) return true;
      absl::SleepFor(absl::Milliseconds(25));
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<ControllerProcess> controller_;
  std::unique_ptr<AgentProcess> agent_;
  int http_port_ = 0;
};

TEST_F(MetricsE2E, RunMovesTheFiguresAndPromtoolAcceptsThePage) {
  ASSERT_TRUE(MetricReaches("chaos_controller_agents{state=\"live\"}", 1)) << Metrics();
  std::string page = Metrics();
  EXPECT_EQ(SampleValue(page, "chaos_controller_runs{state=\"passed\"}"), 0) << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_inject_duration_seconds_count"), 0) << page;

  const std::string file = dir_.path() + "/burn.yaml";
  std::ofstream(file) << kBurn;
  const CommandResult run = Chaosctl({"run", file});
  ASSERT_EQ(run.exit_code, 0) << run.output << controller_->log();

  page = Metrics();
  EXPECT_EQ(SampleValue(page, "chaos_controller_runs{state=\"passed\"}"), 1) << page;
  for (const char* state : {"pending", "running", "failed", "aborted", "rollback_incomplete",
                            "interrupted"}) {
    EXPECT_EQ(SampleValue(page, absl::StrCat("chaos_controller_runs{state=\"", state, "\"}")), 0)
        << state << "\n" << page;
  }
  EXPECT_EQ(SampleValue(page, "chaos_controller_agents{state=\"live\"}"), 1) << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_agents{state=\"lost\"}"), 0) << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_inject_duration_seconds_count"), 1) << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_inject_duration_seconds_bucket{le=\"+Inf\"}"), 1)
      << page;
  EXPECT_GE(SampleValue(page, "chaos_controller_revert_duration_seconds_count"), 1) << page;
  EXPECT_GT(SampleValue(page, "chaos_controller_inject_duration_seconds_sum"), 0) << page;
  // Injected, then reverted: listed, and no longer held.
  EXPECT_EQ(SampleValue(page, absl::StrCat("chaos_controller_active_faults{kind=\"cpuBurn\","
                                           "agent=\"", agent_->address(), "\"}")),
            0)
      << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_rollback_failures_total{part=\"revert\"}"), 0)
      << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_revert_retries_pending"), 0) << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_schedule_fires_total"), 0) << page;

  // promtool is part of the toolchain the Makefile installs: missing, the
  // test fails rather than skips.
  const CommandResult found = RunCommand({"/bin/sh", "-c", "command -v promtool"});
  ASSERT_EQ(found.exit_code, 0)
      << "promtool is missing: install Debian's prometheus package (make deps)";
  const std::string scraped = dir_.path() + "/scraped.txt";
  std::ofstream(scraped) << page;
  const CommandResult check =
      RunCommand({"/bin/sh", "-c", absl::StrCat("promtool check metrics < '", scraped, "'")});
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << page;
  EXPECT_EQ(check.output, "") << page;
}

TEST_F(MetricsE2E, AHeldFaultIsCountedByKindAndAgentUntilTheAbortRevertsIt) {
  ASSERT_TRUE(MetricReaches("chaos_controller_agents{state=\"live\"}", 1)) << Metrics();
  const std::string file = dir_.path() + "/long.yaml";
  std::ofstream(file) << kLongBurn;
  const CommandResult submitted = Chaosctl({"run", file, "--detach"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  const std::string run_id(absl::StripTrailingAsciiWhitespace(submitted.output));
  const std::string held = absl::StrCat("chaos_controller_active_faults{kind=\"cpuBurn\",agent=\"",
                                        agent_->address(), "\"}");
  ASSERT_TRUE(MetricReaches(held, 1)) << Metrics();
  EXPECT_EQ(SampleValue(Metrics(), "chaos_controller_runs{state=\"running\"}"), 1);

  const CommandResult aborted = Chaosctl({"abort", run_id});
  ASSERT_EQ(aborted.exit_code, 0) << aborted.output;
  ASSERT_TRUE(MetricReaches("chaos_controller_runs{state=\"aborted\"}", 1)) << Metrics();
  const std::string page = Metrics();
  EXPECT_EQ(SampleValue(page, held), 0) << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_runs{state=\"running\"}"), 0) << page;
  EXPECT_GE(SampleValue(page, "chaos_controller_revert_duration_seconds_count"), 1) << page;
  EXPECT_EQ(SampleValue(page, "chaos_controller_rollback_failures_total{part=\"revert\"}"), 0)
      << page;
}

TEST_F(MetricsE2E, ServesThePrometheusContentTypeAnd404Elsewhere) {
  httplib::Result res = Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_THAT(res->body, HasSubstr("# TYPE chaos_controller_runs gauge\n"));
  // "/" is the dashboard (tests/browser/).
  for (const char* path : {"/metrics/x", "/nope", "/api/nope"}) {
    res = Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
}

TEST(MetricsListenTest, ANonLoopbackHttpListenIsRefusedAtStart) {
  TempDir dir;
  const CommandResult r =
      RunCommand({ControllerBinary(), "--listen", "127.0.0.1:0", "--state-dir",
                  dir.path() + "/ctl", "--http-listen", "0.0.0.0:0"},
                 60);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("chaos-controller: --http-listen 0.0.0.0:0: plaintext is "
                                  "served on loopback only"));
}

TEST(MetricsListenTest, AMalformedHttpListenIsRefusedNamingTheFlag) {
  TempDir dir;
  const CommandResult r =
      RunCommand({ControllerBinary(), "--listen", "127.0.0.1:0", "--state-dir",
                  dir.path() + "/ctl", "--http-listen", "127.0.0.1:http"},
                 60);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output,
              HasSubstr("chaos-controller: --http-listen: \"127.0.0.1:http\" is not host:port"));
}

}  // namespace
}  // namespace chaos::controller
