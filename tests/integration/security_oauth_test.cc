// SECURITY.md "OAuth / OIDC" against a real handoffd (the demo tenant): redirect_uri tricks that
// a normalising or prefix-matching server would accept, at /authorize and through a tampered
// login form; PKCE downgrade and a challenge without a method; codes bound to client and
// redirect_uri, expired after 60 s, single use under concurrency, a replay revoking what the
// code produced; refresh rotation single use under concurrency and reuse revoking the whole
// family; no-store on every token response; the security headers of every page; session
// cookies random, HttpOnly and rotated at login (fixation). docs/SECURITY-TESTS.md maps every
// rule to its tests.
#include <gtest/gtest.h>

#include <barrier>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

using namespace std::chrono_literals;

constexpr Millis kRead = 15000ms;

class SecOAuth : public N2wTest {
 protected:
  void launch(const std::string& config = "", unsigned threads = 2, bool testClock = false) {
    ServerOptions o{.config = config, .threads = threads};
    if (testClock) o.extraArgs = {"--test-clock"};
    server_ = std::make_unique<Server>(std::move(o));
    ASSERT_TRUE(server_->start(15000ms)) << server_->failure();
  }
  void advance(int seconds) {
    Client c(port());
    auto r = c.roundTrip("POST /test/clock?advance_s=" + std::to_string(seconds) + " HTTP/1.1\r\nHost: " + hostPort() +
                             "\r\nContent-Length: 0\r\n\r\n",
                         kRead);
    ASSERT_TRUE(r && r->status == 200) << c.error();
  }

  // demo-web's authorization request as given (no PKCE unless `kv` has it).
  static std::string query(const Params& kv) { return form(kv); }
  static Params baseQuery(bool pkce = true) {
    Params kv = {{"client_id", "demo-web"}, {"redirect_uri", kWebCallback}, {"response_type", "code"},
                 {"scope", kAllScopes}, {"state", "st-1"}, {"nonce", "n-1"}};
    if (pkce) kv.insert(kv.end(), {{"code_challenge", kChallenge}, {"code_challenge_method", "S256"}});
    return kv;
  }

  // Logs `b` in through the hosted page (demo user) if it has no session, then asks /authorize
  // for `q` again: the final answer.
  HttpResponse authorizeWithLogin(Browser& b, const std::string& q) {
    HttpResponse r = b.get("/authorize?" + q);
    if (isLoginPage(r)) {
      HttpResponse page = b.get(r.header("location"));
      EXPECT_EQ(page.status, 200) << page.raw;
      HttpResponse done = b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", hidden(page.body, "q")},
                                                   {"email", "demo@example.com"}, {"password", "demo-password"}}));
      EXPECT_EQ(done.status, 302) << done.raw;
      r = b.get(done.header("location"));
    }
    return r;
  }
  std::string code(Browser& b, const std::string& q) {
    HttpResponse r = authorizeWithLogin(b, q);
    std::string c = codeOf(r);
    EXPECT_EQ(c.rfind("cd_", 0), 0u) << r.raw;
    return c;
  }
  HttpResponse exchangeWith(const Params& kv) { return token(form(kv)); }
  Params exchangeParams(const std::string& c) {
    return {{"grant_type", "authorization_code"}, {"client_id", "demo-web"}, {"client_secret", "demo-web-secret"},
            {"code", c}, {"redirect_uri", kWebCallback}, {"code_verifier", kVerifier}};
  }
  int userinfo(const std::string& at) {
    Browser anon(port());
    return anon.get("/userinfo", "Authorization: Bearer " + at + "\r\n").status;
  }

  // An answer that is an error page: no redirect anywhere, HTML, no code.
  static void expectErrorPage(const HttpResponse& r, const std::string& what) {
    EXPECT_EQ(r.status, 400) << what << "\n" << r.raw;
    EXPECT_FALSE(r.hasHeader("location")) << what << "\n" << r.raw;
    EXPECT_EQ(r.header("content-type").rfind("text/html", 0), 0u) << what << "\n" << r.raw;
    EXPECT_EQ(r.body.find("cd_"), std::string::npos) << what << ": a code on the error page";
    EXPECT_EQ(r.body.find("http-equiv"), std::string::npos) << what << ": a meta refresh";
    EXPECT_EQ(r.body.find("<form"), std::string::npos) << what << ": a form (form_post to the bad URI?)";
  }

  // N simultaneous POST /oauth/token of `body`, each on its own connection opened before the
  // race: the answers.
  std::vector<HttpResponse> race(const std::string& body, int n) {
    std::string request = "POST /oauth/token HTTP/1.1\r\nHost: " + hostPort() +
                          "\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
    std::vector<HttpResponse> answers(n);
    std::barrier ready(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        Client c(port());
        ready.arrive_and_wait();
        auto r = c.roundTrip(request, Millis(30000));
        if (r) answers[i] = *r;
      });
    }
    for (auto& t : threads) t.join();
    return answers;
  }
};

