#include "experiments/variables.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/files.h"

namespace chaos::experiments {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Tracks the line and column of the text being scanned, for diagnostics.
struct Cursor {
  int line = 1;
  int column = 1;
  YAML::Mark Mark() const {
    YAML::Mark mark;
    mark.line = line - 1;
    mark.column = column - 1;
    return mark;
  }
  void Advance(char c) {
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
};

// "NAME" of "NAME:-default".
std::string NameOf(const std::string& inner) { return inner.substr(0, inner.find(":-")); }

// Expands the well-formed reference "${inner}" at `at`; an unset variable
// without a default is a diagnostic.
void ExpandOne(const std::string& inner, const VariableLookup& lookup, const Cursor& at,
               ExpandedText* out, Diagnostics* diags) {
  const size_t dflt = inner.find(":-");
  const std::string name = NameOf(inner);
  std::optional<std::string> value = lookup(name);
  if (!value && dflt != std::string::npos) value = inner.substr(dflt + 2);
  if (!value) {
    diags->Add(at.Mark(), absl::StrCat("variable ", name, " is not set (set it in the "
                                       "environment, or write ${", name, ":-default})"));
    return;
  }
  out->text += *value;
  out->variables[name] = *value;
}

}  // namespace

VariableLookup EnvironmentLookup() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

VariableLookup NoVariables() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

std::optional<ExpandedText> ExpandVariables(const std::string& text, const VariableLookup& lookup,
                                            Diagnostics* diags) {
  ExpandedText out;
  Cursor cursor;
  const size_t errors = diags->items().size();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const size_t end = text.find('}', i);
      const std::string inner = end == std::string::npos ? "" : text.substr(i + 2, end - i - 2);
      if (end != std::string::npos && ValidName(NameOf(inner))) {
        ExpandOne(inner, lookup, cursor, &out, diags);
        cursor.column += static_cast<int>(end - i + 1);
        i = end;
        continue;
      }
      diags->Add(cursor.Mark(), "malformed variable reference (write ${NAME} or ${NAME:-default})");
    }
    out.text.push_back(text[i]);
    cursor.Advance(text[i]);
  }
  if (diags->items().size() != errors) return std::nullopt;
  return out;
}

std::optional<ExpandedText> ReadExperimentFile(const std::string& path, Diagnostics* diags) {
  std::optional<std::string> text = ReadInputFile(path, kMaxExperimentBytes, "experiment", diags);
  if (!text) return std::nullopt;
  return ExpandVariables(*text, EnvironmentLookup(), diags);
}

}  // namespace chaos::experiments
