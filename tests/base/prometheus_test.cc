// The Prometheus text format of every /metrics page: escaping, value
// formatting, and histograms (cumulative buckets ending with +Inf, _sum,
// _count).
#include "base/prometheus.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chaos::base {
namespace {

TEST(PrometheusTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue(R"(a"b\c)" "\n" "d"), R"(a\"b\\c\nd)");
  EXPECT_EQ(EscapeLabelValue("host1:7070"), "host1:7070");
  // HELP keeps double quotes as they are.
  EXPECT_EQ(EscapeHelp("say \"hi\"\\\nbye"), R"(say "hi"\\\nbye)");
}

TEST(PrometheusTest, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(42), "42");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(0.0025), "0.0025");
  EXPECT_EQ(FormatMetricValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatMetricValue(0.0 / 0.0), "NaN");
}

TEST(PrometheusTest, FamiliesHaveHelpTypeAndEscapedLabels) {
  PrometheusText out;
  out.Family("x_faults", "gauge", "Faults.\nSecond line.");
  out.Sample("x_faults", {{"kind", "cpuBurn"}, {"agent", "a\"b"}}, 2);
  out.Single("x_total", "counter", "Things.", 7);
  EXPECT_EQ(out.text(),
            "# HELP x_faults Faults.\\nSecond line.\n"
            "# TYPE x_faults gauge\n"
            "x_faults{kind=\"cpuBurn\",agent=\"a\\\"b\"} 2\n"
            "# HELP x_total Things.\n"
            "# TYPE x_total counter\n"
            "x_total 7\n");
}

TEST(PrometheusTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Histogram h({0.1, 0.25, 1});
  // Sums of these are exact in binary: the expected text is too.
  for (double v : {0.125, 0.25, 0.375, 0.75, 0.75, 3.0}) h.Observe(v);
  PrometheusText out;
  out.HistogramFamily("x_seconds", "Latency.", h.Read());
  EXPECT_EQ(out.text(),
            "# HELP x_seconds Latency.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{le=\"0.1\"} 0\n"
            "x_seconds_bucket{le=\"0.25\"} 2\n"  // an observation on a bound is in it
            "x_seconds_bucket{le=\"1\"} 5\n"
            "x_seconds_bucket{le=\"+Inf\"} 6\n"
            "x_seconds_sum 5.25\n"
            "x_seconds_count 6\n");
}

TEST(PrometheusTest, EmptyHistogramListsEveryBucketAtZero) {
  Histogram h({0.5, 1});
  PrometheusText out;
  out.HistogramFamily("y_seconds", "Latency.", h.Read());
  EXPECT_THAT(out.text(), ::testing::HasSubstr("y_seconds_bucket{le=\"0.5\"} 0\n"
                                               "y_seconds_bucket{le=\"1\"} 0\n"
                                               "y_seconds_bucket{le=\"+Inf\"} 0\n"
                                               "y_seconds_sum 0\n"
                                               "y_seconds_count 0\n"));
}

TEST(PrometheusTest, HistogramCountsEveryObservationFromManyThreads) {
  Histogram h({1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 1000; ++i) h.Observe(i % 2 ? 0.5 : 2);
    });
  }
  for (auto& t : threads) t.join();
  const HistogramData d = h.Read();
  EXPECT_EQ(d.count, 4000u);
  EXPECT_EQ(d.counts[0], 2000u);
  EXPECT_DOUBLE_EQ(d.sum, 2000 * 0.5 + 2000 * 2.0);
}

}  // namespace
}  // namespace chaos::base