// ── redirect_uri ────────────────────────────────────────────────────────────────────────────

const std::vector<std::string> kBadRedirects = {
    "http://127.0.0.1:3000/callback/",                 // trailing slash
    "http://127.0.0.1:3000/callbac",                   // prefix of the registered one
    "http://127.0.0.1:3000/callback/x",                // registered one as a prefix
    "http://127.0.0.1:3000/CALLBACK",                  // case of the path
    "HTTP://127.0.0.1:3000/callback",                  // case of the scheme
    "http://127.0.0.1:3000/%63allback",                // percent-encoded unreserved character
    "http://127.0.0.1:3000/callback%2F",               // encoded slash
    "http://127.0.0.1:3000/./callback",                // dot segment
    "http://127.0.0.1:3000/x/../callback",             // dot-dot segment
    "http://127.0.0.1:3000//callback",                 // doubled slash
    "http://127.0.0.1:3000/callback?x=1",              // extra query
    "http://127.0.0.1:3000/callback?",                 // empty query
    "http://127.0.0.1:3000/callback#x",                // fragment
    "http://127.0.0.1:3000/callback#",                 // empty fragment
    "http://127.0.0.1:3000@evil.example/callback",     // userinfo: the host is evil.example
    "http://evil.example@127.0.0.1:3000/callback",     // userinfo before the registered host
    "http://127.0.0.1:3000\\@evil.example/callback",   // backslash parser differential
    "http://127.0.0.1:3000.evil.example/callback",     // registered host as a label prefix
    "http://127.0.0.1:03000/callback",                 // leading zero in the port
    "http://127.0.0.1/callback",                       // port dropped
    "http://127.1:3000/callback",                      // short IPv4 form
    "http://0x7f.0.0.1:3000/callback",                 // hex IPv4 form
    "http://[::ffff:127.0.0.1]:3000/callback",         // mapped IPv6 form
    "https://127.0.0.1:3000/callback",                 // other scheme
    "//127.0.0.1:3000/callback",                       // scheme-relative
    "http:/127.0.0.1:3000/callback",                   // one slash
    " http://127.0.0.1:3000/callback",                 // leading space
    "http://127.0.0.1:3000/callback ",                 // trailing space
    "http://127.0.0.1:3000/callback\t",                // trailing tab
    std::string("http://127.0.0.1:3000/callback\0", 31),  // trailing NUL
    "http://127.0.0.1:3000/callback;x",                // path parameter
    "http://127.0.0.1:3000/*",                         // wildcard
    "javascript:alert(1)//http://127.0.0.1:3000/callback",
};

TEST_F(SecOAuth, RedirectUriTricksGetAnErrorPageNeverARedirect) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Browser anon(port());
  Browser loggedIn(port());
  ASSERT_FALSE(code(loggedIn, query(baseQuery())).empty());  // a session: the code path is open
  for (const std::string& bad : kBadRedirects) {
    SCOPED_TRACE("redirect_uri " + escapeBytes(bad));
    Params kv = baseQuery();
    kv[1].second = bad;
    expectErrorPage(anon.get("/authorize?" + query(kv)), "anonymous");
    expectErrorPage(loggedIn.get("/authorize?" + query(kv)), "with a session");
    // Requests that would otherwise be answered with an error at the redirect URI.
    Params none = kv;
    none.push_back({"prompt", "none"});
    expectErrorPage(anon.get("/authorize?" + query(none)), "prompt=none");
    Params badType = kv;
    badType[2].second = "token";
    expectErrorPage(anon.get("/authorize?" + query(badType)), "unsupported response_type");
    Params formPost = kv;
    formPost.push_back({"response_mode", "form_post"});
    expectErrorPage(loggedIn.get("/authorize?" + query(formPost)), "form_post");
    // The hosted login page itself refuses to show for it.
    expectErrorPage(anon.get("/u/login?" + query(kv)), "login page");
  }
}

