// FanOut: one call per item, several at once, for talking to many agents
// without one slow agent delaying the others.
#ifndef CHAOS_BASE_FAN_OUT_H_
#define CHAOS_BASE_FAN_OUT_H_

#include <cstddef>
#include <functional>

namespace chaos::base {

// Runs fn(0) ... fn(n - 1), each exactly once, on at most `limit` threads
// at once (0 counts as 1), and returns when every call has returned. The
// order of the calls is unspecified; a call that blocks holds one thread,
// never the others. `fn` must be safe to call from several threads.
void FanOut(size_t n, size_t limit, const std::function<void(size_t)>& fn);

}  // namespace chaos::base

#endif  // CHAOS_BASE_FAN_OUT_H_
