// SPEC.md §3's session evaluation table, one test per row: the browser's existing session (none,
// same user, different user) against a valid or invalid session transfer token, and prompt=none
// with an invalid one.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

class SessionRules : public N2wTest {
 protected:
  std::string userStt(const std::string& user, const std::string& sourceIp = "") {
    return stt(nativeRt("native", user + "@example.com", user + "-password"), "native", sourceIp);
  }
};

std::string twoUserTenant() {
  return tenantConfig(nativeClient("native") +
                      webClient("web-both", "allowed_authentication_methods = [\"query\", \"cookie\"]\n"
                                            "allow_refresh_token = true\n") +
                      webClient("web-cookie", "allowed_authentication_methods = [\"cookie\"]\n"));
}

TEST_F(SessionRules, NoSessionAndAValidTokenMakeANewSessionOfTheNativeUser) {
  start();
  std::string native = nativeLogin();
  std::string nativeClaims = jwtClaims(jsonField(native, "id_token"));
  std::string nativeAuthTime = jsonField(nativeClaims, "auth_time");
  ASSERT_FALSE(nativeAuthTime.empty()) << nativeClaims;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // so that "now" is another second
  std::string s = stt(jsonField(native, "refresh_token"));

  Browser b(port());
  HttpResponse r = redeemQuery(b, s);
  std::string code = codeOf(r);
  ASSERT_FALSE(code.empty()) << r.raw;
  std::string cookie = setCookie(r, "handoff_session");
  EXPECT_EQ(cookie.rfind("handoff_session=sid_", 0), 0u) << r.raw;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  HttpResponse t = exchange(code);
  ASSERT_EQ(t.status, 200) << t.body;
  std::string claims = jwtClaims(jsonField(t.body, "id_token"));
  EXPECT_EQ(jsonField(claims, "sub"), "auth0|demo") << claims;
  EXPECT_EQ(jsonField(claims, "aud"), "demo-web") << claims;
  EXPECT_EQ(jsonField(claims, "nonce"), "n-1") << claims;
  EXPECT_EQ(jsonField(claims, "auth_time"), nativeAuthTime) << "auth_time of the parent grant: " << claims;
  std::string sid = jsonField(claims, "sid");
  EXPECT_FALSE(sid.empty()) << claims;
  EXPECT_NE(sid, jsonField(nativeClaims, "sid")) << "a new session";
  EXPECT_EQ(cookie.find(sid), std::string::npos) << "the sid claim is not the cookie";

  // The new session is a session: SSO with prompt=none, same sid.
  HttpResponse again = promptNone(b);
  std::string code2 = codeOf(again);
  ASSERT_FALSE(code2.empty()) << again.raw;
  EXPECT_EQ(jsonField(jwtClaims(jsonField(exchange(code2).body, "id_token")), "sid"), sid);
}

TEST_F(SessionRules, SameUserSessionIsReused) {
  start();
  Browser b(port());
  std::string sid = jsonField(jwtClaims(jsonField(pageLogin(b), "id_token")), "sid");
  ASSERT_FALSE(sid.empty());
  std::string session = b.jar()["handoff_session"];
  HttpResponse r = redeemQuery(b, stt(nativeRt()));
  std::string code = codeOf(r);
  ASSERT_FALSE(code.empty()) << r.raw;
  EXPECT_EQ(setCookie(r, "handoff_session"), "") << "no new session cookie: " << r.raw;
  EXPECT_EQ(b.jar()["handoff_session"], session);
  HttpResponse t = exchange(code);
  ASSERT_EQ(t.status, 200) << t.body;
  std::string claims = jwtClaims(jsonField(t.body, "id_token"));
  EXPECT_EQ(jsonField(claims, "sid"), sid) << claims;
  EXPECT_EQ(jsonField(claims, "sub"), "auth0|demo") << claims;
}

TEST_F(SessionRules, DifferentUserSessionIsRevokedAndTheLoginPageShown) {
  start(twoUserTenant());
  Browser b(port());
  pageLogin(b, "web-both", "bob@example.com", "bob-password");
  std::string bobSession = b.jar()["handoff_session"];
  ASSERT_FALSE(bobSession.empty());
  std::string s = userStt("alice");
  HttpResponse r = redeemQuery(b, s, "web-both");
  expectLoginPage(r, s, "web-both");
  std::string cleared = setCookie(r, "handoff_session");
  EXPECT_EQ(cleared.rfind("handoff_session=;", 0), 0u) << r.raw;
  EXPECT_NE(cleared.find("Max-Age=0"), std::string::npos) << r.raw;
  Browser stale = withSession(bobSession);
  expectLoginRequired(promptNone(stale, "web-both"));
}

