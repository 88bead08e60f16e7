// RedisStore against a real 3-master Redis Cluster on loopback (redis_cluster_fixture.h): the
// decisions of the embedded store — single use of codes and STTs, rotation and reuse detection,
// cascades, session expiry — taken by its scripts, and fail-closed answers when a master is gone.
#include <gtest/gtest.h>
#include <uv.h>

#include <array>
#include <cstring>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "handoff/store/redis/redis_store.h"
#include "handoff/store/redis/slot.h"
#include "redis_cluster_fixture.h"
#include "uv_test_loop.h"

namespace handoff::store::redis {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using it::RedisCluster;
using Born = RedisStore::Born;

std::array<uint8_t, 16> rnd() {
  static std::mt19937_64 gen(std::random_device{}());
  std::array<uint8_t, 16> a;
  uint64_t x = gen(), y = gen();
  std::memcpy(a.data(), &x, 8);
  std::memcpy(a.data() + 8, &y, 8);
  return a;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster(3);
    ASSERT_TRUE(cluster_->start()) << cluster_->failure();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    ClusterOptions o;
    o.seeds = cluster_->seeds();
    o.deadlineMs = 500;
    auto made = ClusterClient::create(loop_.loop(), o);
    ASSERT_TRUE(made.ok()) << made.error().message();
    client_ = std::move(*made);
    client_->start();
    ASSERT_TRUE(runUntil([&] { return client_->healthy(); }, Millis(10000))) << "the client never became healthy";
    store_ = std::make_unique<RedisStore>(*client_);
  }
  void TearDown() override {
    store_.reset();
    if (client_) {
      client_->close();
      runUntil([&] { return client_->closed(); }, Millis(5000));
      client_.reset();
    }
    loop_.finish();
  }

  bool runUntil(const std::function<bool()>& done, Millis timeout) { return loop_.runUntil(done, timeout); }

  // Runs one store call to its completion and returns what it answered.
  template <class T, class Call>
  Answer<T> wait(Call call) {
    std::optional<Answer<T>> got;
    call([&](Answer<T> a) { got = std::move(a); });
    EXPECT_TRUE(runUntil([&] { return got.has_value(); }, Millis(5000))) << "no answer";
    return got ? std::move(*got) : Answer<T>{Failure::kTimeout, {}};
  }

  static uint64_t now() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count());
  }

  // A native login: a (rotating or not) refresh-token family of `user` for client "native".
  TokenId nativeFamily(const std::string& user, bool rotating, const std::string& scope = "openid offline_access") {
    RefreshFamily f;
    f.clientId = "native";
    f.userId = user;
    f.scope = scope;
    f.authTime = 1700000000;
    f.rotating = rotating;
    auto a = wait<RedisStore::Issued>([&](auto done) {
      store_->issue(true, "native", user, scope, f, rnd(), rnd(), now(), std::move(done));
    });
    EXPECT_TRUE(a.ok());
    EXPECT_TRUE(a.value.family.has_value());
    return a.value.family.value_or(TokenId{});
  }

  SttRecord sttProto(bool cascade = true) {
    SttRecord r;
    r.clientId = "native";
    r.ip = "127.0.0.1";
    r.asn = 64500;
    r.country = "ZZ";
    r.userAgent = "test";
    r.mintedAt = 1700000100;
    r.cascade = cascade;
    return r;
  }

  TokenId mint(const TokenId& rt, uint64_t at) {
    auto m = wait<RedisStore::Minted>([&](auto done) {
      store_->mintStt(rt, "native", rnd(), 0, sttProto(), rnd(), at, std::move(done));
    });
    EXPECT_TRUE(m.ok());
    EXPECT_EQ(m.value.outcome, RedisStore::Mint::kOk);
    return m.value.stt;
  }

  CodeRecord codeProto(const std::string& scope = "openid offline_access") {
    CodeRecord c;
    c.clientId = "web";
    c.redirectUri = "https://app.example/cb";
    c.scope = scope;
    c.nonce = "n-1";
    c.codeChallenge = "challenge-of-the-verifier";
    return c;
  }

  RedisStore::ExchangeCheck webCheck(bool refresh = true) {
    return {.clientId = "web", .redirectUri = "https://app.example/cb",
            .verifierHash = "challenge-of-the-verifier",
            .refreshAllowed = refresh, .rotating = true};
  }

  // Redeems an STT for a born session with its code (the /authorize path without a session).
  RedisStore::Born redeem(const TokenId& stt, uint64_t at) {
    auto use = wait<ShardStore::SttUse>([&](auto done) { store_->takeStt(stt, at, std::move(done)); });
    EXPECT_TRUE(use.ok());
    EXPECT_EQ(use.value.outcome, SttOutcome::kOk);
    SessionRecord s;
    s.home = stt.shard;
    s.userId = use.value.record.userId;
    s.sid = "sid-" + RedisStore::keyId(stt.key);
    s.authTime = use.value.record.authTime;
    s.bornFromSessionTransfer = true;
    s.parentFamily = use.value.record.parentFamily;
    s.cascade = use.value.record.cascade;
    CodeRecord c = codeProto();
    c.userId = s.userId;
    c.sessionId = s.sid;
    c.authTime = s.authTime;
    c.bornFromSessionTransfer = true;
    c.onlineRefreshTokens = false;
    auto born = wait<RedisStore::Born>([&](auto done) {
      store_->bornSession(s, rnd(), c, rnd(), at, std::move(done));
    });
    EXPECT_TRUE(born.ok());
    return born.value;
  }

  static RedisCluster* cluster_;
  it::TestLoop loop_;
  std::unique_ptr<ClusterClient> client_;
  std::unique_ptr<RedisStore> store_;
};

