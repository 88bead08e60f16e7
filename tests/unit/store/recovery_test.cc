// recoverStore(), issue 6, on data directories written here with Wal::frame: snapshot +
// segments, a torn tail cut and reported, damage elsewhere refused (files left as they were), an
// interrupted layout swap, and re-homing: records of 4 old shards recovered into 2, then 3, then
// 1 stores, each token still decoding to the store that holds its record, exactly once.
#include "store_format_support.h"

namespace handoff::store {
namespace {

using namespace formats;

TEST(Recovery, SnapshotPlusSegmentsIntoOneStoreThenCompactedToOneSnapshot) {
  TempDir tmp;
  std::string store = tmp.path() + "/store";
  ShardStore orig(0);
  Scenario sc = runScenario(orig);
  uint64_t now = sc.end + 5000;
  std::string want = observe(orig, sc.tokens, now);
  // Snapshot 2 taken after 10 records; segment 2 starts 3 records earlier (the overlap), segment
  // 3 has the rest. Segment 1 is covered by the snapshot (a crash before its removal): unread.
  ShardStore partial(0);
  replay(partial, std::vector<Rec>(sc.recs.begin(), sc.recs.begin() + 10));
  std::string snap;
  partial.snapshot(kT0, [&](RecordType t, std::string_view p) { Wal::frame(snap, t, p); });
  std::string dir = shardDir(store, 0);
  writeFile(dir + "/" + Wal::segmentName(1), "covered by the snapshot: never read");
  writeFile(dir + "/" + Wal::snapshotName(2), snap);
  writeFile(dir + "/" + Wal::segmentName(2), framed(sc.recs, 7, 20));
  writeFile(dir + "/" + Wal::segmentName(3), framed(sc.recs, 20));
  writeFile(dir + "/0000000000000004.snap.tmp", "an unfinished snapshot: ignored");

  auto stores = makeStores(1);
  auto rep = recoverStore(store, ptrs(stores), now);
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->previousShards, 1u);
  EXPECT_EQ(rep->segments, 2u);
  EXPECT_EQ(rep->logRecords, sc.recs.size() - 7);
  EXPECT_GT(rep->snapshotRecords, 0u);
  EXPECT_EQ(rep->tornBytes, 0u);
  EXPECT_EQ(observe(*stores[0], sc.tokens, now), want);
  // The compacted layout: store/shard-0/0000000000000001.snap alone, no store.new or store.old.
  auto files = tree(store);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files.count("shard-0/"), 1u);
  ASSERT_EQ(files.count("shard-0/" + Wal::snapshotName(1)), 1u);
  EXPECT_EQ(files["shard-0/" + Wal::snapshotName(1)].substr(0, files["shard-0/" + Wal::snapshotName(1)].find(' ')),
            std::to_string(rep->compactedBytes));
  EXPECT_FALSE(fs::exists(store + ".new"));
  EXPECT_FALSE(fs::exists(store + ".old"));
  // Recovered again from the compacted snapshot: the same.
  auto again = makeStores(1);
  auto rep2 = recoverStore(store, ptrs(again), now);
  ASSERT_TRUE(rep2) << rep2.error().message();
  EXPECT_EQ(rep2->logRecords, 0u);
  EXPECT_EQ(observe(*again[0], sc.tokens, now), want);
  EXPECT_EQ(probeUses(*again[0], sc.tokens, now), probeUses(orig, sc.tokens, now));
}

TEST(Recovery, AFreshDataDirectoryRecoversEmpty) {
  TempDir tmp;
  auto stores = makeStores(3);
  auto rep = recoverStore(tmp.path() + "/store", ptrs(stores), kT0);
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->previousShards, 0u);
  for (unsigned j = 0; j < 3; ++j) EXPECT_TRUE(fs::exists(shardDir(tmp.path() + "/store", j) + "/" + Wal::snapshotName(1)));
}

