#include "tests/chromium.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/time/time.h"

namespace chaos::testing {

std::string FindChromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

base::CommandOutcome RunChromium(const TempDir& dir, const std::vector<std::string>& extra,
                                 const std::string& file, const std::string& out) {
  const std::string profile = dir.path() + "/profile-" + std::to_string(extra.size());
  mkdir(profile.c_str(), 0700);
  std::vector<std::string> argv;
  if (base::RunCommand({"unshare", "-n", "true"}, absl::Seconds(10)).exit_code == 0) {
    argv = {"unshare", "-n"};
  }
  // sh only redirects; the arguments pass through "$@" untouched.
  std::vector<std::string> cmd = {
      "sh", "-c", "out=$1; shift; HOME=\"$0\" exec \"$@\" >\"$out\" 2>>\"$0/chromium.err\"",
      dir.path(), out,
      FindChromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--user-data-dir=" + profile, "--virtual-time-budget=2000"};
  cmd.insert(cmd.end(), extra.begin(), extra.end());
  cmd.push_back("file://" + file);
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return base::RunCommand(argv, absl::Seconds(120));
}

std::string BodyAttr(const std::string& dom, const std::string& name) {
  const std::string key = name + "=\"";
  const size_t body = dom.find("<body");
  if (body == std::string::npos) return "<no body>";
  const size_t end = dom.find('>', body);
  const size_t at = dom.find(key, body);
  if (at == std::string::npos || at > end) return "<missing>";
  const size_t v = at + key.size();
  return dom.substr(v, dom.find('"', v) - v);
}

}  // namespace chaos::testing