TEST_F(SessionRules, InvalidTokenShowsTheLoginPageAndKeepsTheExistingSession) {
  start(twoUserTenant());
  Browser b(port());
  pageLogin(b, "web-both", "alice@example.com", "alice-password");
  const std::string session = b.jar()["handoff_session"];
  ASSERT_FALSE(session.empty());

  // Each a token of bob's: had the server taken it as valid, alice's session would have gone.
  struct Case {
    std::string name;
    std::function<HttpResponse(Browser&, std::string&)> present;  // sets the token it presents
    Params extra;
    std::string clientId = "web-both";
  };
  std::vector<Case> cases = {
      {"unknown", [&](Browser& br, std::string& s) { s = "stt_0_AAAAAAAAAAAAAAAAAAAAAA"; return redeemQuery(br, s, "web-both"); }},
      {"replayed",
       [&](Browser& br, std::string& s) {
         s = userStt("bob");
         Browser elsewhere(port());
         EXPECT_FALSE(codeOf(redeemQuery(elsewhere, s, "web-both")).empty());
         return redeemQuery(br, s, "web-both");
       }},
      {"ip binding",
       [&](Browser&, std::string& s) {
         s = userStt("bob");
         Browser other(port(), "127.0.0.2");
         other.jar()["handoff_session"] = session;
         return redeemQuery(other, s, "web-both");
       }},
      {"organization",
       [&](Browser& br, std::string& s) { s = userStt("bob"); return redeemQuery(br, s, "web-both", {{"organization", "acme"}}); },
       {{"organization", "acme"}}},
      {"parent revoked",
       [&](Browser& br, std::string& s) {
         std::string rotated;
         s = stt(nativeRt("native", "bob@example.com", "bob-password"), "native", "", &rotated);
         revoke(rotated, "native");
         return redeemQuery(br, s, "web-both");
       }},
      {"transport", [&](Browser& br, std::string& s) { s = userStt("bob"); return redeemQuery(br, s, "web-cookie"); },
       {}, "web-cookie"},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string s;
    HttpResponse r = c.present(b, s);
    expectLoginPage(r, s, c.clientId, c.extra);
    EXPECT_EQ(setCookie(r, "handoff_session"), "") << "the session cookie was touched: " << r.raw;
    EXPECT_EQ(b.jar()["handoff_session"], session);
    HttpResponse sso = promptNone(b, "web-both");
    std::string code = codeOf(sso);
    ASSERT_FALSE(code.empty()) << "the existing session is gone: " << sso.raw;
    EXPECT_EQ(jsonField(jwtClaims(jsonField(exchange(code, "web-both").body, "id_token")), "sub"), "auth0|alice");
  }
}

TEST_F(SessionRules, PromptNoneWithAnInvalidTokenIsLoginRequired) {
  start();
  Browser b(port());
  expectLoginRequired(redeemQuery(b, "stt_0_AAAAAAAAAAAAAAAAAAAAAA", "demo-web", {{"prompt", "none"}}));
  std::string s = stt(nativeRt());
  Browser first(port());
  ASSERT_FALSE(codeOf(redeemQuery(first, s)).empty());
  HttpResponse replay = redeemQuery(b, s, "demo-web", {{"prompt", "none"}});
  expectLoginRequired(replay);
  EXPECT_EQ(replay.header("location").find(s), std::string::npos);
  // With a session too: the token is what failed, so login_required, and the session stays.
  Browser withOne(port());
  pageLogin(withOne);
  Browser other(port(), "127.0.0.2");
  other.jar() = withOne.jar();
  HttpResponse bound = redeemQuery(other, stt(nativeRt()), "demo-web", {{"prompt", "none"}});
  expectLoginRequired(bound);
  EXPECT_EQ(setCookie(bound, "handoff_session"), "") << bound.raw;
  EXPECT_FALSE(codeOf(promptNone(withOne)).empty());
}

}  // namespace
}  // namespace handoff::it::n2w
