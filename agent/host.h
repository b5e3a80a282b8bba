// What this host calls itself, from the kernel (gethostname, uname). Cheap
// system calls, no probing. Thread-safe.
#ifndef CHAOS_AGENT_HOST_H_
#define CHAOS_AGENT_HOST_H_

#include <string>

namespace chaos::agent {

// The host name; "" when the kernel will not say.
std::string HostName();

// "Linux 6.1.0-18-amd64" (sysname and release); "" when uname fails.
std::string KernelName();

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_HOST_H_
