// RateLimiter with plain time values: burst, refill, Retry-After, independence of keys and the
// bounded table.
#include "handoff/oauth/rate_limit.h"

#include <gtest/gtest.h>

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