RedisCluster* RedisStoreTest::cluster_ = nullptr;

TEST_F(RedisStoreTest, HomesArePerUserAndEveryKeyOfAHomeSharesOneSlot) {
  uint16_t h = RedisStore::homeOfUser("auth0|alice");
  EXPECT_EQ(h, RedisStore::homeOfUser("auth0|alice"));
  EXPECT_LT(h, RedisStore::kHomes);
  std::string tag = RedisStore::tag(h);
  EXPECT_EQ(slotOf(tag + ":rf:AAAA"), slotOf(tag + ":ss:BBBB"));
  EXPECT_EQ(slotOf(tag + ":stt:x"), slotOf(tag + ":cd:y"));
  // The homes spread over all three masters.
  std::vector<int> owners = cluster_->slotOwners();
  std::vector<int> seen(3, 0);
  for (uint16_t home = 0; home < RedisStore::kHomes; ++home) {
    int o = owners[slotOf(RedisStore::tag(home))];
    ASSERT_GE(o, 0);
    ++seen[static_cast<size_t>(o)];
  }
  for (int n : seen) EXPECT_GT(n, 200);
}

TEST_F(RedisStoreTest, AnSttWorksOnceAndItsParentMustBeAlive) {
  uint64_t t = now();
  TokenId rt = nativeFamily("auth0|stt-once", false);
  TokenId stt = mint(rt, t);
  EXPECT_EQ(stt.shard, rt.shard) << "an STT lives beside its parent family";
  auto first = wait<ShardStore::SttUse>([&](auto done) { store_->takeStt(stt, t + 10, std::move(done)); });
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value.outcome, SttOutcome::kOk);
  EXPECT_EQ(first.value.record.userId, "auth0|stt-once");
  EXPECT_EQ(first.value.record.asn, 64500u);
  EXPECT_EQ(first.value.record.ip, "127.0.0.1");
  auto again = wait<ShardStore::SttUse>([&](auto done) { store_->takeStt(stt, t + 20, std::move(done)); });
  EXPECT_EQ(again.value.outcome, SttOutcome::kAlreadyUsed);

  TokenId late = mint(rt, t);
  auto expired = wait<ShardStore::SttUse>([&](auto done) { store_->takeStt(late, t + 60'001, std::move(done)); });
  EXPECT_EQ(expired.value.outcome, SttOutcome::kExpired);

  TokenId orphan = mint(rt, t);
  auto rv = wait<RedisStore::Revoked>([&](auto done) { store_->revokeRefresh(rt, "native", std::move(done)); });
  EXPECT_TRUE(rv.value.revoked);
  auto refused = wait<ShardStore::SttUse>([&](auto done) { store_->takeStt(orphan, t + 30, std::move(done)); });
  EXPECT_EQ(refused.value.outcome, SttOutcome::kParentRevoked);
  auto none = wait<ShardStore::SttUse>([&](auto done) {
    TokenId made = orphan;
    made.key.lo ^= 1;
    store_->takeStt(made, t, std::move(done));
  });
  EXPECT_EQ(none.value.outcome, SttOutcome::kNotFound);
}

TEST_F(RedisStoreTest, SixtyFourConcurrentRedemptionsOfOneSttConsumeItOnce) {
  uint64_t t = now();
  TokenId stt = mint(nativeFamily("auth0|race", false), t);
  std::vector<std::optional<Answer<ShardStore::SttUse>>> got(64);
  for (auto& g : got) store_->takeStt(stt, t + 5, [&g](Answer<ShardStore::SttUse> a) { g = std::move(a); });
  ASSERT_TRUE(runUntil([&] { for (auto& g : got) if (!g) return false; return true; }, Millis(5000)));
  int ok = 0, used = 0;
  for (auto& g : got) {
    ASSERT_TRUE(g->ok());
    ok += g->value.outcome == SttOutcome::kOk;
    used += g->value.outcome == SttOutcome::kAlreadyUsed;
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(used, 63);
}

TEST_F(RedisStoreTest, ACodeIsExchangedOnceAndAReplayRevokesWhatItGave) {
  uint64_t t = now();
  Born born = redeem(mint(nativeFamily("auth0|code", false), t), t + 1);
  ASSERT_TRUE(born.ok);
  auto x = wait<RedisStore::Exchanged>([&](auto done) {
    store_->exchangeCode(born.code, webCheck(), rnd(), rnd(), t + 2, std::move(done));
  });
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(x.value.outcome, RedisStore::Exchange::kOk);
  EXPECT_EQ(x.value.code.userId, "auth0|code");
  EXPECT_EQ(x.value.code.nonce, "n-1");
  EXPECT_TRUE(x.value.code.bornFromSessionTransfer);
  ASSERT_TRUE(x.value.access && x.value.family);
  auto a = wait<std::optional<AccessRecord>>([&](auto done) { store_->findAccess(*x.value.access, t + 3, std::move(done)); });
  ASSERT_TRUE(a.ok() && a.value);
  EXPECT_EQ(a.value->userId, "auth0|code");

  auto replay = wait<RedisStore::Exchanged>([&](auto done) {
    store_->exchangeCode(born.code, webCheck(), rnd(), rnd(), t + 4, std::move(done));
  });
  EXPECT_EQ(replay.value.outcome, RedisStore::Exchange::kReplayed);
  auto gone = wait<std::optional<AccessRecord>>([&](auto done) { store_->findAccess(*x.value.access, t + 5, std::move(done)); });
  EXPECT_FALSE(gone.value.has_value()) << "the replay left the access token alive";
  auto r = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(*x.value.family, "web", rnd(), 0, rnd(), t + 6, std::move(done));
  });
  EXPECT_EQ(r.value.outcome, RefreshOutcome::kRevoked);
}

TEST_F(RedisStoreTest, ACodeIsSpentByAFailedCheck) {
  uint64_t t = now();
  struct Case {
    const char* what;
    RedisStore::ExchangeCheck check;
    RedisStore::Exchange want;
  };
  RedisStore::ExchangeCheck wrongClient = webCheck(), wrongRedirect = webCheck(), wrongVerifier = webCheck();
  wrongClient.clientId = "other";
  wrongRedirect.redirectUri = "https://app.example/cb/";
  wrongVerifier.verifierHash = "challenge-of-another-verifier";
  for (const Case& c : {Case{"client", wrongClient, RedisStore::Exchange::kInvalid},
                        Case{"redirect", wrongRedirect, RedisStore::Exchange::kRedirectMismatch},
                        Case{"verifier", wrongVerifier, RedisStore::Exchange::kPkceFailed}}) {
    SCOPED_TRACE(c.what);
    Born born = redeem(mint(nativeFamily(std::string("auth0|spent-") + c.what, false), t), t);
    auto bad = wait<RedisStore::Exchanged>([&](auto done) {
      store_->exchangeCode(born.code, c.check, rnd(), rnd(), t + 1, std::move(done));
    });
    EXPECT_EQ(bad.value.outcome, c.want);
    auto good = wait<RedisStore::Exchanged>([&](auto done) {
      store_->exchangeCode(born.code, webCheck(), rnd(), rnd(), t + 2, std::move(done));
    });
    EXPECT_EQ(good.value.outcome, RedisStore::Exchange::kReplayed);
  }
}

TEST_F(RedisStoreTest, RotationAcceptsTheCurrentTokenAndAReuseRevokesTheFamily) {
  uint64_t t = now();
  TokenId first = nativeFamily("auth0|rotate", true);
  auto r1 = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(first, "native", rnd(), 0, rnd(), t, std::move(done));
  });
  ASSERT_EQ(r1.value.outcome, RefreshOutcome::kOk);
  ASSERT_TRUE(r1.value.rotated && r1.value.access);
  auto wrong = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(*r1.value.rotated, "web", rnd(), 0, rnd(), t + 1, std::move(done));
  });
  EXPECT_EQ(wrong.value.outcome, RefreshOutcome::kWrongClient);
  auto r2 = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(*r1.value.rotated, "native", rnd(), 0, rnd(), t + 2, std::move(done));
  });
  ASSERT_EQ(r2.value.outcome, RefreshOutcome::kOk);
  // The first token again: reuse. The whole family goes, the newest token with it.
  auto reuse = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(first, "native", rnd(), 0, rnd(), t + 3, std::move(done));
  });
  EXPECT_EQ(reuse.value.outcome, RefreshOutcome::kReuse);
  auto after = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(*r2.value.rotated, "native", rnd(), 0, rnd(), t + 4, std::move(done));
  });
  EXPECT_EQ(after.value.outcome, RefreshOutcome::kRevoked);
}

