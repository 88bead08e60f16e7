// SPEC.md §4 and §5: the web app's refresh token from an STT-born session (allow_refresh_token),
// cascade revocation from the native refresh token's family (revocation and reuse detection; on
// and off), online refresh tokens ending with the born session's logout (on and off); and the
// single use of an STT under 64 simultaneous redemptions on a 4-thread server.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

std::string revocationTenant() {
  return tenantConfig(nativeClient("native-nocascade", "can_create_session_transfer_token = true\n"
                                                       "enforce_cascade_revocation = false\n") +
                      webClient("web-nort", "allowed_authentication_methods = [\"query\"]\nallow_refresh_token = false\n") +
                      webClient("web-rt", "allowed_authentication_methods = [\"query\"]\nallow_refresh_token = true\n") +
                      webClient("web-offline", "allowed_authentication_methods = [\"query\"]\nallow_refresh_token = true\n"
                                               "enforce_online_refresh_tokens = false\n"));
}

class Revocation : public N2wTest {
 protected:
  std::string aliceRt() { return nativeRt("native-nocascade", "alice@example.com", "alice-password"); }
  void expectRefreshRefused(const std::string& rt, const std::string& clientId) {
    expectOAuthError(refresh(rt, clientId), 403, "invalid_grant");
  }
  HttpResponse logout(Browser& b, const std::string& clientId) {
    HttpResponse r = b.get("/v2/logout?client_id=" + clientId + "&returnTo=" + enc("http://127.0.0.1:3000/"));
    EXPECT_EQ(r.status, 302) << r.raw;
    EXPECT_NE(setCookie(r, "handoff_session").find("Max-Age=0"), std::string::npos) << r.raw;
    return r;
  }
};

TEST_F(Revocation, AllowRefreshTokenWithOfflineAccessGivesTheWebAppARefreshToken) {
  start();
  Browser b(port());
  std::string tokens = sttLogin(b, stt(nativeRt()));
  std::string rt = jsonField(tokens, "refresh_token");
  ASSERT_EQ(rt.rfind("rt_", 0), 0u) << tokens;
  EXPECT_EQ(refresh(rt, "demo-web").status, 200);
}

TEST_F(Revocation, WithoutAllowRefreshTokenNoRefreshTokenButTheLoginSucceeds) {
  start(revocationTenant());
  Browser b(port());
  std::string tokens = sttLogin(b, stt(aliceRt(), "native-nocascade"), "web-nort");
  EXPECT_EQ(jsonField(tokens, "refresh_token"), "") << tokens;
  EXPECT_EQ(jsonField(tokens, "access_token").rfind("at_", 0), 0u) << tokens;
  EXPECT_EQ(jsonField(jwtClaims(jsonField(tokens, "id_token")), "sub"), "auth0|alice") << tokens;
  EXPECT_EQ(jsonField(tokens, "scope").find("offline_access"), std::string::npos) << tokens;
  EXPECT_FALSE(codeOf(promptNone(b, "web-nort")).empty()) << "the session is there";
}

TEST_F(Revocation, CascadeRevokingTheNativeTokenEndsBornSessionsAndTheirRefreshTokens) {
  start();
  std::string r1, r2;
  std::string first = stt(nativeRt(), "demo-native", "", &r1);
  std::string second = stt(r1, "demo-native", "", &r2);  // the same family, rotated once more
  Browser b1(port()), b2(port()), regular(port());
  std::string web1 = jsonField(sttLogin(b1, first), "refresh_token");
  std::string web2 = jsonField(sttLogin(b2, second), "refresh_token");
  std::string regularRt = jsonField(pageLogin(regular), "refresh_token");
  ASSERT_FALSE(web1.empty());
  ASSERT_FALSE(web2.empty());
  revoke(r2, "demo-native");
  for (Browser* b : {&b1, &b2}) expectLoginRequired(promptNone(*b));
  expectRefreshRefused(web1, "demo-web");
  expectRefreshRefused(web2, "demo-web");
  // A session of the same user not born from the family is not touched.
  EXPECT_FALSE(codeOf(promptNone(regular)).empty());
  EXPECT_EQ(refresh(regularRt, "demo-web").status, 200);
}

