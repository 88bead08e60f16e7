// TtlTable: records in arrival order behind a compact index. Lookups, single insertion, holes
// that keep their place, expiry from the head, chunk boundaries, the 2^32 wrap of the index's
// place numbers, and a reference model under random operations.
#include "handoff/store/ttl_table.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <string>

namespace handoff::store {
namespace {

struct Rec {
  uint64_t dueMs = 0;
  std::string value;
};

TokenKey key(uint64_t lo, uint64_t hi = 7) { return {lo, hi}; }

Rec* put(TtlTable<Rec>& t, const TokenKey& k, uint64_t due, std::string v) {
  Rec* r = t.insert(k);
  if (r != nullptr) *r = {due, std::move(v)};
  return r;
}

size_t expireAt(TtlTable<Rec>& t, uint64_t now, std::vector<std::string>* dropped = nullptr) {
  return t.expire([now](const Rec& r) { return r.dueMs <= now; },
                  [dropped](const TokenKey&, Rec& r) {
                    if (dropped != nullptr) dropped->push_back(r.value);
                  });
}

TEST(TtlTable, InsertFindErase) {
  TtlTable<Rec> t(16);
  ASSERT_NE(put(t, key(1), 10, "a"), nullptr);
  EXPECT_EQ(put(t, key(1), 10, "b"), nullptr) << "an existing key is never overwritten";
  ASSERT_NE(t.find(key(1)), nullptr);
  EXPECT_EQ(t.find(key(1))->value, "a");
  EXPECT_EQ(t.find(key(1, 8)), nullptr) << "both halves of the key must match";
  EXPECT_EQ(t.size(), 1u);
  Rec* gone = t.erase(key(1));
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->value, "a") << "the caller reads the erased record";
  EXPECT_EQ(t.find(key(1)), nullptr);
  EXPECT_EQ(t.erase(key(1)), nullptr);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.queued(), 1u) << "a hole keeps its place until the head passes";
}

TEST(TtlTable, TheZeroKeyIsNeverStored) {
  TtlTable<Rec> t(16);
  EXPECT_EQ(t.insert(TokenKey{}), nullptr);
  EXPECT_EQ(t.find(TokenKey{}), nullptr);
  ASSERT_NE(put(t, key(1), 10, "a"), nullptr);
  ASSERT_NE(t.erase(key(1)), nullptr);
  EXPECT_EQ(t.find(TokenKey{}), nullptr) << "a hole's zero key is not found either";
  EXPECT_EQ(t.erase(TokenKey{}), nullptr);
}

TEST(TtlTable, ExpiresFromTheHeadInArrivalOrder) {
  TtlTable<Rec> t(16);
  for (uint64_t i = 1; i <= 5; ++i) put(t, key(i), i * 10, std::to_string(i));
  std::vector<std::string> dropped;
  EXPECT_EQ(expireAt(t, 9, &dropped), 0u);
  EXPECT_EQ(expireAt(t, 30, &dropped), 3u);
  EXPECT_EQ(dropped, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(t.find(key(3)), nullptr);
  ASSERT_NE(t.find(key(4)), nullptr);
  EXPECT_EQ(t.size(), 2u);
}

TEST(TtlTable, AHeadNotDueHoldsBackLaterRecords) {
  // As the expiry queue it replaces: records leave in arrival order, each checked at the head.
  TtlTable<Rec> t(16);
  put(t, key(1), 50, "late");
  put(t, key(2), 10, "early");
  EXPECT_EQ(expireAt(t, 20), 0u);
  EXPECT_NE(t.find(key(2)), nullptr);
  EXPECT_EQ(expireAt(t, 50), 2u);
}

TEST(TtlTable, AHoleLeavesAtItsOwnTime) {
  TtlTable<Rec> t(16);
  put(t, key(1), 10, "a");
  put(t, key(2), 5, "b");
  ASSERT_NE(t.erase(key(1)), nullptr);  // its due time stays with the hole
  std::vector<std::string> dropped;
  EXPECT_EQ(expireAt(t, 9, &dropped), 0u) << "the hole is not due yet, so nothing behind it leaves";
  EXPECT_EQ(t.queued(), 2u);
  EXPECT_EQ(expireAt(t, 10, &dropped), 1u);
  EXPECT_EQ(dropped, (std::vector<std::string>{"b"})) << "holes are not handed to drop";
  EXPECT_EQ(t.queued(), 0u);
}

TEST(TtlTable, CrossesChunkBoundariesAndEmptiesMidChunk) {
  TtlTable<Rec> t(16);
  const uint64_t n = 3 * TtlTable<Rec>::kChunk + 17;
  for (uint64_t i = 1; i <= n; ++i) ASSERT_NE(put(t, key(i), i, std::to_string(i)), nullptr);
  for (uint64_t i = 1; i <= n; ++i) ASSERT_NE(t.find(key(i)), nullptr) << i;
  EXPECT_EQ(expireAt(t, TtlTable<Rec>::kChunk + 3), TtlTable<Rec>::kChunk + 3);
  EXPECT_EQ(t.find(key(TtlTable<Rec>::kChunk + 3)), nullptr);
  EXPECT_EQ(t.find(key(TtlTable<Rec>::kChunk + 4))->value, std::to_string(TtlTable<Rec>::kChunk + 4));
  EXPECT_EQ(expireAt(t, n), n - TtlTable<Rec>::kChunk - 3);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.queued(), 0u);
  // Emptied in the middle of a chunk: the next records start afresh and are found.
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_NE(put(t, key(1000 + i), n + i, "again"), nullptr);
  for (uint64_t i = 1; i <= 5; ++i) EXPECT_NE(t.find(key(1000 + i)), nullptr);
  EXPECT_EQ(t.size(), 5u);
}