TEST_F(RedisStoreTest, WithinTheLeewayThePreviousTokenStillRotates) {
  uint64_t t = now();
  TokenId first = nativeFamily("auth0|leeway", true);
  auto r1 = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(first, "native", rnd(), 5000, rnd(), t, std::move(done));
  });
  ASSERT_EQ(r1.value.outcome, RefreshOutcome::kOk);
  auto again = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(first, "native", rnd(), 5000, rnd(), t + 1000, std::move(done));
  });
  EXPECT_EQ(again.value.outcome, RefreshOutcome::kOk);
  auto late = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(first, "native", rnd(), 5000, rnd(), t + 7000, std::move(done));
  });
  EXPECT_EQ(late.value.outcome, RefreshOutcome::kReuse);
}

TEST_F(RedisStoreTest, RevokingTheNativeFamilyEndsItsBornSessionsAndTheirFamilies) {
  uint64_t t = now();
  TokenId native = nativeFamily("auth0|cascade", false);
  Born born = redeem(mint(native, t), t + 1);
  ASSERT_TRUE(born.ok);
  auto x = wait<RedisStore::Exchanged>([&](auto done) {
    store_->exchangeCode(born.code, webCheck(), rnd(), rnd(), t + 2, std::move(done));
  });
  ASSERT_TRUE(x.value.family);
  auto live = wait<std::optional<SessionRecord>>([&](auto done) { store_->findSession(born.session, t + 3, std::move(done)); });
  ASSERT_TRUE(live.value.has_value());
  EXPECT_TRUE(live.value->bornFromSessionTransfer);

  auto rv = wait<RedisStore::Revoked>([&](auto done) { store_->revokeRefresh(native, "native", std::move(done)); });
  ASSERT_TRUE(rv.ok());
  EXPECT_TRUE(rv.value.revoked);
  EXPECT_EQ(rv.value.cascade.sessions, 1u);
  EXPECT_EQ(rv.value.cascade.families, 1u);
  auto ended = wait<std::optional<SessionRecord>>([&](auto done) { store_->findSession(born.session, t + 4, std::move(done)); });
  EXPECT_FALSE(ended.value.has_value());
  auto web = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(*x.value.family, "web", rnd(), 0, rnd(), t + 5, std::move(done));
  });
  EXPECT_EQ(web.value.outcome, RefreshOutcome::kRevoked);
  // Revoking again changes nothing and says so.
  auto twice = wait<RedisStore::Revoked>([&](auto done) { store_->revokeRefresh(native, "native", std::move(done)); });
  EXPECT_FALSE(twice.value.revoked);
  // A redemption racing the revocation gets no session.
  TokenId late = native;
  auto refused = wait<RedisStore::Minted>([&](auto done) {
    store_->mintStt(late, "native", rnd(), 0, sttProto(), rnd(), t + 6, std::move(done));
  });
  EXPECT_EQ(refused.value.outcome, RedisStore::Mint::kRefused);
  EXPECT_EQ(refused.value.refresh, RefreshOutcome::kRevoked);
}

