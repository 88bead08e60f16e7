// RateLimiter with plain time values: burst, refill, Retry-After, independence of keys and the
// bounded table.
#include "handoff/oauth/rate_limit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace handoff::oauth {
namespace {

TEST(RateLimiter, AllowsTheBurstThenRefusesWithTheWaitUntilTheNextAttempt) {
  RateLimiter rl({.burst = 10, .intervalMs = 6000, .maxKeys = 16});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rl.take("1.2.3.4", 1000), 0u) << i;
  EXPECT_EQ(rl.take("1.2.3.4", 1000), 6000u);
  EXPECT_EQ(rl.take("1.2.3.4", 4000), 3000u) << "a refused attempt spends nothing";
  EXPECT_EQ(rl.take("1.2.3.4", 7000), 0u) << "one attempt back per interval";
  EXPECT_EQ(rl.take("1.2.3.4", 7000), 6000u);
  // A full minute refills the whole bucket.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rl.take("1.2.3.4", 70000), 0u) << i;
  EXPECT_NE(rl.take("1.2.3.4", 70000), 0u);
}

TEST(RateLimiter, KeysAreIndependent) {
  RateLimiter rl({.burst = 1, .intervalMs = 1000, .maxKeys = 16});
  EXPECT_EQ(rl.take("a", 0), 0u);
  EXPECT_NE(rl.take("a", 0), 0u);
  EXPECT_EQ(rl.take("b", 0), 0u);
}

TEST(RateLimiter, TableIsBoundedAndForgetsTheOldestKey) {
  RateLimiter rl({.burst = 1, .intervalMs = 1000, .maxKeys = 3});
  for (const char* k : {"a", "b", "c"}) EXPECT_EQ(rl.take(k, 0), 0u);
  EXPECT_EQ(rl.keys(), 3u);
  EXPECT_EQ(rl.take("d", 0), 0u);
  EXPECT_EQ(rl.keys(), 3u);
  EXPECT_EQ(rl.take("a", 0), 0u) << "a was forgotten: a full bucket again";
  EXPECT_NE(rl.take("c", 0), 0u) << "c is still remembered";
}

}  // namespace
}  // namespace handoff::oauth

namespace handoff::oauth {
namespace {

TEST(SharedRateLimiter, OneBudgetPerKeyAcrossThreads) {
  // 4 threads (as 4 shards would) spend one key's burst of 100: exactly 100 are allowed.
  SharedRateLimiter rl({.burst = 100, .intervalMs = 60000, .maxKeys = 1024});
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (rl.take("192.0.2.1", 1000) == 0) ++allowed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 100);
  EXPECT_EQ(rl.take("192.0.2.1", 1000), 60000u);
  EXPECT_EQ(rl.take("192.0.2.2", 1000), 0u) << "another key has its own budget";
  EXPECT_EQ(rl.take("192.0.2.1", 61000), 0u) << "one back per interval";
}

TEST(SharedRateLimiter, TableIsBoundedOverall) {
  SharedRateLimiter rl({.burst = 1, .intervalMs = 1000, .maxKeys = 256});
  for (int i = 0; i < 10000; ++i) rl.take("k" + std::to_string(i), 0);
  EXPECT_LE(rl.keys(), 256u);
}

TEST(RetryAfterSeconds, RoundsUpToWholeSecondsAndNeverZero) {
  EXPECT_EQ(retryAfterSeconds(0), 1u);
  EXPECT_EQ(retryAfterSeconds(1), 1u);
  EXPECT_EQ(retryAfterSeconds(1000), 1u);
  EXPECT_EQ(retryAfterSeconds(1001), 2u);
}

}  // namespace
}  // namespace handoff::oauth
