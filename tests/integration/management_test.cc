// The management API (/api/v2: clients, users, a user's sessions and refresh
// tokens) against a real handoffd with two or more shards: Auth0's shapes and
// errors, scope enforcement, changes that apply on every shard before the
// answer (fresh connections spread over the shards by SO_REUSEPORT all see
// them), the cascades of SPEC.md §5 when a refresh token is deleted, a blocked
// or deleted user losing what they hold, and durability across SIGKILL.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

namespace fs = std::filesystem;

const std::string kEveryScope =
    "read:clients create:clients update:clients delete:clients "
    "read:client_keys read:users create:users "
    "update:users delete:users read:sessions delete:sessions "
    "read:refresh_tokens delete:refresh_tokens read:logs";

class Management : public N2wTest {
 protected:
  // A client_credentials token of demo-m2m for the management API.
  std::string mgmtToken(const std::string& scope = kEveryScope) {
    HttpResponse r = token(form({{"grant_type", "client_credentials"},
                                 {"client_id", "demo-m2m"},
                                 {"client_secret", "demo-m2m-secret"},
                                 {"audience", issuer() + "api/v2/"},
                                 {"scope", scope}}));
    EXPECT_EQ(r.status, 200) << r.body;
    return jsonField(r.body, "access_token");
  }
  // One management request on a fresh connection; `bearer` empty: no
  // Authorization header.
  HttpResponse api(const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& bearer = "", const std::string& contentType = "application/json") {
    std::string tokenText = bearer.empty() ? (admin_.empty() ? admin_ = mgmtToken() : admin_) : bearer;
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + hostPort() + "\r\n";
    if (tokenText != "-") req += "Authorization: Bearer " + tokenText + "\r\n";
    if (!body.empty())
      req += "Content-Type: " + contentType + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    Client c(port());
    auto r = c.roundTrip(req + "\r\n" + body, Millis(15000));
    EXPECT_TRUE(r) << c.error();
    return r ? *r : HttpResponse{};
  }
  static void expectApiError(const HttpResponse& r, int status, const std::string& errorCode = "") {
    EXPECT_EQ(r.status, status) << r.raw;
    EXPECT_EQ(jsonField(r.body, "statusCode"), std::to_string(status)) << r.body;
    EXPECT_FALSE(jsonField(r.body, "message").empty()) << r.body;
    if (!errorCode.empty()) {
      EXPECT_EQ(jsonField(r.body, "errorCode"), errorCode) << r.body;
    }
  }
  // A client_credentials grant of `clientId` with `secret` on a fresh
  // connection: the status.
  int clientCredentials(const std::string& clientId, const std::string& secret) {
    return token(form({{"grant_type", "client_credentials"},
                       {"client_id", clientId},
                       {"client_secret", secret},
                       {"audience", issuer() + "api/v2/"},
                       {"scope", "read:users"}}))
        .status;
  }
  // A password grant (demo-native): the status.
  int passwordLogin(const std::string& email, const std::string& password,
                    const std::string& clientId = "demo-native") {
    return token(form({{"grant_type", "password"},
                       {"client_id", clientId},
                       {"username", email},
                       {"password", password},
                       {"scope", kAllScopes}}))
        .status;
  }
  std::string admin_;
};

TEST_F(Management, RefusesMissingBadAndUnderScopedTokens) {
  start();
  expectApiError(api("GET", "/api/v2/clients", "", "-"), 401);
  expectApiError(api("GET", "/api/v2/clients", "", "not-a-jwt"), 401);
  std::string readOnly = mgmtToken("read:clients read:users");
  EXPECT_EQ(api("GET", "/api/v2/clients", "", readOnly).status, 200);
  expectApiError(api("POST", "/api/v2/clients", "{\"name\":\"x\"}", readOnly), 403, "insufficient_scope");
  expectApiError(api("PATCH", "/api/v2/clients/demo-web", "{\"name\":\"x\"}", readOnly), 403, "insufficient_scope");
  expectApiError(api("DELETE", "/api/v2/clients/demo-web", "", readOnly), 403, "insufficient_scope");
  expectApiError(api("POST", "/api/v2/clients/demo-web/rotate-secret", "", readOnly), 403, "insufficient_scope");
  expectApiError(api("POST", "/api/v2/users", "{}", readOnly), 403, "insufficient_scope");
  expectApiError(api("DELETE", "/api/v2/users/auth0%7Cdemo", "", readOnly), 403, "insufficient_scope");
  expectApiError(api("GET", "/api/v2/users/auth0%7Cdemo/sessions", "", readOnly), 403, "insufficient_scope");
  expectApiError(api("DELETE", "/api/v2/users/auth0%7Cdemo/refresh-tokens", "", readOnly), 403, "insufficient_scope");
  // The demo client is unchanged by the refused attempts.
  HttpResponse web = api("GET", "/api/v2/clients/demo-web", "", readOnly);
  EXPECT_EQ(jsonField(web.body, "name"), "Demo Web App") << web.body;
  EXPECT_EQ(web.body.find("\"client_secret\":"), std::string::npos)
      << "a secret without read:client_keys: " << web.body;
}