TEST_F(SecOAuth, TamperedLoginFormQueryNeverRedirectsToAnUnregisteredUri) {
  // The login form posts back the authorization request in `q`; an attacker who edits it must
  // not obtain a redirect (with or without a code) to a URI that /authorize would refuse.
  ASSERT_NO_FATAL_FAILURE(launch());
  for (const std::string& bad : {std::string("https://evil.example/callback"),
                                 std::string("http://127.0.0.1:3000@evil.example/callback"),
                                 std::string("http://127.0.0.1:3000/callback/")}) {
    SCOPED_TRACE(bad);
    Browser b(port());
    HttpResponse page = b.get("/u/login?" + query(baseQuery()));
    ASSERT_EQ(page.status, 200) << page.raw;
    Params kv = baseQuery();
    kv[1].second = bad;
    HttpResponse done = b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", query(kv)},
                                                 {"email", "demo@example.com"}, {"password", "demo-password"}}));
    std::string loc = done.header("location");
    EXPECT_EQ(codeOf(done), "") << done.raw;
    EXPECT_TRUE(loc.empty() || (loc.rfind("/", 0) == 0 && loc.rfind("//", 0) != 0)) << "a redirect off the server: " << done.raw;
    if (!loc.empty()) {
      expectErrorPage(b.get(loc), "after the login");
    }
  }
}

// ── PKCE ────────────────────────────────────────────────────────────────────────────────────

TEST_F(SecOAuth, PkceDowngradeAndWrongVerifiersAreRejected) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Browser b(port());
  // Issued without a challenge (a confidential client may), redeemed with a verifier: downgrade.
  std::string noChallenge = code(b, query(baseQuery(false)));
  HttpResponse downgrade = exchangeWith(exchangeParams(noChallenge));
  expectOAuthError(downgrade, 403, "invalid_grant");
  EXPECT_EQ(downgrade.body.find("access_token"), std::string::npos);

  // Issued with a challenge: no verifier, a wrong one, the challenge itself (plain semantics).
  for (const std::string& verifier : {std::string(""), kVerifier + "x", kChallenge}) {
    SCOPED_TRACE("verifier '" + verifier + "'");
    std::string c = code(b, query(baseQuery()));
    Params kv = exchangeParams(c);
    if (verifier.empty()) kv.pop_back();
    else kv.back().second = verifier;
    HttpResponse r = exchangeWith(kv);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(jsonField(r.body, "error"), "invalid_grant") << r.body;
  }
}

TEST_F(SecOAuth, PlainOrMissingChallengeMethodNeverGivesPlainPkce) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Browser b(port());
  std::string plainChallenge = kVerifier;  // with plain, the challenge is the verifier itself
  for (const Params& pkce : {Params{{"code_challenge", plainChallenge}, {"code_challenge_method", "plain"}},
                             Params{{"code_challenge", plainChallenge}},
                             Params{{"code_challenge", plainChallenge}, {"code_challenge_method", "s256"}}}) {
    SCOPED_TRACE(form(pkce));
    Params kv = baseQuery(false);
    kv.insert(kv.end(), pkce.begin(), pkce.end());
    HttpResponse r = authorizeWithLogin(b, query(kv));
    std::string c = codeOf(r);
    if (c.empty()) {
      ASSERT_EQ(r.status, 302) << r.raw;
      EXPECT_EQ(param(r.header("location"), "error"), "invalid_request") << r.raw;
      continue;
    }
    // Accepted as an S256 challenge at most: the plain verifier must not redeem it.
    HttpResponse t = exchangeWith(exchangeParams(c));
    EXPECT_NE(t.status, 200) << "plain PKCE accepted: " << t.body;
  }
  // A public client without PKCE: an error at its callback, never a code.
  HttpResponse r = b.get("/authorize?" + form({{"client_id", "demo-native"}, {"redirect_uri", "com.example.handoff://callback"},
                                               {"response_type", "code"}, {"state", "s"}}));
  EXPECT_EQ(param(r.header("location"), "error"), "invalid_request") << r.raw;
  EXPECT_EQ(param(r.header("location"), "code"), "") << r.raw;
}

// ── codes ───────────────────────────────────────────────────────────────────────────────────