TEST_F(RedisStoreTest, AnSttBornFamilyCannotMintAndSsoFollowsTheSessionsUser) {
  uint64_t t = now();
  Born born = redeem(mint(nativeFamily("auth0|sso", false), t), t);
  auto x = wait<RedisStore::Exchanged>([&](auto done) {
    store_->exchangeCode(born.code, webCheck(), rnd(), rnd(), t + 1, std::move(done));
  });
  ASSERT_TRUE(x.value.family);
  auto nested = wait<RedisStore::Minted>([&](auto done) {
    store_->mintStt(*x.value.family, "web", rnd(), 0, sttProto(), rnd(), t + 2, std::move(done));
  });
  EXPECT_EQ(nested.value.outcome, RedisStore::Mint::kNested);

  auto same = wait<RedisStore::SsoResult>([&](auto done) {
    store_->ssoCode(born.session, "auth0|sso", codeProto(), rnd(), t + 3, std::move(done));
  });
  ASSERT_EQ(same.value.outcome, RedisStore::Sso::kOk);
  EXPECT_EQ(same.value.userId, "auth0|sso");
  auto code = wait<RedisStore::Exchanged>([&](auto done) {
    store_->exchangeCode(same.value.code, webCheck(false), rnd(), rnd(), t + 4, std::move(done));
  });
  EXPECT_EQ(code.value.outcome, RedisStore::Exchange::kOk);
  EXPECT_FALSE(code.value.family.has_value()) << "a refresh token without refreshAllowed";
  auto other = wait<RedisStore::SsoResult>([&](auto done) {
    store_->ssoCode(born.session, "auth0|mallory", codeProto(), rnd(), t + 5, std::move(done));
  });
  EXPECT_EQ(other.value.outcome, RedisStore::Sso::kOtherUser);
  auto gone = wait<RedisStore::SsoResult>([&](auto done) {
    store_->ssoCode(born.session, "", codeProto(), rnd(), t + 6, std::move(done));
  });
  EXPECT_EQ(gone.value.outcome, RedisStore::Sso::kNone) << "a session of another user survived";
}

