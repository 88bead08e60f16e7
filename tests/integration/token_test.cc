// POST /oauth/token against a real handoffd on the demo tenant: bodies (form and JSON), client
// authentication, and every grant's success and error answers (RFC 6749 §5.2 statuses and
// codes). The authorization-code grant end to end is in browser_test.cc, which drives /authorize.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "server_fixture.h"

namespace handoff::it {
namespace {

struct Answer {
  int status = 0;
  std::string body;
  std::string cacheControl;
  std::string wwwAuthenticate;
};

class Token : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Server();
    ASSERT_TRUE(server_->start()) << server_->failure();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  Answer post(const std::string& body, const std::string& contentType = "application/x-www-form-urlencoded",
              const std::string& extraHeaders = "") {
    Client c(server_->port());
    auto r = c.roundTrip("POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + contentType +
                         "\r\n" + extraHeaders + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_TRUE(r) << c.error();
    if (!r) return {};
    return {r->status, r->body, r->header("cache-control"), r->header("www-authenticate")};
  }

  static std::string field(const std::string& json, const std::string& name) {
    std::smatch m;
    std::regex re("\"" + name + "\":\"([^\"]*)\"");
    return std::regex_search(json, m, re) ? m[1].str() : "";
  }

  void expectError(const Answer& a, int status, const std::string& error) {
    EXPECT_EQ(a.status, status) << a.body;
    EXPECT_EQ(field(a.body, "error"), error) << a.body;
    EXPECT_NE(a.body.find("error_description"), std::string::npos) << a.body;
    EXPECT_EQ(a.cacheControl, "no-store");
  }

  Answer passwordLogin(const std::string& scope = "openid profile email offline_access") {
    return post("grant_type=password&client_id=demo-native&username=demo%40example.com&password=demo-password&scope=" +
                scope);
  }

  static Server* server_;
};
Server* Token::server_ = nullptr;

const char kBasicWeb[] = "Authorization: Basic ZGVtby13ZWI6ZGVtby13ZWItc2VjcmV0\r\n";  // demo-web:demo-web-secret

TEST_F(Token, PasswordGrantIssuesAccessIdAndRefreshTokens) {
  Answer a = passwordLogin();
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.cacheControl, "no-store");
  EXPECT_EQ(field(a.body, "access_token").rfind("at_", 0), 0u) << a.body;
  EXPECT_EQ(field(a.body, "refresh_token").rfind("rt_", 0), 0u) << a.body;
  std::string idToken = field(a.body, "id_token");
  EXPECT_EQ(std::count(idToken.begin(), idToken.end(), '.'), 2) << a.body;
  EXPECT_EQ(field(a.body, "token_type"), "Bearer");
  EXPECT_NE(a.body.find("\"expires_in\":86400"), std::string::npos) << a.body;
}

TEST_F(Token, JsonBodiesAsAuth0SdksSendThem) {
  Answer a = post(R"({"grant_type":"password","client_id":"demo-native","username":"demo@example.com",)"
                  R"("password":"demo-password","scope":"openid offline_access"})",
                  "application/json");
  ASSERT_EQ(a.status, 200) << a.body;
  std::string rt = field(a.body, "refresh_token");
  Answer r = post(R"({"grant_type":"refresh_token","client_id":"demo-native","refresh_token":")" + rt + "\"}",
                  "application/json; charset=utf-8");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(Token, RotationReturnsANewRefreshTokenAndReuseRevokesTheFamily) {
  std::string rt1 = field(passwordLogin().body, "refresh_token");
  Answer r1 = post("grant_type=refresh_token&client_id=demo-native&refresh_token=" + rt1);
  ASSERT_EQ(r1.status, 200) << r1.body;
  std::string rt2 = field(r1.body, "refresh_token");
  ASSERT_FALSE(rt2.empty()) << "demo-native rotates";
  EXPECT_NE(rt2, rt1);
  expectError(post("grant_type=refresh_token&client_id=demo-native&refresh_token=" + rt1), 403, "invalid_grant");
  expectError(post("grant_type=refresh_token&client_id=demo-native&refresh_token=" + rt2), 403, "invalid_grant");
}

TEST_F(Token, WrongPasswordAndUnknownUserGetTheSameAnswer) {
  Answer wrong = post("grant_type=password&client_id=demo-native&username=demo%40example.com&password=x");
  Answer unknown = post("grant_type=password&client_id=demo-native&username=nobody%40example.com&password=x");
  expectError(wrong, 403, "invalid_grant");
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(wrong.status, unknown.status);
}

TEST_F(Token, PasswordGrantOnlyForClientsThatListIt) {
  expectError(post("grant_type=password&username=demo%40example.com&password=demo-password", "application/x-www-form-urlencoded", kBasicWeb),
              403, "unauthorized_client");
}

TEST_F(Token, ClientCredentialsForTheManagementApi) {
  std::string aud = "http://127.0.0.1:" + std::to_string(server_->port()) + "/api/v2/";
  Answer a = post("grant_type=client_credentials&client_id=demo-m2m&client_secret=demo-m2m-secret&audience=" + aud);
  ASSERT_EQ(a.status, 200) << a.body;
  std::string jwt = field(a.body, "access_token");
  EXPECT_EQ(std::count(jwt.begin(), jwt.end(), '.'), 2) << a.body;
  expectError(post("grant_type=client_credentials&client_id=demo-m2m&client_secret=demo-m2m-secret&audience=https://other/"),
              403, "access_denied");
  expectError(post("grant_type=client_credentials&client_id=demo-m2m&client_secret=demo-m2m-secret"), 403, "access_denied");
}

TEST_F(Token, ClientAuthenticationErrors) {
  expectError(post("grant_type=client_credentials&client_id=demo-m2m&client_secret=wrong&audience=x"), 401, "invalid_client");
  expectError(post("grant_type=client_credentials&client_id=nobody&client_secret=x"), 401, "invalid_client");
  expectError(post("grant_type=client_credentials&client_id=demo-m2m"), 401, "invalid_client");
  Answer basicBad = post("grant_type=client_credentials", "application/x-www-form-urlencoded",
                         "Authorization: Basic bm90LWJhc2U2NA!!\r\n");
  expectError(basicBad, 401, "invalid_client");
  EXPECT_FALSE(basicBad.wwwAuthenticate.empty());
  expectError(post("grant_type=authorization_code&code=x&client_id=demo-native&client_secret=s"), 401, "invalid_client");
  expectError(post("grant_type=authorization_code&client_id=demo-web&client_secret=demo-web-secret", "application/x-www-form-urlencoded", kBasicWeb),
              400, "invalid_request");
}

TEST_F(Token, MalformedRequestsAreInvalidRequest) {
  expectError(post("client_id=demo-native"), 400, "invalid_request");                          // no grant_type
  expectError(post("grant_type=password&grant_type=password&client_id=demo-native"), 400, "invalid_request");
  expectError(post("grant_type=refresh_token&client_id=demo-native"), 400, "invalid_request");  // no token
  expectError(post("grant_type=%zz&client_id=demo-native"), 400, "invalid_request");
  expectError(post("{\"grant_type\":1,\"client_id\":\"demo-native\"}", "application/json"), 400, "invalid_request");
  expectError(post("{\"grant_type\":\"password\",\"grant_type\":\"password\"}", "application/json"), 400, "invalid_request");
  expectError(post("{not json", "application/json"), 400, "invalid_request");
  expectError(post("grant_type=password", "text/plain"), 400, "invalid_request");
}

TEST_F(Token, UnknownGrantTypeIsUnsupported) {
  expectError(post("grant_type=urn:example:magic&client_id=demo-native"), 400, "unsupported_grant_type");
  expectError(post("grant_type=implicit&client_id=demo-native"), 400, "unsupported_grant_type");
}

TEST_F(Token, TokensOfAnotherKindOrClientAreInvalidGrants) {
  Answer login = passwordLogin();
  std::string at = field(login.body, "access_token"), rt = field(login.body, "refresh_token");
  expectError(post("grant_type=refresh_token&client_id=demo-native&refresh_token=" + at), 403, "invalid_grant");
  expectError(post("grant_type=refresh_token&refresh_token=" + rt, "application/x-www-form-urlencoded", kBasicWeb), 403,
              "invalid_grant");
  expectError(post("grant_type=refresh_token&client_id=demo-native&refresh_token=rt_0_AAAAAAAAAAAAAAAAAAAAAA"), 403,
              "invalid_grant");
  expectError(post("grant_type=refresh_token&client_id=demo-native&refresh_token=rt_99_AAAAAAAAAAAAAAAAAAAAAA"), 403,
              "invalid_grant");
  // The other client's attempt did not disturb the family.
  EXPECT_EQ(post("grant_type=refresh_token&client_id=demo-native&refresh_token=" + rt).status, 200);
}

TEST_F(Token, GetIsMethodNotAllowed) {
  Client c(server_->port());
  auto r = c.roundTrip("GET /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("allow"), "POST, OPTIONS");
}

// CORS, for browser JavaScript that calls the token endpoint itself (auth0-spa-js): only an
// Origin a client lists in web_origins or allowed_origins gets Access-Control-Allow-Origin, on the
// preflight and on every answer (an error, a deferred one: the password grant answers later).
TEST(TokenCors, PreflightAndAnswersForListedOriginsOnly) {
  ServerOptions o;
  o.config =
      "[[clients]]\nclient_id = \"spa\"\napp_type = \"spa\"\ntoken_endpoint_auth_method = \"none\"\n"
      "grant_types = [\"authorization_code\", \"password\"]\ncallbacks = [\"http://127.0.0.1:3000/\"]\n"
      "web_origins = [\"http://127.0.0.1:3000\"]\nallowed_origins = [\"https://app.example.com\"]\n"
      "[[users]]\nuser_id = \"auth0|1\"\nemail = \"a@example.com\"\npassword = \"pw-pw-pw-pw\"\n";
  Server server(o);
  ASSERT_TRUE(server.start()) << server.failure();
  auto send = [&](const std::string& request) {
    Client c(server.port());
    auto r = c.roundTrip(request);
    EXPECT_TRUE(r) << c.error();
    return r ? *r : HttpResponse{};
  };
  auto preflight = [&](const std::string& origin) {
    return send("OPTIONS /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: " + origin +
                "\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: auth0-client,content-type\r\n\r\n");
  };
  for (const std::string origin : {"http://127.0.0.1:3000", "https://app.example.com"}) {
    HttpResponse r = preflight(origin);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("access-control-allow-origin"), origin);
    EXPECT_EQ(r.header("access-control-allow-methods"), "POST");
    EXPECT_NE(r.header("access-control-allow-headers").find("Auth0-Client"), std::string::npos);
    EXPECT_EQ(r.header("vary"), "Origin");
  }
  for (const std::string origin : {"http://127.0.0.1:3001", "https://evil.example", "null", "http://127.0.0.1:3000/"}) {
    HttpResponse r = preflight(origin);
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.hasHeader("access-control-allow-origin")) << origin;
  }
  auto post = [&](const std::string& origin, const std::string& body) {
    return send("POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (origin.empty() ? "" : "Origin: " + origin + "\r\n") +
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body);
  };
  const std::string bad = "grant_type=authorization_code&client_id=spa&code=cd_0_AAAAAAAAAAAAAAAAAAAAAA";
  const std::string login = "grant_type=password&client_id=spa&username=a%40example.com&password=pw-pw-pw-pw&scope=openid";
  HttpResponse err = post("http://127.0.0.1:3000", bad);
  EXPECT_EQ(err.status, 403);
  EXPECT_EQ(err.header("access-control-allow-origin"), "http://127.0.0.1:3000");
  HttpResponse deferred = post("https://app.example.com", login);
  EXPECT_EQ(deferred.status, 200) << deferred.body;
  EXPECT_EQ(deferred.header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_FALSE(post("https://evil.example", login).hasHeader("access-control-allow-origin"));
  EXPECT_FALSE(post("", login).hasHeader("access-control-allow-origin"));
  // The next answer on the same connection after a deferred one carries no stale CORS header.
  Client c(server.port());
  std::string a = "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example.com\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(login.size()) +
                  "\r\n\r\n" + login;
  std::string b = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  auto first = c.roundTrip(a);
  ASSERT_TRUE(first) << c.error();
  EXPECT_EQ(first->header("access-control-allow-origin"), "https://app.example.com");
  auto second = c.roundTrip(b);
  ASSERT_TRUE(second) << c.error();
  EXPECT_EQ(second->status, 200);
  EXPECT_FALSE(second->hasHeader("access-control-allow-origin"));
}

TEST_F(Token, OptionsWithoutAListedOriginGetsNoCorsHeaders) {
  Client c(server_->port());
  auto r = c.roundTrip("OPTIONS /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1:3000\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->hasHeader("access-control-allow-origin"));  // the demo tenant lists no origin
}

}  // namespace
}  // namespace handoff::it