TEST_F(SecOAuth, CodeIsBoundToItsClientAndRedirectUri) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Browser b(port());
  // Another registered callback of the same client.
  Params other = exchangeParams(code(b, query(baseQuery())));
  other[4].second = "http://localhost:3000/callback";
  expectOAuthError(exchangeWith(other), 403, "invalid_grant");
  // No redirect_uri at all, where the request had one (RFC 6749 §4.1.3).
  Params missing = exchangeParams(code(b, query(baseQuery())));
  missing.erase(missing.begin() + 4);
  HttpResponse m = exchangeWith(missing);
  EXPECT_NE(m.status, 200) << m.body;
  // Another confidential client.
  Params otherClient = exchangeParams(code(b, query(baseQuery())));
  otherClient[1].second = "demo-web-asn";
  otherClient[2].second = "demo-web-asn-secret";
  expectOAuthError(exchangeWith(otherClient), 403, "invalid_grant");
  // The public client (no secret).
  Params pub = exchangeParams(code(b, query(baseQuery())));
  pub[1].second = "demo-native";
  pub.erase(pub.begin() + 2);
  HttpResponse p = exchangeWith(pub);
  EXPECT_NE(p.status, 200) << p.body;
}

TEST_F(SecOAuth, CodeExpiresAfterSixtySeconds) {
  ASSERT_NO_FATAL_FAILURE(launch("", 2, /*testClock=*/true));
  Browser b(port());
  std::string young = code(b, query(baseQuery()));
  std::string old = code(b, query(baseQuery()));
  ASSERT_NO_FATAL_FAILURE(advance(55));
  HttpResponse ok = exchangeWith(exchangeParams(young));
  EXPECT_EQ(ok.status, 200) << "a 55 s old code still works: " << ok.body;
  ASSERT_NO_FATAL_FAILURE(advance(6));
  expectOAuthError(exchangeWith(exchangeParams(old)), 403, "invalid_grant");
}

TEST_F(SecOAuth, CodeReplayRevokesTheRefreshAndAccessTokensItProduced) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Browser b(port());
  std::string c = code(b, query(baseQuery()));
  HttpResponse first = exchangeWith(exchangeParams(c));
  ASSERT_EQ(first.status, 200) << first.body;
  std::string rt = jsonField(first.body, "refresh_token"), at = jsonField(first.body, "access_token");
  ASSERT_EQ(userinfo(at), 200);
  HttpResponse refreshed = refresh(rt, "demo-web");
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  std::string at2 = jsonField(refreshed.body, "access_token");

  expectOAuthError(exchangeWith(exchangeParams(c)), 403, "invalid_grant");
  EXPECT_EQ(refresh(rt, "demo-web").status, 403) << "the refresh token of the replayed code survived";
  EXPECT_EQ(userinfo(at), 401) << "the access token of the replayed code survived";
}

// Beyond SECURITY.md's letter (the code's own tokens, the family's refresh tokens): an opaque
// access token issued by a refresh of a revoked family outlives the revocation until its TTL
// (24 h), because an access record does not name its family. Disabled until that is fixed; see
// docs/SECURITY-TESTS.md, "left open".
TEST_F(SecOAuth, DISABLED_AccessTokensRefreshedFromARevokedFamilyDieWithIt) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Browser b(port());
  std::string c = code(b, query(baseQuery()));
  HttpResponse first = exchangeWith(exchangeParams(c));
  ASSERT_EQ(first.status, 200) << first.body;
  HttpResponse refreshed = refresh(jsonField(first.body, "refresh_token"), "demo-web");
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  std::string at2 = jsonField(refreshed.body, "access_token");
  ASSERT_EQ(userinfo(at2), 200);
  ASSERT_EQ(exchangeWith(exchangeParams(c)).status, 403);
  EXPECT_EQ(userinfo(at2), 401) << "an access token refreshed from the replayed code's grant survived";

  std::string rt1 = nativeRt();
  HttpResponse r2 = refresh(rt1, "demo-native");
  ASSERT_EQ(r2.status, 200) << r2.body;
  std::string at = jsonField(r2.body, "access_token");
  ASSERT_EQ(refresh(rt1, "demo-native").status, 403);
  EXPECT_EQ(userinfo(at), 401) << "the family's access token survived the reuse";
}

TEST_F(SecOAuth, SimultaneousExchangesOfOneCodeGiveExactlyOneTokenResponse) {
  ASSERT_NO_FATAL_FAILURE(launch("", 2));
  Browser b(port());
  std::string c = code(b, query(baseQuery()));
  std::vector<HttpResponse> answers = race(form(exchangeParams(c)), 16);
  int ok = 0;
  for (const HttpResponse& r : answers) {
    if (r.status == 200) ++ok;
    else EXPECT_EQ(jsonField(r.body, "error"), "invalid_grant") << r.raw;
  }
  EXPECT_EQ(ok, 1);
}

