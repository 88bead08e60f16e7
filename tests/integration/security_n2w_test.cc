// SECURITY.md "Session transfer tokens" against a real handoffd: consumption after a failed
// binding, forged forwarding headers from an untrusted peer at the mint and at the redemption,
// type confusion between every kind of token (including the same random bits under another
// kind's prefix), chaining through the RFC 8693 form, and no token, code, secret, password or
// cookie in the stderr log, the events sink, the tenant log, /metrics or an error answer after
// flows that succeed and flows that fail. docs/SECURITY-TESTS.md maps every rule to its tests.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

using namespace std::chrono_literals;

class SecN2w : public N2wTest {
 protected:
  void launch(const std::string& config = "", unsigned threads = 2) {
    server_ = std::make_unique<Server>(ServerOptions{.config = config, .threads = threads});
    ASSERT_TRUE(server_->start(15000ms)) << server_->failure();
  }
  // The same random bits under another kind's prefix: "stt_1_X" → "rt_1_X".
  static std::string withPrefix(const std::string& tokenText, const std::string& prefix) {
    return prefix + tokenText.substr(tokenText.find('_'));
  }
  // `<kind>_<shard>_<random>`: the random part may itself hold '_' (base64url), so count from the front.
  static std::string randomPart(const std::string& tokenText) {
    return tokenText.substr(tokenText.find('_', tokenText.find('_') + 1) + 1);
  }
  bool redeems(Browser& b, const std::string& sttText) { return !codeOf(redeemQuery(b, sttText)).empty(); }
};

// ── single use, binding ─────────────────────────────────────────────────────────────────────

TEST_F(SecN2w, SttIsConsumedByAFailedBindingCheck) {
  ASSERT_NO_FATAL_FAILURE(launch());  // demo-web binds by IP
  std::string s = stt(nativeRt());
  Browser elsewhere(port(), "127.0.0.2");
  expectLoginPage(redeemQuery(elsewhere, s), s);
  // The rightful browser, at the minting address, comes second: too late.
  Browser home(port());
  HttpResponse r = redeemQuery(home, s);
  expectLoginPage(r, s);
  EXPECT_EQ(setCookie(r, "handoff_session"), "") << r.raw;
  Browser viaCookie(port());
  expectLoginPage(redeemCookie(viaCookie, s), s);
}

// Headers an attacker at 127.0.0.2 adds to pass for the minting address 127.0.0.1.
const std::vector<std::string> kForgedHeaders = {
    "X-Forwarded-For: 127.0.0.1\r\n",
    "X-Forwarded-For: 127.0.0.2, 127.0.0.1\r\n",
    "Forwarded: for=127.0.0.1\r\n",
    "Forwarded: for=\"127.0.0.1:1234\";proto=http\r\n",
    "X-Real-IP: 127.0.0.1\r\n",
    "auth0-forwarded-for: 127.0.0.1\r\n",
    "True-Client-IP: 127.0.0.1\r\n",
    "X-Client-IP: 127.0.0.1\r\n",
    "CF-Connecting-IP: 127.0.0.1\r\n",
    "X-Forwarded-For: 127.0.0.1\r\nForwarded: for=127.0.0.1\r\nX-Real-IP: 127.0.0.1\r\nauth0-forwarded-for: 127.0.0.1\r\n",
};

TEST_F(SecN2w, ForgedForwardingHeadersFromAnUntrustedPeerCannotPassTheBinding) {
  ASSERT_NO_FATAL_FAILURE(launch());  // no [proxy] trusted: no peer is trusted
  for (const std::string& h : kForgedHeaders) {
    SCOPED_TRACE(escapeBytes(h));
    std::string s = stt(nativeRt());
    Browser attacker(port(), "127.0.0.2");
    HttpResponse r = attacker.get("/authorize?" + webQuery() + "&session_transfer_token=" + enc(s), h);
    expectLoginPage(r, s);
    EXPECT_EQ(setCookie(r, "handoff_session"), "") << r.raw;
  }
}

