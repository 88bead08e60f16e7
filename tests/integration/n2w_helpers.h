// Shared by the Native to Web SSO tests (n2w_mint_test.cc, n2w_redeem_test.cc,
// n2w_session_test.cc, n2w_revocation_test.cc), which check SPEC.md §2–§5 row by row against a
// real handoffd: config snippets with the clients a rule needs, the native app's side (password
// grant, the STT mint in the bodies Auth0's SDKs send), the web app's side (/authorize with an
// STT by query or cookie, code exchange, refresh, revoke) and a fixture that starts one server
// per test. Header-only; built on server_fixture.h and browser_client.h.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "browser_client.h"
#include "server_fixture.h"

namespace handoff::it::n2w {

using Params = std::vector<std::pair<std::string, std::string>>;

inline const std::string kWebCallback = "http://127.0.0.1:3000/callback";
inline const std::string kVerifier = "handoff-test-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
inline const std::string kChallenge = "77MeBUbqmXae-xc93csXpQDkCd7xqNT217KaYKLFEL0";  // S256 of kVerifier
inline const std::string kSttType = "urn:auth0:params:oauth:token-type:session_transfer_token";
inline const std::string kAllScopes = "openid profile email offline_access";
inline const std::string kSttCookie = "auth0_session_transfer_token";
inline const std::string kSttCookieAlt = "session_transfer_token";

// ── config ──────────────────────────────────────────────────────────────────────────────────

// A tenant without a domain (so it answers as http://127.0.0.1:PORT/ like the demo tenant) with
// `clients` and two users: alice@example.com / alice-password and bob@example.com / bob-password.
inline std::string tenantConfig(const std::string& clients) {
  return "[server]\nlisten = [\"127.0.0.1:0\"]\n\n" + clients +
         "[[users]]\nuser_id = \"auth0|alice\"\nemail = \"alice@example.com\"\npassword = \"alice-password\"\n"
         "name = \"Alice\"\nemail_verified = true\n\n"
         "[[users]]\nuser_id = \"auth0|bob\"\nemail = \"bob@example.com\"\npassword = \"bob-password\"\n"
         "name = \"Bob\"\nemail_verified = true\n";
}

// A public native client (its id must contain "native": see secretOf) with the password and
// refresh_token grants and rotating refresh tokens with no leeway, so that a refused mint that
// used its token up would show as reuse. `settings`: lines of its session_transfer table;
// `grants`: its grant_types.
inline std::string nativeClient(const std::string& id, const std::string& settings = "can_create_session_transfer_token = true\n",
                                const std::string& grants = "\"authorization_code\", \"refresh_token\", \"password\"") {
  return "[[clients]]\nclient_id = \"" + id + "\"\napp_type = \"native\"\ntoken_endpoint_auth_method = \"none\"\n"
         "grant_types = [" + grants + "]\ncallbacks = [\"com.example.handoff://callback\"]\n"
         "refresh_token = { rotation_type = \"rotating\", leeway = 0 }\n"
         "[clients.session_transfer]\n" + settings + "\n";
}

// A confidential web client, secret "<id>-secret", callback kWebCallback, rotating refresh
// tokens. `settings`: lines of its session_transfer table.
inline std::string webClient(const std::string& id, const std::string& settings) {
  return "[[clients]]\nclient_id = \"" + id + "\"\nclient_secret = \"" + id + "-secret\"\napp_type = \"regular_web\"\n"
         "grant_types = [\"authorization_code\", \"refresh_token\"]\ncallbacks = [\"" + kWebCallback + "\"]\n"
         "allowed_logout_urls = [\"http://127.0.0.1:3000/\"]\n"
         "refresh_token = { rotation_type = \"rotating\", leeway = 0 }\n"
         "[clients.session_transfer]\n" + settings + "\n";
}

// The secret of a client of these tests: none for native clients, "<id>-secret" otherwise
// (demo-web's is demo-web-secret, too).
inline std::string secretOf(const std::string& clientId) {
  return clientId.find("native") != std::string::npos ? std::string() : clientId + "-secret";
}

// ── answers ─────────────────────────────────────────────────────────────────────────────────

// The top-level member names of a flat JSON object (the token responses).
inline std::set<std::string> jsonKeys(const std::string& json) {
  std::set<std::string> out;
  std::regex re("[{,]\"([a-z_]+)\":");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), re); it != std::sregex_iterator(); ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

inline bool isLoginPage(const HttpResponse& r) {
  return r.status == 302 && r.header("location").rfind("/u/login?", 0) == 0;
}

// The code of a redirect to kWebCallback; "" for anything else.
inline std::string codeOf(const HttpResponse& r) {
  if (r.status != 302 || r.header("location").rfind(kWebCallback + "?", 0) != 0) return "";
  return param(r.header("location"), "code");
}

