// Base64, signing keys, compact JWTs and the key file. Known answers come from RFC 4648 §10,
// RFC 7638 §3.1 and RFC 8037 appendix A; the rest checks each algorithm against itself and
// against every way of bending a token that a verifier must refuse.
#include "handoff/oauth/jwt.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "handoff/core/base64.h"

namespace handoff::oauth {
namespace {

using core::Errc;

std::string b64url(std::string_view s) {
  std::string out;
  core::appendBase64Url(out, s);
  return out;
}

// "ok" or the error's message, so a test can compare either.
std::string why(const core::Status& s) { return s.ok() ? "ok" : s.error().message(); }

std::string unb64url(std::string_view s) {
  std::string out;
  EXPECT_TRUE(core::decodeBase64Url(s, out)) << s;
  return out;
}

// ── base64 ──────────────────────────────────────────────────────────────────────────────────

TEST(Base64, Rfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  const char* padded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(b64url(plain[i]), url[i]);
    EXPECT_EQ(unb64url(url[i]), plain[i]);
    std::string out;
    EXPECT_TRUE(core::decodeBase64(padded[i], out)) << padded[i];
    EXPECT_EQ(out, plain[i]);
  }
  EXPECT_EQ(b64url("\xfb\xff"), "-_8");
  std::string basic;
  ASSERT_TRUE(core::decodeBase64("ZGVtby13ZWI6czNjcjN0Ky8=", basic));
  EXPECT_EQ(basic, "demo-web:s3cr3t+/");
}

TEST(Base64, UrlRoundTripsEveryLength) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string enc = b64url(bytes);
    EXPECT_EQ(enc.size(), core::base64UrlEncodedLength(n));
    EXPECT_EQ(enc.find_first_of("=+/"), std::string::npos);
    std::string dec = "prefix";
    ASSERT_TRUE(core::decodeBase64Url(enc, dec));
    EXPECT_EQ(dec, "prefix" + bytes);  // decoding appends
  }
}

TEST(Base64, UrlDecodeIsStrict) {
  const std::string_view bads[] = {"Zg==",  "Zm8=", "Zm9v+A", "a/bc", " Zm9v",  "Zm9v\n",
                                   "Zm\rv", "Z",    "Zm9vY",  "Zh",   "Zm9",    "Zm9vYn",
                                   std::string_view("Zm\0v", 4), "Zm9v.Zg", "\xc3\xa9Zg"};
  for (std::string_view bad : bads) {
    std::string out = "keep";
    EXPECT_FALSE(core::decodeBase64Url(bad, out)) << bad;
    EXPECT_EQ(out, "keep");
  }
}

TEST(Base64, StdDecodeIsStrict) {
  for (std::string_view bad : {"Zg", "Zg=", "Zm8", "Zg===", "====", "=", "Zh==", "Zm9=",
                               "Zg==Zg==", "Zm9v-_==", "Zm 9v", "Zm9v\r\n", "Z===", "Zm=v"}) {
    std::string out = "keep";
    EXPECT_FALSE(core::decodeBase64(bad, out)) << bad;
    EXPECT_EQ(out, "keep");
  }
}

// ── Keys and JWTs, for every algorithm ─────────────────────────────────────────────────────

constexpr std::string_view kClaims =
    R"({"iss":"https://auth.example.com/","sub":"auth0|5f7c8ec7c33c6c004bbafe82",)"
    R"("aud":"demo-web","iat":1700000000,"exp":1700003600,"nonce":"n-0S6_WzA2Mj7Yt3pQ"})";

class Jwt : public ::testing::TestWithParam<JwtAlg> {
 protected:
  void SetUp() override {
    auto key = SigningKey::generate(GetParam());
    ASSERT_TRUE(key.ok()) << key.error().message();
    key_ = std::move(*key);
    auto set = KeySet::create({{key_, 1}});
    ASSERT_TRUE(set.ok());
    keys_ = std::move(*set);
    ASSERT_TRUE(signJwt(*key_, kClaims, token_).ok());
  }
  core::Status verify(std::string_view jwt) {
    claims_.clear();
    return verifyJwt(*keys_, jwt, claims_);
  }
  // A token with the given header JSON, the given claims and this key's valid signature.
  std::string forge(std::string_view header, std::string_view claims = kClaims) {
    std::string input = b64url(header) + "." + b64url(claims);
    std::string sig;
    EXPECT_TRUE(key_->sign(input, sig).ok());
    return input + "." + b64url(sig);
  }
  std::string algName() const { return std::string(jwtAlgName(GetParam())); }
  std::string header(std::string_view alg) const {
    return R"({"alg":")" + std::string(alg) + R"(","typ":"JWT","kid":")" + key_->kid() + "\"}";
  }

  std::shared_ptr<const SigningKey> key_;
  std::shared_ptr<const KeySet> keys_;
  std::string token_;
  std::string claims_;
};

