#include "handoff/store/token_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>

namespace handoff::store {
namespace {

TokenKey key(uint64_t lo, uint64_t hi = 1) { return {lo, hi}; }

TEST(TokenTable, InsertFindTake) {
  TokenTable<std::string> t(16);
  EXPECT_TRUE(t.insert(key(1), "a"));
  EXPECT_FALSE(t.insert(key(1), "b")) << "an existing key is never overwritten";
  ASSERT_NE(t.find(key(1)), nullptr);
  EXPECT_EQ(*t.find(key(1)), "a");
  EXPECT_EQ(t.find(key(1, 2)), nullptr) << "both halves of the key must match";
  auto v = t.take(key(1));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "a");
  EXPECT_FALSE(t.take(key(1)).has_value()) << "take is single use";
  EXPECT_EQ(t.size(), 0u);
}

TEST(TokenTable, CollidingKeysSurviveErasesInTheirRun) {
  TokenTable<int> t(16);
  // Same home slot (low bits equal), different keys: one probe run, including a wrap-around.
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(t.insert(key(15 + 16 * i, i), i));
  ASSERT_TRUE(t.erase(key(15 + 16 * 2, 2)));
  ASSERT_TRUE(t.erase(key(15, 0)));
  for (int i : {1, 3, 4, 5}) {
    ASSERT_NE(t.find(key(15 + 16 * i, i)), nullptr) << i;
    EXPECT_EQ(*t.find(key(15 + 16 * i, i)), i);
  }
  EXPECT_EQ(t.size(), 4u);
}

TEST(TokenTable, MatchesAReferenceMapUnderRandomOperations) {
  TokenTable<uint64_t> t(16);
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> ref;
  std::mt19937_64 rng(42);
  for (int op = 0; op < 30000; ++op) {
    // Few distinct low bits force long runs and wrap-arounds; growth happens along the way.
    TokenKey k{rng() % 4096, rng() % 4};
    auto rk = std::make_pair(k.lo, k.hi);
    switch (rng() % 4) {
      case 0:
      case 1: {
        bool fresh = ref.emplace(rk, op).second;
        ASSERT_EQ(t.insert(k, op), fresh);
        break;
      }
      case 2: {
        auto v = t.take(k);
        auto it = ref.find(rk);
        ASSERT_EQ(v.has_value(), it != ref.end());
        if (v) {
          ASSERT_EQ(*v, it->second);
          ref.erase(it);
        }
        break;
      }
      case 3: {
        uint64_t* v = t.find(k);
        auto it = ref.find(rk);
        ASSERT_EQ(v != nullptr, it != ref.end());
        if (v) {
          ASSERT_EQ(*v, it->second);
        }
        break;
      }
    }
    ASSERT_EQ(t.size(), ref.size());
  }
}

TEST(TokenTable, EraseIfRemovesExactlyTheMatchingRecords) {
  TokenTable<int> t(16);
  std::mt19937_64 rng(7);
  int expectedKept = 0;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(t.insert({rng() % 512, static_cast<uint64_t>(i)}, i));
    if (i % 3 != 0) ++expectedKept;
  }
  size_t removed = t.eraseIf([](const TokenKey&, int v) { return v % 3 == 0; });
  EXPECT_EQ(removed, 5000u - expectedKept);
  EXPECT_EQ(t.size(), static_cast<size_t>(expectedKept));
  int seen = 0;
  t.forEach([&](const TokenKey&, int v) {
    EXPECT_NE(v % 3, 0);
    ++seen;
  });
  EXPECT_EQ(seen, expectedKept);
}

TEST(TokenTable, GrowsKeepingEveryRecord) {
  TokenTable<int> t(16);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(t.insert(key(static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull, i), i));
  EXPECT_GE(t.capacity() * 7, t.size() * 8);
  for (int i = 0; i < 10000; ++i) ASSERT_NE(t.find(key(static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull, i)), nullptr);
}

