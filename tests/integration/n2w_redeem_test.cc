// SPEC.md §3, the token side of redemption at GET /authorize: the two transports (query and the
// cookie under both names, cleared in the answer), the client's allowed_authentication_methods
// (a refused transport still consumes the token), query over cookie, device binding (ip, none,
// asn without a database), probes that must not consume (HEAD, prefetch), replay, and a parent
// refresh token revoked before redemption with and without cascade. The session-side rules are
// in n2w_session_test.cc.
#include <gtest/gtest.h>

#include <string>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

// One native client and one web client per transport setting.
std::string transportTenant() {
  return tenantConfig(nativeClient("native") + nativeClient("native-nocascade", "can_create_session_transfer_token = true\n"
                                                                                "enforce_cascade_revocation = false\n") +
                      webClient("web-none", "allowed_authentication_methods = []\n") +
                      webClient("web-query", "allowed_authentication_methods = [\"query\"]\n") +
                      webClient("web-cookie", "allowed_authentication_methods = [\"cookie\"]\n") +
                      webClient("web-both", "allowed_authentication_methods = [\"query\", \"cookie\"]\n") +
                      webClient("web-free", "allowed_authentication_methods = [\"query\"]\nenforce_device_binding = \"none\"\n") +
                      webClient("web-asn", "allowed_authentication_methods = [\"query\"]\nenforce_device_binding = \"asn\"\n"));
}

class Redeem : public N2wTest {
 protected:
  std::string aliceStt(const std::string& sourceIp = "") {
    return stt(nativeRt("native", "alice@example.com", "alice-password"), "native", sourceIp);
  }
  std::string bobStt() { return stt(nativeRt("native", "bob@example.com", "bob-password"), "native"); }
  // The `sub` of the ID token a code gives `clientId`.
  std::string subOf(const std::string& code, const std::string& clientId) {
    HttpResponse t = exchange(code, clientId);
    EXPECT_EQ(t.status, 200) << t.body;
    return jsonField(jwtClaims(jsonField(t.body, "id_token")), "sub");
  }
  static void expectSttCookieCleared(const HttpResponse& r, const std::string& name = kSttCookie) {
    std::string c = setCookie(r, name);
    EXPECT_EQ(c.rfind(name + "=;", 0), 0u) << r.raw;
    EXPECT_NE(c.find("Max-Age=0"), std::string::npos) << r.raw;
  }
};

TEST_F(Redeem, QueryTransportGivesACode) {
  start();
  std::string s = stt(nativeRt());
  Browser b(port());
  HttpResponse r = redeemQuery(b, s);
  std::string code = codeOf(r);
  ASSERT_FALSE(code.empty()) << r.raw;
  EXPECT_EQ(param(r.header("location"), "state"), "st-1");
  EXPECT_EQ(param(r.header("location"), "iss"), issuer());
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_EQ(setCookie(r, "handoff_session").rfind("handoff_session=sid_", 0), 0u) << r.raw;
  EXPECT_EQ(exchange(code).status, 200);
}

TEST_F(Redeem, CookieTransportGivesACodeAndClearsTheCookie) {
  start();
  Browser b(port());
  HttpResponse r = redeemCookie(b, stt(nativeRt()));
  EXPECT_FALSE(codeOf(r).empty()) << r.raw;
  expectSttCookieCleared(r);
  EXPECT_EQ(b.jar().count(kSttCookie), 0u);
}

TEST_F(Redeem, CookieNamedSessionTransferTokenIsAcceptedAndCleared) {
  start();
  Browser b(port());
  HttpResponse r = redeemCookie(b, stt(nativeRt()), "demo-web", kSttCookieAlt);
  EXPECT_FALSE(codeOf(r).empty()) << r.raw;
  expectSttCookieCleared(r, kSttCookieAlt);
  EXPECT_EQ(b.jar().count(kSttCookieAlt), 0u);
}