TEST_P(Jwt, SignsAndVerifies) {
  ASSERT_TRUE(verify(token_).ok());
  EXPECT_EQ(claims_, kClaims);
  size_t dot1 = token_.find('.'), dot2 = token_.rfind('.');
  EXPECT_EQ(unb64url(token_.substr(0, dot1)), header(algName()));
  EXPECT_EQ(unb64url(token_.substr(dot2 + 1)).size(),
            GetParam() == JwtAlg::kRS256 ? 256u : 64u);
  EXPECT_EQ(key_->kid().size(), 43u);
  EXPECT_EQ(parseJwtAlg(algName()), GetParam());
  // A token re-signed from the same header verifies too (ECDSA is randomized, the others not).
  EXPECT_TRUE(verify(forge(header(algName()))).ok());
}

TEST_P(Jwt, TamperedPartsAreRejected) {
  size_t dot1 = token_.find('.'), dot2 = token_.rfind('.');
  std::string other = std::string(kClaims).replace(kClaims.find("demo-web"), 8, "evil-app");
  std::string swapped = token_.substr(0, dot1 + 1) + b64url(other) + token_.substr(dot2);
  EXPECT_EQ(why(verify(swapped)), "jwt: bad signature");

  std::string sig = unb64url(token_.substr(dot2 + 1));
  sig[sig.size() / 2] ^= 0x01;
  EXPECT_FALSE(verify(token_.substr(0, dot2 + 1) + b64url(sig)).ok());
  EXPECT_FALSE(verify(token_.substr(0, dot2 + 1) + b64url(sig.substr(1))).ok());

  std::string extraHeader = R"({"alg":")" + algName() + R"(","typ":"JWT","kid":")" +
                            key_->kid() + R"(","x":1})";
  std::string reheadered = b64url(extraHeader) + token_.substr(dot1);
  EXPECT_EQ(why(verify(reheadered)), "jwt: bad signature");
  EXPECT_TRUE(claims_.empty());  // nothing is appended on failure
}

TEST_P(Jwt, AlgNoneAndAlgConfusionAreRejected) {
  for (std::string_view alg : {"none", "None", "HS256", "RS256", "ES256", "EdDSA", "PS256", ""}) {
    if (alg == algName()) continue;
    EXPECT_EQ(why(verify(forge(header(alg)))), "jwt: alg does not match the key") << alg;
    // The unsecured form: an empty signature part.
    std::string unsecured = b64url(header(alg)) + "." + b64url(kClaims) + ".";
    EXPECT_FALSE(verify(unsecured).ok()) << alg;
  }
}

TEST_P(Jwt, MalformedHeadersAreRejected) {
  const std::string kid = key_->kid(), alg = algName();
  for (const std::string& h : {
           R"({"typ":"JWT","kid":")" + kid + "\"}",                                  // no alg
           R"({"alg":")" + alg + R"(","typ":"JWT"})",                                // no kid
           R"({"alg":")" + alg + R"(","alg":")" + alg + R"(","kid":")" + kid + "\"}",  // dup
           R"({"alg":")" + alg + R"(","typ":7,"kid":")" + kid + "\"}",
           R"({"alg":")" + alg + R"(","kid":")" + kid + R"(","crit":["exp"]})",
           R"({"alg":[")" + alg + R"("],"kid":")" + kid + "\"}",
           "[\"" + alg + "\"]",
           "{\"alg\":\"" + alg + "\",\"kid\":\"" + kid + "\"} x",
       }) {
    EXPECT_FALSE(verify(forge(h)).ok()) << h;
  }
  // Without typ the header is still acceptable.
  EXPECT_TRUE(verify(forge(R"({"alg":")" + alg + R"(","kid":")" + kid + "\"}")).ok());
}

TEST_P(Jwt, MalformedTokensAreRejected) {
  size_t dot2 = token_.rfind('.');
  for (const std::string& t : {std::string(), token_.substr(0, dot2), token_ + ".",
                               token_ + ".x", "." + token_, token_.substr(0, dot2) + "..",
                               token_ + "=", token_.substr(0, token_.find('.')) + ".." +
                               token_.substr(dot2 + 1), " " + token_}) {
    EXPECT_FALSE(verify(t).ok()) << t;
  }
  std::string huge = forge(header(algName()), std::string(kMaxJwtBytes, ' '));
  EXPECT_EQ(why(verify(huge)), "jwt: too long");
}