TEST_F(SecN2w, ForgedForwardingHeadersAtTheMintDoNotMoveTheBinding) {
  ASSERT_NO_FATAL_FAILURE(launch());
  for (const std::string& h : kForgedHeaders) {
    // The public native client, at 127.0.0.1, claims its user is at 127.0.0.9.
    std::string forged = h;
    for (size_t at; (at = forged.find("127.0.0.1")) != std::string::npos;) forged.replace(at, 9, "127.0.0.9");
    SCOPED_TRACE(escapeBytes(forged));
    auto forgedMint = [&] {
      std::string body = "{\"client_id\":\"demo-native\",\"grant_type\":\"refresh_token\",\"audience\":\"urn:" +
                         hostPort() + ":session_transfer\",\"refresh_token\":\"" + nativeRt() + "\"}";
      Client c(port());
      auto m = c.roundTrip("POST /oauth/token HTTP/1.1\r\nHost: " + hostPort() + "\r\n" + forged +
                               "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body,
                           Millis(15000));
      EXPECT_TRUE(m && m->status == 200) << c.error() << (m ? m->raw : "");
      return m ? jsonField(m->body, "access_token") : std::string();
    };
    // Bound to the real peer: the named address fails, the real one succeeds.
    std::string s = forgedMint();
    Browser named(port(), "127.0.0.9");
    expectLoginPage(redeemQuery(named, s), s);
    Browser real(port());
    EXPECT_TRUE(redeems(real, forgedMint())) << "the forged header moved the binding away from the real peer";
  }
}

// The only way a test can move the server's clock (--test-clock) moves it forward: a step
// backwards cannot revive an expired token. (Expiry runs on the loop's monotonic clock, so a
// system clock step cannot either; see docs/SECURITY-TESTS.md.)
TEST_F(SecN2w, TheTestClockCannotBeSteppedBackwards) {
  server_ = std::make_unique<Server>(ServerOptions{.extraArgs = {"--test-clock"}});
  ASSERT_TRUE(server_->start(15000ms)) << server_->failure();
  auto clock = [&](const std::string& query) {
    Client c(port());
    auto r = c.roundTrip("POST /test/clock?" + query + " HTTP/1.1\r\nHost: " + hostPort() + "\r\nContent-Length: 0\r\n\r\n",
                         Millis(15000));
    return r ? r->status : 0;
  };
  std::string s = stt(nativeRt());
  ASSERT_EQ(clock("advance_s=61"), 200);
  for (const char* q : {"advance_s=-61", "advance_s=-1", "advance_s=%2D61", "advance_s=18446744073709551555",
                               "advance_s=-9223372036854775808"}) {
    EXPECT_EQ(clock(q), 400) << q;
  }
  Browser b(port());
  expectLoginPage(redeemQuery(b, s), s);
}

// ── type confusion ──────────────────────────────────────────────────────────────────────────

