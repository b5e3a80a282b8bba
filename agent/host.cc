#include "agent/host.h"

#include <sys/utsname.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace chaos::agent {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

std::string KernelName() {
  utsname u;
  if (uname(&u) != 0) return "";
  return absl::StrCat(u.sysname, " ", u.release);
}

}  // namespace chaos::agent