TEST(TtlTable, PlacesWrapPast32Bits) {
  // The index keeps places modulo 2^32: start just below the wrap and run well past it.
  TtlTable<Rec> t(16, (uint64_t{1} << 32) - 4 * TtlTable<Rec>::kChunk);
  std::mt19937_64 rng(3);
  std::deque<TokenKey> live;
  uint64_t now = 0;
  for (int i = 0; i < 20000; ++i) {
    TokenKey k{rng(), rng()};
    ASSERT_NE(put(t, k, ++now + 1000, std::to_string(k.lo)), nullptr);
    live.push_back(k);
    if (live.size() > 1000) live.pop_front();
    expireAt(t, now);
    ASSERT_EQ(t.size(), live.size());
    const TokenKey& probe = live[rng() % live.size()];
    ASSERT_NE(t.find(probe), nullptr);
    ASSERT_EQ(t.find(probe)->value, std::to_string(probe.lo));
  }
}

TEST(TtlTable, MatchesAReferenceModelUnderRandomOperations) {
  TtlTable<Rec> t(16);
  std::map<std::pair<uint64_t, uint64_t>, std::string> live;
  std::deque<std::pair<TokenKey, uint64_t>> arrivals;  // every insert, with its due time
  std::mt19937_64 rng(42);
  uint64_t now = 0;
  for (int op = 0; op < 60000; ++op) {
    // Few distinct low words (the hashed half) force long probe runs, wrap-arounds and tags
    // that collide; the high word keeps the keys apart.
    TokenKey k{rng() % 2048 + 1, rng() % 8};
    auto rk = std::make_pair(k.lo, k.hi);
    switch (rng() % 5) {
      case 0:
      case 1: {
        bool fresh = !live.contains(rk);
        Rec* r = put(t, k, now + 200, std::to_string(op));
        ASSERT_EQ(r != nullptr, fresh);
        if (fresh) {
          live[rk] = std::to_string(op);
          arrivals.push_back({k, now + 200});
        }
        break;
      }
      case 2: {
        Rec* r = t.erase(k);
        auto it = live.find(rk);
        ASSERT_EQ(r != nullptr, it != live.end());
        if (r != nullptr) {
          EXPECT_EQ(r->value, it->second);
          r->value.clear();
          live.erase(it);
        }
        break;
      }
      case 3: {
        Rec* r = t.find(k);
        auto it = live.find(rk);
        ASSERT_EQ(r != nullptr, it != live.end());
        if (r != nullptr) {
          EXPECT_EQ(r->value, it->second);
        }
        break;
      }
      case 4: {
        now += rng() % 8;
        size_t expected = 0;
        while (!arrivals.empty() && arrivals.front().second <= now) {
          expected += live.erase({arrivals.front().first.lo, arrivals.front().first.hi});
          arrivals.pop_front();
        }
        ASSERT_EQ(expireAt(t, now), expected);
        break;
      }
    }
    ASSERT_EQ(t.size(), live.size());
  }
  for (const auto& [rk, v] : live) {
    Rec* r = t.find({rk.first, rk.second});
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->value, v);
  }
}

TEST(TtlTable, IndexSlotsAreEightBytesAndGrowAtSevenEighths) {
  TtlTable<Rec> t(16);
  for (uint64_t i = 1; i <= 14; ++i) put(t, key(i), 0, "");
  EXPECT_EQ(t.indexSlots(), 16u);
  put(t, key(15), 0, "");
  EXPECT_EQ(t.indexSlots(), 32u);
  EXPECT_GE(t.bytes(), 32 * 8 + TtlTable<Rec>::kChunk * sizeof(TtlTable<Rec>::Entry));
}

}  // namespace
}  // namespace handoff::store