TEST_F(RedisStoreTest, AnIdleSessionEndsAndTakesItsOnlineFamiliesWithIt) {
  uint64_t t = now();
  SessionRecord s;
  s.userId = "auth0|idle";
  s.sid = "sid-idle";
  s.authTime = 1700000000;
  auto put = wait<TokenId>([&](auto done) { store_->putSession(s, rnd(), t, std::move(done)); });
  ASSERT_TRUE(put.ok());
  RefreshFamily online;
  online.clientId = "web";
  online.userId = s.userId;
  online.scope = "openid offline_access";
  online.sessionId = s.sid;
  online.online = true;
  auto fam = wait<RedisStore::Issued>([&](auto done) {
    store_->issue(true, "web", s.userId, online.scope, online, rnd(), rnd(), t, std::move(done));
  });
  ASSERT_TRUE(fam.value.family);
  uint64_t idle = StoreLimits{}.sessionIdleMs;
  auto alive = wait<std::optional<SessionRecord>>([&](auto done) { store_->findSession(put.value, t + idle - 1, std::move(done)); });
  EXPECT_TRUE(alive.value.has_value()) << "touched within the idle time";
  auto ok = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(*fam.value.family, "web", rnd(), 0, rnd(), t + idle, std::move(done));
  });
  EXPECT_EQ(ok.value.outcome, RefreshOutcome::kOk);
  auto over = wait<std::optional<SessionRecord>>([&](auto done) {
    store_->findSession(put.value, t + 2 * idle, std::move(done));
  });
  EXPECT_FALSE(over.value.has_value());
  auto dead = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(*fam.value.family, "web", rnd(), 0, rnd(), t + 2 * idle + 1, std::move(done));
  });
  EXPECT_EQ(dead.value.outcome, RefreshOutcome::kRevoked);
}