TEST(Recovery, ATornTailIsCutAndReportedAndWhatCameBeforeIsKept) {
  ShardStore orig(0);
  Scenario sc = runScenario(orig);
  uint64_t now = sc.end + 5000;
  std::string want = observe(orig, sc.tokens, now);
  std::string head = framed(sc.recs, 0, 15), tail = framed(sc.recs, 15);
  std::string lastFrame = framed(sc.recs, sc.recs.size() - 1);
  struct Torn {
    const char* what;
    std::string garbage;
    size_t torn = garbage.size();  // what recovery reports cut
  };
  std::vector<Torn> cases = {
      {"half a frame", lastFrame.substr(0, lastFrame.size() / 2)},
      {"a header only", lastFrame.substr(0, 8)},
      // The zeros the log keeps ahead of its records are the segment's end, not a torn write;
      // a record half-written into them is.
      {"zeros (the log's zero fill)", std::string(4096, '\0'), 0},
      {"half a frame, then the zero fill", lastFrame.substr(0, lastFrame.size() / 2) + std::string(4096, '\0')},
      {"zeros, then a frame written past them", std::string(512, '\0') + lastFrame},
      {"a whole frame with a bad checksum", [&] {
         std::string f = lastFrame;
         f.back() = static_cast<char>(f.back() ^ 0x20);
         return f;
       }()},
      {"a length beyond the file", std::string("\xff\x00\x00\x00\x12\x34\x56\x78\x01", 9)},
  };
  for (const Torn& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir tmp;
    std::string store = tmp.path() + "/store", dir = shardDir(store, 0);
    writeFile(dir + "/" + Wal::segmentName(1), head);
    writeFile(dir + "/" + Wal::segmentName(2), tail + c.garbage);
    auto stores = makeStores(1);
    auto rep = recoverStore(store, ptrs(stores), now);
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(rep->tornBytes, c.torn);
    EXPECT_EQ(rep->logRecords, sc.recs.size());
    EXPECT_EQ(observe(*stores[0], sc.tokens, now), want);
  }
  // Torn inside the last record: that record is lost (never acknowledged), all before it kept.
  TempDir tmp;
  std::string store = tmp.path() + "/store", dir = shardDir(store, 0);
  writeFile(dir + "/" + Wal::segmentName(1), head);
  std::string cut = tail.substr(0, tail.size() - lastFrame.size() + 5);
  writeFile(dir + "/" + Wal::segmentName(2), cut);
  ShardStore expect(0);
  replay(expect, std::vector<Rec>(sc.recs.begin(), sc.recs.end() - 1));
  auto stores = makeStores(1);
  auto rep = recoverStore(store, ptrs(stores), now);
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->tornBytes, 5u);
  EXPECT_EQ(observe(*stores[0], sc.tokens, now), observe(expect, sc.tokens, now));
}