// ── fixture ─────────────────────────────────────────────────────────────────────────────────

class N2wTest : public ::testing::Test {
 protected:
  // Starts this test's server: the demo tenant when `config` is empty.
  void start(const std::string& config = "", unsigned threads = 2) {
    server_ = std::make_unique<Server>(ServerOptions{.config = config, .threads = threads});
    ASSERT_TRUE(server_->start()) << server_->failure();
  }

  uint16_t port() const { return server_->port(); }
  std::string hostPort() const { return "127.0.0.1:" + std::to_string(port()); }
  std::string issuer() const { return "http://" + hostPort() + "/"; }

  // POST /oauth/token from `sourceIp` (default 127.0.0.1) with Host 127.0.0.1:PORT (or `host`).
  HttpResponse token(const std::string& body, const std::string& contentType = "application/x-www-form-urlencoded",
                     const std::string& host = "", const std::string& sourceIp = "") {
    Client c(port(), sourceIp);
    auto r = c.roundTrip("POST /oauth/token HTTP/1.1\r\nHost: " + (host.empty() ? hostPort() : host) +
                             "\r\nContent-Type: " + contentType + "\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\n\r\n" + body,
                         Millis(15000));
    EXPECT_TRUE(r) << c.error();
    return r ? *r : HttpResponse{};
  }