TEST_F(Management, ClientLifecycleAppliesOnEveryShard) {
  start("", 3);
  const std::string body = "{\"name\":\"API App\",\"app_type\":\"regular_web\",\"callbacks\":[\"" + kWebCallback +
                           "\"],\"grant_types\":[\"authorization_code\",\"refresh_token\",\"client_"
                           "credentials\"],"
                           "\"session_transfer\":{\"allowed_authentication_methods\":[\"query\"],"
                           "\"x_future\":{\"a\":[1,true,null]}}}";
  HttpResponse created = api("POST", "/api/v2/clients", body);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = jsonField(created.body, "client_id"), secret = jsonField(created.body, "client_secret");
  EXPECT_TRUE(std::regex_match(id, std::regex("[A-Za-z0-9]{32}"))) << id;
  EXPECT_EQ(secret.size(), 64u) << created.body;
  EXPECT_NE(created.body.find("\"x_future\":{\"a\":[1,true,null]}"), std::string::npos) << created.body;
  EXPECT_NE(created.body.find("\"enforce_cascade_revocation\":true"), std::string::npos) << created.body;
  // At once on every shard: fresh connections land on all three.
  for (int i = 0; i < 12; ++i) EXPECT_EQ(clientCredentials(id, secret), 200) << "connection " << i;

  HttpResponse got = api("GET", "/api/v2/clients/" + id);
  EXPECT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(jsonField(got.body, "client_secret"), secret);  // read:client_keys
  HttpResponse list = api("GET", "/api/v2/clients?include_totals=true&per_page=2&page=0");
  EXPECT_EQ(jsonField(list.body, "total"), "5") << list.body;
  EXPECT_EQ(jsonObjects(list.body.substr(list.body.find('['))).size(), 2u) << list.body;
  HttpResponse all = api("GET", "/api/v2/clients");
  EXPECT_NE(all.body.find(id), std::string::npos) << all.body;

  // PATCH merges session_transfer, keeps unknown keys, and answers the whole
  // client.
  HttpResponse patched = api("PATCH", "/api/v2/clients/" + id,
                             "{\"name\":\"Renamed\",\"session_transfer\":{"
                             "\"enforce_device_binding\":\"none\",\"y\":2}}");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(jsonField(patched.body, "name"), "Renamed");
  EXPECT_EQ(jsonField(patched.body, "enforce_device_binding"), "none");
  EXPECT_NE(patched.body.find("\"x_future\":{\"a\":[1,true,null]}"), std::string::npos) << patched.body;
  EXPECT_NE(patched.body.find("\"y\":2"), std::string::npos) << patched.body;
  EXPECT_NE(patched.body.find("\"allowed_authentication_methods\":[\"query\"]"), std::string::npos) << patched.body;

  // CORS at the token endpoint follows the snapshot: a web origin added by PATCH is allowed at once.
  auto preflight = [&] {
    Client pc(port());
    auto r = pc.roundTrip("OPTIONS /oauth/token HTTP/1.1\r\nHost: " + hostPort() +
                          "\r\nOrigin: https://spa.example.com\r\nAccess-Control-Request-Method: POST\r\n\r\n");
    return r ? r->header("access-control-allow-origin") : std::string("no answer");
  };
  EXPECT_EQ(preflight(), "");
  ASSERT_EQ(api("PATCH", "/api/v2/clients/" + id, "{\"web_origins\":[\"https://spa.example.com\"]}").status, 200);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(preflight(), "https://spa.example.com");
  expectApiError(api("PATCH", "/api/v2/clients/" + id, "{\"web_origins\":[\"https://spa.example.com/path\"]}"), 400,
                 "invalid_body");

  // Bad bodies: 400 with Auth0's invalid_body, and nothing changes.
  expectApiError(api("PATCH", "/api/v2/clients/" + id, "{\"nmae\":\"typo\"}"), 400, "invalid_body");
  expectApiError(api("PATCH", "/api/v2/clients/" + id, "{\"app_type\":\"tv\"}"), 400, "invalid_body");
  expectApiError(api("PATCH", "/api/v2/clients/" + id, "{\"callbacks\":[\"javascript:alert(1)\"]}"), 400,
                 "invalid_body");
  expectApiError(api("PATCH", "/api/v2/clients/" + id, "{\"session_transfer\":{\"enforce_device_binding\":\"mac\"}}"),
                 400, "invalid_body");
  expectApiError(api("PATCH", "/api/v2/clients/" + id, "{\"client_id\":\"other\"}"), 400, "invalid_body");
  expectApiError(api("PATCH", "/api/v2/clients/" + id, "{\"name\":"), 400, "invalid_body");
  expectApiError(api("PATCH", "/api/v2/clients/" + id, "name=x", "", "application/x-www-form-urlencoded"), 400,
                 "invalid_body");
  expectApiError(api("POST", "/api/v2/clients", "{\"app_type\":\"spa\"}"), 400,
                 "invalid_body");  // no name
  EXPECT_EQ(jsonField(api("GET", "/api/v2/clients/" + id).body, "name"), "Renamed");
  expectApiError(api("GET", "/api/v2/clients/no-such-client"), 404, "inexistent_client");
  expectApiError(api("PATCH", "/api/v2/clients/no-such-client", "{\"name\":\"x\"}"), 404, "inexistent_client");
  expectApiError(api("POST", "/api/v2/clients", "{\"name\":\"dup\",\"client_id\":\"demo-web\"}"), 409);

  // Rotation: the old secret stops working everywhere, the new one works
  // everywhere.
  HttpResponse rotated = api("POST", "/api/v2/clients/" + id + "/rotate-secret");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  std::string newSecret = jsonField(rotated.body, "client_secret");
  EXPECT_NE(newSecret, secret);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(clientCredentials(id, secret), 401);
    EXPECT_EQ(clientCredentials(id, newSecret), 200);
  }

  HttpResponse del = api("DELETE", "/api/v2/clients/" + id);
  EXPECT_EQ(del.status, 204) << del.body;
  for (int i = 0; i < 6; ++i) EXPECT_EQ(clientCredentials(id, newSecret), 401);
  expectApiError(api("GET", "/api/v2/clients/" + id), 404, "inexistent_client");
  expectApiError(api("DELETE", "/api/v2/clients/" + id), 404, "inexistent_client");

  // Each success is a `sapi` event in the tenant log.
  HttpResponse logs = api("GET", "/api/v2/logs?q=type:sapi&per_page=100");
  EXPECT_EQ(jsonObjects(logs.body).size(), 5u) << logs.body;  // create, update ×2, rotate, delete
  EXPECT_EQ(logs.body.find(newSecret), std::string::npos);
}

