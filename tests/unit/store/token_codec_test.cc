#include "handoff/store/token_codec.h"

#include <gtest/gtest.h>

#include <array>

namespace handoff::store {
namespace {

std::array<uint8_t, 16> bytes(uint8_t seed) {
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return b;
}

TEST(TokenCodec, RoundTripsEveryKind) {
  for (TokenKind k : {TokenKind::kCode, TokenKind::kRefreshToken, TokenKind::kAccessToken,
                      TokenKind::kSessionTransfer, TokenKind::kSession}) {
    auto b = bytes(static_cast<uint8_t>(k));
    TokenId id = makeTokenId(k, 7, b);
    std::string text = encodeToken(id);
    EXPECT_EQ(text.rfind(std::string(tokenPrefix(k)) + "_7_", 0), 0u) << text;
    TokenId back;
    ASSERT_TRUE(decodeToken(text, k, 8, &back)) << text;
    EXPECT_EQ(back.shard, 7);
    EXPECT_EQ(back.key, id.key);
  }
}

TEST(TokenCodec, AnotherKindIsNeverAccepted) {
  std::string rt = encodeToken(makeTokenId(TokenKind::kRefreshToken, 0, bytes(1)));
  TokenId out;
  EXPECT_FALSE(decodeToken(rt, TokenKind::kAccessToken, 4, &out));
  EXPECT_FALSE(decodeToken(rt, TokenKind::kSessionTransfer, 4, &out));
  EXPECT_FALSE(decodeToken(rt, TokenKind::kCode, 4, &out));
  EXPECT_TRUE(decodeToken(rt, TokenKind::kRefreshToken, 4, &out));
}

TEST(TokenCodec, AShardBeyondTheCountIsReHomedModuloTheCount) {
  std::string t = encodeToken(makeTokenId(TokenKind::kCode, 5, bytes(2)));
  TokenId out;
  ASSERT_TRUE(decodeToken(t, TokenKind::kCode, 8, &out));
  EXPECT_EQ(out.shard, 5);
  ASSERT_TRUE(decodeToken(t, TokenKind::kCode, 2, &out)) << "minted when the node ran more shards";
  EXPECT_EQ(out.shard, 1) << "where recovery re-homed shard 5's records";
  EXPECT_FALSE(decodeToken(t, TokenKind::kCode, 0, &out));
}

TEST(TokenCodec, MalformedTextIsRefused) {
  std::string good = encodeToken(makeTokenId(TokenKind::kCode, 12, bytes(3)));
  std::string rnd = good.substr(good.rfind('_') + 1);
  TokenId out;
  for (const std::string& bad : {std::string(""), std::string("cd"), std::string("cd_12_"), "cd_012_" + rnd,
                                 "cd__" + rnd, "cd_x_" + rnd, "cd_12" + rnd, "cd_12_" + rnd + "A",
                                 "cd_12_" + rnd.substr(1), "cd_12_" + rnd.substr(0, 21) + "=", "cd_12_" + rnd.substr(0, 21) + "+",
                                 "CD_12_" + rnd, " cd_12_" + rnd, "cd_-1_" + rnd, "cd_99999_" + rnd}) {
    EXPECT_FALSE(decodeToken(bad, TokenKind::kCode, 1024, &out)) << bad;
  }
  EXPECT_TRUE(decodeToken(good, TokenKind::kCode, 1024, &out));
}

TEST(TokenCodec, NonCanonicalTrailingBitsAreRefused) {
  // 16 bytes encode to 22 characters whose last one carries 4 unused bits: only one spelling.
  std::string good = encodeToken(makeTokenId(TokenKind::kCode, 0, bytes(4)));
  std::string alt = good;
  char& last = alt.back();
  last = last == 'A' ? 'B' : 'A';
  TokenId a, b;
  bool okGood = decodeToken(good, TokenKind::kCode, 1, &a);
  bool okAlt = decodeToken(alt, TokenKind::kCode, 1, &b);
  ASSERT_TRUE(okGood);
  EXPECT_TRUE(!okAlt || !(a.key == b.key)) << "two spellings decode to one key";
}

}  // namespace
}  // namespace handoff::store
