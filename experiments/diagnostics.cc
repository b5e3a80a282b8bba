#include "experiments/diagnostics.h"

#include "absl/strings/str_cat.h"

namespace chaos::experiments {

void Diagnostics::Add(const YAML::Mark& mark, std::string message) {
  Diagnostic d;
  if (!mark.is_null()) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.message = std::move(message);
  items_.push_back(std::move(d));
}

void Diagnostics::AddNoPosition(std::string message) {
  items_.push_back(Diagnostic{0, 0, std::move(message)});
}

std::string Diagnostics::Format(const std::string& file) const {
  std::string out;
  for (const Diagnostic& d : items_) {
    if (d.line > 0) {
      absl::StrAppend(&out, file, ":", d.line, ":", d.column, ": ", d.message, "\n");
    } else {
      absl::StrAppend(&out, file, ": ", d.message, "\n");
    }
  }
  return out;
}

}  // namespace chaos::experiments
