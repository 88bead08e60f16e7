// A per-key rate limiter for login attempts: a token bucket in its GCRA form (one timestamp per
// key). A key may make `burst` attempts at once, then one more every `intervalMs`.
//
// Memory is bounded: at most `maxKeys` keys are remembered; when the table is full, the key
// inserted longest ago is forgotten (a forgotten key starts again with a full bucket).
// Thread-bound: each shard has its own. Time is passed in (monotonic milliseconds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
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
  Options options_;
  // Theoretical arrival time: the bucket is full again at tat; each attempt adds intervalMs.
  std::unordered_map<std::string, uint64_t> tat_;
  std::deque<std::string> order_;  // keys in insertion order, for eviction
};

}  // namespace handoff::oauth