TEST_F(RedisStoreTest, LogoutEndsTheSessionAndItsOnlineFamiliesOnly) {
  uint64_t t = now();
  SessionRecord s;
  s.userId = "auth0|logout";
  s.sid = "sid-logout";
  auto put = wait<TokenId>([&](auto done) { store_->putSession(s, rnd(), t, std::move(done)); });
  ASSERT_TRUE(put.ok());
  auto issueIn = [&](bool isOnline) {
    RefreshFamily f;
    f.clientId = "web";
    f.userId = s.userId;
    f.scope = "offline_access";
    f.sessionId = s.sid;
    f.online = isOnline;
    auto a = wait<RedisStore::Issued>([&](auto done) {
      store_->issue(false, "web", s.userId, f.scope, f, rnd(), rnd(), t, std::move(done));
    });
    return a.value.family.value_or(TokenId{});
  };
  TokenId onlineFam = issueIn(true), offlineFam = issueIn(false);
  auto ended = wait<std::optional<SessionRecord>>([&](auto done) { store_->endSession(put.value, std::move(done)); });
  ASSERT_TRUE(ended.value.has_value());
  EXPECT_EQ(ended.value->sid, "sid-logout");
  auto on = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(onlineFam, "web", rnd(), 0, rnd(), t + 1, std::move(done));
  });
  EXPECT_EQ(on.value.outcome, RefreshOutcome::kRevoked);
  auto off = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(offlineFam, "web", rnd(), 0, rnd(), t + 2, std::move(done));
  });
  EXPECT_EQ(off.value.outcome, RefreshOutcome::kOk);
  auto again = wait<std::optional<SessionRecord>>([&](auto done) { store_->endSession(put.value, std::move(done)); });
  EXPECT_FALSE(again.value.has_value());
}

// Last: it stops a master. What lives on it fails closed; the other homes keep working.
TEST_F(RedisStoreTest, ZzAStoppedMasterFailsItsUsersClosedAndTheOthersKeepWorking) {
  uint64_t t = now();
  std::vector<int> owners = cluster_->slotOwners();
  std::string onVictim, onOther;
  for (int i = 0; (onVictim.empty() || onOther.empty()) && i < 10000; ++i) {
    std::string user = "auth0|fault-" + std::to_string(i);
    int o = owners[slotOf(RedisStore::tag(RedisStore::homeOfUser(user)))];
    if (o == 0 && onVictim.empty()) onVictim = user;
    if (o != 0 && onOther.empty()) onOther = user;
  }
  ASSERT_FALSE(onVictim.empty() || onOther.empty());
  TokenId victimRt = nativeFamily(onVictim, false), otherRt = nativeFamily(onOther, false);
  TokenId stt = mint(victimRt, t);
  ASSERT_TRUE(cluster_->pause(0));
  auto stuck = wait<ShardStore::SttUse>([&](auto done) { store_->takeStt(stt, t + 1, std::move(done)); });
  EXPECT_FALSE(stuck.ok()) << "an answer from a stopped master";
  auto fast = wait<ShardStore::SttUse>([&](auto done) { store_->takeStt(stt, t + 2, std::move(done)); });
  EXPECT_FALSE(fast.ok());
  auto fine = wait<RedisStore::Refreshed>([&](auto done) {
    store_->refreshGrant(otherRt, "native", rnd(), 0, rnd(), t + 3, std::move(done));
  });
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine.value.outcome, RefreshOutcome::kOk);
  ASSERT_TRUE(cluster_->resume(0));
  // The timed-out take may or may not have run: the STT is either still good or spent, and
  // never good twice.
  ASSERT_TRUE(runUntil([&] { return client_->healthy(); }, Millis(10000)));
  int ok = 0;
  for (int i = 0; i < 3; ++i) {
    auto a = wait<ShardStore::SttUse>([&](auto done) { store_->takeStt(stt, t + 10 + i, std::move(done)); });
    if (!a.ok()) {
      runUntil([&] { return client_->healthy(); }, Millis(3000));
      continue;
    }
    ok += a.value.outcome == SttOutcome::kOk;
  }
  EXPECT_LE(ok, 1);
}

}  // namespace
}  // namespace handoff::store::redis
