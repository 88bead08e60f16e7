#include "handoff/store/key_set.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace handoff::store {
namespace {

using Keys = std::set<std::pair<uint64_t, uint64_t>>;

Keys asSet(KeySet& s) {
  Keys out;
  s.forEach([&](const TokenKey& k) { EXPECT_TRUE(out.insert({k.lo, k.hi}).second) << "a key visited twice"; });
  return out;
}

TEST(KeySet, HoldsEachKeyOnce) {
  KeySet s;
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.insert({1, 2}));
  EXPECT_FALSE(s.insert({1, 2}));
  EXPECT_TRUE(s.insert({2, 1}));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.erase({1, 2}));
  EXPECT_FALSE(s.erase({1, 2}));
  EXPECT_EQ(asSet(s), (Keys{{2, 1}}));
  EXPECT_TRUE(s.erase({2, 1}));
  EXPECT_TRUE(s.empty());
}

// From empty to many keys (every growth step, including those still migrating when the next
// key comes) and back, against std::set; keys() is a copy that survives changes to the set.
TEST(KeySet, FollowsAReferenceThroughGrowthAndErasure) {
  std::mt19937_64 rng(7);
  KeySet s;
  Keys ref;
  for (int i = 0; i < 50000; ++i) {
    TokenKey k{rng(), rng()};
    ASSERT_TRUE(s.insert(k));
    ref.insert({k.lo, k.hi});
    if (i % 997 == 0) {
      ASSERT_EQ(asSet(s), ref) << "after " << i + 1 << " inserts";
    }
  }
  ASSERT_EQ(s.size(), ref.size());
  std::vector<TokenKey> keys = s.keys();
  ASSERT_EQ(keys.size(), ref.size());
  for (size_t i = 0; i < keys.size(); i += 2) {
    ASSERT_TRUE(s.erase(keys[i]));
    ref.erase({keys[i].lo, keys[i].hi});
  }
  EXPECT_EQ(asSet(s), ref);
  for (const TokenKey& k : keys) s.erase(k);
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(asSet(s).empty());
}

}  // namespace
}  // namespace handoff::store