TEST_F(Management, UserLifecycleLoginBlockAndDelete) {
  start("", 2);
  std::string body =
      "{\"connection\":\"Username-Password-Authentication\","
      "\"email\":\"carol@example.com\","
      "\"password\":\"carol-password-1\",\"name\":\"Carol\","
      "\"email_verified\":true}";
  HttpResponse created = api("POST", "/api/v2/users", body);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = jsonField(created.body, "user_id");
  EXPECT_TRUE(std::regex_match(id, std::regex("auth0\\|[0-9a-f]{24}"))) << id;
  EXPECT_EQ(jsonField(created.body, "email_verified"), "true");
  EXPECT_EQ(jsonField(created.body, "blocked"), "false");
  EXPECT_NE(created.body.find("\"identities\":[{\"connection\":\"Username-Password-"
                              "Authentication\",\"provider\":\"auth0\""),
            std::string::npos)
      << created.body;
  EXPECT_FALSE(jsonField(created.body, "created_at").empty()) << created.body;
  EXPECT_EQ(created.body.find("password"), std::string::npos) << created.body;
  std::string path = "/api/v2/users/" + enc(id);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(passwordLogin("carol@example.com", "carol-password-1"), 200);
  EXPECT_EQ(jsonField(api("GET", path).body, "name"), "Carol");

  expectApiError(api("POST", "/api/v2/users", body), 409);  // the email is taken
  expectApiError(api("POST", "/api/v2/users",
                     "{\"connection\":\"Username-Password-Authentication\","
                     "\"email\":\"DEMO@example.com\","
                     "\"password\":\"x1234567\"}"),
                 409);
  expectApiError(api("POST", "/api/v2/users", "{\"email\":\"d@example.com\",\"password\":\"p\"}"), 400, "invalid_body");
  expectApiError(api("POST", "/api/v2/users",
                     "{\"connection\":\"google-oauth2\",\"email\":\"d@example."
                     "com\",\"password\":\"p\"}"),
                 400, "invalid_body");
  expectApiError(api("POST", "/api/v2/users",
                     "{\"connection\":\"Username-Password-Authentication\","
                     "\"email\":\"d@example.com\","
                     "\"password\":\"p\",\"favourite\":1}"),
                 400, "invalid_body");
  expectApiError(api("PATCH", path, "{\"email_verified\":\"yes\"}"), 400, "invalid_body");
  expectApiError(api("PATCH", path, "{\"email\":\"demo@example.com\"}"), 409);
  expectApiError(api("GET", "/api/v2/users/auth0%7Cnobody"), 404, "inexistent_user");

  // A password change: the old one stops working, the new one works.
  HttpResponse changed = api("PATCH", path, "{\"password\":\"carol-password-2\"}");
  EXPECT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(passwordLogin("carol@example.com", "carol-password-1"), 403);
  EXPECT_EQ(passwordLogin("carol@example.com", "carol-password-2"), 200);

  // Blocking ends what the user holds and stops new logins; unblocking lets
  // them in again.
  std::string rt = jsonField(nativeLogin("demo-native", "carol@example.com", "carol-password-2"), "refresh_token");
  ASSERT_FALSE(rt.empty());
  HttpResponse blocked = api("PATCH", path, "{\"blocked\":true}");
  EXPECT_EQ(jsonField(blocked.body, "blocked"), "true") << blocked.body;
  EXPECT_NE(passwordLogin("carol@example.com", "carol-password-2"), 200);
  EXPECT_EQ(refresh(rt, "demo-native").status, 403);
  EXPECT_EQ(api("GET", path + "/refresh-tokens").body, "{\"tokens\":[]}");
  api("PATCH", path, "{\"blocked\":false}");
  std::string rt2 = jsonField(nativeLogin("demo-native", "carol@example.com", "carol-password-2"), "refresh_token");
  ASSERT_FALSE(rt2.empty());

  // Deleting ends the refresh tokens too, and the user is gone.
  EXPECT_EQ(api("DELETE", path).status, 204);
  EXPECT_EQ(refresh(rt2, "demo-native").status, 403);
  EXPECT_NE(passwordLogin("carol@example.com", "carol-password-2"), 200);
  expectApiError(api("GET", path), 404, "inexistent_user");
  expectApiError(api("DELETE", path), 404, "inexistent_user");
}