// Recovery re-inserts a snapshot, written in one table's iteration order, into a fresh table that
// starts small and doubles. That order must not cluster the new table: with one hash shared by all
// tables, the first keys of an iteration are the ones with the smallest homes, so a part of it lands
// as one long run (recovery turned quadratic). Here the first eighth of a big table's iteration
// goes into a fresh table: its runs must stay as short as random insertion's.
TEST(TokenTable, AnotherTablesIterationOrderDoesNotClusterANewTable) {
  constexpr int kKeys = 100'000, kPart = kKeys / 8;
  std::mt19937_64 rng(20261128);
  TokenTable<int> source(16);
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(source.insert(TokenKey{rng(), rng()}, i));
  TokenTable<int> copy(16), random(16);
  int n = 0;
  source.forEach([&](const TokenKey& k, int v) {
    if (n++ < kPart) {
      ASSERT_TRUE(copy.insert(k, v));
    }
  });
  for (int i = 0; i < kPart; ++i) ASSERT_TRUE(random.insert(TokenKey{rng(), rng()}, i));
  EXPECT_EQ(copy.size(), static_cast<size_t>(kPart));
  EXPECT_LE(copy.longestRun(), 4 * random.longestRun() + 16)
      << "copy " << copy.longestRun() << " vs random insertion " << random.longestRun();
}

// A scan spread over steps with inserts, erases (backward shifts across the cursor) and growth
// between them visits every record present from its start to its end.
TEST(TokenTable, AScanBetweenChangesVisitsEveryRecordThatStays) {
  size_t carried = 0, scans = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    TokenTable<uint64_t> t(16);
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> ref;
    auto randomKey = [&] { return TokenKey{rng() % 512, rng() % 3}; };  // few homes: long runs
    for (int i = 0; i < 200; ++i) {
      TokenKey k = randomKey();
      if (t.insert(k, i)) ref[{k.lo, k.hi}] = i;
    }
    auto atStart = ref;
    std::map<std::pair<uint64_t, uint64_t>, size_t> visits;
    std::set<std::pair<uint64_t, uint64_t>> erased;  // a key erased once is another record if it comes back
    TableScan scan;
    t.beginScan(scan);
    ++scans;
    bool done = false;
    for (int step = 0; !done; ++step) {
      done = t.scanStep(scan, 1 + rng() % 8, [&](const TokenKey& k, uint64_t& v) {
        auto it = ref.find({k.lo, k.hi});
        ASSERT_NE(it, ref.end()) << "a visited record is in the table";
        ASSERT_EQ(v, it->second);
        ++visits[{k.lo, k.hi}];
      });
      carried = std::max(carried, scan.moved.size());
      for (int c = rng() % 6; c > 0; --c) {  // changes between steps
        TokenKey k = randomKey();
        if (rng() % 3 == 0) {
          uint64_t v = rng();
          if (t.insert(k, v)) ref[{k.lo, k.hi}] = v;
        } else if (t.erase(k)) {
          ref.erase({k.lo, k.hi});
          erased.insert({k.lo, k.hi});
        }
      }
      ASSERT_LT(step, 100000) << "the scan ends";
    }
    EXPECT_FALSE(t.scanning());
    for (const auto& [k, v] : atStart) {
      if (ref.count(k) != 0 && erased.count(k) == 0) {
        EXPECT_GE(visits[k], 1u) << "seed " << seed << ": a record present throughout was missed";
      }
    }
  }
  EXPECT_EQ(scans, 40u);
  EXPECT_GT(carried, 0u) << "no erase carried a record behind the cursor: the test does not exercise it";
}

TEST(TokenTable, AScanAcrossGrowthHandsOverTheUnvisitedRecords) {
  TokenTable<int> t(16);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(t.insert(key(1000 + i * 7919), i));
  TableScan scan;
  t.beginScan(scan);
  std::map<uint64_t, int> seen;
  auto visit = [&](const TokenKey& k, int& v) { seen[k.lo] = v; };
  EXPECT_FALSE(t.scanStep(scan, 3, visit));
  size_t before = t.capacity();
  for (int i = 10; i < 40; ++i) ASSERT_TRUE(t.insert(key(1000 + i * 7919), i));  // grows
  ASSERT_GT(t.capacity(), before);
  while (!t.scanStep(scan, 2, visit)) {
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seen.count(1000 + i * 7919), 1u) << i;
}

}  // namespace
}  // namespace handoff::store
