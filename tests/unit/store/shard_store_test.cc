// The owner-side decisions: codes work once and never after 60 s, sessions expire by idle and
// absolute time, refresh tokens rotate with reuse detection and leeway, revocation holds.
// Time is a plain number: no clock, no sleep.
#include "handoff/store/shard_store.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

namespace handoff::store {
namespace {

struct Rand {
  uint8_t n = 0;
  std::array<uint8_t, 16> next() {
    std::array<uint8_t, 16> b{};
    ++n;
    for (size_t i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>(n * 37 + i * 11 + (n >> 3));
    return b;
  }
};

CodeRecord code(const char* client) {
  CodeRecord c;
  c.clientId = client;
  c.redirectUri = "http://127.0.0.1:3000/callback";
  c.userId = "auth0|demo";
  return c;
}

SessionRecord session(const char* user, const char* sid = "") {
  SessionRecord r;
  r.userId = user;
  r.sid = sid;
  return r;
}

RefreshFamily family(const char* client, bool rotating, const char* sid = "s1") {
  RefreshFamily f;
  f.clientId = client;
  f.userId = "auth0|demo";
  f.rotating = rotating;
  f.sessionId = sid;
  return f;
}

TEST(ShardStoreCodes, WorkOnceAndCarryTheirShard) {
  ShardStore s(3);
  Rand r;
  auto b = r.next();
  TokenId id = s.putCode(b, code("web"), 1000);
  EXPECT_EQ(id.shard, 3);
  EXPECT_EQ(id.kind, TokenKind::kCode);
  auto first = s.takeCode(id.key, 1001);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->clientId, "web");
  EXPECT_FALSE(s.takeCode(id.key, 1002).has_value());
}

TEST(ShardStoreCodes, ExpireAfterSixtySecondsAndAreReaped) {
  ShardStore s(0);
  Rand r;
  auto b1 = r.next(), b2 = r.next();
  TokenId a = s.putCode(b1, code("web"), 0);
  TokenId b = s.putCode(b2, code("web"), 30'000);
  EXPECT_FALSE(s.takeCode(a.key, 60'000).has_value()) << "exactly at expiry it is gone";
  s.reap(60'001);
  EXPECT_EQ(s.codes(), 1u);
  s.reap(90'000);
  EXPECT_EQ(s.codes(), 0u);
  EXPECT_FALSE(s.takeCode(b.key, 89'999).has_value());
}

TEST(ShardStoreCodes, ReplayRevokesWhatTheFirstExchangeProduced) {
  ShardStore s(0);
  Rand r;
  auto cb = r.next(), ab = r.next(), fb = r.next(), nb = r.next();
  TokenId c = s.putCode(cb, code("web"), 0);
  auto first = s.redeemCode(c.key, 10);
  ASSERT_EQ(first.outcome, CodeOutcome::kOk);
  EXPECT_EQ(first.record.clientId, "web");
  TokenId at = s.putAccess(ab, AccessRecord{"web", "auth0|demo", "openid", 0}, 10);
  TokenId rt = s.issueRefresh(fb, family("web", false), 10);
  s.attachIssued(c.key, &at.key, &rt.key);
  ASSERT_NE(s.findAccess(at.key, 11), nullptr);
  EXPECT_EQ(s.redeemCode(c.key, 20).outcome, CodeOutcome::kReplayed);
  EXPECT_EQ(s.findAccess(at.key, 21), nullptr) << "the replay revoked the access token";
  EXPECT_EQ(s.useRefresh(rt.key, "web", nb, 0, 21).outcome, RefreshOutcome::kRevoked);
  EXPECT_EQ(s.redeemCode(c.key, 60'000).outcome, CodeOutcome::kUnknown) << "expired tombstone";
}

TEST(ShardStoreAccess, ExpiresAndIsReaped) {
  StoreLimits limits;
  limits.accessTtlMs = 1000;
  ShardStore s(0, limits);
  Rand r;
  auto b = r.next();
  TokenId at = s.putAccess(b, AccessRecord{"web", "u", "openid", 0}, 0);
  EXPECT_NE(s.findAccess(at.key, 999), nullptr);
  EXPECT_EQ(s.findAccess(at.key, 1000), nullptr);
  s.reap(1000);
  EXPECT_EQ(s.accessTokens(), 0u);
}

TEST(ShardStoreSessions, IdleAndAbsoluteLimits) {
  StoreLimits limits;
  limits.sessionIdleMs = 1000;
  limits.sessionAbsoluteMs = 5000;
  ShardStore s(0, limits);
  Rand r;
  auto b = r.next();
  TokenId id = s.putSession(b, session("u"), 0);
  for (uint64_t t = 900; t < 5000; t += 900) ASSERT_NE(s.findSession(id.key, t), nullptr) << t;
  EXPECT_EQ(s.findSession(id.key, 5000), nullptr) << "absolute lifetime";
  auto b2 = r.next();
  TokenId idle = s.putSession(b2, session("u"), 0);
  EXPECT_EQ(s.findSession(idle.key, 1000), nullptr) << "idle lifetime";
}

TEST(ShardStoreSessions, EndRemovesIt) {
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId id = s.putSession(b, session("u", "sid1"), 0);
  auto ended = s.endSession(id.key);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->sid, "sid1");
  EXPECT_EQ(s.findSession(id.key, 1), nullptr);
}

TEST(ShardStoreRefresh, NonRotatingTokenKeepsWorking) {
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId rt = s.issueRefresh(b, family("native", false), 0);
  for (int i = 0; i < 3; ++i) {
    auto nb = r.next();
    auto use = s.useRefresh(rt.key, "native", nb, 0, 10 + i);
    EXPECT_EQ(use.outcome, RefreshOutcome::kOk);
    EXPECT_FALSE(use.rotatedTo.has_value());
  }
}

TEST(ShardStoreRefresh, RotationThenReuseRevokesTheFamily) {
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId rt1 = s.issueRefresh(b, family("native", true), 0);
  auto nb = r.next();
  auto u1 = s.useRefresh(rt1.key, "native", nb, 0, 100);
  ASSERT_EQ(u1.outcome, RefreshOutcome::kOk);
  ASSERT_TRUE(u1.rotatedTo.has_value());
  TokenId rt2 = *u1.rotatedTo;
  // rt1 again, outside a zero leeway: reuse.
  auto nb2 = r.next();
  EXPECT_EQ(s.useRefresh(rt1.key, "native", nb2, 0, 101).outcome, RefreshOutcome::kReuse);
  // The whole family is gone, including the legitimate successor.
  auto nb3 = r.next();
  EXPECT_EQ(s.useRefresh(rt2.key, "native", nb3, 0, 102).outcome, RefreshOutcome::kRevoked);
}

TEST(ShardStoreRefresh, LeewayAcceptsTheRotatedOutTokenBriefly) {
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId rt1 = s.issueRefresh(b, family("native", true), 0);
  auto nb = r.next();
  auto u1 = s.useRefresh(rt1.key, "native", nb, 5000, 100);
  ASSERT_TRUE(u1.rotatedTo.has_value());
  auto nb2 = r.next();
  auto retry = s.useRefresh(rt1.key, "native", nb2, 5000, 4000);
  EXPECT_EQ(retry.outcome, RefreshOutcome::kOk) << "a retry within the leeway";
  ASSERT_TRUE(retry.rotatedTo.has_value());
  // The token from the first answer was never used; presenting it now is reuse.
  auto nb3 = r.next();
  EXPECT_EQ(s.useRefresh(u1.rotatedTo->key, "native", nb3, 5000, 4100).outcome, RefreshOutcome::kReuse);
}

TEST(ShardStoreRefresh, RotatesThroughIndexGrowth) {
  // Each rotation adds an index entry; a thousand of them grow the index several times over
  // while the family is being updated.
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId first = s.issueRefresh(b, family("native", true), 0);
  TokenId cur = first;
  for (int i = 0; i < 1000; ++i) {
    std::array<uint8_t, 16> nb{};
    for (size_t j = 0; j < 16; ++j) nb[j] = static_cast<uint8_t>((i * 131 + j * 17 + (i >> 8) * 7) & 0xFF);
    nb[0] = static_cast<uint8_t>(i);
    nb[1] = static_cast<uint8_t>(i >> 8);
    auto use = s.useRefresh(cur.key, "native", nb, 0, 10 + i);
    ASSERT_EQ(use.outcome, RefreshOutcome::kOk) << i;
    ASSERT_TRUE(use.rotatedTo.has_value());
    EXPECT_EQ(use.familyKey, first.key);
    cur = *use.rotatedTo;
  }
  auto nb = r.next();
  EXPECT_EQ(s.useRefresh(first.key, "native", nb, 0, 5000).outcome, RefreshOutcome::kReuse);
}

TEST(ShardStoreRefresh, ZeroLeewayRefusesTheRotatedOutTokenEvenInTheSameMillisecond) {
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId rt1 = s.issueRefresh(b, family("native", true), 0);
  auto nb = r.next();
  ASSERT_EQ(s.useRefresh(rt1.key, "native", nb, 0, 100).outcome, RefreshOutcome::kOk);
  auto nb2 = r.next();
  EXPECT_EQ(s.useRefresh(rt1.key, "native", nb2, 0, 100).outcome, RefreshOutcome::kReuse);
}

TEST(ShardStoreRefresh, LeewayEnds) {
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId rt1 = s.issueRefresh(b, family("native", true), 0);
  auto nb = r.next();
  ASSERT_EQ(s.useRefresh(rt1.key, "native", nb, 5000, 100).outcome, RefreshOutcome::kOk);
  auto nb2 = r.next();
  EXPECT_EQ(s.useRefresh(rt1.key, "native", nb2, 5000, 5101).outcome, RefreshOutcome::kReuse);
}

TEST(ShardStoreRefresh, AnotherClientsTokenChangesNothing) {
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId rt = s.issueRefresh(b, family("native", true), 0);
  auto nb = r.next();
  EXPECT_EQ(s.useRefresh(rt.key, "web", nb, 0, 1).outcome, RefreshOutcome::kWrongClient);
  EXPECT_FALSE(s.revokeRefresh(rt.key, "web"));
  auto nb2 = r.next();
  EXPECT_EQ(s.useRefresh(rt.key, "native", nb2, 0, 2).outcome, RefreshOutcome::kOk);
}

TEST(ShardStoreRefresh, RevocationHoldsAndIsReaped) {
  ShardStore s(0);
  Rand r;
  auto b = r.next();
  TokenId rt = s.issueRefresh(b, family("native", false), 0);
  EXPECT_TRUE(s.revokeRefresh(rt.key, "native"));
  EXPECT_FALSE(s.revokeRefresh(rt.key, "native")) << "already revoked";
  auto nb = r.next();
  EXPECT_EQ(s.useRefresh(rt.key, "native", nb, 0, 1).outcome, RefreshOutcome::kRevoked);
  s.reap(2);
  EXPECT_EQ(s.families(), 0u);
  auto nb2 = r.next();
  EXPECT_EQ(s.useRefresh(rt.key, "native", nb2, 0, 3).outcome, RefreshOutcome::kUnknown);
}

TEST(ShardStoreRefresh, EndingASessionRevokesItsOnlineFamiliesOnly) {
  ShardStore s(0);
  Rand r;
  auto sb = r.next(), b1 = r.next(), b2 = r.next(), b3 = r.next();
  TokenId session = s.putSession(sb, SessionRecord{.userId = "u", .sid = "sidA"}, 0);
  RefreshFamily online = family("web", false, "sidA");
  online.online = true;
  TokenId inSessionOnline = s.issueRefresh(b1, online, 0);
  TokenId inSessionOffline = s.issueRefresh(b2, family("web", false, "sidA"), 0);
  TokenId otherSession = s.issueRefresh(b3, [] { auto f = family("web", false, "sidB"); f.online = true; return f; }(), 0);
  ASSERT_TRUE(s.endSession(session.key).has_value());
  auto n1 = r.next(), n2 = r.next(), n3 = r.next();
  EXPECT_EQ(s.useRefresh(inSessionOnline.key, "web", n1, 0, 1).outcome, RefreshOutcome::kRevoked);
  EXPECT_EQ(s.useRefresh(inSessionOffline.key, "web", n2, 0, 1).outcome, RefreshOutcome::kOk)
      << "a refresh token of a regular session outlives a logout, as at Auth0";
  EXPECT_EQ(s.useRefresh(otherSession.key, "web", n3, 0, 1).outcome, RefreshOutcome::kOk);
}

// ── session transfer ────────────────────────────────────────────────────────────────────────

struct Transfer {
  ShardStore s{0};
  Rand r;
  TokenId parent;
  TokenId stt;
  Transfer(bool cascade = true) {
    auto pb = r.next(), tb = r.next();
    parent = s.issueRefresh(pb, family("native", true, ""), 0);
    SttRecord rec;
    rec.userId = "auth0|demo";
    rec.clientId = "native";
    rec.ip = "127.0.0.1";
    rec.parentFamily = parent.key;
    rec.cascade = cascade;
    stt = s.putStt(tb, rec, 1000);
  }
  // Redeems the STT into a web session with one online web refresh family in it.
  std::pair<TokenId, TokenId> redeem(uint64_t now = 2000) {
    auto use = s.takeStt(stt.key, now);
    EXPECT_EQ(use.outcome, SttOutcome::kOk);
    SessionRecord web;
    web.userId = use.record.userId;
    web.sid = "web-sid";
    web.bornFromSessionTransfer = true;
    web.parentFamily = use.record.parentFamily;
    web.cascade = use.record.cascade;
    auto sb = r.next(), fb = r.next();
    TokenId session = s.putSession(sb, web, now);
    RefreshFamily wf = family("web", false, "web-sid");
    wf.bornFromSessionTransfer = true;
    TokenId webRt = s.issueRefresh(fb, wf, now);
    return {session, webRt};
  }
};

TEST(ShardStoreTransfer, SingleUseWhateverTheOutcome) {
  Transfer t;
  EXPECT_EQ(t.s.takeStt(t.stt.key, 2000).outcome, SttOutcome::kOk);
  EXPECT_EQ(t.s.takeStt(t.stt.key, 2001).outcome, SttOutcome::kAlreadyUsed);
  t.s.reap(61'000);
  EXPECT_EQ(t.s.takeStt(t.stt.key, 61'001).outcome, SttOutcome::kExpired) << "kept after expiry, still consumed";
  t.s.reap(1000 + 60'000 + 300'000);
  EXPECT_EQ(t.s.takeStt(t.stt.key, 361'001).outcome, SttOutcome::kNotFound) << "dropped after the tombstone time";
}

TEST(ShardStoreTransfer, ExpiresAfterSixtySeconds) {
  Transfer t;
  auto use = t.s.takeStt(t.stt.key, 61'000);
  EXPECT_EQ(use.outcome, SttOutcome::kExpired);
  EXPECT_EQ(use.record.userId, "auth0|demo") << "the record still describes the token for the event";
  t.s.reap(200'000);
  auto late = t.s.takeStt(t.stt.key, 200'001);
  EXPECT_EQ(late.outcome, SttOutcome::kExpired) << "a late presentation is still reported as expired";
  EXPECT_EQ(late.record.userId, "auth0|demo");
}

TEST(ShardStoreTransfer, IsReapedFiveMinutesAfterExpiry) {
  Transfer t;
  t.s.reap(61'000);
  EXPECT_EQ(t.s.sessionTransferTokens(), 1u);
  t.s.reap(1000 + 60'000 + 300'000);
  EXPECT_EQ(t.s.sessionTransferTokens(), 0u);
}

TEST(ShardStoreTransfer, ParentRevokedBeforeRedemptionFailsEvenWithoutCascade) {
  Transfer t(false);
  ASSERT_TRUE(t.s.revokeRefresh(t.parent.key, "native"));
  EXPECT_EQ(t.s.takeStt(t.stt.key, 2000).outcome, SttOutcome::kParentRevoked);
  EXPECT_EQ(t.s.takeStt(t.stt.key, 2001).outcome, SttOutcome::kAlreadyUsed) << "a failed redemption consumed it";
}

TEST(ShardStoreTransfer, CascadeEndsBornSessionsAndTheirRefreshTokens) {
  Transfer t(true);
  auto [session, webRt] = t.redeem();
  ASSERT_TRUE(t.s.revokeRefresh(t.parent.key, "native"));
  EXPECT_EQ(t.s.lastCascade().sessions, 1u);
  EXPECT_EQ(t.s.lastCascade().families, 1u);
  EXPECT_EQ(t.s.findSession(session.key, 3000), nullptr);
  auto nb = t.r.next();
  EXPECT_EQ(t.s.useRefresh(webRt.key, "web", nb, 0, 3000).outcome, RefreshOutcome::kRevoked);
}

TEST(ShardStoreTransfer, CascadeOffLeavesBornSessionsAlive) {
  Transfer t(false);
  auto [session, webRt] = t.redeem();
  ASSERT_TRUE(t.s.revokeRefresh(t.parent.key, "native"));
  EXPECT_EQ(t.s.lastCascade().sessions, 0u);
  EXPECT_NE(t.s.findSession(session.key, 3000), nullptr);
  auto nb = t.r.next();
  EXPECT_EQ(t.s.useRefresh(webRt.key, "web", nb, 0, 3000).outcome, RefreshOutcome::kOk);
}

TEST(ShardStoreTransfer, ReuseDetectionOnTheParentCascadesToo) {
  Transfer t(true);
  auto [session, webRt] = t.redeem();
  auto n1 = t.r.next(), n2 = t.r.next();
  ASSERT_EQ(t.s.useRefresh(t.parent.key, "native", n1, 0, 2500).outcome, RefreshOutcome::kOk);  // rotates
  EXPECT_EQ(t.s.useRefresh(t.parent.key, "native", n2, 0, 2600).outcome, RefreshOutcome::kReuse);
  EXPECT_EQ(t.s.findSession(session.key, 2700), nullptr);
}

TEST(ShardStoreTransfer, PolicyCapsShortenBornSessions) {
  Transfer t;
  auto use = t.s.takeStt(t.stt.key, 2000);
  SessionRecord web;
  web.userId = "u";
  web.bornFromSessionTransfer = true;
  web.absoluteCapMs = 10'000;
  web.idleCapMs = 4'000;
  auto sb = t.r.next();
  TokenId session = t.s.putSession(sb, web, 2000);
  EXPECT_NE(t.s.findSession(session.key, 5'000), nullptr);
  EXPECT_NE(t.s.findSession(session.key, 8'500), nullptr);
  EXPECT_EQ(t.s.findSession(session.key, 12'000), nullptr) << "absolute cap";
  auto sb2 = t.r.next();
  TokenId idle = t.s.putSession(sb2, web, 2000);
  EXPECT_EQ(t.s.findSession(idle.key, 6'000), nullptr) << "idle cap";
}

// Reap touches what is due and a window of the family tables, never the whole store at once:
// on a store larger than one window, revoked families and their tokens go over a few calls.
TEST(ShardStoreReap, LargeStoresAreSweptAPieceAtATime) {
  ShardStore s(0);
  std::mt19937_64 rng(9);
  auto random = [&] {
    std::array<uint8_t, 16> b{};
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  std::vector<TokenKey> revoked, kept;
  for (int i = 0; i < 20000; ++i) {
    TokenId id = s.issueRefresh(random(), family("native", false, ""), 0);
    (i % 4 == 0 ? revoked : kept).push_back(id.key);
  }
  for (const TokenKey& k : revoked) ASSERT_TRUE(s.revokeRefresh(k, "native"));
  s.reap(1);
  EXPECT_GT(s.families(), kept.size()) << "one reap looked at one window, not the whole table";
  EXPECT_LT(s.families(), kept.size() + revoked.size()) << "the window it looked at was swept";
  for (int i = 0; i < 16; ++i) s.reap(2 + i);
  EXPECT_EQ(s.families(), kept.size()) << "a few reaps later every revoked family is gone";
  for (const TokenKey& k : revoked) {
    auto b = random();
    ASSERT_EQ(s.useRefresh(k, "native", b, 0, 100).outcome, RefreshOutcome::kUnknown);
  }
  for (const TokenKey& k : kept) {
    auto b = random();
    ASSERT_EQ(s.useRefresh(k, "native", b, 0, 100).outcome, RefreshOutcome::kOk);
  }
}

TEST(ShardStoreReap, ASessionTouchedBeforeItsIdleEndIsQueuedAgainNotEnded) {
  StoreLimits limits;
  limits.sessionIdleMs = 1000;
  ShardStore s(0, limits);
  Rand r;
  auto sb = r.next(), fb = r.next();
  TokenId sess = s.putSession(sb, SessionRecord{.userId = "u", .sid = "sidT"}, 0);
  RefreshFamily online = family("web", false, "sidT");
  online.online = true;
  TokenId rt = s.issueRefresh(fb, online, 0);
  ASSERT_NE(s.findSession(sess.key, 900), nullptr);  // idle end moves from 1000 to 1900
  s.reap(1000);
  EXPECT_EQ(s.sessions(), 1u) << "due by its first end, but touched since";
  s.reap(1899);
  EXPECT_EQ(s.sessions(), 1u);
  s.reap(1900);
  EXPECT_EQ(s.sessions(), 0u) << "ended at its new idle end";
  EXPECT_FALSE(s.familyAlive(rt.key)) << "its end revoked the online family, as a logout does";
}

TEST(ShardStoreRefresh, CascadesFindTheirSessionsAndFamiliesAmongManyOthers) {
  ShardStore s(0);
  std::mt19937_64 rng(3);
  auto random = [&] {
    std::array<uint8_t, 16> b{};
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  TokenId parent = s.issueRefresh(random(), family("native", false, "native-sid"), 0);
  std::vector<TokenId> bornSessions, bornFamilies;
  for (int i = 0; i < 3000; ++i) {  // unrelated sessions and families, some born of other parents
    TokenId other = s.issueRefresh(random(), family("native", false, ""), 0);
    SessionRecord rec{.userId = "u", .sid = "other-" + std::to_string(i)};
    rec.bornFromSessionTransfer = i % 2 == 0;
    rec.parentFamily = other.key;
    rec.cascade = true;
    s.putSession(random(), rec, 0);
    s.issueRefresh(random(), family("web", false, rec.sid.c_str()), 0);
    if (i % 1000 == 0) {  // and now and then one born of `parent`, with a family in it
      SessionRecord born{.userId = "u", .sid = "born-" + std::to_string(i)};
      born.bornFromSessionTransfer = true;
      born.parentFamily = parent.key;
      born.cascade = true;
      bornSessions.push_back(s.putSession(random(), born, 0));
      bornFamilies.push_back(s.issueRefresh(random(), family("web", false, born.sid.c_str()), 0));
    }
  }
  size_t sessionsBefore = s.sessions();
  ASSERT_TRUE(s.revokeRefresh(parent.key, "native"));
  EXPECT_EQ(s.lastCascade().sessions, bornSessions.size());
  EXPECT_EQ(s.lastCascade().families, bornFamilies.size());
  EXPECT_EQ(s.sessions(), sessionsBefore - bornSessions.size());
  for (const TokenId& f : bornFamilies) EXPECT_FALSE(s.familyAlive(f.key));
  for (const TokenId& b : bornSessions) EXPECT_EQ(s.findSession(b.key, 1), nullptr);
}

}  // namespace
}  // namespace handoff::store
