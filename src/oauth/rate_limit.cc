#include "handoff/oauth/rate_limit.h"

#include <algorithm>

namespace handoff::oauth {

RateLimiter::RateLimiter(Options options) : options_(options) {
  options_.burst = std::max<uint32_t>(options_.burst, 1);
  options_.maxKeys = std::max<size_t>(options_.maxKeys, 1);
}

uint64_t RateLimiter::take(std::string_view key, uint64_t nowMs) {
  const uint64_t tolerance = (options_.burst - 1) * options_.intervalMs;
  auto it = tat_.find(std::string(key));
  if (it == tat_.end()) {
    if (tat_.size() >= options_.maxKeys) {
      tat_.erase(order_.front());
      order_.pop_front();
    }
    it = tat_.emplace(std::string(key), nowMs).first;
    order_.emplace_back(key);
  }
  uint64_t tat = std::max(it->second, nowMs);
  if (tat - nowMs > tolerance) return tat - nowMs - tolerance;
  it->second = tat + options_.intervalMs;
  return 0;
}

}  // namespace handoff::oauth
