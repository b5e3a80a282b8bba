// Diagnostics: every error found in an input file, each with its position,
// printed as "file:line:column: message" (line and column 1-based).
#ifndef CHAOS_EXPERIMENTS_DIAGNOSTICS_H_
#define CHAOS_EXPERIMENTS_DIAGNOSTICS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "yaml-cpp/yaml.h"

namespace chaos::experiments {

struct Diagnostic {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string message;
};

class Diagnostics {
 public:
  void Add(const YAML::Mark& mark, std::string message);
  void Add(const YAML::Node& node, std::string message) { Add(node.Mark(), std::move(message)); }
  void AddNoPosition(std::string message);

  bool empty() const { return items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // One "file:line:column: message" line per diagnostic.
  std::string Format(const std::string& file) const;

 private:
  std::vector<Diagnostic> items_;
};

// The text of the input file `path` of at most `max_bytes`, or nullopt
// after one diagnostic without a position: "cannot read WHAT file: No such
// file or directory", or "2000000 bytes, more than the limit of 1048576
// bytes" (Format prefixes the file's name).
std::optional<std::string> ReadInputFile(const std::string& path, size_t max_bytes,
                                         const std::string& what, Diagnostics* diags);

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_DIAGNOSTICS_H_
