// SPEC.md §2, one test per row: minting a session transfer token at POST /oauth/token with the
// exact bodies Auth0.swift and Auth0.Android send, the form body and the RFC 8693 form; the
// response shape; every error row, and that a refused mint leaves the native refresh token
// usable (the native clients rotate, so a token used up by a refused mint would read as reuse).
#include <gtest/gtest.h>

#include <string>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

class Mint : public N2wTest {
 protected:
  // A successful mint answer, exactly: members, types, no-store; `rotation`: refresh_token is
  // there (and differs from `rt`); `openid`: id_token is there, for `clientId`'s user `sub`.
  void expectMinted(const HttpResponse& r, const std::string& rt, bool rotation, bool openid,
                    const std::string& clientId = "demo-native", const std::string& sub = "auth0|demo") {
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("cache-control"), "no-store");
    EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0u) << r.raw;
    std::set<std::string> keys{"access_token", "issued_token_type", "token_type", "expires_in"};
    if (openid) keys.insert("id_token");
    if (rotation) keys.insert("refresh_token");
    EXPECT_EQ(jsonKeys(r.body), keys) << r.body;
    EXPECT_EQ(jsonField(r.body, "access_token").rfind("stt_", 0), 0u) << r.body;
    EXPECT_EQ(jsonField(r.body, "issued_token_type"), kSttType);
    EXPECT_EQ(jsonField(r.body, "token_type"), "N_A");
    EXPECT_TRUE(std::regex_search(r.body, std::regex("\"expires_in\":60[,}]"))) << "an integer: " << r.body;
    if (rotation) {
      EXPECT_EQ(jsonField(r.body, "refresh_token").rfind("rt_", 0), 0u) << r.body;
      EXPECT_NE(jsonField(r.body, "refresh_token"), rt);
    }
    if (openid) {
      std::string claims = jwtClaims(jsonField(r.body, "id_token"));
      EXPECT_EQ(jsonField(claims, "sub"), sub) << claims;
      EXPECT_EQ(jsonField(claims, "aud"), clientId) << claims;
      EXPECT_EQ(jsonField(claims, "iss"), issuer()) << claims;
    }
  }

  // The refresh token still works after a refused mint (a plain refresh grant).
  void expectStillUsable(const std::string& rt, const std::string& clientId = "demo-native") {
    HttpResponse r = refresh(rt, clientId);
    EXPECT_EQ(r.status, 200) << "a refused mint consumed or rotated the refresh token: " << r.body;
  }
};

TEST_F(Mint, Auth0SwiftJsonBodyWithTheHostWithoutPort) {
  start();
  std::string rt = nativeRt();
  // Auth0.swift: JSONEncoder order, audience from the URL's host (no port).
  HttpResponse r = token("{\"client_id\":\"demo-native\",\"refresh_token\":\"" + rt +
                             "\",\"grant_type\":\"refresh_token\",\"audience\":\"urn:127.0.0.1:session_transfer\"}",
                         "application/json");
  expectMinted(r, rt, /*rotation=*/true, /*openid=*/true);
  Browser b(port());
  EXPECT_FALSE(codeOf(redeemQuery(b, jsonField(r.body, "access_token"))).empty());
}

TEST_F(Mint, Auth0AndroidJsonBodyWithTheDomainAndPort) {
  start();
  std::string rt = nativeRt();
  HttpResponse r = token("{\"client_id\":\"demo-native\",\"grant_type\":\"refresh_token\",\"audience\":\"urn:" +
                             hostPort() + ":session_transfer\",\"refresh_token\":\"" + rt + "\"}",
                         "application/json");
  expectMinted(r, rt, true, true);
  Browser b(port());
  EXPECT_FALSE(codeOf(redeemQuery(b, jsonField(r.body, "access_token"))).empty());
}

