// Client authentication at the token endpoint: each method, each refusal, and the error writer.
#include <gtest/gtest.h>

#include <string>

#include "handoff/config/config.h"
#include "handoff/core/arena.h"
#include "handoff/http/params.h"
#include "handoff/oauth/client_auth.h"

namespace handoff::oauth {
namespace {

// A Basic client whose id and secret need percent-encoding: ':' in both, a space, '+' and '%'.
constexpr std::string_view kBasicId = "svc:1 x";
constexpr std::string_view kBasicSecret = "p:ss w+rd%x";

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (in.size() - i == 1) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out.append({kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='});
  } else if (in.size() - i == 2) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
    out.append({kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='});
  }
  return out;
}

// RFC 6749 §2.3.1: each half form-urlencoded, then joined and base64-encoded.
std::string basic(std::string_view id, std::string_view secret) {
  std::string raw;
  http::appendUrlEncoded(raw, id);
  raw.push_back(':');
  http::appendUrlEncoded(raw, secret);
  return "Basic " + base64(raw);
}

class ClientAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    config::Config c = config::demoConfig();
    config::ClientConfig svc;
    svc.clientId = std::string(kBasicId);
    svc.clientSecret = std::string(kBasicSecret);
    svc.tokenEndpointAuthMethod = "client_secret_basic";
    svc.grantTypes = {"client_credentials"};
    c.clients.push_back(svc);
    auto t = Tenant::build(c, 1);
    ASSERT_TRUE(t.ok()) << t.error().message();
    tenant_ = *t;
  }

  // Decodes `form` as a request body would be.
  OAuthResult<ClientAuthResult> auth(std::string_view authorization, std::string_view form) {
    arena_.reset();
    EXPECT_EQ(http::decodeForm(form, arena_, body_), http::DecodeStatus::kOk);
    return authenticateClient(*tenant_, authorization, body_);
  }

  void expectOk(std::string_view authorization, std::string_view form, std::string_view clientId, AuthMethod method) {
    auto r = auth(authorization, form);
    ASSERT_TRUE(r.ok()) << r.error().error << ": " << r.error().description;
    EXPECT_EQ(r->client->id(), clientId);
    EXPECT_EQ(r->method, method);
  }

  void expectError(std::string_view authorization, std::string_view form, std::string_view error, int status,
                   bool wwwAuthenticate) {
    auto r = auth(authorization, form);
    ASSERT_FALSE(r.ok()) << "authenticated " << r->client->id();
    EXPECT_EQ(r.error().error, error) << r.error().description;
    EXPECT_EQ(r.error().status, status);
    EXPECT_EQ(r.error().wwwAuthenticate, wwwAuthenticate);
    EXPECT_FALSE(r.error().description.empty());
  }

