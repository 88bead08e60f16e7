// The journal, issue 6: what a ShardStore reports (issue, rotation, revocation, reuse, sessions,
// touches, access tokens, a cascade from an STT-born session), replayed with apply() into a
// fresh store, gives the same observable state — replayed twice too, and from a snapshot taken
// at any point followed by the log from any earlier point (the overlap a snapshot and its first
// segment may share).
#include "store_format_support.h"

namespace handoff::store {
namespace {

using namespace formats;

TEST(Journal, TheScenarioJournalsEveryKindOfRecord) {
  ShardStore s(1);
  Scenario sc = runScenario(s);
  std::map<RecordType, int> kinds;
  for (const Rec& r : sc.recs) ++kinds[r.first];
  for (RecordType t : {RecordType::kFamilyIssued, RecordType::kFamilyRotated, RecordType::kFamilyRevoked,
                       RecordType::kSessionCreated, RecordType::kSessionTouched, RecordType::kSessionEnded,
                       RecordType::kAccessIssued, RecordType::kAccessRevoked}) {
    EXPECT_GT(kinds[t], 0) << "no record of type " << static_cast<int>(t);
  }
  // The non-rotating family's uses changed nothing durable; the touch is logged once.
  EXPECT_EQ(kinds[RecordType::kSessionTouched], 1);
  EXPECT_EQ(kinds[RecordType::kFamilyRotated], 3);  // f1 twice, f5 once
}

TEST(Journal, ReplayIntoAFreshStoreGivesTheSameState) {
  ShardStore orig(1);
  Scenario sc = runScenario(orig);
  uint64_t now = sc.end + 5000;
  ShardStore rep(1);
  replay(rep, sc.recs);
  std::string want = observe(orig, sc.tokens, now);
  EXPECT_EQ(observe(rep, sc.tokens, now), want);
  // Replayed twice over (a snapshot and a log that overlap): the same.
  ShardStore twice(1);
  replay(twice, sc.recs);
  replay(twice, sc.recs);
  EXPECT_EQ(observe(twice, sc.tokens, now), want);
  // The same answers to every token's use, and the same cascade from the live tree.
  std::string uses = probeUses(orig, sc.tokens, now);
  EXPECT_EQ(probeUses(rep, sc.tokens, now), uses);
  EXPECT_EQ(probeUses(twice, sc.tokens, now), uses);
}

TEST(Journal, ACascadeStillWorksAfterReplay) {
  ShardStore orig(1);
  Scenario sc = runScenario(orig);
  ShardStore rep(1);
  replay(rep, sc.recs);
  uint64_t now = sc.end + 1000;
  for (ShardStore* s : {&orig, &rep}) {
    ASSERT_NE(s->findSession(sc.liveBorn, now), nullptr);
    ASSERT_TRUE(s->familyAlive(sc.liveBornFamily));
    EXPECT_TRUE(s->revokeRefresh(sc.liveParent, "native"));
    EXPECT_EQ(s->lastCascade().sessions, 1u);
    EXPECT_EQ(s->lastCascade().families, 1u);
    EXPECT_EQ(s->findSession(sc.liveBorn, now), nullptr);
    EXPECT_FALSE(s->familyAlive(sc.liveBornFamily));
  }
}

TEST(Journal, SnapshotThenApplyReproducesTheState) {
  ShardStore orig(1);
  Scenario sc = runScenario(orig);
  uint64_t now = sc.end + 5000;
  std::string want = observe(orig, sc.tokens, now);
  std::vector<Rec> snap;
  orig.snapshot(now, [&](RecordType t, std::string_view p) { snap.emplace_back(t, std::string(p)); });
  for (const Rec& r : snap) {
    EXPECT_TRUE(r.first == RecordType::kFamilyState || r.first == RecordType::kRefreshIndex ||
                r.first == RecordType::kSessionCreated || r.first == RecordType::kAccessIssued)
        << static_cast<int>(r.first);
  }
  ShardStore rep(1);
  replay(rep, snap);
  EXPECT_EQ(observe(rep, sc.tokens, now), want);
  // Through the frame format, as a .snap file holds it.
  ShardStore viaFrames(1);
  for (const Rec& r : readAll(framed(snap))) ASSERT_TRUE(viaFrames.apply(r.first, r.second));
  EXPECT_EQ(observe(viaFrames, sc.tokens, now), want);
  EXPECT_EQ(probeUses(rep, sc.tokens, now), probeUses(orig, sc.tokens, now));
}

TEST(Journal, ASnapshotAtAnyPointPlusTheLogFromAnyEarlierPointGivesTheSameState) {
  // The WAL's snapshot N holds the state when it was taken, and segment N starts with records
  // the state already has (those not yet written then): every (from ≤ at) overlap must be harmless.
  ShardStore orig(1);
  Scenario sc = runScenario(orig);
  uint64_t now = sc.end + 5000;
  std::string want = observe(orig, sc.tokens, now);
  for (size_t at = 0; at <= sc.recs.size(); ++at) {
    ShardStore partial(1);
    for (size_t i = 0; i < at; ++i) ASSERT_TRUE(partial.apply(sc.recs[i].first, sc.recs[i].second));
    std::vector<Rec> snap;
    partial.snapshot(kT0, [&](RecordType t, std::string_view p) { snap.emplace_back(t, std::string(p)); });
    for (size_t from = 0; from <= at; ++from) {
      ShardStore s(1);
      replay(s, snap);
      replay(s, sc.recs, from);
      ASSERT_EQ(observe(s, sc.tokens, now), want) << "snapshot after " << at << " records, log from " << from;
    }
  }
}


}  // namespace
}  // namespace handoff::store