TEST_F(Redeem, NoAllowedMethodIgnoresBothTransportsButConsumesTheToken) {
  start(transportTenant());
  std::string byQuery = aliceStt(), byCookie = aliceStt();
  Browser b(port());
  HttpResponse q = redeemQuery(b, byQuery, "web-none");
  expectLoginPage(q, byQuery, "web-none");
  EXPECT_EQ(setCookie(q, "handoff_session"), "") << q.raw;
  HttpResponse c = redeemCookie(b, byCookie, "web-none");
  expectLoginPage(c, byCookie, "web-none");
  expectSttCookieCleared(c);
  EXPECT_EQ(setCookie(c, "handoff_session"), "") << c.raw;
  // Consumed: an allowed transport afterwards does not bring them back.
  Browser later(port());
  expectLoginPage(redeemQuery(later, byQuery, "web-both"), byQuery, "web-both");
  expectLoginPage(redeemCookie(later, byCookie, "web-both"), byCookie, "web-both");
}

TEST_F(Redeem, QueryOnlyClientIgnoresTheCookieButConsumesIt) {
  start(transportTenant());
  std::string s = aliceStt();
  Browser b(port());
  HttpResponse c = redeemCookie(b, s, "web-query");
  expectLoginPage(c, s, "web-query");
  expectSttCookieCleared(c);
  Browser later(port());
  expectLoginPage(redeemQuery(later, s, "web-both"), s, "web-both");
  EXPECT_FALSE(codeOf(redeemQuery(later, aliceStt(), "web-query")).empty());
}

TEST_F(Redeem, CookieOnlyClientIgnoresTheQueryButConsumesIt) {
  start(transportTenant());
  std::string s = aliceStt();
  Browser b(port());
  expectLoginPage(redeemQuery(b, s, "web-cookie"), s, "web-cookie");
  Browser later(port());
  expectLoginPage(redeemQuery(later, s, "web-both"), s, "web-both");
  EXPECT_FALSE(codeOf(redeemCookie(later, aliceStt(), "web-cookie")).empty());
}

TEST_F(Redeem, QueryWinsOverTheCookieWhichIsConsumedToo) {
  start(transportTenant());
  std::string query = aliceStt(), cookie = bobStt();
  Browser b(port());
  b.jar()[kSttCookie] = cookie;
  HttpResponse r = redeemQuery(b, query, "web-both");
  std::string code = codeOf(r);
  ASSERT_FALSE(code.empty()) << r.raw;
  expectSttCookieCleared(r);
  EXPECT_EQ(subOf(code, "web-both"), "auth0|alice") << "the query's token decides";
  Browser later(port());
  expectLoginPage(redeemCookie(later, cookie, "web-both"), cookie, "web-both");
}

// SPEC.md §3: "Whatever is presented is consumed on first presentation". When the client allows
// only the cookie, the cookie's token is used — and a query token sent alongside is presented too,
// so it is consumed as well.
TEST_F(Redeem, CookieUsedWhenQueryIsNotAllowedAndTheQueryTokenIsConsumedToo) {
  start(transportTenant());
  std::string query = aliceStt(), cookie = bobStt();
  Browser b(port());
  b.jar()[kSttCookie] = cookie;
  HttpResponse r = redeemQuery(b, query, "web-cookie");
  std::string code = codeOf(r);
  ASSERT_FALSE(code.empty()) << r.raw;
  EXPECT_EQ(subOf(code, "web-cookie"), "auth0|bob") << "query not allowed: the cookie's token decides";
  Browser later(port());
  HttpResponse again = redeemQuery(later, query, "web-both");
  EXPECT_TRUE(isLoginPage(again)) << "SPEC.md §3, consumed on first presentation: the query token sent beside an "
                                     "allowed cookie must not redeem later: " << again.raw;
}