TEST_F(Management, DeletingANativeRefreshTokenCascadesToItsWebSessions) {
  start("", 2);
  std::string nativeRtText = nativeRt();
  Browser b(port());
  std::string webTokens = sttLogin(b, stt(nativeRtText));
  std::string webRt = jsonField(webTokens, "refresh_token");
  ASSERT_FALSE(webRt.empty()) << webTokens;

  HttpResponse tokens = api("GET", "/api/v2/users/auth0%7Cdemo/refresh-tokens");
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  std::vector<std::string> listed = jsonObjects(tokens.body.substr(tokens.body.find('[')));
  ASSERT_EQ(listed.size(), 2u) << tokens.body;
  EXPECT_EQ(tokens.body.find(nativeRtText), std::string::npos) << "a token leaked";
  EXPECT_EQ(tokens.body.find(webRt), std::string::npos) << "a token leaked";
  std::string nativeId;
  for (const std::string& t : listed) {
    if (jsonField(t, "client_id") == "demo-native") nativeId = jsonField(t, "id");
  }
  ASSERT_FALSE(nativeId.empty()) << tokens.body;
  HttpResponse one = api("GET", "/api/v2/refresh-tokens/" + enc(nativeId));
  EXPECT_EQ(one.status, 200) << one.body;
  HttpResponse sessions = api("GET", "/api/v2/users/auth0%7Cdemo/sessions");
  ASSERT_EQ(jsonObjects(sessions.body.substr(sessions.body.find('['))).size(), 1u) << sessions.body;
  EXPECT_EQ(jsonField(sessions.body, "born_from_session_transfer_token"), "true") << sessions.body;

  // SPEC.md §5: the parent goes, and with it the STT-born session and its
  // refresh token.
  EXPECT_EQ(api("DELETE", "/api/v2/refresh-tokens/" + enc(nativeId)).status, 202);
  EXPECT_EQ(refresh(nativeRtText, "demo-native").status, 403);
  EXPECT_EQ(refresh(webRt, "demo-web").status, 403);
  expectLoginRequired(promptNone(b));
  EXPECT_EQ(api("GET", "/api/v2/users/auth0%7Cdemo/sessions").body, "{\"sessions\":[]}");
  expectApiError(api("DELETE", "/api/v2/refresh-tokens/" + enc(nativeId)), 404);
  expectApiError(api("GET", "/api/v2/refresh-tokens/garbage"), 404);

  // One session by id, then every refresh token of the user.
  Browser b2(port());
  pageLogin(b2);
  std::string rt3 = nativeRt();
  sessions = api("GET", "/api/v2/users/auth0%7Cdemo/sessions");
  std::string sessionId = jsonField(sessions.body, "id");
  ASSERT_FALSE(sessionId.empty()) << sessions.body;
  EXPECT_EQ(api("GET", "/api/v2/sessions/" + enc(sessionId)).status, 200);
  EXPECT_EQ(api("DELETE", "/api/v2/sessions/" + enc(sessionId)).status, 202);
  expectLoginRequired(promptNone(b2));
  expectApiError(api("GET", "/api/v2/sessions/" + enc(sessionId)), 404);
  EXPECT_EQ(api("DELETE", "/api/v2/users/auth0%7Cdemo/refresh-tokens").status, 202);
  EXPECT_EQ(refresh(rt3, "demo-native").status, 403);
  EXPECT_EQ(api("DELETE", "/api/v2/users/auth0%7Cdemo/sessions").status, 202);
}

