// The browser side of the OAuth core against a real handoffd on the demo tenant: /authorize with
// the hosted login page, the session cookie and SSO, every authorize error, the login page's
// CSRF, identical failures and rate limit, logout, /userinfo and /oauth/revoke, and the code
// exchange at /oauth/token end to end. Each test gets its own server, so that login attempts of
// one test never count against another's rate limit.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "browser_client.h"
#include "server_fixture.h"

namespace handoff::it {
namespace {

const std::string kWebCallback = "http://127.0.0.1:3000/callback";
const std::string kVerifier = "handoff-test-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
const std::string kChallenge = "77MeBUbqmXae-xc93csXpQDkCd7xqNT217KaYKLFEL0";  // S256 of kVerifier

class Browse : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()) << server_.failure(); }

  uint16_t port() const { return server_.port(); }
  std::string issuer() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/"; }

  // An authorization request for demo-web with PKCE, plus `extra` parameters.
  static std::string webRequest(const std::vector<std::pair<std::string, std::string>>& extra = {},
                                const std::string& clientId = "demo-web") {
    std::vector<std::pair<std::string, std::string>> kv = {
        {"client_id", clientId}, {"redirect_uri", kWebCallback}, {"response_type", "code"},
        {"scope", "openid profile email offline_access"}, {"state", "st-1"}, {"nonce", "n-1"},
        {"code_challenge", kChallenge}, {"code_challenge_method", "S256"}};
    kv.insert(kv.end(), extra.begin(), extra.end());
    return form(kv);
  }

  // GET /u/login?query, then POST the credentials with the page's CSRF token.
  HttpResponse submitLogin(Browser& b, const std::string& query, const std::string& email = "demo@example.com",
                           const std::string& password = "demo-password") {
    HttpResponse page = b.get("/u/login?" + query);
    EXPECT_EQ(page.status, 200) << page.body;
    return b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", hidden(page.body, "q")},
                                    {"email", email}, {"password", password}}));
  }

  // The whole browser journey for `query`: /authorize, login when asked, back to /authorize.
  // Returns the final answer (the redirect to the callback).
  HttpResponse authorize(Browser& b, const std::string& query) {
    HttpResponse r = b.get("/authorize?" + query);
    if (r.status == 302 && r.header("location").rfind("/u/login?", 0) == 0) {
      HttpResponse done = submitLogin(b, r.header("location").substr(9));
      EXPECT_EQ(done.status, 302) << done.body;
      r = b.get(done.header("location"));
    }
    return r;
  }

  HttpResponse exchange(const std::string& code, const std::string& clientId = "demo-web",
                        const std::string& secret = "demo-web-secret") {
    Browser anon(port());
    return anon.post("/oauth/token", form({{"grant_type", "authorization_code"}, {"client_id", clientId},
                                           {"client_secret", secret}, {"code", code}, {"redirect_uri", kWebCallback},
                                           {"code_verifier", kVerifier}}));
  }

  // Logs in through the browser for demo-web and exchanges the code: the token response.
  std::string loginAndExchange(Browser& b, const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    HttpResponse r = authorize(b, webRequest(extra));
    std::string code = param(r.header("location"), "code");
    EXPECT_FALSE(code.empty()) << r.raw;
    HttpResponse t = exchange(code);
    EXPECT_EQ(t.status, 200) << t.body;
    return t.body;
  }

  int refresh(const std::string& rt) {
    Browser anon(port());
    return anon.post("/oauth/token", form({{"grant_type", "refresh_token"}, {"client_id", "demo-web"},
                                           {"client_secret", "demo-web-secret"}, {"refresh_token", rt}})).status;
  }

  // Expects a redirect to the demo-web callback carrying `error`, the state and iss.
  void expectErrorRedirect(const HttpResponse& r, const std::string& error) {
    ASSERT_EQ(r.status, 302) << r.raw;
    std::string loc = r.header("location");
    EXPECT_EQ(loc.rfind(kWebCallback + "?", 0), 0u) << loc;
    EXPECT_EQ(param(loc, "error"), error) << loc;
    EXPECT_FALSE(param(loc, "error_description").empty()) << loc;
    EXPECT_EQ(param(loc, "state"), "st-1") << loc;
    EXPECT_EQ(param(loc, "iss"), issuer()) << loc;
  }

  void expectErrorPage(const HttpResponse& r) {
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_FALSE(r.hasHeader("location")) << r.raw;
    EXPECT_EQ(r.header("content-type").rfind("text/html", 0), 0u) << r.raw;
  }

  Server server_;
};

