#include "experiments/diagnostics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/files.h"

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

std::optional<std::string> ReadInputFile(const std::string& path, size_t max_bytes,
                                         const std::string& what, Diagnostics* diags) {
  absl::StatusOr<std::string> text = base::ReadFileUpTo(path, max_bytes);
  if (text.ok()) return *std::move(text);
  const absl::string_view why = absl::StripPrefix(text.status().message(), path + ": ");
  diags->AddNoPosition(absl::IsInvalidArgument(text.status())
                           ? std::string(why)
                           : absl::StrCat("cannot read ", what, " file: ", why));
  return std::nullopt;
}

}  // namespace chaos::experiments