TEST_F(Management, ConcurrentChangesFromEveryShardAreSerialised) {
  start("", 3);
  admin_ = mgmtToken();
  // Eight creations of one email at once, over connections spread across the
  // shards: one wins.
  std::vector<int> statuses(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = api("POST", "/api/v2/users",
                        "{\"connection\":\"Username-Password-Authentication\","
                        "\"email\":\"race@example.com\","
                        "\"password\":\"race-password-" +
                            std::to_string(i) + "\"}")
                        .status;
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), 7);
  // Eight different clients at once: all land, none lost.
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = api("POST", "/api/v2/clients", "{\"name\":\"c" + std::to_string(i) + "\"}").status; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 8);
  EXPECT_EQ(jsonField(api("GET", "/api/v2/clients?include_totals=true").body, "total"), "12");
}

class ManagementDurability : public Management {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "handoff-mgmt-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void boot(unsigned threads) {
    server_ = std::make_unique<Server>(ServerOptions{.threads = threads, .dataDir = dir_ + "/data"});
    ASSERT_TRUE(server_->start(Millis(20000))) << server_->failure();
    admin_.clear();
  }
  std::string dir_;
};

TEST_F(ManagementDurability, ChangesSurviveSigkillAndWork) {
  boot(2);
  HttpResponse c = api("POST", "/api/v2/clients",
                       "{\"name\":\"Durable "
                       "Native\",\"client_id\":\"durable-native\",\"app_type\":\"native\","
                       "\"grant_types\":[\"refresh_token\",\"password\"],"
                       "\"callbacks\":[\"com.example.durable://"
                       "cb\"],\"refresh_token\":{\"rotation_type\":\"rotating\",\"leeway\":0},"
                       "\"session_transfer\":{\"can_create_session_transfer_token\":true,"
                       "\"kept\":\"yes\"}}");
  ASSERT_EQ(c.status, 201) << c.body;
  std::string nativeId = jsonField(c.body, "client_id");
  EXPECT_EQ(nativeId,
            "durable-native");  // our extension: a client_id of the caller's choice
  EXPECT_EQ(jsonField(c.body, "token_endpoint_auth_method"), "none");
  EXPECT_EQ(c.body.find("\"client_secret\":"), std::string::npos) << "a public client got a secret: " << c.body;
  HttpResponse u = api("POST", "/api/v2/users",
                       "{\"connection\":\"Username-Password-Authentication\",\"email\":"
                       "\"dave@example.com\",\"password\":\"dave-pw-1\"}");
  ASSERT_EQ(u.status, 201) << u.body;
  std::string userId = jsonField(u.body, "user_id");
  ASSERT_EQ(api("DELETE", "/api/v2/clients/demo-web-asn").status, 204);
  ASSERT_EQ(api("PATCH", "/api/v2/users/auth0%7Cdemo", "{\"name\":\"Renamed Demo\"}").status, 200);
  ASSERT_EQ(server_->stop(SIGKILL, Millis(10000)), 128 + SIGKILL);

  boot(3);  // another shard count too
  HttpResponse got = api("GET", "/api/v2/clients/" + nativeId);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_NE(got.body.find("\"kept\":\"yes\""), std::string::npos) << got.body;
  EXPECT_EQ(jsonField(got.body, "can_create_session_transfer_token"), "true") << got.body;
  expectApiError(api("GET", "/api/v2/clients/demo-web-asn"), 404, "inexistent_client");
  EXPECT_EQ(jsonField(api("GET", "/api/v2/users/auth0%7Cdemo").body, "name"), "Renamed Demo");
  EXPECT_EQ(jsonField(api("GET", "/api/v2/users/" + enc(userId)).body, "email"), "dave@example.com");
  // The new user logs in with the new client, which mints an STT that demo-web
  // redeems.
  std::string rt = nativeRt(nativeId, "dave@example.com", "dave-pw-1");
  ASSERT_FALSE(rt.empty());
  Browser b(port());
  std::string web = sttLogin(b, stt(rt, nativeId));
  EXPECT_FALSE(jsonField(web, "id_token").empty()) << web;
}