TEST_F(Revocation, CascadeOnReuseOfARotatedOutNativeToken) {
  start();  // demo-native rotates with no leeway
  std::string rt0 = nativeRt(), r1;
  std::string s = stt(rt0, "demo-native", "", &r1);
  Browser b(port());
  std::string webRt = jsonField(sttLogin(b, s), "refresh_token");
  ASSERT_FALSE(webRt.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // past the (zero) leeway
  expectRefreshRefused(rt0, "demo-native");  // reuse: the whole family goes
  expectRefreshRefused(r1, "demo-native");
  expectLoginRequired(promptNone(b));
  expectRefreshRefused(webRt, "demo-web");
}

TEST_F(Revocation, WithoutCascadeBornSessionsAndWebRefreshTokensSurvive) {
  start(revocationTenant());
  std::string rotated;
  std::string s = stt(aliceRt(), "native-nocascade", "", &rotated);
  Browser b(port());
  std::string webRt = jsonField(sttLogin(b, s, "web-rt"), "refresh_token");
  ASSERT_FALSE(webRt.empty());
  revoke(rotated, "native-nocascade");
  expectRefreshRefused(rotated, "native-nocascade");
  EXPECT_FALSE(codeOf(promptNone(b, "web-rt")).empty()) << "the born session survives";
  EXPECT_EQ(refresh(webRt, "web-rt").status, 200);
}

TEST_F(Revocation, OnlineRefreshTokensEndWithTheBornSessionsLogout) {
  start();  // demo-web: enforce_online_refresh_tokens true
  Browser b(port());
  std::string webRt = jsonField(sttLogin(b, stt(nativeRt())), "refresh_token");
  ASSERT_FALSE(webRt.empty());
  EXPECT_EQ(refresh(webRt, "demo-web").status, 200);
  logout(b, "demo-web");
  expectRefreshRefused(webRt, "demo-web");
}

TEST_F(Revocation, WithoutOnlineRefreshTokensTheySurviveTheBornSessionsLogout) {
  start(revocationTenant());
  Browser b(port());
  std::string webRt = jsonField(sttLogin(b, stt(aliceRt(), "native-nocascade"), "web-offline"), "refresh_token");
  ASSERT_FALSE(webRt.empty());
  std::string session = b.jar()["handoff_session"];
  logout(b, "web-offline");
  Browser stale = withSession(session);
  expectLoginRequired(promptNone(stale, "web-offline"));
  EXPECT_EQ(refresh(webRt, "web-offline").status, 200);
}

TEST_F(Revocation, SixtyFourSimultaneousRedemptionsGiveExactlyOneCode) {
  start("", /*threads=*/4);
  std::string s = stt(nativeRt());
  std::string request = "GET /authorize?" + webQuery() + "&session_transfer_token=" + enc(s) +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  constexpr int kN = 64;
  std::vector<HttpResponse> answers(kN);
  std::vector<std::string> errors(kN);
  std::barrier ready(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      Client c(port());  // each its own connection, open before the race starts
      ready.arrive_and_wait();
      auto r = c.roundTrip(request, Millis(10000));
      if (r) answers[i] = *r;
      else errors[i] = c.error().empty() ? "no answer" : c.error();
    });
  }
  for (auto& t : threads) t.join();
  int codes = 0, logins = 0;
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(errors[i], "") << i;
    if (!codeOf(answers[i]).empty()) ++codes;
    else if (isLoginPageFor(answers[i])) ++logins;
    else ADD_FAILURE() << "neither a code nor the login page: " << answers[i].raw;
  }
  EXPECT_EQ(codes, 1);
  EXPECT_EQ(logins, kN - 1);
}

}  // namespace
}  // namespace handoff::it::n2w