  // The native app's login (password grant): the JSON token response.
  std::string nativeLogin(const std::string& clientId = "demo-native", const std::string& email = "demo@example.com",
                          const std::string& password = "demo-password", const std::string& scope = kAllScopes) {
    HttpResponse r = token(form({{"grant_type", "password"}, {"client_id", clientId}, {"username", email},
                                 {"password", password}, {"scope", scope}}));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  std::string nativeRt(const std::string& clientId = "demo-native", const std::string& email = "demo@example.com",
                       const std::string& password = "demo-password") {
    std::string rt = jsonField(nativeLogin(clientId, email, password), "refresh_token");
    EXPECT_EQ(rt.rfind("rt_", 0), 0u) << "no refresh token for " << clientId;
    return rt;
  }

  // The mint as Auth0.Android sends it: JSON, audience urn:{domain}:session_transfer with the
  // port in the domain. The client's secret is added for a confidential client.
  HttpResponse mint(const std::string& rt, const std::string& clientId = "demo-native", const std::string& sourceIp = "") {
    std::string secret = secretOf(clientId);
    std::string body = "{\"client_id\":\"" + clientId + "\"," +
                       (secret.empty() ? std::string() : "\"client_secret\":\"" + secret + "\",") +
                       "\"grant_type\":\"refresh_token\",\"audience\":\"urn:" + hostPort() +
                       ":session_transfer\",\"refresh_token\":\"" + rt + "\"}";
    return token(body, "application/json", "", sourceIp);
  }
  // Mints and returns the STT (and the rotated refresh token in `*rotated`).
  std::string stt(const std::string& rt, const std::string& clientId = "demo-native", const std::string& sourceIp = "",
                  std::string* rotated = nullptr) {
    HttpResponse r = mint(rt, clientId, sourceIp);
    EXPECT_EQ(r.status, 200) << r.body;
    if (rotated != nullptr) *rotated = jsonField(r.body, "refresh_token");
    std::string t = jsonField(r.body, "access_token");
    EXPECT_EQ(t.rfind("stt_", 0), 0u) << r.body;
    return t;
  }

  // A grant_type=refresh_token request (no audience): the answer.
  HttpResponse refresh(const std::string& rt, const std::string& clientId) {
    Params kv = {{"grant_type", "refresh_token"}, {"client_id", clientId}, {"refresh_token", rt}};
    if (!secretOf(clientId).empty()) kv.push_back({"client_secret", secretOf(clientId)});
    return token(form(kv));
  }
  // POST /oauth/revoke of `tokenText` by `clientId`.
  HttpResponse revoke(const std::string& tokenText, const std::string& clientId) {
    Params kv = {{"client_id", clientId}, {"token", tokenText}};
    if (!secretOf(clientId).empty()) kv.push_back({"client_secret", secretOf(clientId)});
    Browser anon(port());
    HttpResponse r = anon.post("/oauth/revoke", form(kv));
    EXPECT_EQ(r.status, 200) << r.body;
    return r;
  }

  // The web app's authorization request (PKCE, state st-1, nonce n-1) plus `extra`.
  static std::string webQuery(const std::string& clientId = "demo-web", const Params& extra = {}) {
    Params kv = {{"client_id", clientId}, {"redirect_uri", kWebCallback}, {"response_type", "code"},
                 {"scope", kAllScopes}, {"state", "st-1"}, {"nonce", "n-1"},
                 {"code_challenge", kChallenge}, {"code_challenge_method", "S256"}};
    kv.insert(kv.end(), extra.begin(), extra.end());
    return form(kv);
  }
  // GET /authorize with the STT in the query.
  HttpResponse redeemQuery(Browser& b, const std::string& sttText, const std::string& clientId = "demo-web",
                           const Params& extra = {}) {
    return b.get("/authorize?" + webQuery(clientId, extra) + "&session_transfer_token=" + enc(sttText));
  }
  // GET /authorize with the STT in the cookie `name` (the browser forgets it when told to).
  HttpResponse redeemCookie(Browser& b, const std::string& sttText, const std::string& clientId = "demo-web",
                            const std::string& name = kSttCookie) {
    b.jar()[name] = sttText;
    return b.get("/authorize?" + webQuery(clientId));
  }

  // The code exchange of the web client: the answer.
  HttpResponse exchange(const std::string& code, const std::string& clientId = "demo-web") {
    return token(form({{"grant_type", "authorization_code"}, {"client_id", clientId}, {"client_secret", secretOf(clientId)},
                       {"code", code}, {"redirect_uri", kWebCallback}, {"code_verifier", kVerifier}}));
  }

  // A whole STT login of the web client in `b` (query transport): the code exchange's JSON.
  std::string sttLogin(Browser& b, const std::string& sttText, const std::string& clientId = "demo-web") {
    HttpResponse r = redeemQuery(b, sttText, clientId);
    std::string code = codeOf(r);
    EXPECT_FALSE(code.empty()) << r.raw;
    HttpResponse t = exchange(code, clientId);
    EXPECT_EQ(t.status, 200) << t.body;
    return t.body;
  }

  // A login through the hosted login page for the web client in `b`: the code exchange's JSON.
  std::string pageLogin(Browser& b, const std::string& clientId = "demo-web", const std::string& email = "demo@example.com",
                        const std::string& password = "demo-password") {
    std::string query = webQuery(clientId);
    HttpResponse page = b.get("/u/login?" + query);
    EXPECT_EQ(page.status, 200) << page.body;
    HttpResponse done = b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", hidden(page.body, "q")},
                                                 {"email", email}, {"password", password}}));
    EXPECT_EQ(done.status, 302) << done.body;
    HttpResponse r = b.get(done.header("location"));
    std::string code = codeOf(r);
    EXPECT_FALSE(code.empty()) << r.raw;
    HttpResponse t = exchange(code, clientId);
    EXPECT_EQ(t.status, 200) << t.body;
    return t.body;
  }

  // prompt=none for the web client with `b`'s cookies: the answer.
  HttpResponse promptNone(Browser& b, const std::string& clientId = "demo-web") {
    return b.get("/authorize?" + webQuery(clientId, {{"prompt", "none"}}));
  }
  // A browser holding only `session` as its session cookie.
  Browser withSession(const std::string& session) {
    Browser b(port());
    b.jar()["handoff_session"] = session;
    return b;
  }

  // The login page for exactly this request: its query, without the STT, maybe followed by
  // parameters of the server's own (a reference to the failure's event).
  static bool isLoginPageFor(const HttpResponse& r, const std::string& clientId = "demo-web", const Params& extra = {}) {
    std::string loc = r.header("location"), expected = "/u/login?" + webQuery(clientId, extra);
    return isLoginPage(r) && loc.rfind(expected, 0) == 0 && (loc.size() == expected.size() || loc[expected.size()] == '&') &&
           loc.find("session_transfer_token") == std::string::npos;
  }
  // The login page, reached without the STT in its URL.
  static void expectLoginPage(const HttpResponse& r, const std::string& sttText, const std::string& clientId = "demo-web",
                              const Params& extra = {}) {
    EXPECT_TRUE(isLoginPageFor(r, clientId, extra)) << "expected the login page for " << webQuery(clientId, extra) << "\n"
                                                   << r.raw;
    EXPECT_EQ(r.header("location").find(sttText), std::string::npos) << "the STT leaked into the login URL";
  }
  // prompt=none answered with login_required, state and iss at the callback.
  void expectLoginRequired(const HttpResponse& r) {
    ASSERT_EQ(r.status, 302) << r.raw;
    std::string loc = r.header("location");
    EXPECT_EQ(loc.rfind(kWebCallback + "?", 0), 0u) << loc;
    EXPECT_EQ(param(loc, "error"), "login_required") << loc;
    EXPECT_EQ(param(loc, "state"), "st-1") << loc;
    EXPECT_EQ(param(loc, "iss"), issuer()) << loc;
  }
  static void expectOAuthError(const HttpResponse& r, int status, const std::string& error) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(jsonField(r.body, "error"), error) << r.body;
    EXPECT_NE(r.body.find("\"error_description\":\""), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("stt_"), std::string::npos) << r.body;
  }

  std::unique_ptr<Server> server_;
};

}  // namespace handoff::it::n2w