TEST_F(Redeem, IpBindingNeedsTheMintingAddress) {
  start();
  std::string elsewhere = stt(nativeRt());
  Browser other(port(), "127.0.0.2");
  HttpResponse r = redeemQuery(other, elsewhere);
  expectLoginPage(r, elsewhere);
  EXPECT_EQ(setCookie(r, "handoff_session"), "") << r.raw;
  Browser same(port());
  EXPECT_FALSE(codeOf(redeemQuery(same, stt(nativeRt()))).empty());
  // Minted from 127.0.0.2, redeemed from 127.0.0.2.
  Browser there(port(), "127.0.0.2");
  EXPECT_FALSE(codeOf(redeemQuery(there, stt(nativeRt(), "demo-native", "127.0.0.2"))).empty());
}

TEST_F(Redeem, NoBindingAcceptsAnotherAddress) {
  start(transportTenant());
  Browser other(port(), "127.0.0.2");
  EXPECT_FALSE(codeOf(redeemQuery(other, aliceStt(), "web-free")).empty());
}

TEST_F(Redeem, AsnBindingWithoutAnAsnDatabaseFailsClosed) {
  start(transportTenant());  // no [geo] asn: no ASN is known for anyone
  std::string s = aliceStt();
  Browser b(port());
  expectLoginPage(redeemQuery(b, s, "web-asn"), s, "web-asn");
}

TEST_F(Redeem, HeadAndPrefetchNeverConsumeTheToken) {
  start();
  std::string s = stt(nativeRt());
  std::string target = "/authorize?" + webQuery() + "&session_transfer_token=" + enc(s);
  Client head(port());
  ASSERT_TRUE(head.send("HEAD " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto h = head.readResponse(Millis(5000), /*toHead=*/true);
  ASSERT_TRUE(h) << head.error();
  EXPECT_EQ(codeOf(*h), "") << h->raw;
  EXPECT_EQ(setCookie(*h, "handoff_session"), "") << h->raw;
  for (const std::string& hint : {std::string("Sec-Purpose: prefetch\r\n"), std::string("Sec-Purpose: prefetch;prerender\r\n"),
                                  std::string("Purpose: prefetch\r\n")}) {
    Browser b(port());
    HttpResponse p = b.get(target, hint);
    EXPECT_EQ(codeOf(p), "") << hint << p.raw;
    EXPECT_EQ(setCookie(p, "handoff_session"), "") << hint << p.raw;
    // The probe goes the usual way (the login page), and the token does not travel on in its URL.
    EXPECT_EQ(p.header("location").rfind("/u/login?", 0), 0u) << hint << p.raw;
    EXPECT_EQ(p.header("location").find(s), std::string::npos) << hint << p.raw;
  }
  Browser cookieProbe(port());
  cookieProbe.jar()[kSttCookie] = s;
  EXPECT_EQ(codeOf(cookieProbe.get("/authorize?" + webQuery(), "Purpose: prefetch\r\n")), "");
  Browser real(port());
  EXPECT_FALSE(codeOf(redeemQuery(real, s)).empty()) << "the probes consumed the token";
}

TEST_F(Redeem, ReplayGoesToTheLoginPage) {
  start();
  std::string s = stt(nativeRt());
  Browser first(port());
  EXPECT_FALSE(codeOf(redeemQuery(first, s)).empty());
  Browser second(port());
  expectLoginPage(redeemQuery(second, s), s);
  Browser third(port());
  expectLoginPage(redeemCookie(third, s), s);
}

TEST_F(Redeem, ParentRevokedBeforeRedemptionWithCascade) {
  start();
  std::string rotated;
  std::string s = stt(nativeRt(), "demo-native", "", &rotated);
  revoke(rotated, "demo-native");
  Browser b(port());
  expectLoginPage(redeemQuery(b, s), s);
}

TEST_F(Redeem, ParentRevokedBeforeRedemptionWithoutCascade) {
  start(transportTenant());
  std::string rotated;
  std::string s = stt(nativeRt("native-nocascade", "alice@example.com", "alice-password"), "native-nocascade", "", &rotated);
  revoke(rotated, "native-nocascade");
  Browser b(port());
  expectLoginPage(redeemQuery(b, s, "web-both"), s, "web-both");
}

}  // namespace
}  // namespace handoff::it::n2w
