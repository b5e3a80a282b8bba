#include "tests/reliability/results.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

namespace chaos::testing {

std::string ResultsPath() { return std::string(CHAOS_BINARY_DIR) + "/reliability/results.jsonl"; }

void AppendResult(const ScenarioResult& r, bool passed) {
  std::filesystem::create_directories(std::filesystem::path(ResultsPath()).parent_path());
  nlohmann::json line = {{"scenario", r.scenario},
                         {"checked", r.checked},
                         {"figure", r.figure},
                         {"goal", r.goal},
                         {"passed", passed},
                         {"at_unix_ms", absl::ToUnixMillis(absl::Now())}};
  const std::string text = line.dump() + "\n";
  const int fd = open(ResultsPath().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)!write(fd, text.data(), text.size());
  close(fd);
}

}  // namespace chaos::testing
