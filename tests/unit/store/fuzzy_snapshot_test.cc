// The WAL builds a snapshot a step at a time while its shard keeps serving (issue 6): the state
// changes between the steps. A store under random durable traffic — refresh families issued,
// rotated, reused, revoked; sessions created, touched, ended, some born from a family with a
// cascade; access tokens issued and revoked; reaping — is snapshotted in small steps interleaved
// with that traffic. Recovery (the snapshot, then every record journaled since it began) must
// give exactly the state the store ends in, for every seed and step size.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "handoff/store/journal.h"
#include "handoff/store/shard_store.h"

namespace handoff::store {
namespace {

using Rec = std::pair<RecordType, std::string>;

constexpr uint64_t kT0 = 1'790'000'000'000;

struct Capture final : Journal {
  std::vector<Rec> recs;
  void append(RecordType type, std::string_view payload) override { recs.emplace_back(type, std::string(payload)); }
};

// The durable state, comparable: a full snapshot's records, sorted.
std::vector<Rec> state(ShardStore& s, uint64_t now) {
  std::vector<Rec> out;
  s.snapshot(now, [&](RecordType t, std::string_view p) { out.emplace_back(t, std::string(p)); });
  std::sort(out.begin(), out.end());
  return out;
}

// Random durable traffic against one store.
struct Traffic {
  explicit Traffic(ShardStore& store, uint64_t seed) : s(store), rng(seed) {}

  std::array<uint8_t, 16> random() {
    std::array<uint8_t, 16> b{};
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  }
  template <class V>
  const V& pick(const std::vector<V>& v) { return v[rng() % v.size()]; }

  void step() {
    now += rng() % 5000;
    switch (rng() % 10) {
      case 0:
      case 1: {  // a family, sometimes online in a live session
        RefreshFamily f;
        f.clientId = rng() % 2 ? "native" : "web";
        f.userId = "auth0|" + std::to_string(rng() % 50);
        f.scope = "openid offline_access";
        f.rotating = rng() % 3 != 0;
        if (!sids.empty() && rng() % 3 == 0) {
          f.sessionId = pick(sids);
          f.online = true;
        }
        TokenId id = s.issueRefresh(random(), f, now);
        refresh.push_back({id.key, f.clientId});
        families.push_back(id.key);
        break;
      }
      case 2:
      case 3:
        if (!refresh.empty()) {  // a use: rotation, or reuse outside the leeway
          auto [token, client] = pick(refresh);
          auto u = s.useRefresh(token, client, random(), 0, now);
          if (u.rotatedTo) refresh.push_back({u.rotatedTo->key, client});
        }
        break;
      case 4:
        if (!refresh.empty()) {
          auto [token, client] = pick(refresh);
          s.revokeRefresh(token, client);
        }
        break;
      case 5: {  // a session, sometimes born from a family with the cascade on
        SessionRecord r;
        r.userId = "auth0|" + std::to_string(rng() % 50);
        r.sid = "sid-" + std::to_string(rng());
        r.authTime = static_cast<int64_t>(now / 1000);
        if (!families.empty() && rng() % 2 == 0) {
          r.bornFromSessionTransfer = true;
          r.parentFamily = pick(families);
          r.cascade = rng() % 4 != 0;
        }
        sids.push_back(r.sid);
        sessions.push_back(s.putSession(random(), r, now).key);
        break;
      }
      case 6:
        if (!sessions.empty()) {
          now += 61'000;  // past the minute a touch is logged at most once in: every touch is durable
          s.findSession(pick(sessions), now);
        }
        break;
      case 7:
        if (!sessions.empty()) s.endSession(pick(sessions));
        break;
      case 8:
        if (rng() % 2 == 0 || access.empty()) {
          AccessRecord a{.clientId = "web", .userId = "auth0|1", .scope = "openid", .expiresAtMs = now + rng() % 600'000};
          access.push_back(s.putAccess(random(), a, now).key);
        } else {
          s.revokeAccess(pick(access));
        }
        break;
      case 9:
        s.reap(now);
        break;
    }
  }

  ShardStore& s;
  std::mt19937_64 rng;
  uint64_t now = kT0;
  std::vector<std::pair<TokenKey, std::string>> refresh;
  std::vector<TokenKey> families, sessions, access;
  std::vector<std::string> sids;
};

TEST(FuzzySnapshot, SnapshotBuiltInStepsBetweenChangesPlusTheLogSinceItBeganRecoversTheState) {
  size_t checked = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    ShardStore orig(1);
    Capture log;
    orig.setJournal(&log);
    Traffic traffic(orig, seed);
    for (uint64_t i = 0; i < 300 + seed * 60; ++i) traffic.step();  // tables of many sizes: some grow mid-scan

    // The snapshot begins; from here the log is what recovery replays after it.
    size_t from = log.recs.size();
    std::vector<Rec> snap;
    orig.beginSnapshot();
    size_t steps = 0;
    for (bool done = false; !done; ++steps) {
      for (int c = traffic.rng() % 5; c > 0; --c) traffic.step();
      done = orig.snapshotStep(traffic.now, 1 + traffic.rng() % 24,
                               [&](RecordType t, std::string_view p) { snap.emplace_back(t, std::string(p)); });
    }
    ASSERT_GT(steps, 20u) << "the snapshot was built in many steps";
    for (int i = 0; i < 100; ++i) traffic.step();
    orig.setJournal(nullptr);

    ShardStore rec(1);
    for (const Rec& r : snap) ASSERT_TRUE(rec.apply(r.first, r.second));
    for (size_t i = from; i < log.recs.size(); ++i) ASSERT_TRUE(rec.apply(log.recs[i].first, log.recs[i].second));
    uint64_t now = traffic.now + 1;
    std::vector<Rec> want = state(orig, now), got = state(rec, now);
    ASSERT_GT(want.size(), 50u);
    ASSERT_EQ(got.size(), want.size()) << "seed " << seed;
    EXPECT_TRUE(got == want) << "seed " << seed << ": the recovered state differs";
    ++checked;
  }
  EXPECT_EQ(checked, 30u);
}

TEST(FuzzySnapshot, AbandonedSnapshotLeavesTheTablesFree) {
  ShardStore s(1);
  Traffic traffic(s, 7);
  for (int i = 0; i < 200; ++i) traffic.step();
  std::vector<Rec> first;
  s.beginSnapshot();
  EXPECT_FALSE(s.snapshotStep(traffic.now, 4, [&](RecordType t, std::string_view p) { first.emplace_back(t, std::string(p)); }));
  s.abandonSnapshot();
  for (int i = 0; i < 200; ++i) traffic.step();  // erases and growth with no scan attached
  // A new snapshot, whole, equals the state.
  std::vector<Rec> snap;
  s.snapshot(traffic.now, [&](RecordType t, std::string_view p) { snap.emplace_back(t, std::string(p)); });
  std::sort(snap.begin(), snap.end());
  EXPECT_EQ(snap, state(s, traffic.now));
}

}  // namespace
}  // namespace handoff::store
