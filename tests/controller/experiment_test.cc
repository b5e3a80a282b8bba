// Experiment files: what parses, and every error at once with its position.
#include "controller/experiment.h"

#include "controller/yaml_proto.h"
#include "gtest/gtest.h"

namespace chaos::controller {
namespace {

TEST(ExperimentTest, ParsesAFaultStepWithItsKindAndDuration) {
  Diagnostics diags;
  auto exp = ParseExperiment(R"(
name: burn
hypothesis: stays up
method:
  - id: burn
    duration: 1500ms
    fault:
      cpuBurn:
        workers: 2
        loadPercent: 50
  - id: settle
    wait: 2s
    after: [burn]
rollback: on-abort
)",
                             &diags);
  ASSERT_TRUE(exp) << diags.Format("x");
  ASSERT_EQ(exp->method.size(), 2u);
  const Step& burn = exp->method[0];
  ASSERT_TRUE(burn.fault);
  EXPECT_EQ(burn.fault->cpu_burn().workers(), 2u);
  EXPECT_EQ(burn.fault->cpu_burn().load_percent(), 50u);
  EXPECT_EQ(burn.fault->duration().seconds(), 1);
  EXPECT_EQ(burn.fault->duration().nanos(), 500'000'000);
  EXPECT_EQ(exp->method[1].wait, absl::Seconds(2));
  EXPECT_EQ(exp->rollback, RollbackPolicy::kOnAbort);
  EXPECT_EQ(exp->PlannedDuration(), absl::Milliseconds(3500));
}

TEST(ExperimentTest, ReportsEveryErrorWithLineAndColumn) {
  Diagnostics diags;
  auto exp = ParseExperiment(R"(name: bad
colour: blue
method:
  - id: a
    duration: 5 seconds
    fault:
      cpuBurn:
        workers: -1
        speed: 3
  - id: b
    fault:
      teleport: {}
  - id: a
    wait: 1s
    after: [ghost]
)",
                             &diags);
  EXPECT_FALSE(exp);
  const std::string text = diags.Format("f.yaml");
  EXPECT_NE(text.find("f.yaml:2:1: colour: unknown field"), std::string::npos) << text;
  EXPECT_NE(text.find("f.yaml:5:15: method[0].duration: \"5 seconds\" is not a duration"),
            std::string::npos) << text;
  EXPECT_NE(text.find("f.yaml:8:18: method[0].fault.cpuBurn.workers: \"-1\" is not a non-negative"),
            std::string::npos) << text;
  EXPECT_NE(text.find("f.yaml:9:9: method[0].fault.cpuBurn.speed: unknown field"),
            std::string::npos) << text;
  EXPECT_NE(text.find("f.yaml:12:7: method[1].fault: unknown fault kind \"teleport\""),
            std::string::npos) << text;
  EXPECT_NE(text.find("method[1].duration: required"), std::string::npos) << text;
  EXPECT_NE(text.find("duplicate step id \"a\""), std::string::npos) << text;
  EXPECT_NE(text.find("no step has id \"ghost\""), std::string::npos) << text;
}

TEST(ExperimentTest, RejectsCyclesMalformedYamlAndMissingFiles) {
  Diagnostics cyc;
  EXPECT_FALSE(ParseExperiment(R"(name: c
method:
  - {id: a, wait: 1s, after: [b]}
  - {id: b, wait: 1s, after: [a]}
)",
                               &cyc));
  EXPECT_NE(cyc.Format("c").find("cycle: a -> b -> a"), std::string::npos) << cyc.Format("c");

  Diagnostics yaml;
  EXPECT_FALSE(ParseExperiment("name: [unclosed\n", &yaml));
  EXPECT_NE(yaml.Format("y").find("y:2:1: malformed YAML"), std::string::npos)
      << yaml.Format("y");

  Diagnostics missing;
  EXPECT_FALSE(LoadExperimentFile("/nonexistent/x.yaml", &missing));
  EXPECT_NE(missing.Format("/nonexistent/x.yaml").find("cannot read experiment file"),
            std::string::npos);
}

TEST(ExperimentTest, OneofMembersConflictAndEnumsTakeShortNames) {
  Diagnostics diags;
  EXPECT_FALSE(ParseExperiment(R"(name: d
method:
  - id: fill
    duration: 1s
    fault:
      diskFill: {directory: /tmp, bytes: 10, targetPercent: 50}
)",
                               &diags));
  EXPECT_NE(diags.Format("d").find("targetPercent: conflicts with bytes"), std::string::npos)
      << diags.Format("d");

  Diagnostics ok;
  auto exp = ParseExperiment(R"(name: p
method:
  - id: cut
    duration: 1s
    fault:
      partition: {cidrs: [10.0.0.0/8], direction: egress}
)",
                             &ok);
  ASSERT_TRUE(exp) << ok.Format("p");
  EXPECT_EQ(exp->method[0].fault->partition().direction(), chaos::v1::Partition::DIRECTION_EGRESS);
}

TEST(DurationTest, NeedsAUnitAndRejectsNegatives) {
  EXPECT_EQ(*ParseDuration("150ms"), absl::Milliseconds(150));
  EXPECT_EQ(*ParseDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_FALSE(ParseDuration("30").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("soon").ok());
}

}  // namespace
}  // namespace chaos::controller
