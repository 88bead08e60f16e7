// Random tokens, constant-time comparison, SHA-256 vectors and PBKDF2 password hashes.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "handoff/core/base64.h"
#include "handoff/oauth/crypto.h"

namespace handoff::oauth {
namespace {

constexpr uint32_t kFast = 10;  // iterations: tests check the format, not the cost

bool isBase64UrlAlphabet(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string hex(const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

TEST(Random, TokensHaveTheRightLengthAndAlphabet) {
  EXPECT_EQ(randomToken().size(), 43u);
  EXPECT_EQ(randomToken(16).size(), 22u);
  EXPECT_EQ(randomToken(1).size(), 2u);
  EXPECT_EQ(randomToken(0).size(), 0u);
  EXPECT_EQ(randomToken(100).size(), core::base64UrlEncodedLength(100));  // beyond the stack buffer
  for (int i = 0; i < 100; ++i) {
    std::string t = randomToken();
    EXPECT_TRUE(isBase64UrlAlphabet(t)) << t;
    std::string bytes;
    EXPECT_TRUE(core::decodeBase64Url(t, bytes));
    EXPECT_EQ(bytes.size(), 32u);
  }
}

TEST(Random, TokensAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(randomToken()).second);
}

TEST(Random, RandomBytesFillTheWholeSpan) {
  // 64 zero bytes staying all zero after a fill has probability 2^-512.
  uint8_t buf[64] = {};
  randomBytes(buf);
  int nonZero = 0;
  for (uint8_t b : buf) nonZero += b != 0;
  EXPECT_GT(nonZero, 0);
  randomBytes({buf, 0});  // empty spans are fine
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(constantTimeEquals("", ""));
  EXPECT_TRUE(constantTimeEquals("secret", "secret"));
  EXPECT_FALSE(constantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(constantTimeEquals("Secret", "secret"));
  EXPECT_FALSE(constantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(constantTimeEquals("secret2", "secret"));
  EXPECT_FALSE(constantTimeEquals("", "x"));
  EXPECT_FALSE(constantTimeEquals("x", ""));
  EXPECT_TRUE(constantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(Sha256, MatchesTheFips180Vectors) {
  uint8_t d[kSha256Bytes];
  sha256("abc", d);
  EXPECT_EQ(hex(d, sizeof d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  sha256("", d);
  EXPECT_EQ(hex(d, sizeof d), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Base64UrlIsThePkceS256Challenge) {
  // RFC 7636 Appendix B.
  EXPECT_EQ(sha256Base64Url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  EXPECT_EQ(sha256Base64Url("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST(Password, HashHasTheDocumentedForm) {
  std::string h = hashPassword("hunter2", kFast);
  ASSERT_TRUE(h.starts_with("pbkdf2-sha256$10$")) << h;
  std::string_view rest = std::string_view(h).substr(std::string_view("pbkdf2-sha256$10$").size());
  size_t dollar = rest.find('$');
  ASSERT_NE(dollar, std::string_view::npos);
  std::string salt, hash;
  EXPECT_TRUE(core::decodeBase64Url(rest.substr(0, dollar), salt));
  EXPECT_TRUE(core::decodeBase64Url(rest.substr(dollar + 1), hash));
  EXPECT_EQ(salt.size(), 16u);
  EXPECT_EQ(hash.size(), 32u);
  EXPECT_EQ(h.find("hunter2"), std::string::npos);
}

TEST(Password, RoundTrips) {
  std::string h = hashPassword("correct horse battery staple", kFast);
  EXPECT_TRUE(verifyPassword("correct horse battery staple", h));
  std::string empty = hashPassword("", kFast);
  EXPECT_TRUE(verifyPassword("", empty));
  EXPECT_FALSE(verifyPassword("x", empty));
  std::string binary("p\x01w\xff\xc3\xa9");
  EXPECT_TRUE(verifyPassword(binary, hashPassword(binary, 1)));
  std::string longer(200, 'x');  // beyond HMAC's 64-byte block: the key is hashed first
  EXPECT_TRUE(verifyPassword(longer, hashPassword(longer, kFast)));
  EXPECT_FALSE(verifyPassword(longer + "x", hashPassword(longer, kFast)));
}

TEST(Password, WrongPasswordIsRefused) {
  std::string h = hashPassword("hunter2", kFast);
  EXPECT_FALSE(verifyPassword("hunter3", h));
  EXPECT_FALSE(verifyPassword("Hunter2", h));
  EXPECT_FALSE(verifyPassword("hunter2 ", h));
  EXPECT_FALSE(verifyPassword("", h));
  // HMAC's zero padding would make these equal to "hunter2": a NUL byte is always refused.
  EXPECT_FALSE(verifyPassword(std::string_view("hunter2\0", 8), h));
  EXPECT_FALSE(verifyPassword(std::string_view("hunter2\0\0", 9), h));
  std::string withNul(std::string_view("a\0b", 3));
  EXPECT_FALSE(verifyPassword(withNul, hashPassword(withNul, kFast)));
}

TEST(Password, TwoHashesOfOnePasswordDiffer) {
  std::string a = hashPassword("same", kFast);
  std::string b = hashPassword("same", kFast);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verifyPassword("same", a));
  EXPECT_TRUE(verifyPassword("same", b));
}

TEST(Password, MalformedStoredHashesAreRefused) {
  std::string good = hashPassword("pw", kFast);
  ASSERT_TRUE(verifyPassword("pw", good));
  size_t saltAt = good.find('$', std::string_view("pbkdf2-sha256$").size()) + 1;
  size_t hashAt = good.find('$', saltAt) + 1;
  std::string salt = good.substr(saltAt, hashAt - saltAt - 1);
  std::string hash = good.substr(hashAt);
  auto make = [&](std::string_view prefix, std::string_view iters, std::string_view s, std::string_view h) {
    return std::string(prefix) + std::string(iters) + "$" + std::string(s) + "$" + std::string(h);
  };
  ASSERT_EQ(make("pbkdf2-sha256$", "10", salt, hash), good);

  const std::string bad[] = {
      "",
      "pbkdf2-sha256$",
      "pw",
      make("pbkdf2-sha1$", "10", salt, hash),
      make("PBKDF2-SHA256$", "10", salt, hash),
      make("pbkdf2-sha256$", "010", salt, hash),    // leading zero
      make("pbkdf2-sha256$", "+10", salt, hash),
      make("pbkdf2-sha256$", "-10", salt, hash),
      make("pbkdf2-sha256$", "0", salt, hash),
      make("pbkdf2-sha256$", "", salt, hash),
      make("pbkdf2-sha256$", "1e1", salt, hash),
      make("pbkdf2-sha256$", "99999999999999999999", salt, hash),
      make("pbkdf2-sha256$", "4294967306", salt, hash),  // 2^32 + 10: must not wrap to 10
      make("pbkdf2-sha256$", "10000001", salt, hash),    // above kMaxPasswordIterations
      make("pbkdf2-sha256$", "10", salt + "A", hash),
      make("pbkdf2-sha256$", "10", salt.substr(1), hash),
      make("pbkdf2-sha256$", "10", salt, hash + "A"),
      make("pbkdf2-sha256$", "10", salt, hash.substr(1)),
      make("pbkdf2-sha256$", "10", salt, hash) + "$",
      make("pbkdf2-sha256$", "10", salt, hash) + "$x",
      make("pbkdf2-sha256$", "10", salt, hash) + "=",
      make("pbkdf2-sha256$", "10", salt, hash.substr(0, 42) + "+"),  // standard alphabet
      make("pbkdf2-sha256$", "10", salt, hash.substr(0, 42) + "="),
      make("pbkdf2-sha256$", "10", hash, salt),  // fields swapped
      "pbkdf2-sha256$10$" + salt + hash,          // missing separator
      " " + good,
      good + " ",
  };
  for (const std::string& s : bad) EXPECT_FALSE(verifyPassword("pw", s)) << s;

  // A last character with non-zero unused bits is not canonical base64url.
  std::string hashBits = hash;
  char& last = hashBits.back();
  last = last == 'A' ? 'B' : (last == 'E' ? 'F' : 'B');
  EXPECT_FALSE(verifyPassword("pw", make("pbkdf2-sha256$", "10", salt, hashBits)));
}

TEST(Password, DummyVerificationAlwaysFails) {
  EXPECT_FALSE(verifyAgainstDummy("", kFast));
  EXPECT_FALSE(verifyAgainstDummy("demo-password", kFast));
  EXPECT_FALSE(verifyAgainstDummy("x", 0));  // clamped, not aborted
}

}  // namespace
}  // namespace handoff::oauth