TEST(Recovery, DamageOutsideTheLastSegmentsTailRefusesTheStartAndLeavesTheFiles) {
  ShardStore orig(0);
  Scenario sc = runScenario(orig);
  std::string snap;
  orig.snapshot(kT0, [&](RecordType t, std::string_view p) { Wal::frame(snap, t, p); });
  std::string seg1 = framed(sc.recs, 0, 12), seg2 = framed(sc.recs, 12, 24), seg3 = framed(sc.recs, 24);
  auto flip = [](std::string s, size_t at) {
    s[at] = static_cast<char>(s[at] ^ 0x04);
    return s;
  };
  struct Bad {
    const char* what;
    std::map<std::string, std::string> files;  // name in shard-1 → bytes
    std::string named;                          // the file the message must name
  };
  std::vector<Bad> cases = {
      {"a flipped bit in a middle segment",
       {{Wal::segmentName(1), seg1}, {Wal::segmentName(2), flip(seg2, seg2.size() / 2)}, {Wal::segmentName(3), seg3}},
       Wal::segmentName(2)},
      {"a torn first segment (not the last)",
       {{Wal::segmentName(1), seg1.substr(0, seg1.size() - 3)}, {Wal::segmentName(2), seg2}},
       Wal::segmentName(1)},
      {"a flipped bit in a snapshot", {{Wal::snapshotName(1), flip(snap, snap.size() / 3)}}, Wal::snapshotName(1)},
      {"a truncated snapshot", {{Wal::snapshotName(3), snap.substr(0, snap.size() - 1)}, {Wal::segmentName(3), seg3}},
       Wal::snapshotName(3)},
      {"garbage after a snapshot's last record", {{Wal::snapshotName(1), snap + "x"}}, Wal::snapshotName(1)},
      {"a record of an unknown type, too short for a key", [&] {
         std::string s = seg3;
         Wal::frame(s, static_cast<RecordType>(77), "short");
         return std::map<std::string, std::string>{{Wal::segmentName(1), seg1 + seg2}, {Wal::segmentName(2), s}};
       }(), Wal::segmentName(2)},
      {"a malformed payload with a good checksum", [&] {
         std::string s;
         Wal::frame(s, RecordType::kFamilyIssued, "too short");
         return std::map<std::string, std::string>{{Wal::segmentName(1), seg1 + s + seg2}};
       }(), Wal::segmentName(1)},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir tmp;
    std::string store = tmp.path() + "/store";
    // A healthy shard-0 beside the damaged shard-1: refused all the same.
    writeFile(shardDir(store, 0) + "/" + Wal::segmentName(1), framed(sc.recs));
    for (const auto& [name, bytes] : c.files) writeFile(shardDir(store, 1) + "/" + name, bytes);
    auto before = tree(tmp.path());
    auto stores = makeStores(2);
    auto rep = recoverStore(store, ptrs(stores), kT0);
    ASSERT_FALSE(rep) << "recovered from damaged data";
    EXPECT_NE(rep.error().message().find(shardDir(store, 1) + "/" + c.named), std::string::npos) << rep.error().message();
    EXPECT_NE(rep.error().message().find("damaged"), std::string::npos) << rep.error().message();
    EXPECT_EQ(tree(tmp.path()), before) << "a refused start changed the data directory";
  }
}

// A record of a type this version does not know, with a payload long enough to hold a key and a
// good checksum (a log written by a newer version, or damage the checksum missed), refuses the
// start like a malformed payload, and leaves the files as they were: dropping it would compact it
// away for good. (Found by this test: placement used to drop it silently; fixed in 2b5923b.)
TEST(Recovery, ARecordOfAnUnknownTypeRefusesTheStart) {
  ShardStore orig(0);
  Scenario sc = runScenario(orig);
  TempDir tmp;
  std::string store = tmp.path() + "/store";
  std::string seg = framed(sc.recs, 0, 10);
  Wal::frame(seg, static_cast<RecordType>(77), "a payload of a future record type");
  seg += framed(sc.recs, 10);
  writeFile(shardDir(store, 0) + "/" + Wal::segmentName(1), seg);
  auto before = tree(tmp.path());
  auto stores = makeStores(1);
  auto rep = recoverStore(store, ptrs(stores), kT0);
  EXPECT_FALSE(rep) << "a record of unknown type 77 was dropped and the start went on";
  EXPECT_EQ(tree(tmp.path()), before) << "the data directory was compacted without the unknown record";
}