TEST_F(Mint, FormBody) {
  start();
  std::string rt = nativeRt();
  HttpResponse r = token(form({{"grant_type", "refresh_token"}, {"client_id", "demo-native"}, {"refresh_token", rt},
                               {"audience", "urn:" + hostPort() + ":session_transfer"}}));
  expectMinted(r, rt, true, true);
}

TEST_F(Mint, WithoutRotationNoRefreshTokenAndWithoutOpenidNoIdToken) {
  start(tenantConfig(nativeClient("native") +
                     "[[clients]]\nclient_id = \"native-fixed\"\napp_type = \"native\"\n"
                     "token_endpoint_auth_method = \"none\"\ngrant_types = [\"refresh_token\", \"password\"]\n"
                     "[clients.session_transfer]\ncan_create_session_transfer_token = true\n\n"));
  std::string rt = nativeRt("native-fixed", "alice@example.com", "alice-password");
  expectMinted(mint(rt, "native-fixed"), rt, /*rotation=*/false, /*openid=*/true, "native-fixed", "auth0|alice");
  // A grant without openid: no ID token (and rotation on: a refresh token).
  std::string plain = jsonField(nativeLogin("native", "alice@example.com", "alice-password", "offline_access"),
                                "refresh_token");
  ASSERT_FALSE(plain.empty());
  expectMinted(mint(plain, "native"), plain, /*rotation=*/true, /*openid=*/false);
}

TEST_F(Mint, Rfc8693TokenExchangeForm) {
  start();
  std::string rt = nativeRt();
  HttpResponse r = token(form({{"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"},
                               {"client_id", "demo-native"}, {"subject_token", rt},
                               {"subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"},
                               {"requested_token_type", kSttType}}));
  expectMinted(r, rt, true, true);
  Browser b(port());
  EXPECT_FALSE(codeOf(redeemQuery(b, jsonField(r.body, "access_token"))).empty());
  // The same in JSON, with the audience spelled out.
  std::string next = jsonField(r.body, "refresh_token");
  HttpResponse j = token("{\"grant_type\":\"urn:ietf:params:oauth:grant-type:token-exchange\",\"client_id\":\"demo-native\","
                         "\"subject_token\":\"" + next + "\",\"subject_token_type\":\"urn:ietf:params:oauth:token-type:"
                         "refresh_token\",\"requested_token_type\":\"" + kSttType + "\",\"audience\":\"urn:" + hostPort() +
                         ":session_transfer\"}", "application/json");
  expectMinted(j, next, true, true);
}

TEST_F(Mint, MalformedBodyIsInvalidRequest) {
  start();
  std::string rt = nativeRt();
  std::string aud = "urn:" + hostPort() + ":session_transfer";
  expectOAuthError(token("{\"client_id\":\"demo-native\",\"grant_type\":\"refresh_token\",\"refresh_token\":\"" + rt,
                         "application/json"), 400, "invalid_request");
  expectOAuthError(token("[\"refresh_token\"]", "application/json"), 400, "invalid_request");
  expectOAuthError(token("{\"client_id\":\"demo-native\",\"grant_type\":\"refresh_token\",\"refresh_token\":\"" + rt +
                         "\",\"audience\":[\"" + aud + "\"]}", "application/json"), 400, "invalid_request");
  expectOAuthError(token("grant_type=refresh_token&client_id=demo-native&audience=" + enc(aud) + "&refresh_token=" +
                         rt + "%zz"), 400, "invalid_request");
  expectStillUsable(rt);
}

TEST_F(Mint, MissingRefreshTokenIsInvalidRequest) {
  start();
  std::string rt = nativeRt();
  std::string aud = "urn:" + hostPort() + ":session_transfer";
  expectOAuthError(token("{\"client_id\":\"demo-native\",\"grant_type\":\"refresh_token\",\"audience\":\"" + aud + "\"}",
                         "application/json"), 400, "invalid_request");
  expectOAuthError(token(form({{"grant_type", "refresh_token"}, {"client_id", "demo-native"}, {"audience", aud},
                               {"refresh_token", ""}})), 400, "invalid_request");
  // RFC 8693 form without its subject token.
  expectOAuthError(token(form({{"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"},
                               {"client_id", "demo-native"},
                               {"subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"},
                               {"requested_token_type", kSttType}})), 400, "invalid_request");
  expectStillUsable(rt);
}