// ── refresh tokens ──────────────────────────────────────────────────────────────────────────

TEST_F(SecOAuth, SimultaneousRotationsOfOneRefreshTokenGiveExactlyOneNewToken) {
  ASSERT_NO_FATAL_FAILURE(launch("", 2));
  std::string rt = nativeRt();
  std::vector<HttpResponse> answers =
      race(form({{"grant_type", "refresh_token"}, {"client_id", "demo-native"}, {"refresh_token", rt}}), 16);
  int ok = 0;
  std::string rotated;
  for (const HttpResponse& r : answers) {
    if (r.status == 200) ++ok, rotated = jsonField(r.body, "refresh_token");
    else EXPECT_EQ(jsonField(r.body, "error"), "invalid_grant") << r.raw;
  }
  EXPECT_EQ(ok, 1);
  // The losers presented a rotated-out token: reuse, and the family (the winner's token) is gone.
  if (ok == 1) {
    EXPECT_EQ(refresh(rotated, "demo-native").status, 403);
  }
}

TEST_F(SecOAuth, ReuseOfAnOldRefreshTokenRevokesEveryDescendant) {
  ASSERT_NO_FATAL_FAILURE(launch());
  std::string rt1 = nativeRt();
  HttpResponse r2 = refresh(rt1, "demo-native");
  ASSERT_EQ(r2.status, 200) << r2.body;
  std::string rt2 = jsonField(r2.body, "refresh_token");
  HttpResponse r3 = refresh(rt2, "demo-native");
  ASSERT_EQ(r3.status, 200) << r3.body;
  std::string rt3 = jsonField(r3.body, "refresh_token");
  // An unrelated family of the same user and client.
  std::string otherFamily = nativeRt();

  expectOAuthError(refresh(rt1, "demo-native"), 403, "invalid_grant");  // two generations old
  expectOAuthError(refresh(rt3, "demo-native"), 403, "invalid_grant");
  expectOAuthError(refresh(rt2, "demo-native"), 403, "invalid_grant");
  EXPECT_EQ(refresh(otherFamily, "demo-native").status, 200) << "another family was revoked";
}

// ── response headers ────────────────────────────────────────────────────────────────────────

TEST_F(SecOAuth, EveryTokenResponseSuccessOrErrorIsNoStore) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Browser b(port());
  std::vector<std::pair<std::string, HttpResponse>> answers;
  HttpResponse login = token(form({{"grant_type", "password"}, {"client_id", "demo-native"}, {"username", "demo@example.com"},
                                   {"password", "demo-password"}, {"scope", kAllScopes}}));
  answers.push_back({"password", login});
  std::string rt = jsonField(login.body, "refresh_token");
  HttpResponse rotated = refresh(rt, "demo-native");
  answers.push_back({"refresh", rotated});
  answers.push_back({"mint", mint(jsonField(rotated.body, "refresh_token"))});
  answers.push_back({"authorization_code", exchangeWith(exchangeParams(code(b, query(baseQuery()))))});
  answers.push_back({"client_credentials", token(form({{"grant_type", "client_credentials"}, {"client_id", "demo-m2m"},
                                                       {"client_secret", "demo-m2m-secret"},
                                                       {"audience", issuer() + "api/v2/"}}))});
  answers.push_back({"reuse", refresh(rt, "demo-native")});
  answers.push_back({"bad client", token(form({{"grant_type", "client_credentials"}, {"client_id", "demo-m2m"},
                                               {"client_secret", "wrong"}}))});
  answers.push_back({"bad request", token("grant_type=%zz")});
  answers.push_back({"unsupported", token("grant_type=implicit&client_id=demo-native")});
  for (const auto& [what, r] : answers) {
    EXPECT_NE(r.status, 0) << what;
    EXPECT_EQ(r.header("cache-control"), "no-store") << what << "\n" << r.raw;
  }
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(answers[i].second.status, 200) << answers[i].first << answers[i].second.body;
}