  std::shared_ptr<const Tenant> tenant_;
  core::Arena arena_;
  http::ParamList body_;
};

TEST_F(ClientAuth, PublicClientSendsOnlyItsId) {
  expectOk("", "grant_type=refresh_token&client_id=demo-native", "demo-native", AuthMethod::kNone);
  // RFC 6749 §3.2: an empty parameter is an absent one.
  expectOk("", "client_id=demo-native&client_secret=", "demo-native", AuthMethod::kNone);
}

TEST_F(ClientAuth, SecretPostAuthenticates) {
  expectOk("", "client_id=demo-web&client_secret=demo-web-secret", "demo-web", AuthMethod::kClientSecretPost);
  expectOk("", "client_id=demo-m2m&client_secret=demo-m2m-secret", "demo-m2m", AuthMethod::kClientSecretPost);
}

TEST_F(ClientAuth, SecretBasicDecodesPercentEncodedIdAndSecretWithColons) {
  expectOk(basic(kBasicId, kBasicSecret), "grant_type=client_credentials", kBasicId, AuthMethod::kClientSecretBasic);
  // The same credentials with '+' for the space (form encoding) and lowercase hex.
  expectOk("Basic " + base64("svc%3a1+x:p%3ass+w%2brd%25x"), "", kBasicId, AuthMethod::kClientSecretBasic);
  // A body client_id equal to the Basic one is allowed.
  expectOk(basic(kBasicId, kBasicSecret), "client_id=svc%3A1+x", kBasicId, AuthMethod::kClientSecretBasic);
}

TEST_F(ClientAuth, BasicSplitsOnTheFirstColonOnly) {
  // Unencoded ':' in the secret is still part of the secret: only the first one splits.
  config::Config c = config::demoConfig();
  config::ClientConfig svc;
  svc.clientId = "plain";
  svc.clientSecret = "a:b:c";
  svc.tokenEndpointAuthMethod = "client_secret_basic";
  c.clients.push_back(svc);
  auto t = Tenant::build(c, 1);
  ASSERT_TRUE(t.ok()) << t.error().message();
  tenant_ = *t;
  expectOk("Basic " + base64("plain:a:b:c"), "", "plain", AuthMethod::kClientSecretBasic);
  expectError("Basic " + base64("plain:a:b"), "", "invalid_client", 401, true);
}

TEST_F(ClientAuth, SchemeIsCaseInsensitiveAndSpacesMayRepeat) {
  std::string creds = basic(kBasicId, kBasicSecret).substr(6);
  expectOk("basic " + creds, "", kBasicId, AuthMethod::kClientSecretBasic);
  expectOk("BASIC " + creds, "", kBasicId, AuthMethod::kClientSecretBasic);
  expectOk("Basic   " + creds, "", kBasicId, AuthMethod::kClientSecretBasic);
}

TEST_F(ClientAuth, TwoMethodsAtOnceIsInvalidRequest) {
  expectError(basic(kBasicId, kBasicSecret), "client_secret=" + std::string("p%3Ass+w%2Brd%25x"), "invalid_request",
              400, false);
  expectError(basic("demo-web", "demo-web-secret"), "client_id=demo-web&client_secret=demo-web-secret",
              "invalid_request", 400, false);
}

TEST_F(ClientAuth, BodyClientIdDifferingFromBasicIsInvalidRequest) {
  expectError(basic(kBasicId, kBasicSecret), "client_id=demo-web", "invalid_request", 400, false);
  expectError(basic(kBasicId, kBasicSecret), "client_id=svc%3A1", "invalid_request", 400, false);
}

TEST_F(ClientAuth, UnknownClientIsInvalidClient) {
  expectError("", "client_id=nobody", "invalid_client", 401, false);
  expectError("", "client_id=nobody&client_secret=x", "invalid_client", 401, false);
  expectError("", "client_id=DEMO-NATIVE", "invalid_client", 401, false);
  expectError(basic("nobody", "x"), "", "invalid_client", 401, true);
}

TEST_F(ClientAuth, MissingClientIdIsInvalidClient) {
  expectError("", "", "invalid_client", 401, false);
  expectError("", "grant_type=client_credentials&client_id=", "invalid_client", 401, false);
  expectError("", "client_secret=demo-web-secret", "invalid_client", 401, false);
}

TEST_F(ClientAuth, WrongSecretIsInvalidClient) {
  for (std::string_view secret : {"demo-web-secreT", "demo-web-secret2", "demo-web-secre", "x"}) {
    expectError("", "client_id=demo-web&client_secret=" + std::string(secret), "invalid_client", 401, false);
  }
  expectError(basic(kBasicId, "p:ss w+rd"), "", "invalid_client", 401, true);
  expectError(basic(kBasicId, ""), "", "invalid_client", 401, true);
  // Another client's secret.
  expectError("", "client_id=demo-web&client_secret=demo-m2m-secret", "invalid_client", 401, false);
}

TEST_F(ClientAuth, ConfidentialClientWithoutSecretIsInvalidClient) {
  expectError("", "client_id=demo-web", "invalid_client", 401, false);
  expectError("", "client_id=svc%3A1+x", "invalid_client", 401, false);
}

TEST_F(ClientAuth, PublicClientSendingASecretIsInvalidClient) {
  expectError("", "client_id=demo-native&client_secret=anything", "invalid_client", 401, false);
  expectError(basic("demo-native", "anything"), "", "invalid_client", 401, true);
  expectError(basic("demo-native", ""), "", "invalid_client", 401, true);
}

TEST_F(ClientAuth, ConfidentialClientsMaySendTheSecretEitherWay) {
  // demo-web is registered for client_secret_post; Auth0 (and its SDKs, which default to Basic)
  // accept either transport of the secret.
  auto viaBasic = auth(basic("demo-web", "demo-web-secret"), "");
  ASSERT_TRUE(viaBasic.ok());
  EXPECT_EQ(viaBasic->method, AuthMethod::kClientSecretBasic);
  auto viaBody = auth("", "client_id=svc%3A1+x&client_secret=p%3Ass+w%2Brd%25x");
  ASSERT_TRUE(viaBody.ok());
  EXPECT_EQ(viaBody->method, AuthMethod::kClientSecretPost);
  // The wrong secret is refused over either.
  expectError(basic("demo-web", "nope"), "", "invalid_client", 401, true);
}

TEST_F(ClientAuth, MalformedAuthorizationHeaderIsInvalidClientWithChallenge) {
  // `valid` authenticates kBasicId; each variant below breaks only the header's form.
  const std::string valid = basic(kBasicId, kBasicSecret).substr(6);
  ASSERT_EQ(valid.back(), '=');
  std::string unpadded = valid;
  while (unpadded.back() == '=') unpadded.pop_back();
  std::string spaced = valid;
  spaced.insert(4, " ");
  const std::string bad[] = {
      "Basic",
      "Basic ",
      "Basic !!!!",                                 // not base64
      "Basic " + valid.substr(0, valid.size() - 1),  // a length not a multiple of 4
      "Basic " + base64("nocolon"),                 // no ':'
      "Basic " + base64(":secret"),                 // empty id
      "Basic " + base64("demo-web%zz:x"),           // bad escape
      "Basic " + base64("demo-web%2:x"),            // short escape
      "Basic " + base64("svc%3A1+x:x%"),            // escape at the end
      "Basic " + base64("demo%00web:x"),            // NUL, escaped
      "Basic " + base64(std::string("demo\0web:x", 10)),  // NUL, raw
      "Basic " + unpadded,                          // padding dropped
      "Basic " + valid + " ",
      "Basic " + spaced,
      "Basic " + valid + "AAAA",                    // data after the padding
      "Basic\t" + valid,
      "Basicx " + valid,
      "Bearer " + valid,
      "Digest username=\"svc\"",
      " Basic " + valid,
  };
  for (const std::string& header : bad) {
    SCOPED_TRACE(header);
    auto r = auth(header, "");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().description == "malformed Authorization header" ||
                r.error().description == "unsupported authentication scheme")
        << r.error().description;
    expectError(header, "", "invalid_client", 401, true);
    // A malformed header is refused even when the body would have authenticated.
    expectError(header, "client_id=demo-native", "invalid_client", 401, true);
  }
}

