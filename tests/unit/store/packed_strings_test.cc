// PackedStrings: every field reads back byte for byte, whatever its packing hint; canonical
// base64url and inet_ntop-spelled addresses take less room, anything else is kept as text.
#include "handoff/store/packed_strings.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include <random>
#include <string>
#include <vector>

#include "handoff/core/base64.h"

namespace handoff::store {
namespace {

std::string roundTrip(std::string_view text, Packing packing) {
  const PackedField f[] = {{"before"}, {text, packing}, {"after"}};
  PackedStrings p(f);
  EXPECT_EQ(p.get(0), "before");
  EXPECT_EQ(p.get(2), "after") << "the field's length is read right";
  return p.get(1);
}

size_t sizeOf(std::string_view text, Packing packing) {
  const PackedField f[] = {{text, packing}};
  return PackedStrings::packedSize(f);
}

std::string randomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(PackedStrings, TextOfEveryLengthClass) {
  for (size_t n : {0, 1, 15, 16, 239, 240, 241, 1000, 70000}) {
    std::string s(n, 'x');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(roundTrip(s, Packing::kText), s) << n;
  }
  EXPECT_EQ(sizeOf("auth0|65a4f2e1b3c9d80012abcdef", Packing::kText), 1 + 1 + 30u);
  EXPECT_EQ(sizeOf(std::string(240, 'x'), Packing::kText), 1 + 5 + 240u) << "past 239 bytes the length takes 4 more";
  std::string binary("\0\xff\xf0\xf1\xf2\xf3", 6);
  EXPECT_EQ(roundTrip(binary, Packing::kText), binary) << "bytes that look like headers are data";
}

TEST(PackedStrings, CanonicalBase64UrlIsStoredAsItsBytes) {
  std::mt19937_64 rng(1);
  for (size_t n = 1; n <= 255; ++n) {
    std::string text;
    core::appendBase64Url(text, randomBytes(rng, n));
    ASSERT_EQ(roundTrip(text, Packing::kBase64Url), text) << n;
    ASSERT_EQ(sizeOf(text, Packing::kBase64Url), 1 + 2 + n) << n;
  }
  // A PKCE S256 challenge (43 characters) and a 16-byte session id (22).
  EXPECT_EQ(sizeOf("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Packing::kBase64Url), 1 + 2 + 32u);
  EXPECT_EQ(sizeOf("aTzV3qKfumlPRLr9cxQhNw", Packing::kBase64Url), 1 + 2 + 16u);
}

TEST(PackedStrings, AnythingElseHintedAsBase64UrlIsKeptAsText) {
  std::mt19937_64 rng(2);
  std::string longText;
  core::appendBase64Url(longText, randomBytes(rng, 256));  // decodes to more than a length byte holds
  for (std::string s : {std::string(""), std::string("A"), std::string("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"),
                        std::string("abc="), std::string("ab+/"), std::string("n-0S6_WzA2Mj~."), longText,
                        std::string("AB")}) {
    EXPECT_EQ(roundTrip(s, Packing::kBase64Url), s) << s;
  }
  // "…cN": the last character's unused bits are set: not canonical, so it stays text.
  EXPECT_EQ(sizeOf("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN", Packing::kBase64Url), 1 + 1 + 43u);
  // Random strings of the alphabet, canonical or not, all read back.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 50, 'A');
    for (char& c : s) c = alphabet[rng() % 64];
    ASSERT_EQ(roundTrip(s, Packing::kBase64Url), s) << s;
  }
}

TEST(PackedStrings, AddressesInTheirNormalFormAreStoredAsBytes) {
  EXPECT_EQ(roundTrip("203.0.113.45", Packing::kIp), "203.0.113.45");
  EXPECT_EQ(sizeOf("203.0.113.45", Packing::kIp), 1 + 1 + 4u);
  EXPECT_EQ(roundTrip("2a01:e0a:1f3:4c50:8d2e:91ff:fe3b:7a21", Packing::kIp), "2a01:e0a:1f3:4c50:8d2e:91ff:fe3b:7a21");
  EXPECT_EQ(sizeOf("2a01:e0a:1f3:4c50:8d2e:91ff:fe3b:7a21", Packing::kIp), 1 + 1 + 16u);
  for (const char* ip : {"0.0.0.0", "255.255.255.255", "127.0.0.1", "::", "::1", "::ffff:1.2.3.4", "2001:db8::1",
                         "fe80::1:0:0:1", "1:2:3:4:5:6:7:8"}) {
    EXPECT_EQ(roundTrip(ip, Packing::kIp), ip);
    EXPECT_LE(sizeOf(ip, Packing::kIp), 1 + 1 + 16u) << ip;
  }
}

TEST(PackedStrings, AddressesAsInetNtopWritesThemAreAllStoredAsBytes) {
  // The store formats addresses itself (inet_ntop goes through printf): it must spell every
  // address as inet_ntop does, or the address would be kept as text.
  std::mt19937_64 rng(9);
  for (int i = 0; i < 50000; ++i) {
    uint8_t a[16];
    for (auto& b : a) b = static_cast<uint8_t>(rng());
    uint32_t zeros = static_cast<uint32_t>(rng());  // runs of zero groups of every shape
    for (int g = 0; g < 8; ++g) {
      if ((zeros >> g) & 1) a[2 * g] = a[2 * g + 1] = 0;
      if (((zeros >> (8 + g)) & 3) == 0) a[2 * g] = 0;  // groups with leading zero digits
    }
    if (i % 7 == 0) {  // IPv4-mapped and IPv4-compatible forms, and their near misses
      std::memset(a, 0, 10);
      a[10] = a[11] = (i % 14 == 0) ? 0xFF : 0;
      if (i % 21 == 0) a[12] = a[13] = 0;
    }
    char text[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, a, text, sizeof text), nullptr);
    ASSERT_EQ(roundTrip(text, Packing::kIp), text);
    ASSERT_EQ(sizeOf(text, Packing::kIp), 1 + 1 + 16u) << text;
    ASSERT_NE(inet_ntop(AF_INET, a, text, sizeof text), nullptr);
    ASSERT_EQ(roundTrip(text, Packing::kIp), text);
    ASSERT_EQ(sizeOf(text, Packing::kIp), 1 + 1 + 4u) << text;
  }
}

TEST(PackedStrings, OtherSpellingsOfAddressesAreKeptAsText) {
  // inet_ntop would write these differently: kept as given, never "normalised" on the way back.
  for (const char* s : {"2001:DB8::1", "2001:0db8::1", "2001:db8:0:0:0:0:0:1", "::ffff:0102:0304", "1.2.3.4 ", " 1.2.3.4",
                        "01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "localhost", "", "unix:/run/x.sock",
                        "2001:db8::1%eth0", "[::1]", "0:0:0:0:0:0:0:1"}) {
    EXPECT_EQ(roundTrip(s, Packing::kIp), s) << s;
    EXPECT_EQ(sizeOf(s, Packing::kIp), 1 + 1 + std::string_view(s).size()) << s;
  }
  std::string longText(100, '1');
  EXPECT_EQ(roundTrip(longText, Packing::kIp), longText);
}

TEST(PackedStrings, ManyShortAddressesFitTheirBlock) {
  // "::" takes 17 bytes packed, more than its text: the staging buffer must allow for that.
  std::vector<PackedField> f(40, PackedField{"::", Packing::kIp});
  PackedStrings p(f);
  EXPECT_EQ(PackedStrings::packedSize(f), 1 + 40 * 17u);
  for (size_t i = 0; i < f.size(); ++i) ASSERT_EQ(p.get(i), "::") << i;
}

TEST(PackedStrings, FieldsPastTheLastReadEmpty) {
  PackedStrings none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.fields(), 0u);
  EXPECT_EQ(none.get(0), "");
  const PackedField f[] = {{"a"}, {""}};
  PackedStrings two(f);
  EXPECT_EQ(two.fields(), 2u);
  EXPECT_EQ(two.get(1), "");
  EXPECT_EQ(two.get(2), "");
  EXPECT_EQ(PackedStrings::packedSize({}), 0u);
  PackedStrings moved = std::move(two);
  EXPECT_EQ(moved.get(0), "a");
}

TEST(PackedStrings, ARecordsFieldsTogether) {
  const PackedField f[] = {{"auth0|65a4f2e1b3c9d80012abcdef", Packing::kText},
                           {"aTzV3qKfumlPRLr9cxQhNw", Packing::kBase64Url},
                           {"Fq0.4~3ZkqEwTmb8zr_QsVdxUq2~MyPHeB6pAu6nWMk", Packing::kText},
                           {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Packing::kBase64Url}};
  PackedStrings p(f);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(p.get(i), f[i].text) << i;
  EXPECT_EQ(PackedStrings::packedSize(f), 1 + 31 + 18 + 44 + 34u) << "128 bytes instead of four std::strings (128 more)";
}

TEST(Base64UrlIntoBuffer, AgreesWithTheStringDecoder) {
  std::mt19937_64 rng(5);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/";
  for (int i = 0; i < 5000; ++i) {
    std::string s(rng() % 40, 'A');
    for (char& c : s) c = alphabet[rng() % (i % 2 == 0 ? 64 : alphabet.size())];
    std::string viaString;
    bool a = core::decodeBase64Url(s, viaString);
    std::vector<uint8_t> buf(s.size() + 1);
    bool b = core::decodeBase64Url(s, buf.data());
    ASSERT_EQ(a, b) << s;
    if (a) {
      ASSERT_EQ(viaString.size(), core::base64UrlDecodedLength(s.size())) << s;
      ASSERT_EQ(viaString, std::string(buf.begin(), buf.begin() + static_cast<long>(viaString.size()))) << s;
    }
  }
}

}  // namespace
}  // namespace handoff::store