TEST_F(SecN2w, NoTokenKindIsAcceptedAsAnotherEvenWithTheSameRandomBits) {
  ASSERT_NO_FATAL_FAILURE(launch());
  std::string login = nativeLogin();
  std::string rt = jsonField(login, "refresh_token"), at = jsonField(login, "access_token");
  std::string idToken = jsonField(login, "id_token");
  std::string rotated;
  std::string s = stt(rt, "demo-native", "", &rotated);
  Browser web(port());
  std::string webTokens = pageLogin(web);
  std::string webRt = jsonField(webTokens, "refresh_token"), webAt = jsonField(webTokens, "access_token");
  std::string session = web.jar()["handoff_session"];
  HttpResponse fresh = promptNone(web);
  std::string code = codeOf(fresh);
  ASSERT_EQ(code.rfind("cd_", 0), 0u) << fresh.raw;
  ASSERT_EQ(session.rfind("sid_", 0), 0u) << session;
  ASSERT_EQ(at.rfind("at_", 0), 0u) << "an opaque access token: " << at;

  // Everything but an STT, and an STT's bits under every other prefix, presented as an STT.
  std::vector<std::string> notStt = {rotated, at, idToken, code, session, webRt, withPrefix(rotated, "stt"),
                                     withPrefix(code, "stt"), withPrefix(at, "stt"), withPrefix(session, "stt")};
  for (const std::string& t : notStt) {
    SCOPED_TRACE("as an STT: " + t);
    Browser b(port());
    HttpResponse q = redeemQuery(b, t);
    EXPECT_TRUE(codeOf(q).empty()) << q.raw;
    EXPECT_EQ(setCookie(q, "handoff_session"), "") << q.raw;
    Browser c(port());
    HttpResponse k = redeemCookie(c, t);
    EXPECT_TRUE(codeOf(k).empty()) << k.raw;
  }
  // Everything but a refresh token, as a refresh token (and as the mint's subject token).
  for (const std::string& t : {s, at, idToken, code, session, withPrefix(s, "rt"), withPrefix(code, "rt"),
                               withPrefix(at, "rt"), withPrefix(session, "rt")}) {
    SCOPED_TRACE("as a refresh token: " + t);
    expectOAuthError(refresh(t, "demo-native"), 403, "invalid_grant");
    HttpResponse m = mint(t);
    EXPECT_EQ(m.status, 403) << m.body;
    EXPECT_EQ(m.body.find("stt_"), std::string::npos) << m.body;
  }
  // Everything but a code, as a code.
  for (const std::string& t : {s, webRt, webAt, session, withPrefix(s, "cd"), withPrefix(webRt, "cd"),
                               withPrefix(session, "cd")}) {
    SCOPED_TRACE("as a code: " + t);
    expectOAuthError(exchange(t), 403, "invalid_grant");
  }
  // Everything but an access token, as a bearer token.
  for (const std::string& t : {s, webRt, code, session, withPrefix(s, "at"), withPrefix(webRt, "at"),
                               withPrefix(session, "at")}) {
    SCOPED_TRACE("as an access token: " + t);
    Browser anon(port());
    EXPECT_EQ(anon.get("/userinfo", "Authorization: Bearer " + t + "\r\n").status, 401);
  }
  // Everything but a session id, as the session cookie.
  for (const std::string& t : {s, webRt, webAt, code, withPrefix(s, "sid"), withPrefix(webRt, "sid"),
                               withPrefix(code, "sid")}) {
    SCOPED_TRACE("as a session cookie: " + t);
    Browser b = withSession(t);
    expectLoginRequired(promptNone(b));
  }
  // None of the attempts touched the real tokens: each still works for what it is.
  Browser home(port());
  EXPECT_TRUE(redeems(home, s)) << "the STT was consumed by a presentation as another kind";
  EXPECT_EQ(exchange(code).status, 200);
  EXPECT_EQ(refresh(webRt, "demo-web").status, 200);
  EXPECT_EQ(refresh(rotated, "demo-native").status, 200);
}

TEST_F(SecN2w, RefreshTokenOfAnSttBornSessionCannotMintThroughTheTokenExchangeFormEither) {
  ASSERT_NO_FATAL_FAILURE(launch(tenantConfig(
      nativeClient("native") + webClient("web-nest", "can_create_session_transfer_token = true\n"
                                                     "allowed_authentication_methods = [\"query\"]\nallow_refresh_token = true\n"))));
  std::string s = stt(nativeRt("native", "alice@example.com", "alice-password"), "native");
  Browser b(port());
  std::string webRt = jsonField(sttLogin(b, s, "web-nest"), "refresh_token");
  ASSERT_EQ(webRt.rfind("rt_", 0), 0u);
  // RFC 8693 form and a form refresh_token grant with the audience.
  HttpResponse exchangeForm = token(form({{"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"},
                                          {"client_id", "web-nest"}, {"client_secret", "web-nest-secret"},
                                          {"subject_token", webRt},
                                          {"subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"},
                                          {"requested_token_type", kSttType},
                                          {"audience", "urn:" + hostPort() + ":session_transfer"}}));
  EXPECT_NE(exchangeForm.status, 200) << exchangeForm.body;
  EXPECT_EQ(exchangeForm.body.find("stt_"), std::string::npos) << exchangeForm.body;
  HttpResponse formMint = token(form({{"grant_type", "refresh_token"}, {"client_id", "web-nest"},
                                      {"client_secret", "web-nest-secret"}, {"refresh_token", webRt},
                                      {"audience", "urn:" + hostPort() + ":session_transfer"}}));
  EXPECT_NE(formMint.status, 200) << formMint.body;
  EXPECT_EQ(formMint.body.find("stt_"), std::string::npos) << formMint.body;
  // Nor a refresh token rotated from it.
  HttpResponse rotated = refresh(webRt, "web-nest");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  HttpResponse again = mint(jsonField(rotated.body, "refresh_token"), "web-nest");
  EXPECT_NE(again.status, 200) << again.body;
  EXPECT_EQ(again.body.find("stt_"), std::string::npos) << again.body;
}