TEST_F(Mint, DuplicatedParameterIsInvalidRequest) {
  start();
  std::string rt = nativeRt();
  std::string aud = "urn:" + hostPort() + ":session_transfer";
  std::string base = form({{"grant_type", "refresh_token"}, {"client_id", "demo-native"}, {"audience", aud},
                           {"refresh_token", rt}});
  expectOAuthError(token(base + "&refresh_token=" + rt), 400, "invalid_request");
  expectOAuthError(token(base + "&audience=" + enc(aud)), 400, "invalid_request");
  expectOAuthError(token("{\"client_id\":\"demo-native\",\"grant_type\":\"refresh_token\",\"audience\":\"" + aud +
                         "\",\"refresh_token\":\"" + rt + "\",\"audience\":\"" + aud + "\"}", "application/json"),
                   400, "invalid_request");
  expectStillUsable(rt);
}

TEST_F(Mint, UnknownClientOrFailedAuthenticationIsInvalidClient) {
  start(tenantConfig(nativeClient("native") +
                     webClient("web-minter", "can_create_session_transfer_token = true\n"
                                             "allowed_authentication_methods = [\"query\"]\nallow_refresh_token = true\n")));
  std::string rt = nativeRt("native", "alice@example.com", "alice-password");
  std::string aud = "urn:" + hostPort() + ":session_transfer";
  expectOAuthError(token(form({{"grant_type", "refresh_token"}, {"client_id", "nobody"}, {"audience", aud},
                               {"refresh_token", rt}})), 401, "invalid_client");
  expectOAuthError(token(form({{"grant_type", "refresh_token"}, {"client_id", "web-minter"},
                               {"client_secret", "wrong-secret"}, {"audience", aud}, {"refresh_token", rt}})),
                   401, "invalid_client");
  expectOAuthError(token(form({{"grant_type", "refresh_token"}, {"client_id", "web-minter"}, {"audience", aud},
                               {"refresh_token", rt}})), 401, "invalid_client");  // no secret at all
  expectOAuthError(token(form({{"grant_type", "refresh_token"}, {"client_id", "native"}, {"client_secret", "x"},
                               {"audience", aud}, {"refresh_token", rt}})), 401, "invalid_client");
  expectStillUsable(rt, "native");
}

TEST_F(Mint, ClientWithoutTheRefreshTokenGrantIsUnauthorizedClient) {
  start(tenantConfig(nativeClient("native") +
                     // The tenant refuses can_create_session_transfer_token without the refresh_token
                     // grant at load time, so this client has the default (false) as well.
                     nativeClient("native-norefresh", "", "\"authorization_code\", \"password\"")));
  std::string rt = nativeRt("native", "alice@example.com", "alice-password");
  std::string aud = "urn:" + hostPort() + ":session_transfer";
  expectOAuthError(token(form({{"grant_type", "refresh_token"}, {"client_id", "native-norefresh"}, {"audience", aud},
                               {"refresh_token", rt}})), 403, "unauthorized_client");
  expectOAuthError(token(form({{"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"},
                               {"client_id", "native-norefresh"}, {"subject_token", rt},
                               {"subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"},
                               {"requested_token_type", kSttType}})), 403, "unauthorized_client");
  expectStillUsable(rt, "native");
}

