// The Prometheus text exposition format, version 0.0.4, written once for
// every daemon's /metrics page: families with HELP and TYPE lines, samples
// with escaped label values, and a histogram of fixed buckets.
//
// PrometheusText is a builder: declare a family, then add its samples.
// It checks nothing about names (callers pass constants); label values and
// HELP texts may be anything and are escaped as the format requires
// (backslash, double quote and newline in label values; backslash and
// newline in HELP).
//
// Histogram is safe for concurrent use: Observe() from any thread, Read()
// gives a consistent copy.
#ifndef CHAOS_BASE_PROMETHEUS_H_
#define CHAOS_BASE_PROMETHEUS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace chaos::base {

// The content type of a page in this format.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4";

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// "a\"b\\c\nd" -> a\"b\\c\nd, for a label value between double quotes.
std::string EscapeLabelValue(absl::string_view value);
// Backslash and newline escaped, for a HELP line.
std::string EscapeHelp(absl::string_view help);
// A sample value: integers as such ("3"), others with up to 17 significant
// digits ("0.25"), and "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double value);

// A histogram's figures: counts[i] observations at most bounds[i] (not
// cumulative), `count` in all, their `sum`.
struct HistogramData {
  std::vector<double> bounds;  // upper bounds, ascending, without +Inf
  std::vector<uint64_t> counts;
  uint64_t count = 0;
  double sum = 0;
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, ascending (+Inf is implied).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  HistogramData Read() const;

 private:
  mutable absl::Mutex mu_;
  HistogramData data_ ABSL_GUARDED_BY(mu_);
};

class PrometheusText {
 public:
  // The HELP and TYPE lines of family `name`; type is "counter", "gauge" or
  // "histogram".
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);
  // One sample line: name{labels} value.
  void Sample(absl::string_view name, const MetricLabels& labels, double value);
  // A family of one unlabelled sample.
  void Single(absl::string_view name, absl::string_view type, absl::string_view help,
              double value);
  // A whole histogram family: cumulative NAME_bucket{le="..."} lines ending
  // with le="+Inf", then NAME_sum and NAME_count.
  void HistogramFamily(absl::string_view name, absl::string_view help, const HistogramData& data);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace chaos::base

#endif  // CHAOS_BASE_PROMETHEUS_H_