// ── no secrets in logs, metrics or error messages ───────────────────────────────────────────

const std::string kNativeId = "sec-native", kWebId = "sec-web", kM2mId = "sec-m2m";
// secretOf() gives "<id>-secret", what the fixture's helpers send.
const std::string kWebSecret = "sec-web-secret", kM2mSecret = "sec-m2m-secret", kWrongSecret = "Wrong-Secret-Vt4";
const std::string kAlicePassword = "Alice-Password-9rTz", kWrongPassword = "Wrong-Password-Lm3";

std::string secretsTenant(const std::string& sink) {
  return "[server]\nlisten = [\"127.0.0.1:0\"]\nlog_level = \"debug\"\n\n[events]\nsink = \"" + sink + "\"\n\n"
         "[[clients]]\nclient_id = \"" + kNativeId + "\"\napp_type = \"native\"\ntoken_endpoint_auth_method = \"none\"\n"
         "grant_types = [\"authorization_code\", \"refresh_token\", \"password\"]\ncallbacks = [\"com.example.sec://callback\"]\n"
         "refresh_token = { rotation_type = \"rotating\", leeway = 0 }\n"
         "[clients.session_transfer]\ncan_create_session_transfer_token = true\n\n"
         "[[clients]]\nclient_id = \"" + kWebId + "\"\nclient_secret = \"" + kWebSecret + "\"\napp_type = \"regular_web\"\n"
         "grant_types = [\"authorization_code\", \"refresh_token\"]\ncallbacks = [\"" + kWebCallback + "\"]\n"
         "allowed_logout_urls = [\"http://127.0.0.1:3000/\"]\n"
         "refresh_token = { rotation_type = \"rotating\", leeway = 0 }\n"
         "[clients.session_transfer]\nallowed_authentication_methods = [\"query\", \"cookie\"]\n"
         "enforce_device_binding = \"ip\"\nallow_refresh_token = true\n\n"
         "[[clients]]\nclient_id = \"" + kM2mId + "\"\nclient_secret = \"" + kM2mSecret + "\"\napp_type = \"non_interactive\"\n"
         "grant_types = [\"client_credentials\"]\n\n"
         "[[users]]\nuser_id = \"auth0|alice\"\nemail = \"alice@example.com\"\npassword = \"" + kAlicePassword + "\"\n"
         "name = \"Alice\"\nemail_verified = true\n";
}