// A journal that cannot be written (RLIMIT_FSIZE lowered from outside, as prlimit --pid does):
// the change answers 503, changes nothing on any shard, leaves nothing half-written, and the
// next change after the limit is raised works.
TEST_F(ManagementDurability, AJournalThatCannotBeWrittenAnswers503AndChangesNothing) {
  boot(2);
  admin_ = mgmtToken();
  ASSERT_EQ(api("POST", "/api/v2/clients", "{\"name\":\"first\"}").status, 201);
  std::string journal = dir_ + "/data/tenant.journal";
  uintmax_t size = fs::file_size(journal);
  rlimit old{};
  ASSERT_EQ(::prlimit(server_->pid(), RLIMIT_FSIZE, nullptr, &old), 0);
  rlimit low{size + 10, old.rlim_max};
  ASSERT_EQ(::prlimit(server_->pid(), RLIMIT_FSIZE, &low, nullptr), 0);

  expectApiError(api("POST", "/api/v2/clients", "{\"name\":\"second\",\"client_id\":\"never-written\"}"), 503,
                 "temporarily_unavailable");
  EXPECT_EQ(fs::file_size(journal), size) << "a partial record stayed";
  for (int i = 0; i < 4; ++i) expectApiError(api("GET", "/api/v2/clients/never-written"), 404);
  EXPECT_TRUE(server_->running());

  rlimit high{RLIM_INFINITY, old.rlim_max};
  ASSERT_EQ(::prlimit(server_->pid(), RLIMIT_FSIZE, &high, nullptr), 0);
  ASSERT_EQ(api("POST", "/api/v2/clients", "{\"name\":\"third\",\"client_id\":\"written\"}").status, 201);
  ASSERT_EQ(server_->stop(SIGKILL, Millis(10000)), 128 + SIGKILL);
  boot(2);
  EXPECT_EQ(api("GET", "/api/v2/clients/written").status, 200);
  expectApiError(api("GET", "/api/v2/clients/never-written"), 404);
  EXPECT_EQ(jsonField(api("GET", "/api/v2/clients?include_totals=true").body, "total"), "6");
}

}  // namespace
}  // namespace handoff::it::n2w
