#include "base/fan_out.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace chaos::base {

void FanOut(size_t n, size_t limit, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> threads;
  const size_t count = std::min(n, std::max<size_t>(limit, 1));
  for (size_t t = 1; t < count; ++t) threads.emplace_back(work);
  if (count > 0) work();  // this thread is one of them
  for (std::thread& t : threads) t.join();
}

}  // namespace chaos::base