TEST_F(SecN2w, NoTokenCodeSecretPasswordOrCookieInLogsMetricsOrErrors) {
  std::string dir = ::testing::TempDir() + "sec-secrets-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string sink = dir + "/events.jsonl";
  ASSERT_NO_FATAL_FAILURE(launch(secretsTenant(sink)));
  std::vector<std::string> secrets = {kWebSecret, kM2mSecret, kWrongSecret, kAlicePassword, kWrongPassword};
  std::vector<std::string> tokens;  // opaque tokens: their random part must not appear either
  std::string errors;               // every error answer's body and Location

  // The native app: a failed and a good login, a mint, a refresh.
  HttpResponse bad = token(form({{"grant_type", "password"}, {"client_id", kNativeId}, {"username", "alice@example.com"},
                                 {"password", kWrongPassword}}));
  EXPECT_EQ(bad.status, 403) << bad.body;
  errors += bad.body;
  std::string login = nativeLogin(kNativeId, "alice@example.com", kAlicePassword);
  std::string rt = jsonField(login, "refresh_token"), at = jsonField(login, "access_token");
  std::string rotated;
  std::string s = stt(rt, kNativeId, "", &rotated);
  tokens.insert(tokens.end(), {rt, at, s, rotated});
  secrets.push_back(jsonField(login, "id_token"));

  // The web app: a failed binding (consumes it), a good redemption, the code exchange.
  Browser far(port(), "127.0.0.2");
  HttpResponse refused = redeemQuery(far, s, kWebId);
  errors += refused.raw;
  std::string s2 = stt(rotated, kNativeId, "", &rotated);
  tokens.insert(tokens.end(), {s2, rotated});
  Browser b(port());
  HttpResponse r = redeemQuery(b, s2, kWebId);
  std::string code = codeOf(r);
  ASSERT_FALSE(code.empty()) << r.raw;
  std::string session = b.jar()["handoff_session"];
  tokens.insert(tokens.end(), {code, session});
  HttpResponse ex = exchange(code, kWebId);
  ASSERT_EQ(ex.status, 200) << ex.body;
  std::string webRt = jsonField(ex.body, "refresh_token"), webAt = jsonField(ex.body, "access_token");
  tokens.insert(tokens.end(), {webRt, webAt});

  // Failures that present secrets: replays, a bad client secret, reuse, garbage, a bad cookie.
  HttpResponse replayCode = exchange(code, kWebId);
  errors += replayCode.body;
  Browser late(port());
  errors += redeemQuery(late, s2, kWebId).raw;
  errors += refresh(rt, kNativeId).body;  // reuse: revokes the native family
  errors += token(form({{"grant_type", "refresh_token"}, {"client_id", kWebId}, {"client_secret", kWrongSecret},
                        {"refresh_token", webRt}})).body;
  errors += mint(webRt, kNativeId).body;
  Browser anon(port());
  errors += anon.get("/userinfo", "Authorization: Bearer " + rt + "\r\n").raw;
  Browser stale = withSession(session + "x");
  errors += promptNone(stale, kWebId).raw;
  HttpResponse page = b.get("/u/login?" + webQuery(kWebId, {{"prompt", "login"}}));
  std::string csrf = hidden(page.body, "csrf");
  std::string csrfToken = csrf;  // shown in the login form by design: checked in the logs only
  HttpResponse wrongPw = b.post("/u/login", form({{"csrf", csrf}, {"q", hidden(page.body, "q")},
                                                  {"email", "alice@example.com"}, {"password", kWrongPassword}}));
  errors += wrongPw.raw;
  // A management token, and the tenant log it reads.
  HttpResponse mgmt = token(form({{"grant_type", "client_credentials"}, {"client_id", kM2mId}, {"client_secret", kM2mSecret},
                                  {"audience", issuer() + "api/v2/"}, {"scope", "read:logs"}}));
  ASSERT_EQ(mgmt.status, 200) << mgmt.body;
  std::string mgmtToken = jsonField(mgmt.body, "access_token");
  secrets.push_back(mgmtToken);
  Client c(port());
  auto logs = c.roundTrip("GET /api/v2/logs?per_page=100 HTTP/1.1\r\nHost: " + hostPort() +
                              "\r\nAuthorization: Bearer " + mgmtToken + "\r\n\r\n",
                          Millis(15000));
  ASSERT_TRUE(logs && logs->status == 200) << c.error();
  ASSERT_GE(jsonObjects(logs->body).size(), 5u) << logs->body;
  std::string metrics = fetchMetrics(port());
  ASSERT_FALSE(metrics.empty());

  ASSERT_EQ(server_->stop(SIGTERM, Millis(15000)).value_or(-1), 0);
  std::stringstream sinkText;
  sinkText << std::ifstream(sink).rdbuf();
  std::filesystem::remove_all(dir);
  std::string stderrText = server_->stderrText();
  ASSERT_FALSE(sinkText.str().empty());
  ASSERT_FALSE(stderrText.empty());

  for (const std::string& t : tokens) {
    ASSERT_FALSE(t.empty());
    secrets.push_back(t);
    secrets.push_back(randomPart(t));
  }
  std::vector<std::pair<std::string, std::string>> places = {{"stderr (log_level debug)", stderrText},
                                                              {"events sink", sinkText.str()},
                                                              {"GET /api/v2/logs", logs->body},
                                                              {"/metrics", metrics},
                                                              {"error answers", errors}};
  for (const auto& [where, text] : places) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(text.find(secret), std::string::npos) << where << " holds " << secret;
    }
    if (where != "error answers") {
      EXPECT_EQ(text.find(csrfToken), std::string::npos) << where << " holds the CSRF token";
    }
  }
}

}  // namespace
}  // namespace handoff::it::n2w
