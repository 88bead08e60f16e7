// The compact forms of codes and STTs: every field reads back as it went in, references are
// counted and given back, and a used code keeps only what a replay revokes. Then the same
// through ShardStore: what putStt/putCode take is what takeStt/redeemCode give back.
#include "handoff/store/compact_records.h"

#include <gtest/gtest.h>

#include "handoff/store/shard_store.h"

namespace handoff::store {
namespace {

SttRecord fullStt() {
  SttRecord r;
  r.home = 3;
  r.userId = "auth0|65a4f2e1b3c9d80012abcdef";
  r.clientId = "Xk2vQ9pLmN4rT7wY1zA3bC5dE8fG0hJ1";
  r.scope = "openid profile email offline_access";
  r.organization = "org_W7cZ1kQ3mN5pR8tV";
  r.ip = "2a01:e0a:1f3:4c50:8d2e:91ff:fe3b:7a21";
  r.asn = 3215;
  r.country = "FR";
  r.userAgent = "Acme%20Bank/4.12.3 (com.example.app; build:41203; iOS 17.4.1) iPhone15,2 CFNetwork/1494.0.7";
  r.parentFamily = {0x1122334455667788ull, 0x99AABBCCDDEEFF00ull};
  r.authTime = 1'790'000'000;
  r.mintedAt = 1'790'000'100;
  r.mintedAtMs = 123'456;
  r.expiresAtMs = 123'456 + 60'000;
  r.cascade = false;
  r.used = false;
  return r;
}

CodeRecord fullCode() {
  CodeRecord c;
  c.home = 2;
  c.clientId = "Wq8eR2tY4uI6oP0aS1dF3gH5jK7lZ9x0";
  c.redirectUri = "https://app.example.com/api/auth/callback";
  c.userId = "auth0|65a4f2e1b3c9d80012abcdef";
  c.sessionId = "aTzV3qKfumlPRLr9cxQhNw";
  c.scope = "openid profile email";
  c.audience = "https://login.example.com/api/v2/";
  c.nonce = "Fq0.4~3ZkqEwTmb8zr_QsVdxUq2~MyPHeB6pAu6nWMk";
  c.codeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  c.authTime = 1'790'000'000;
  c.expiresAtMs = 99'000;
  c.bornFromSessionTransfer = true;
  c.onlineRefreshTokens = true;
  return c;
}

void expectSame(const SttRecord& a, const SttRecord& b) {
  EXPECT_EQ(a.home, b.home);
  EXPECT_EQ(a.userId, b.userId);
  EXPECT_EQ(a.clientId, b.clientId);
  EXPECT_EQ(a.scope, b.scope);
  EXPECT_EQ(a.organization, b.organization);
  EXPECT_EQ(a.ip, b.ip);
  EXPECT_EQ(a.asn, b.asn);
  EXPECT_EQ(a.country, b.country);
  EXPECT_EQ(a.userAgent, b.userAgent);
  EXPECT_EQ(a.parentFamily, b.parentFamily);
  EXPECT_EQ(a.authTime, b.authTime);
  EXPECT_EQ(a.mintedAt, b.mintedAt);
  EXPECT_EQ(a.mintedAtMs, b.mintedAtMs);
  EXPECT_EQ(a.expiresAtMs, b.expiresAtMs);
  EXPECT_EQ(a.cascade, b.cascade);
  EXPECT_EQ(a.used, b.used);
}

void expectSame(const CodeRecord& a, const CodeRecord& b) {
  EXPECT_EQ(a.home, b.home);
  EXPECT_EQ(a.clientId, b.clientId);
  EXPECT_EQ(a.redirectUri, b.redirectUri);
  EXPECT_EQ(a.userId, b.userId);
  EXPECT_EQ(a.sessionId, b.sessionId);
  EXPECT_EQ(a.scope, b.scope);
  EXPECT_EQ(a.audience, b.audience);
  EXPECT_EQ(a.nonce, b.nonce);
  EXPECT_EQ(a.codeChallenge, b.codeChallenge);
  EXPECT_EQ(a.authTime, b.authTime);
  EXPECT_EQ(a.expiresAtMs, b.expiresAtMs);
  EXPECT_EQ(a.used, b.used);
  EXPECT_EQ(a.issuedAccess, b.issuedAccess);
  EXPECT_EQ(a.issuedFamily, b.issuedFamily);
  EXPECT_EQ(a.bornFromSessionTransfer, b.bornFromSessionTransfer);
  EXPECT_EQ(a.onlineRefreshTokens, b.onlineRefreshTokens);
}

TEST(CompactStt, EveryFieldReadsBack) {
  InternTable strings;
  for (const char* ip : {"203.0.113.45", "2a01:e0a:1f3:4c50:8d2e:91ff:fe3b:7a21", "::ffff:10.0.0.1", "", "2001:DB8::1"}) {
    SttRecord r = fullStt();
    r.ip = ip;
    StoredStt s = packStt(r, strings);
    expectSame(unpackStt(s, strings, 60'000), r);
    releaseStt(s, strings);
  }
  SttRecord empty;  // every string empty, the defaults elsewhere
  empty.expiresAtMs = 60'000;
  StoredStt s = packStt(empty, strings);
  expectSame(unpackStt(s, strings, 60'000), empty);
  releaseStt(s, strings);
  EXPECT_EQ(strings.size(), 0u);
}

TEST(CompactStt, RepeatedStringsAreSharedAndGiveBackTheirReferences) {
  InternTable strings;
  StoredStt a = packStt(fullStt(), strings), b = packStt(fullStt(), strings);
  EXPECT_EQ(a.clientId, b.clientId);
  EXPECT_EQ(a.userAgent, b.userAgent);
  EXPECT_EQ(strings.size(), 5u) << "client, scope, organization, country, user agent";
  EXPECT_EQ(strings.references(a.scope), 2u);
  releaseStt(a, strings);
  EXPECT_EQ(strings.references(b.scope), 1u);
  EXPECT_EQ(a.clientId, InternTable::kEmpty);
  EXPECT_TRUE(a.strings.empty());
  EXPECT_EQ(a.mintedAtMs, 123'456u) << "the times stay for the queue's head";
  releaseStt(b, strings);
  EXPECT_EQ(strings.size(), 0u);
}

TEST(CompactCode, EveryFieldOfAnUnusedCodeReadsBack) {
  InternTable strings;
  CodeRecord c = fullCode();
  StoredCode s = packCode(c, strings);
  expectSame(unpackCode(s, strings), c);
  CodeRecord plain = fullCode();  // a confidential client's code: no PKCE, no audience
  plain.codeChallenge.clear();
  plain.audience.clear();
  plain.sessionId = "not base64url!";
  StoredCode t = packCode(plain, strings);
  expectSame(unpackCode(t, strings), plain);
  releaseCode(s, strings);
  releaseCode(t, strings);
  EXPECT_EQ(strings.size(), 0u);
}

TEST(CompactCode, ATombstoneKeepsWhatAReplayRevokes) {
  InternTable strings;
  StoredCode s = packCode(fullCode(), strings);
  EXPECT_EQ(issuedAccess(s), TokenKey{});
  const TokenKey at{1, 2}, rt{3, 4};
  setIssued(s, &at, &rt);
  EXPECT_EQ(unpackCode(s, strings).userId, fullCode().userId) << "an unused code's strings are its own";
  makeTombstone(s);
  EXPECT_TRUE(s.strings.empty()) << "its strings went with the exchange";
  EXPECT_EQ(strings.size(), 4u) << "its references stay until it expires";
  EXPECT_TRUE(s.used);
  EXPECT_EQ(issuedAccess(s), TokenKey{});
  setIssued(s, &at, nullptr);
  EXPECT_EQ(issuedAccess(s), at);
  EXPECT_EQ(issuedFamily(s), TokenKey{});
  setIssued(s, nullptr, &rt);
  EXPECT_EQ(issuedAccess(s), at) << "a null pointer keeps that one";
  EXPECT_EQ(issuedFamily(s), rt);
  CodeRecord r = unpackCode(s, strings);
  EXPECT_TRUE(r.used);
  EXPECT_EQ(r.issuedAccess, at);
  EXPECT_EQ(r.issuedFamily, rt);
  EXPECT_EQ(r.authTime, fullCode().authTime);
  EXPECT_EQ(r.expiresAtMs, fullCode().expiresAtMs);
  EXPECT_TRUE(r.bornFromSessionTransfer);
  EXPECT_TRUE(r.clientId.empty());
  const TokenKey none{};
  setIssued(s, &none, &none);
  EXPECT_TRUE(s.strings.empty());
  releaseCode(s, strings);
  EXPECT_EQ(strings.size(), 0u);
}

TEST(ShardStoreCompact, AnSttReadsBackAsItWasPut) {
  ShardStore store(0);
  SttRecord r = fullStt();
  std::array<uint8_t, 16> random{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
  TokenId id = store.putStt(random, r, 5000);
  r.mintedAtMs = 5000;  // putStt stamps the time
  r.expiresAtMs = 65'000;
  auto use = store.takeStt(id.key, 6000);
  EXPECT_EQ(use.outcome, SttOutcome::kParentRevoked) << "no such parent family in this store";
  expectSame(use.record, r);
  auto again = store.takeStt(id.key, 7000);
  r.used = true;
  expectSame(again.record, r);
  EXPECT_EQ(store.internedStrings(), 5u);
  store.reap(65'000 + 300'000);
  EXPECT_EQ(store.sessionTransferTokens(), 0u);
  EXPECT_EQ(store.internedStrings(), 0u) << "reaped records give back their strings";
}

TEST(ShardStoreCompact, ACodeReadsBackAsItWasPut) {
  ShardStore store(1);
  CodeRecord c = fullCode();
  std::array<uint8_t, 16> random{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  TokenId id = store.putCode(random, c, 1000);
  c.expiresAtMs = 61'000;  // putCode stamps the expiry
  auto use = store.redeemCode(id.key, 2000);
  ASSERT_EQ(use.outcome, CodeOutcome::kOk);
  c.used = true;  // as the exchange sees it
  expectSame(use.record, c);
  EXPECT_EQ(store.redeemCode(id.key, 3000).outcome, CodeOutcome::kReplayed);
  auto taken = store.takeCode(id.key, 4000);
  ASSERT_TRUE(taken.has_value());
  EXPECT_TRUE(taken->used);
  EXPECT_TRUE(taken->userId.empty()) << "a used code reads as its tombstone";
  EXPECT_EQ(store.codes(), 0u);
  EXPECT_EQ(store.internedStrings(), 0u) << "a taken code gives back its references";
}

TEST(ShardStoreCompact, TakingAnUnusedCodeGivesItWhole) {
  ShardStore store(1);
  CodeRecord c = fullCode();
  std::array<uint8_t, 16> random{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17};
  TokenId id = store.putCode(random, c, 1000);
  c.expiresAtMs = 61'000;
  auto taken = store.takeCode(id.key, 2000);
  ASSERT_TRUE(taken.has_value());
  expectSame(*taken, c);
  EXPECT_EQ(store.internedStrings(), 0u);
  store.reap(61'000);  // the hole it left goes at the code's own expiry
  EXPECT_EQ(store.codes(), 0u);
}

TEST(ShardStoreCompact, ExchangedCodesKeepTheirStringsUntilTheyExpire) {
  ShardStore store(1);
  std::array<uint8_t, 16> random{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18};
  TokenId id = store.putCode(random, fullCode(), 1000);
  ASSERT_EQ(store.redeemCode(id.key, 2000).outcome, CodeOutcome::kOk);
  EXPECT_EQ(store.internedStrings(), 4u) << "client, redirect URI, scope, audience: shared until expiry";
  store.reap(60'999);
  EXPECT_EQ(store.codes(), 1u);
  store.reap(61'000);
  EXPECT_EQ(store.codes(), 0u);
  EXPECT_EQ(store.internedStrings(), 0u);
}

}  // namespace
}  // namespace handoff::store
