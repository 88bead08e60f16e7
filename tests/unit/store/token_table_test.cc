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

using Ref = std::map<std::pair<uint64_t, uint64_t>, uint64_t>;
using Keys = std::set<std::pair<uint64_t, uint64_t>>;

// `n` random changes to `t` and to `ref`, what it should hold: an insert where `insertNow()`
// says so, else an erase. Every key erased is added to `erased` (a key erased once is another
// record if it comes back).
template <class Rng, class KeyFn, class InsertNow>
void randomChanges(TokenTable<uint64_t>& t, Ref& ref, Keys& erased, int n, Rng& rng, KeyFn randomKey,
                   InsertNow insertNow) {
  for (; n > 0; --n) {
    TokenKey k = randomKey();
    if (insertNow()) {
      uint64_t v = rng();
      if (t.insert(k, v)) ref[{k.lo, k.hi}] = v;
    } else if (t.erase(k)) {
      ref.erase({k.lo, k.hi});
      erased.insert({k.lo, k.hi});
    }
  }
}

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
      // changes between steps
      randomChanges(t, ref, erased, static_cast<int>(rng() % 6), rng, randomKey, [&] { return rng() % 3 == 0; });
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

// Growth is a piece per insert: the table answers from both arrays meanwhile, erases reach the
// old one, and the migration ends within capacity/kMigrateSlots inserts.
TEST(TokenTable, GrowsAPieceAtATimeAndAnswersFromBothArraysMeanwhile) {
  TokenTable<uint64_t> t(16);
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> ref;
  std::mt19937_64 rng(7);
  size_t growths = 0, opsWhileGrowing = 0;
  for (int op = 0; op < 60000; ++op) {
    bool wasGrowing = t.growing();
    size_t cap = t.capacity();
    TokenKey k{rng(), rng() % 2};
    if (rng() % 5 != 0) {
      ASSERT_TRUE(t.insert(k, op));
      ref[{k.lo, k.hi}] = op;
    } else if (!ref.empty()) {  // take a known record: while growing, often one in the old array
      auto it = ref.lower_bound({rng(), 0});
      if (it == ref.end()) it = ref.begin();
      TokenKey known{it->first.first, it->first.second};
      if (rng() % 2 == 0) {
        auto v = t.take(known);
        ASSERT_TRUE(v.has_value());
        ASSERT_EQ(*v, it->second);
      } else {
        ASSERT_TRUE(t.erase(known));
      }
      ref.erase(it);
    }
    if (t.growing()) ++opsWhileGrowing;
    if (!wasGrowing && t.capacity() > cap) {
      ++growths;
      // The array it left holds cap*7/8 records: they move 32 slots an insert.
      ASSERT_TRUE(t.growing() || t.size() < 2) << "growth at " << cap << " was done in one go";
    }
    ASSERT_EQ(t.size(), ref.size());
    if (op % 97 == 0) {  // every record answers, from whichever array holds it
      for (const auto& [rk, v] : ref) {
        uint64_t* got = t.find({rk.first, rk.second});
        ASSERT_NE(got, nullptr) << "op " << op;
        ASSERT_EQ(*got, v);
      }
    }
  }
  EXPECT_GE(growths, 8u);
  EXPECT_GT(opsWhileGrowing, 1000u);
  // eraseIf and forEach see both arrays: grow, then act mid-migration.
  while (!t.growing()) {
    TokenKey k{rng(), 3};
    ASSERT_TRUE(t.insert(k, 1));
    ref[{k.lo, k.hi}] = 1;
  }
  size_t seen = 0;
  t.forEach([&](const TokenKey&, uint64_t&) { ++seen; });
  EXPECT_EQ(seen, ref.size());
  size_t odd = 0;
  for (const auto& [rk, v] : ref) odd += v % 2;
  EXPECT_EQ(t.eraseIf([](const TokenKey&, const uint64_t& v) { return v % 2 == 1; }), odd);
  EXPECT_EQ(t.size(), ref.size() - odd);
  // A growth ends within capacity/kMigrateSlots inserts.
  while (t.growing()) ASSERT_TRUE(t.insert({rng(), 4}, 2));
  size_t cap = t.capacity();
  while (!t.growing()) ASSERT_TRUE(t.insert({rng(), 5}, 2));
  size_t inserts = 0;
  while (t.growing()) {
    ASSERT_TRUE(t.insert({rng(), 6}, 2));
    ++inserts;
  }
  EXPECT_LE(inserts, cap / TokenTable<uint64_t>::kMigrateSlots + 1);
}