TEST(Recovery, AnInterruptedLayoutSwapIsFinishedOrUndone) {
  ShardStore orig(0);
  Scenario sc = runScenario(orig);
  uint64_t now = sc.end + 5000;
  std::string want = observe(orig, sc.tokens, now);
  std::string snap;
  orig.snapshot(now, [&](RecordType t, std::string_view p) { Wal::frame(snap, t, p); });
  {
    // The crash came between the renames: store.old and a complete store.new, no store.
    TempDir tmp;
    std::string store = tmp.path() + "/store";
    writeFile(shardDir(store + ".new", 0) + "/" + Wal::snapshotName(1), snap);
    writeFile(shardDir(store + ".old", 0) + "/" + Wal::segmentName(1), "stale: the old layout");
    auto stores = makeStores(1);
    auto rep = recoverStore(store, ptrs(stores), now);
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(observe(*stores[0], sc.tokens, now), want);
    EXPECT_FALSE(fs::exists(store + ".new"));
    EXPECT_FALSE(fs::exists(store + ".old"));
  }
  {
    // The crash came while store.new was written: the old layout is whole and wins.
    TempDir tmp;
    std::string store = tmp.path() + "/store";
    writeFile(shardDir(store, 0) + "/" + Wal::segmentName(1), framed(sc.recs));
    writeFile(shardDir(store + ".new", 0) + "/" + Wal::snapshotName(1), snap.substr(0, snap.size() / 2));
    auto stores = makeStores(1);
    auto rep = recoverStore(store, ptrs(stores), now);
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(observe(*stores[0], sc.tokens, now), want);
    EXPECT_FALSE(fs::exists(store + ".new"));
  }
}

// Re-homing: what a client of each old shard holds, as token texts.
struct Held {
  std::string rt;           // the current refresh token of a live family
  std::string revokedRt;    // a token of a revoked family
  std::string rotatedOut;   // a rotated-out token of a family (presenting it is reuse)
  std::string session;      // a live session cookie
  std::string endedSession;
  std::string access;       // a live access token
  std::string revokedAccess;
  std::string parentRt;     // a family with a cascading born session...
  std::string bornSession;  // ...this one
  std::string bornRt;       // ...and a family issued in it
  std::string client = "native";
};

// One old shard's life with records of home `home` (kNoHome: the shard's own number).
std::vector<Held> liveOn(ShardStore& s, Capture& cap, Rand& r, uint16_t home, int families, uint64_t now) {
  std::vector<Held> out;
  s.setJournal(&cap);
  for (int i = 0; i < families; ++i) {
    Held h;
    RefreshFamily f = fam("native", true, "s-" + std::to_string(s.shard()) + "-" + std::to_string(i));
    f.home = home;
    TokenId id = s.issueRefresh(r.next(), f, now);
    auto u = s.useRefresh(id.key, "native", r.next(), 0, now + 1);
    h.rotatedOut = encodeToken(id);
    h.rt = encodeToken(*u.rotatedTo);
    RefreshFamily g = fam("native", true);
    g.home = home;
    TokenId gid = s.issueRefresh(r.next(), g, now);
    s.revokeRefresh(gid.key, "native");
    h.revokedRt = encodeToken(gid);
    // Session ids unique across old shards (they are random in a server): a cascade revokes by sid.
    std::string tag = std::to_string(s.shard()) + "-" + std::to_string(home) + "-" + std::to_string(i);
    SessionRecord live = sess("auth0|x", "sid-live-" + tag);
    live.home = home;
    h.session = encodeToken(s.putSession(r.next(), live, now));
    SessionRecord ended = sess("auth0|x", "sid-ended-" + tag);
    ended.home = home;
    TokenId eid = s.putSession(r.next(), ended, now);
    s.endSession(eid.key);
    h.endedSession = encodeToken(eid);
    AccessRecord a{.clientId = "web", .userId = "auth0|x", .scope = "openid", .home = home};
    h.access = encodeToken(s.putAccess(r.next(), a, now));
    TokenId ra = s.putAccess(r.next(), a, now);
    s.revokeAccess(ra.key);
    h.revokedAccess = encodeToken(ra);
    RefreshFamily p = fam("native", true, "s-parent");
    p.home = home;
    TokenId pid = s.issueRefresh(r.next(), p, now);
    h.parentRt = encodeToken(pid);
    SessionRecord born = sess("auth0|x", "sid-born-" + tag);
    born.home = home;
    born.bornFromSessionTransfer = true;
    born.parentFamily = pid.key;
    born.cascade = true;
    h.bornSession = encodeToken(s.putSession(r.next(), born, now));
    RefreshFamily bf = fam("web", true, born.sid);
    bf.home = home;
    bf.bornFromSessionTransfer = true;
    h.bornRt = encodeToken(s.issueRefresh(r.next(), bf, now));
    out.push_back(h);
  }
  s.setJournal(nullptr);
  return out;
}

