#include "base/prometheus.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace chaos::base {

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest form that reads back as the same double: 0.0025, not
  // 0.0025000000000000001.
  std::string out;
  for (int digits = 15; digits <= 17; ++digits) {
    out = absl::StrFormat("%.*g", digits, value);
    if (std::strtod(out.c_str(), nullptr) == value) break;
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds) {
  data_.bounds = std::move(bounds);
  data_.counts.assign(data_.bounds.size(), 0);
}

void Histogram::Observe(double value) {
  absl::MutexLock lock(&mu_);
  const auto it = std::lower_bound(data_.bounds.begin(), data_.bounds.end(), value);
  if (it != data_.bounds.end()) ++data_.counts[it - data_.bounds.begin()];
  ++data_.count;
  data_.sum += value;
}

HistogramData Histogram::Read() const {
  absl::MutexLock lock(&mu_);
  return data_;
}

void PrometheusText::Family(absl::string_view name, absl::string_view type,
                            absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type,
                  "\n");
}

void PrometheusText::Sample(absl::string_view name, const MetricLabels& labels, double value) {
  absl::StrAppend(&text_, name);
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(&text_, i == 0 ? "{" : ",", labels[i].first, "=\"",
                    EscapeLabelValue(labels[i].second), "\"");
  }
  absl::StrAppend(&text_, labels.empty() ? "" : "}", " ", FormatMetricValue(value), "\n");
}

void PrometheusText::Single(absl::string_view name, absl::string_view type,
                            absl::string_view help, double value) {
  Family(name, type, help);
  Sample(name, {}, value);
}

void PrometheusText::HistogramFamily(absl::string_view name, absl::string_view help,
                                     const HistogramData& data) {
  Family(name, "histogram", help);
  const std::string bucket = absl::StrCat(name, "_bucket");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < data.bounds.size() && i < data.counts.size(); ++i) {
    cumulative += data.counts[i];
    Sample(bucket, {{"le", FormatMetricValue(data.bounds[i])}}, static_cast<double>(cumulative));
  }
  Sample(bucket, {{"le", "+Inf"}}, static_cast<double>(data.count));
  Sample(absl::StrCat(name, "_sum"), {}, data.sum);
  Sample(absl::StrCat(name, "_count"), {}, static_cast<double>(data.count));
}

}  // namespace chaos::base
