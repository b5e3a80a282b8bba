// Headless Chromium for tests that check what a report page shows: the page
// is loaded from a file:// URL with networking off, and its DOM (after its
// scripts ran) or a screenshot is written to a file.
#ifndef CHAOS_TESTS_CHROMIUM_H_
#define CHAOS_TESTS_CHROMIUM_H_

#include <string>
#include <vector>

#include "base/subprocess.h"
#include "tests/test_util.h"

namespace chaos::testing {

// The Chromium binary, or "" when it is not installed.
std::string FindChromium();

// Runs Chromium on `file` with `extra` flags (--dump-dom, --screenshot=...),
// inside an empty network namespace when this process may create one, with
// its profile under `dir`. Its stdout goes to `out`, its stderr to
// <dir>/chromium.err.
base::CommandOutcome RunChromium(const TempDir& dir, const std::vector<std::string>& extra,
                                 const std::string& file, const std::string& out);

// The value of attribute `name` of <body> in a dumped DOM; "<missing>" or
// "<no body>" when there is none.
std::string BodyAttr(const std::string& dom, const std::string& name);

}  // namespace chaos::testing

#endif  // CHAOS_TESTS_CHROMIUM_H_