// Each token decodes (modulo n) to a store that holds its record, and no other store does.
void expectPlaced(std::vector<std::unique_ptr<ShardStore>>& stores, std::vector<Held>& held, uint64_t now,
                  bool useThem) {
  uint16_t n = static_cast<uint16_t>(stores.size());
  auto owner = [&](const std::string& text, TokenKind kind) -> std::pair<ShardStore*, TokenKey> {
    TokenId id;
    EXPECT_TRUE(decodeToken(text, kind, n, &id)) << text;
    EXPECT_LT(id.shard, n);
    return {stores[id.shard].get(), id.key};
  };
  auto others = [&](ShardStore* mine) {
    std::vector<ShardStore*> v;
    for (auto& s : stores) {
      if (s.get() != mine) v.push_back(s.get());
    }
    return v;
  };
  Rand r;
  r.n = 777'000 + n;
  for (Held& h : held) {
    SCOPED_TRACE(h.rt + " with " + std::to_string(n) + " shards");
    auto [rs, rk] = owner(h.rt, TokenKind::kRefreshToken);
    const RefreshFamily* f = rs->familyOf(rk);
    ASSERT_NE(f, nullptr);
    EXPECT_FALSE(f->revoked);
    EXPECT_EQ(f->current, rk);
    for (ShardStore* o : others(rs)) EXPECT_EQ(o->familyOf(rk), nullptr) << "duplicated on shard " << o->shard();
    auto [vs, vk] = owner(h.revokedRt, TokenKind::kRefreshToken);
    const RefreshFamily* g = vs->familyOf(vk);
    EXPECT_TRUE(g == nullptr || g->revoked);
    auto [ss, sk] = owner(h.session, TokenKind::kSession);
    EXPECT_NE(ss->findSession(sk, now), nullptr);
    for (ShardStore* o : others(ss)) EXPECT_EQ(o->findSession(sk, now), nullptr);
    auto [es, ek] = owner(h.endedSession, TokenKind::kSession);
    EXPECT_EQ(es->findSession(ek, now), nullptr);
    auto [as, ak] = owner(h.access, TokenKind::kAccessToken);
    EXPECT_NE(as->findAccess(ak, now), nullptr);
    for (ShardStore* o : others(as)) EXPECT_EQ(o->findAccess(ak, now), nullptr);
    auto [xs, xk] = owner(h.revokedAccess, TokenKind::kAccessToken);
    EXPECT_EQ(xs->findAccess(xk, now), nullptr);
    // A native login's tree is on one shard: parent, born session, the family issued in it.
    auto [ps, pk] = owner(h.parentRt, TokenKind::kRefreshToken);
    auto [bs, bk] = owner(h.bornSession, TokenKind::kSession);
    auto [fs2, fk] = owner(h.bornRt, TokenKind::kRefreshToken);
    EXPECT_EQ(ps, bs);
    EXPECT_EQ(ps, fs2);
    EXPECT_NE(bs->findSession(bk, now), nullptr);
    EXPECT_TRUE(fs2->familyAlive(fk));
    // The rotated-out token is still indexed: presenting it is reuse (only on the last pass).
    if (useThem) {
      auto [os, ok] = owner(h.rotatedOut, TokenKind::kRefreshToken);
      EXPECT_EQ(os, rs);
      auto use = rs->useRefresh(rk, h.client, r.next(), 0, now);
      ASSERT_EQ(use.outcome, RefreshOutcome::kOk);
      ASSERT_TRUE(use.rotatedTo.has_value());
      std::string next = encodeToken(*use.rotatedTo);
      TokenId back;
      ASSERT_TRUE(decodeToken(next, TokenKind::kRefreshToken, n, &back));
      EXPECT_EQ(stores[back.shard].get(), rs) << "the rotated token names another shard: " << next;
      EXPECT_EQ(os->useRefresh(ok, h.client, r.next(), 0, now).outcome, RefreshOutcome::kReuse);
      // The cascade from the parent reaches the born session and its family.
      EXPECT_TRUE(ps->revokeRefresh(pk, "native"));
      EXPECT_EQ(bs->findSession(bk, now), nullptr);
      EXPECT_FALSE(fs2->familyAlive(fk));
    }
  }
}

