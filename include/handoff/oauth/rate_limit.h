// Per-key rate limiters (config [rate_limits]): a token bucket in its GCRA form (one timestamp
// per key). A key may make `burst` attempts at once, then one more every `intervalMs`.
//
// Memory is bounded: at most `maxKeys` keys are remembered; when the table is full, the key
// inserted longest ago is forgotten (a forgotten key starts again with a full bucket).
// Time is passed in (monotonic milliseconds).
//
// RateLimiter is thread-bound. SharedRateLimiter is thread-safe: one budget per key across every
// shard, kept in stripes (a RateLimiter behind a mutex each) picked by the key's hash, so that a
// request locks one stripe, briefly, and shards rarely meet on the same one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace handoff::oauth {

class RateLimiter {
 public:
  struct Options {
    uint32_t burst = 10;        // attempts allowed at once (at least 1)
    uint64_t intervalMs = 6000; // one attempt back per interval: 10 a minute
    size_t maxKeys = 4096;      // at least 1
  };

  RateLimiter() : RateLimiter(Options{}) {}
  explicit RateLimiter(Options options);

  // Spends one attempt for `key`. Returns 0 when allowed; otherwise nothing is spent and the
  // result is the number of milliseconds until an attempt will be allowed again (>= 1).
  uint64_t take(std::string_view key, uint64_t nowMs);

  size_t keys() const { return tat_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Options options_;
  // Theoretical arrival time: the bucket is full again at tat; each attempt adds intervalMs.
  std::unordered_map<std::string, uint64_t, Hash, std::equal_to<>> tat_;
  std::deque<std::string> order_;  // keys in insertion order, for eviction
};

class SharedRateLimiter {
 public:
  // options.maxKeys is the bound of the whole table (spread over the stripes).
  explicit SharedRateLimiter(RateLimiter::Options options);

  // As RateLimiter::take, for every thread.
  uint64_t take(std::string_view key, uint64_t nowMs);
  size_t keys() const;

 private:
  static constexpr size_t kStripes = 16;
  struct alignas(64) Stripe {
    mutable std::mutex mu;
    std::unique_ptr<RateLimiter> limiter;
  };
  std::unique_ptr<Stripe[]> stripes_;
};

// Milliseconds to wait → the whole seconds of a Retry-After header (at least 1).
inline uint64_t retryAfterSeconds(uint64_t waitMs) { return waitMs == 0 ? 1 : (waitMs + 999) / 1000; }

}  // namespace handoff::oauth