TEST_F(Mint, CannotCreateSessionTransferTokenIsUnauthorizedClient) {
  start(tenantConfig(nativeClient("native-nostt", "can_create_session_transfer_token = false\n")));
  std::string rt = nativeRt("native-nostt", "alice@example.com", "alice-password");
  expectOAuthError(mint(rt, "native-nostt"), 403, "unauthorized_client");
  expectStillUsable(rt, "native-nostt");
}

TEST_F(Mint, RefreshTokenUnknownRevokedOrOfAnotherClientIsInvalidGrant) {
  start(tenantConfig(nativeClient("native") + nativeClient("native-b")));
  expectOAuthError(mint("rt_0_AAAAAAAAAAAAAAAAAAAAAA", "native"), 403, "invalid_grant");
  expectOAuthError(mint("not-a-refresh-token", "native"), 403, "invalid_grant");
  std::string revoked = nativeRt("native", "alice@example.com", "alice-password");
  revoke(revoked, "native");
  expectOAuthError(mint(revoked, "native"), 403, "invalid_grant");
  std::string others = nativeRt("native-b", "alice@example.com", "alice-password");
  expectOAuthError(mint(others, "native"), 403, "invalid_grant");
  expectStillUsable(others, "native-b");
  // An STT is not a refresh token either.
  std::string sttText = stt(nativeRt("native", "bob@example.com", "bob-password"), "native");
  expectOAuthError(mint(sttText, "native"), 403, "invalid_grant");
}

TEST_F(Mint, AudienceOfAnotherHostIsAccessDenied) {
  start();
  std::string rt = nativeRt();
  auto body = [&](const std::string& aud) {
    return form({{"grant_type", "refresh_token"}, {"client_id", "demo-native"}, {"audience", aud}, {"refresh_token", rt}});
  };
  expectOAuthError(token(body("urn:evil.example:session_transfer")), 403, "access_denied");
  expectOAuthError(token(body("urn:127.0.0.1:1:session_transfer")), 403, "access_denied");  // another port
  // A Host that is not ours, named by the audience too.
  expectOAuthError(token(body("urn:evil.example:session_transfer"), "application/x-www-form-urlencoded", "evil.example"),
                   403, "access_denied");
  expectOAuthError(token(body("urn:evil.example:8443:session_transfer"), "application/x-www-form-urlencoded",
                         "evil.example:8443"), 403, "access_denied");
  expectStillUsable(rt);
  // Our other name, localhost:PORT, is the tenant's too (audience without the port, as Auth0.swift).
  std::string next = jsonField(nativeLogin(), "refresh_token");
  HttpResponse ok = token(form({{"grant_type", "refresh_token"}, {"client_id", "demo-native"},
                                {"audience", "urn:localhost:session_transfer"}, {"refresh_token", next}}),
                          "application/x-www-form-urlencoded", "localhost:" + std::to_string(port()));
  expectMinted(ok, next, true, true);
}

TEST_F(Mint, RefreshTokenFromAnSttBornSessionCannotMintAgain) {
  start(tenantConfig(nativeClient("native") +
                     webClient("web-nest", "can_create_session_transfer_token = true\n"
                                           "allowed_authentication_methods = [\"query\"]\nallow_refresh_token = true\n")));
  std::string sttText = stt(nativeRt("native", "alice@example.com", "alice-password"), "native");
  Browser b(port());
  std::string webRt = jsonField(sttLogin(b, sttText, "web-nest"), "refresh_token");
  ASSERT_EQ(webRt.rfind("rt_", 0), 0u) << "allow_refresh_token with offline_access gives a refresh token";
  expectOAuthError(mint(webRt, "web-nest"), 403, "invalid_grant");
  expectStillUsable(webRt, "web-nest");
  // The web client may mint from a refresh token of a session it logged into itself.
  Browser own(port());
  std::string ownRt = jsonField(pageLogin(own, "web-nest", "bob@example.com", "bob-password"), "refresh_token");
  EXPECT_EQ(mint(ownRt, "web-nest").status, 200);
}

}  // namespace
}  // namespace handoff::it::n2w