TEST_F(Browse, CodeFlowWithLoginPageAndPkceEndToEnd) {
  Browser b(port());
  std::string query = webRequest();
  HttpResponse first = b.get("/authorize?" + query);
  ASSERT_EQ(first.status, 302) << first.raw;
  EXPECT_EQ(first.header("location"), "/u/login?" + query);

  HttpResponse page = b.get(first.header("location"));
  ASSERT_EQ(page.status, 200);
  std::string csrf = hidden(page.body, "csrf");
  EXPECT_EQ(csrf.size(), 22u) << page.body;
  EXPECT_EQ(b.jar()["handoff_csrf"], csrf);
  EXPECT_EQ(hidden(page.body, "q"), query);

  HttpResponse login = b.post("/u/login", form({{"csrf", csrf}, {"q", query}, {"email", "demo@example.com"},
                                                {"password", "demo-password"}}));
  ASSERT_EQ(login.status, 302) << login.raw;
  EXPECT_EQ(login.header("location").rfind("/authorize?", 0), 0u);
  std::string cookie = setCookie(login, "handoff_session");
  EXPECT_EQ(cookie.rfind("handoff_session=sid_", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("Path=/"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos) << "plain http issuer: " << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << cookie;

  HttpResponse back = b.get(login.header("location"));
  ASSERT_EQ(back.status, 302) << back.raw;
  std::string loc = back.header("location");
  EXPECT_EQ(loc.rfind(kWebCallback + "?code=cd_", 0), 0u) << loc;
  EXPECT_EQ(param(loc, "state"), "st-1");
  EXPECT_EQ(param(loc, "iss"), issuer());

  HttpResponse tokens = exchange(param(loc, "code"));
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(tokens.header("cache-control"), "no-store");
  EXPECT_EQ(jsonField(tokens.body, "refresh_token").rfind("rt_", 0), 0u) << tokens.body;
  std::string claims = jwtClaims(jsonField(tokens.body, "id_token"));
  EXPECT_EQ(jsonField(claims, "nonce"), "n-1") << claims;
  EXPECT_EQ(jsonField(claims, "aud"), "demo-web") << claims;
  EXPECT_EQ(jsonField(claims, "sub"), "auth0|demo") << claims;
  EXPECT_EQ(jsonField(claims, "email"), "demo@example.com") << claims;
  std::string sid = jsonField(claims, "sid");
  EXPECT_FALSE(sid.empty()) << claims;
  EXPECT_EQ(cookie.find(sid), std::string::npos) << "the sid claim is not the cookie";
  long authTime = std::stol("0" + jsonField(claims, "auth_time"));
  EXPECT_LE(std::labs(authTime - static_cast<long>(time(nullptr))), 60) << claims;
}

TEST_F(Browse, SsoGivesAnotherClientACodeWithoutLogin) {
  Browser b(port());
  std::string firstSid = jsonField(jwtClaims(jsonField(loginAndExchange(b), "id_token")), "sid");
  HttpResponse r = b.get("/authorize?" + webRequest({}, "demo-web-asn"));
  ASSERT_EQ(r.status, 302) << r.raw;
  std::string code = param(r.header("location"), "code");
  ASSERT_FALSE(code.empty()) << r.raw;
  HttpResponse t = exchange(code, "demo-web-asn", "demo-web-asn-secret");
  ASSERT_EQ(t.status, 200) << t.body;
  std::string claims = jwtClaims(jsonField(t.body, "id_token"));
  EXPECT_EQ(jsonField(claims, "aud"), "demo-web-asn");
  EXPECT_EQ(jsonField(claims, "sid"), firstSid) << "one browser session, one sid";
}

TEST_F(Browse, PromptNoneWithoutSessionIsLoginRequired) {
  Browser b(port());
  expectErrorRedirect(b.get("/authorize?" + webRequest({{"prompt", "none"}})), "login_required");
}

TEST_F(Browse, PromptLoginAndMaxAgeZeroShowTheLoginPageAndLoginRotatesTheSession) {
  Browser b(port());
  loginAndExchange(b);
  std::string oldSession = b.jar()["handoff_session"];
  for (auto extra : {std::make_pair(std::string("prompt"), std::string("login")), std::make_pair(std::string("max_age"), std::string("0"))}) {
    HttpResponse r = b.get("/authorize?" + webRequest({extra}));
    ASSERT_EQ(r.status, 302) << r.raw;
    EXPECT_EQ(r.header("location").rfind("/u/login?", 0), 0u) << extra.first;
  }
  HttpResponse fresh = b.get("/authorize?" + webRequest({{"max_age", "3600"}}));
  EXPECT_FALSE(param(fresh.header("location"), "code").empty()) << fresh.raw;

  // Logging in again (prompt=login) ends the old session and sets a new cookie.
  HttpResponse r = authorize(b, webRequest({{"prompt", "login"}}));
  EXPECT_FALSE(param(r.header("location"), "code").empty()) << r.raw;
  EXPECT_NE(b.jar()["handoff_session"], oldSession);
  Browser stale(port());
  stale.jar()["handoff_session"] = oldSession;
  expectErrorRedirect(stale.get("/authorize?" + webRequest({{"prompt", "none"}})), "login_required");
}

TEST_F(Browse, UnknownClientAndBadRedirectUriGetAnErrorPageNeverARedirect) {
  Browser b(port());
  std::string q = webRequest();
  expectErrorPage(b.get("/authorize?" + std::regex_replace(q, std::regex("client_id=demo-web"), "client_id=nobody")));
  expectErrorPage(b.get("/authorize?" + std::regex_replace(q, std::regex("client_id=demo-web&"), "")));
  for (const std::string& bad : {std::string("http://127.0.0.1:3000/callback/"), std::string("http://127.0.0.1:3000/callbackx"),
                                 std::string("http://127.0.0.1:3000/Callback"), std::string("https://evil.example/callback"),
                                 std::string("http://127.0.0.1:3000/callback?x=1"), std::string("")}) {
    std::string query = std::regex_replace(q, std::regex("redirect_uri=[^&]*"), "redirect_uri=" + enc(bad));
    expectErrorPage(b.get("/authorize?" + query));
  }
  // A repeated redirect_uri, even a registered one twice, cannot be trusted: page.
  expectErrorPage(b.get("/authorize?" + q + "&redirect_uri=" + enc(kWebCallback)));
}

TEST_F(Browse, OtherAuthorizeErrorsGoBackToTheApplication) {
  Browser b(port());
  auto with = [](const std::string& name, const std::string& value) {
    std::string q = webRequest();
    std::regex re(name + "=[^&]*");
    return std::regex_search(q, re) ? std::regex_replace(q, re, name + "=" + enc(value)) : q + "&" + name + "=" + enc(value);
  };
  expectErrorRedirect(b.get("/authorize?" + with("response_type", "token")), "unsupported_response_type");
  expectErrorRedirect(b.get("/authorize?" + with("response_type", "")), "invalid_request");
  expectErrorRedirect(b.get("/authorize?" + with("code_challenge_method", "plain")), "invalid_request");
  expectErrorRedirect(b.get("/authorize?" + with("code_challenge", "short")), "invalid_request");
  expectErrorRedirect(b.get("/authorize?" + with("response_mode", "fragment")), "invalid_request");
  expectErrorRedirect(b.get("/authorize?" + with("max_age", "soon")), "invalid_request");
  expectErrorRedirect(b.get("/authorize?" + with("prompt", "none login")), "invalid_request");
  expectErrorRedirect(b.get("/authorize?" + with("audience", "https://api.example/")), "access_denied");
  expectErrorRedirect(b.get("/authorize?" + webRequest() + "&scope=openid"), "invalid_request");  // duplicate

  // A public client must use PKCE.
  std::string native = form({{"client_id", "demo-native"}, {"redirect_uri", "com.example.handoff://callback"},
                             {"response_type", "code"}, {"state", "st-1"}});
  HttpResponse r = b.get("/authorize?" + native);
  ASSERT_EQ(r.status, 302) << r.raw;
  EXPECT_EQ(r.header("location").rfind("com.example.handoff://callback?", 0), 0u);
  EXPECT_EQ(param(r.header("location"), "error"), "invalid_request");
  // The management audience is accepted.
  HttpResponse ok = b.get("/authorize?" + with("audience", issuer() + "api/v2/"));
  EXPECT_EQ(ok.header("location").rfind("/u/login?", 0), 0u) << ok.raw;
}

TEST_F(Browse, FormPostResponseMode) {
  Browser b(port());
  HttpResponse r = authorize(b, webRequest({{"response_mode", "form_post"}}));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_NE(r.body.find("action=\"" + kWebCallback + "\""), std::string::npos) << r.body;
  EXPECT_EQ(hidden(r.body, "state"), "st-1");
  EXPECT_EQ(hidden(r.body, "iss"), issuer());
  EXPECT_EQ(exchange(hidden(r.body, "code")).status, 200);
}

TEST_F(Browse, LoginPageSecurityHeadersAndCsrfCookie) {
  Browser b(port());
  HttpResponse page = b.get("/u/login?" + webRequest());
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("x-frame-options"), "DENY");
  EXPECT_NE(page.header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(page.header("referrer-policy"), "no-referrer");
  EXPECT_EQ(page.header("cache-control"), "no-store");
  std::string csrf = setCookie(page, "handoff_csrf");
  EXPECT_NE(csrf.find("HttpOnly"), std::string::npos) << csrf;
  EXPECT_NE(csrf.find("SameSite=Lax"), std::string::npos) << csrf;
  EXPECT_NE(csrf.find("Path=/u/login"), std::string::npos) << csrf;
  expectErrorPage(b.get("/u/login?client_id=nobody"));
}

TEST_F(Browse, CsrfMismatchIsForbidden) {
  Browser b(port());
  std::string query = webRequest();
  HttpResponse page = b.get("/u/login?" + query);
  std::string creds = "&email=demo%40example.com&password=demo-password&q=" + enc(query);
  HttpResponse wrong = b.post("/u/login", "csrf=AAAAAAAAAAAAAAAAAAAAAA" + creds);
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  EXPECT_EQ(setCookie(wrong, "handoff_session"), "");
  Browser noCookie(port());
  EXPECT_EQ(noCookie.post("/u/login", "csrf=" + hidden(page.body, "csrf") + creds).status, 403);
}

TEST_F(Browse, WrongPasswordUnknownUserAnswerIdentically) {
  Browser b(port());
  std::string query = webRequest();
  HttpResponse page = b.get("/u/login?" + query);
  auto attempt = [&](const std::string& email, const std::string& password) {
    return b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", query}, {"email", email}, {"password", password}}));
  };
  HttpResponse wrong = attempt("demo@example.com", "not-the-password");
  HttpResponse unknown = attempt("nobody@example.com", "not-the-password");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_NE(wrong.body.find("Wrong email or password."), std::string::npos) << wrong.body;
  EXPECT_EQ(setCookies(wrong), setCookies(unknown));
  EXPECT_EQ(b.jar().count("handoff_session"), 0u);
}

TEST_F(Browse, BlockedUserGetsTheSameAnswerAsAWrongPassword) {
  Server s(ServerOptions{.config = "[server]\nlisten = [\"127.0.0.1:0\"]\n\n"
                                   "[[clients]]\nclient_id = \"web\"\nclient_secret = \"s\"\n"
                                   "grant_types = [\"authorization_code\"]\ncallbacks = [\"" + kWebCallback + "\"]\n\n"
                                   "[[users]]\nuser_id = \"u1\"\nemail = \"ok@example.com\"\npassword = \"pw-1\"\n\n"
                                   "[[users]]\nuser_id = \"u2\"\nemail = \"blocked@example.com\"\npassword = \"pw-2\"\n"
                                   "blocked = true\n"});
  ASSERT_TRUE(s.start()) << s.failure();
  Browser b(s.port());
  std::string query = webRequest({}, "web");
  HttpResponse page = b.get("/u/login?" + query);
  ASSERT_EQ(page.status, 200) << page.body;
  auto attempt = [&](const std::string& email, const std::string& password) {
    return b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", query}, {"email", email}, {"password", password}}));
  };
  HttpResponse blocked = attempt("blocked@example.com", "pw-2");
  HttpResponse wrong = attempt("ok@example.com", "pw-2");
  EXPECT_EQ(blocked.status, 401);
  EXPECT_EQ(blocked.body, wrong.body);
  EXPECT_EQ(b.jar().count("handoff_session"), 0u);
  EXPECT_EQ(attempt("ok@example.com", "pw-1").status, 302);
}

TEST_F(Browse, LoginAttemptsAreRateLimitedPerIp) {
  Server one(ServerOptions{.threads = 1});  // one shard: every attempt meets the same bucket
  ASSERT_TRUE(one.start()) << one.failure();
  Browser b(one.port());
  std::string query = webRequest();
  HttpResponse page = b.get("/u/login?" + query);
  std::string body = form({{"csrf", hidden(page.body, "csrf")}, {"q", query}, {"email", "demo@example.com"}, {"password", "x"}});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.post("/u/login", body).status, 401) << i;
  HttpResponse limited = b.post("/u/login", body);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_GE(std::atoi(limited.header("retry-after").c_str()), 1) << limited.raw;
}

TEST_F(Browse, LogoutEndsTheSessionAndHonoursOnlyAllowedReturnTo) {
  Browser b(port());
  std::string rt = jsonField(loginAndExchange(b), "refresh_token");
  std::string session = b.jar()["handoff_session"];
  HttpResponse out = b.get("/v2/logout?client_id=demo-web&returnTo=" + enc("http://127.0.0.1:3000/"));
  ASSERT_EQ(out.status, 302) << out.raw;
  EXPECT_EQ(out.header("location"), "http://127.0.0.1:3000/");
  EXPECT_NE(setCookie(out, "handoff_session").find("Max-Age=0"), std::string::npos) << out.raw;
  EXPECT_EQ(refresh(rt), 200) << "a regular session's refresh tokens outlive its logout, as at Auth0 (only "
                                 "sessions born from a session transfer token take theirs along, SPEC.md §5)";
  Browser replay(port());
  replay.jar()["handoff_session"] = session;
  HttpResponse again = replay.get("/authorize?" + webRequest());
  EXPECT_EQ(again.header("location").rfind("/u/login?", 0), 0u) << again.raw;

  for (const std::string& q : {std::string("client_id=demo-web&returnTo=") + enc("https://evil.example/"),
                               std::string("returnTo=") + enc("http://127.0.0.1:3000/")}) {
    HttpResponse page = b.get("/v2/logout?" + q);
    EXPECT_EQ(page.status, 200) << page.raw;
    EXPECT_FALSE(page.hasHeader("location"));
    EXPECT_NE(page.body.find("logged out"), std::string::npos);
  }
}

TEST_F(Browse, OidcLogoutChecksTheIdTokenHint) {
  Browser b(port());
  std::string idToken = jsonField(loginAndExchange(b), "id_token");
  std::string rp = "&post_logout_redirect_uri=" + enc("http://localhost:3000/") + "&state=bye";
  // The signature's last byte changed (its last two characters encode it: "AA" is 0x00, "QA"
  // 0x40), whatever it was: a fixed "AA" left the token intact once in 256 runs.
  std::string lastByte = idToken.substr(idToken.size() - 2) == "AA" ? "QA" : "AA";
  EXPECT_EQ(b.get("/oidc/logout?id_token_hint=" + idToken.substr(0, idToken.size() - 2) + lastByte + rp).status, 400);
  EXPECT_EQ(b.get("/oidc/logout?client_id=demo-native&id_token_hint=" + idToken + rp).status, 400);
  EXPECT_EQ(b.jar().count("handoff_session"), 1u) << "an invalid request logs nobody out";
  HttpResponse out = b.get("/oidc/logout?id_token_hint=" + idToken + rp);
  ASSERT_EQ(out.status, 302) << out.raw;
  EXPECT_EQ(out.header("location"), "http://localhost:3000/?state=bye");
  EXPECT_EQ(b.jar().count("handoff_session"), 0u);
  HttpResponse page = b.get("/oidc/logout?client_id=demo-web&post_logout_redirect_uri=" + enc("https://evil.example/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_FALSE(page.hasHeader("location"));
}

TEST_F(Browse, UserinfoNeedsAValidBearerToken) {
  Browser b(port());
  std::string at = jsonField(loginAndExchange(b), "access_token");
  Browser anon(port());
  HttpResponse ok = anon.get("/userinfo", "Authorization: Bearer " + at + "\r\n");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(jsonField(ok.body, "sub"), "auth0|demo");
  EXPECT_EQ(jsonField(ok.body, "email"), "demo@example.com");
  EXPECT_EQ(jsonField(ok.body, "name"), "Demo User");
  EXPECT_EQ(anon.post("/userinfo", "", "Authorization: bearer " + at + "\r\n").status, 200);
  HttpResponse none = anon.get("/userinfo");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate").rfind("Bearer", 0), 0u);
  for (const std::string& bad : {std::string("at_0_AAAAAAAAAAAAAAAAAAAAAA"), std::string("garbage"),
                                 jsonField(loginAndExchange(b), "refresh_token")}) {
    HttpResponse r = anon.get("/userinfo", "Authorization: Bearer " + bad + "\r\n");
    EXPECT_EQ(r.status, 401) << bad;
    EXPECT_NE(r.header("www-authenticate").find("error=\"invalid_token\""), std::string::npos) << r.raw;
  }
}

TEST_F(Browse, RevokeRefreshAndAccessTokens) {
  Browser b(port());
  std::string tokens = loginAndExchange(b);
  std::string rt = jsonField(tokens, "refresh_token"), at = jsonField(tokens, "access_token");
  Browser anon(port());
  auto revoke = [&](const std::string& body) { return anon.post("/oauth/revoke", body); };
  const std::string web = "client_id=demo-web&client_secret=demo-web-secret&token=";

  // Another client's attempt answers 200 and changes nothing.
  EXPECT_EQ(revoke("client_id=demo-web-asn&client_secret=demo-web-asn-secret&token=" + rt).status, 200);
  EXPECT_EQ(refresh(rt), 200) << "demo-web does not rotate";
  HttpResponse r = revoke(web + rt + "&token_type_hint=refresh_token");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(refresh(rt), 403);
  EXPECT_EQ(revoke(web + "rt_0_AAAAAAAAAAAAAAAAAAAAAA").status, 200);
  EXPECT_EQ(revoke(web + "not-a-token").status, 200);

  EXPECT_EQ(anon.get("/userinfo", "Authorization: Bearer " + at + "\r\n").status, 200);
  EXPECT_EQ(revoke(web + at).status, 200);
  EXPECT_EQ(anon.get("/userinfo", "Authorization: Bearer " + at + "\r\n").status, 401);

  HttpResponse missing = revoke("client_id=demo-web&client_secret=demo-web-secret");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(jsonField(missing.body, "error"), "invalid_request");
  HttpResponse badClient = revoke("client_id=demo-web&client_secret=wrong&token=" + rt);
  EXPECT_EQ(badClient.status, 401);
  EXPECT_EQ(jsonField(badClient.body, "error"), "invalid_client");
}

TEST_F(Browse, CodeReplayFailsAndRevokesWhatTheFirstExchangeIssued) {
  Browser b(port());
  HttpResponse r = authorize(b, webRequest());
  std::string code = param(r.header("location"), "code");
  HttpResponse first = exchange(code);
  ASSERT_EQ(first.status, 200) << first.body;
  HttpResponse second = exchange(code);
  EXPECT_EQ(second.status, 403);
  EXPECT_EQ(jsonField(second.body, "error"), "invalid_grant");
  EXPECT_EQ(refresh(jsonField(first.body, "refresh_token")), 403);
}

TEST_F(Browse, HeadAndPrefetchNeverMintACode) {
  Browser b(port());
  loginAndExchange(b);
  HttpResponse prefetch = b.get("/authorize?" + webRequest(), "Sec-Purpose: prefetch\r\n");
  EXPECT_EQ(param(prefetch.header("location"), "code"), "") << prefetch.raw;
  EXPECT_FALSE(param(b.get("/authorize?" + webRequest()).header("location"), "code").empty());
}

}  // namespace
}  // namespace handoff::it