TEST(BasicCredentials, ParsesRfc6749Encoding) {
  BasicCredentials c;
  ASSERT_TRUE(parseBasicAuthorization("Basic " + base64("a%20b+c:%3A%2B+"), c));
  EXPECT_EQ(c.clientId, "a b c");
  EXPECT_EQ(c.clientSecret, ":+ ");
  ASSERT_TRUE(parseBasicAuthorization("Basic " + base64("id:"), c));
  EXPECT_EQ(c.clientId, "id");
  EXPECT_EQ(c.clientSecret, "");
  EXPECT_FALSE(parseBasicAuthorization("", c));
  EXPECT_FALSE(parseBasicAuthorization("Basic " + base64("id"), c));
}

TEST(OAuthErrorWriter, WritesJsonWithNoStoreAndOptionalChallenge) {
  std::string out;
  http::Response res(out, false);
  sendOAuthError(res, OAuthError{401, "invalid_client", "unknown client", true});
  EXPECT_TRUE(res.finished());
  EXPECT_TRUE(out.starts_with("HTTP/1.1 401 Unauthorized\r\n")) << out;
  EXPECT_NE(out.find("\r\nCache-Control: no-store\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nPragma: no-cache\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nWWW-Authenticate: Basic realm=\"handoff\"\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\n{\"error\":\"invalid_client\",\"error_description\":\"unknown client\"}")) << out;

  std::string out2;
  http::Response res2(out2, false);
  sendOAuthError(res2, OAuthError{400, "invalid_request", "say \"why\"", false});
  EXPECT_TRUE(out2.starts_with("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_EQ(out2.find("WWW-Authenticate"), std::string::npos);
  EXPECT_NE(out2.find("\"error_description\":\"say \\\"why\\\"\""), std::string::npos) << out2;
}

}  // namespace
}  // namespace handoff::oauth