// Scans across growths: begun before one, or while one is under way, with inserts dominating.
TEST(TokenTable, AScanAcrossGrowthsVisitsEveryRecordThatStays) {
  size_t begunGrowing = 0, grewMidScan = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed * 1000003);
    TokenTable<uint64_t> t(16);
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> ref;
    std::set<std::pair<uint64_t, uint64_t>> erased;
    auto randomKey = [&] { return TokenKey{rng() % 4096, rng() % 3}; };
    int fill = 20 + static_cast<int>(rng() % 400);
    for (int i = 0; i < fill; ++i) {
      TokenKey k = randomKey();
      if (t.insert(k, i)) ref[{k.lo, k.hi}] = i;
    }
    if (t.growing()) ++begunGrowing;
    auto atStart = ref;
    std::map<std::pair<uint64_t, uint64_t>, size_t> visits;
    TableScan scan;
    t.beginScan(scan);
    size_t cap = t.capacity();
    bool done = false;
    for (int step = 0; !done; ++step) {
      done = t.scanStep(scan, 1 + rng() % 8, [&](const TokenKey& k, uint64_t& v) {
        auto it = ref.find({k.lo, k.hi});
        ASSERT_NE(it, ref.end()) << "a visited record is in the table";
        ASSERT_EQ(v, it->second);
        ++visits[{k.lo, k.hi}];
      });
      randomChanges(t, ref, erased, static_cast<int>(rng() % 8), rng, randomKey, [&] { return rng() % 4 != 0; });
      ASSERT_LT(step, 1000000) << "the scan ends";
    }
    if (t.capacity() > cap) ++grewMidScan;
    for (const auto& [k, v] : atStart) {
      if (ref.count(k) != 0 && erased.count(k) == 0) {
        EXPECT_GE(visits[k], 1u) << "seed " << seed << ": a record present throughout was missed";
      }
    }
  }
  EXPECT_GT(begunGrowing, 0u) << "no scan began during a growth: the test does not exercise it";
  EXPECT_GT(grewMidScan, 0u) << "no growth during a scan: the test does not exercise it";
}

// A record that counts its lives: the table must construct records only where it holds them
// (a growth used to default-construct every slot of the new array: seconds for a big session
// table) and destroy each exactly once, through moves, erases, takes, growth and its own end.
struct Counted {
  static inline long alive = 0, made = 0;
  std::string payload;  // owns memory: a double destruction or a leak shows under ASan
  Counted() { ++alive, ++made; }
  explicit Counted(std::string p) : payload(std::move(p)) { ++alive, ++made; }
  Counted(Counted&& o) noexcept : payload(std::move(o.payload)) { ++alive, ++made; }
  Counted& operator=(Counted&& o) noexcept {
    payload = std::move(o.payload);
    return *this;
  }
  ~Counted() { --alive; }
};

TEST(TokenTable, ConstructsRecordsOnlyWhereItHoldsThem) {
  Counted::alive = Counted::made = 0;
  {
    TokenTable<Counted> t(16);
    std::mt19937_64 rng(11);
    std::vector<TokenKey> keys;
    for (int i = 0; i < 20000; ++i) {
      keys.push_back({rng(), rng()});
      ASSERT_TRUE(t.insert(keys.back(), Counted(std::string(40, 'r'))));
      // Alive: the table's records, nothing per empty slot (the argument is gone by now).
      ASSERT_EQ(Counted::alive, static_cast<long>(t.size())) << "after " << i + 1 << " inserts";
    }
    EXPECT_GE(t.capacity(), 16384u);
    // Each record is made once as the argument, moved into the table, and moved again at most
    // once per growth it lives through (a dozen here) or per backward shift.
    for (size_t i = 0; i < keys.size(); i += 3) {
      if (i % 2 == 0) {
        ASSERT_TRUE(t.erase(keys[i]));
      } else {
        auto taken = t.take(keys[i]);
        ASSERT_TRUE(taken);
        EXPECT_EQ(taken->payload, std::string(40, 'r'));
      }
    }
    EXPECT_EQ(Counted::alive, static_cast<long>(t.size()));
    EXPECT_LT(Counted::made, 20000L * 16) << "records made per slot, not per record";
  }
  EXPECT_EQ(Counted::alive, 0) << "every record destroyed once with the table";
}

}  // namespace
}  // namespace handoff::store