TEST(Recovery, RecordsOfFourShardsAreReHomedInto2Then3Then1Stores) {
  TempDir tmp;
  std::string store = tmp.path() + "/store";
  uint64_t now = kT0 + 10'000;
  std::vector<Held> held;
  for (uint16_t k = 0; k < 4; ++k) {
    ShardStore s(k);
    Capture cap;
    Rand r;
    r.n = 50'000u * (k + 1);
    auto own = liveOn(s, cap, r, kNoHome, 3, kT0);
    held.insert(held.end(), own.begin(), own.end());
    // Records homed elsewhere by an earlier re-homing (a 6-shard layout's shard k + 4 when k < 2,
    // as a run with 4 shards would hold them).
    if (k < 2) {
      auto moved = liveOn(s, cap, r, static_cast<uint16_t>(k + 4), 2, kT0);
      held.insert(held.end(), moved.begin(), moved.end());
    }
    std::string dir = shardDir(store, k);
    std::string all = framed(cap.recs);
    switch (k) {
      case 0: {  // a snapshot only
        std::string snap;
        s.snapshot(kT0, [&](RecordType t, std::string_view p) { Wal::frame(snap, t, p); });
        writeFile(dir + "/" + Wal::snapshotName(1), snap);
        break;
      }
      case 1:  // the log only, two segments
        writeFile(dir + "/" + Wal::segmentName(1), framed(cap.recs, 0, cap.recs.size() / 2));
        writeFile(dir + "/" + Wal::segmentName(2), framed(cap.recs, cap.recs.size() / 2));
        break;
      case 2: {  // a snapshot of the first half, then the log overlapping it
        ShardStore half(2);
        replay(half, std::vector<Rec>(cap.recs.begin(), cap.recs.begin() + cap.recs.size() / 2));
        std::string snap;
        half.snapshot(kT0, [&](RecordType t, std::string_view p) { Wal::frame(snap, t, p); });
        writeFile(dir + "/" + Wal::snapshotName(3), snap);
        writeFile(dir + "/" + Wal::segmentName(3), framed(cap.recs, cap.recs.size() / 2 - 4));
        break;
      }
      default:  // the log with a torn tail
        writeFile(dir + "/" + Wal::segmentName(1), all + std::string("\x40\x00\x00\x00\xde\xad", 6));
        break;
    }
  }
  {
    auto two = makeStores(2);
    auto rep = recoverStore(store, ptrs(two), now);
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(rep->previousShards, 4u);
    EXPECT_EQ(rep->tornBytes, 6u);
    expectPlaced(two, held, now, false);
    EXPECT_EQ(tree(store).size(), 4u);  // shard-0/, shard-1/ and their snapshots
  }
  {
    auto three = makeStores(3);
    auto rep = recoverStore(store, ptrs(three), now);
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(rep->previousShards, 2u);
    EXPECT_EQ(rep->tornBytes, 0u);
    expectPlaced(three, held, now, false);
    EXPECT_EQ(tree(store).size(), 6u);
  }
  {
    auto one = makeStores(1);
    auto rep = recoverStore(store, ptrs(one), now);
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(rep->previousShards, 3u);
    expectPlaced(one, held, now, false);
  }
  {
    // And back to 4, where every token is used: rotation, reuse detection and the cascade work.
    auto four = makeStores(4);
    auto rep = recoverStore(store, ptrs(four), now);
    ASSERT_TRUE(rep) << rep.error().message();
    expectPlaced(four, held, now, true);
  }
}


}  // namespace
}  // namespace handoff::store
