// What each reliability scenario checked and measured, for docs/RELIABILITY.md:
// one JSON object per line appended to <build>/reliability/results.jsonl
// (tests/reliability/make_doc.py turns the newest line of each scenario into
// the document). Appending is one write(2) of a whole line, so the test
// processes ctest runs may share the file.
#ifndef CHAOS_TESTS_RELIABILITY_RESULTS_H_
#define CHAOS_TESTS_RELIABILITY_RESULTS_H_

#include <string>

namespace chaos::testing {

struct ScenarioResult {
  std::string scenario;  // what was done to the system
  std::string checked;   // what was checked, and how, from outside the agents
  std::string figure;    // what was measured
  std::string goal;      // what the figure is held against ("" if none)
};

// The results file, under the build directory.
std::string ResultsPath();
// Appends `r` with `passed` and the time.
void AppendResult(const ScenarioResult& r, bool passed);

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_RELIABILITY_RESULTS_H_
