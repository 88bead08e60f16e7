#include "handoff/oauth/rate_limit.h"

#include <algorithm>

namespace handoff::oauth {

RateLimiter::RateLimiter(Options options) : options_(options) {
  options_.burst = std::max<uint32_t>(options_.burst, 1);
  options_.maxKeys = std::max<size_t>(options_.maxKeys, 1);
}

uint64_t RateLimiter::take(std::string_view key, uint64_t nowMs) {
  const uint64_t tolerance = (options_.burst - 1) * options_.intervalMs;
  auto it = tat_.find(key);  // no string is built for a key already known
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

SharedRateLimiter::SharedRateLimiter(RateLimiter::Options options) : stripes_(std::make_unique<Stripe[]>(kStripes)) {
  options.maxKeys = std::max<size_t>(options.maxKeys / kStripes, 1);
  for (size_t i = 0; i < kStripes; ++i) stripes_[i].limiter = std::make_unique<RateLimiter>(options);
}

uint64_t SharedRateLimiter::take(std::string_view key, uint64_t nowMs) {
  // The high bits: the stripe's own map buckets by the low ones of the same hash.
  Stripe& s = stripes_[(std::hash<std::string_view>{}(key) >> 48) % kStripes];
  std::lock_guard<std::mutex> lock(s.mu);
  return s.limiter->take(key, nowMs);
}

size_t SharedRateLimiter::keys() const {
  size_t n = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    std::lock_guard<std::mutex> lock(stripes_[i].mu);
    n += stripes_[i].limiter->keys();
  }
  return n;
}

}  // namespace handoff::oauth