// Every HTML page the server shows: framing refused, no referrer, never cached.
TEST_F(SecOAuth, EveryPageSendsAntiFramingNoReferrerAndNoStore) {
  ASSERT_NO_FATAL_FAILURE(launch());
  std::vector<std::pair<std::string, HttpResponse>> pages;
  Browser b(port());
  HttpResponse login = b.get("/u/login?" + query(baseQuery()));
  pages.push_back({"login page", login});
  pages.push_back({"wrong password", b.post("/u/login", form({{"csrf", hidden(login.body, "csrf")}, {"q", query(baseQuery())},
                                                               {"email", "demo@example.com"}, {"password", "x"}}))});
  pages.push_back({"csrf mismatch", b.post("/u/login", form({{"csrf", "AAAAAAAAAAAAAAAAAAAAAA"}, {"q", query(baseQuery())},
                                                              {"email", "demo@example.com"}, {"password", "x"}}))});
  Params bad = baseQuery();
  bad[1].second = "https://evil.example/";
  pages.push_back({"authorize error page", b.get("/authorize?" + query(bad))});
  pages.push_back({"login error page", b.get("/u/login?client_id=nobody")});
  Params fp = baseQuery();
  fp.push_back({"response_mode", "form_post"});
  pages.push_back({"form_post", authorizeWithLogin(b, query(fp))});
  pages.push_back({"logout page", b.get("/v2/logout")});
  pages.push_back({"oidc logout page", b.get("/oidc/logout")});
  for (const auto& [what, r] : pages) {
    SCOPED_TRACE(what);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(r.header("content-type").rfind("text/html", 0), 0u) << r.raw;
    EXPECT_EQ(r.header("x-frame-options"), "DENY") << r.raw;
    EXPECT_NE(r.header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos) << r.raw;
    EXPECT_EQ(r.header("referrer-policy"), "no-referrer") << r.raw;
    EXPECT_EQ(r.header("cache-control"), "no-store") << r.raw;
  }
  // The authorization response itself (a redirect carrying the code) is not cached and sends
  // no referrer, and it names the issuer (mix-up defence).
  HttpResponse withCode = authorizeWithLogin(b, query(baseQuery()));
  ASSERT_FALSE(codeOf(withCode).empty()) << withCode.raw;
  EXPECT_EQ(withCode.header("cache-control"), "no-store") << withCode.raw;
  EXPECT_EQ(withCode.header("referrer-policy"), "no-referrer") << withCode.raw;
  EXPECT_EQ(param(withCode.header("location"), "iss"), issuer()) << withCode.raw;
}

// ── session cookies ─────────────────────────────────────────────────────────────────────────

TEST_F(SecOAuth, SessionCookieIsRandomHttpOnlyAndAFixedValueIsReplacedAtLogin) {
  ASSERT_NO_FATAL_FAILURE(launch());
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    Browser b(port());
    // Session fixation: a value planted before the login, well-formed or not.
    std::string planted = i == 0 ? "attacker-chosen" : "sid_0_AAAAAAAAAAAAAAAAAAAAAA";
    if (i < 2) b.jar()["handoff_session"] = planted;
    HttpResponse page = b.get("/u/login?" + query(baseQuery()));
    HttpResponse done = b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", hidden(page.body, "q")},
                                                 {"email", "demo@example.com"}, {"password", "demo-password"}}));
    ASSERT_EQ(done.status, 302) << done.raw;
    std::string cookie = setCookie(done, "handoff_session");
    ASSERT_FALSE(cookie.empty()) << done.raw;
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("SameSite="), std::string::npos) << cookie;
    std::string value = b.jar()["handoff_session"];
    EXPECT_NE(value, planted);
    EXPECT_EQ(value.rfind("sid_", 0), 0u) << value;
    EXPECT_GE(value.size(), 4 + 2 + 22u) << "fewer than 128 random bits: " << value;
    EXPECT_TRUE(seen.insert(value).second) << "a session id came twice: " << value;
  }
  // A session held by an attacker is not the victim's after the victim logs in again.
  Browser attacker(port());
  ASSERT_FALSE(code(attacker, query(baseQuery())).empty());
  std::string attackerSession = attacker.jar()["handoff_session"];
  Browser victim(port());
  victim.jar()["handoff_session"] = attackerSession;
  Params again = baseQuery();
  again.push_back({"prompt", "login"});
  ASSERT_FALSE(code(victim, query(again)).empty());
  EXPECT_NE(victim.jar()["handoff_session"], attackerSession) << "the session id was not rotated at login";
}

}  // namespace
}  // namespace handoff::it::n2w