TEST_P(Jwt, UnknownKidAndForeignKeysAreRejected) {
  auto other = SigningKey::generate(GetParam());
  ASSERT_TRUE(other.ok());
  std::string foreign;
  ASSERT_TRUE(signJwt(**other, kClaims, foreign).ok());
  core::Status s = verify(foreign);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kNotFound);
  // Our kid and alg, another key's signature.
  std::string input = std::string(key_->jwtHeaderPrefix()) + b64url(kClaims);
  std::string sig;
  ASSERT_TRUE((*other)->sign(input, sig).ok());
  EXPECT_EQ(why(verify(input + "." + b64url(sig))), "jwt: bad signature");
}

TEST_P(Jwt, PrivateKeyRoundTripsThroughStorage) {
  std::string stored;
  key_->appendPrivate(stored);
  auto again = SigningKey::fromPrivate(GetParam(), stored);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ((*again)->kid(), key_->kid());
  std::string jwt;
  ASSERT_TRUE(signJwt(**again, kClaims, jwt).ok());
  EXPECT_TRUE(verify(jwt).ok());
  for (JwtAlg alg : {JwtAlg::kRS256, JwtAlg::kES256, JwtAlg::kEdDSA}) {
    if (alg != GetParam()) {
      EXPECT_FALSE(SigningKey::fromPrivate(alg, stored).ok());
    }
  }
  EXPECT_FALSE(SigningKey::fromPrivate(GetParam(), stored + "AA").ok());
  EXPECT_FALSE(SigningKey::fromPrivate(GetParam(), "not base64!").ok());
  EXPECT_FALSE(SigningKey::fromPrivate(GetParam(), "").ok());
}

TEST_P(Jwt, JwkIsPublicAndItsThumbprintIsTheKid) {
  std::string jwk;
  key_->appendJwk(jwk);
  auto thumb = jwkThumbprint(jwk);
  ASSERT_TRUE(thumb.ok()) << jwk;
  EXPECT_EQ(*thumb, key_->kid());
  EXPECT_NE(jwk.find(R"("use":"sig")"), std::string::npos);
  EXPECT_NE(jwk.find(R"("alg":")" + algName() + "\""), std::string::npos);
  EXPECT_EQ(jwk.find(R"("d":)"), std::string::npos);
  std::string jwks;
  keys_->appendJwks(jwks);
  EXPECT_EQ(jwks, R"({"keys":[)" + jwk + "]}");
}

TEST_P(Jwt, OneKeySignsAndVerifiesFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string claims = R"({"sub":")" + std::to_string(t * 100 + i) + "\"}";
        std::string jwt, out;
        if (!signJwt(*key_, claims, jwt).ok() || !verifyJwt(*keys_, jwt, out).ok() ||
            out != claims) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Algs, Jwt,
                         ::testing::Values(JwtAlg::kRS256, JwtAlg::kES256, JwtAlg::kEdDSA),
                         [](const auto& param) { return std::string(jwtAlgName(param.param)); });

// ── Known answers ───────────────────────────────────────────────────────────────────────────

TEST(JwkThumbprint, MatchesRfc7638Example) {
  constexpr std::string_view kJwk =
      R"({"kty":"RSA","n":")"
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1"
      "L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4"
      "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO"
      "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
      "Cur-kEgU8awapJzKnqDKgw"
      R"(",)"
      R"("e":"AQAB","alg":"RS256","kid":"2011-04-29"})";
  auto thumb = jwkThumbprint(kJwk);
  ASSERT_TRUE(thumb.ok());
  EXPECT_EQ(*thumb, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_FALSE(jwkThumbprint(R"({"kty":"RSA","e":"AQAB"})").ok());
  EXPECT_FALSE(jwkThumbprint(R"({"kty":"oct","k":"AQAB"})").ok());
  EXPECT_FALSE(jwkThumbprint("[1]").ok());
}

TEST(SigningKey, Ed25519MatchesRfc8037Example) {
  // RFC 8037 A.1's private key as PKCS#8, A.3's thumbprint, A.4's signature.
  std::string der;
  const std::string hex =
      "302e020100300506032b6570042204209d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031"
      "cae7f60";
  for (size_t i = 0; i < hex.size(); i += 2) {
    der.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  auto key = SigningKey::fromPrivate(JwtAlg::kEdDSA, b64url(der));
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ((*key)->kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  std::string sig;
  ASSERT_TRUE((*key)->sign("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc", sig).ok());
  EXPECT_EQ(b64url(sig),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6d"
            "WbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
}

TEST(KeySet, RefusesEmptyAndDuplicateKeys) {
  EXPECT_FALSE(KeySet::create({}).ok());
  auto key = SigningKey::generate(JwtAlg::kEdDSA);
  ASSERT_TRUE(key.ok());
  std::shared_ptr<const SigningKey> shared = std::move(*key);
  EXPECT_FALSE(KeySet::create({{shared, 1}, {shared, 2}}).ok());
  EXPECT_FALSE(KeySet::create({{nullptr, 1}}).ok());
}

}  // namespace
}  // namespace handoff::oauth
