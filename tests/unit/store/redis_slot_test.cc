// Key slots as the Redis Cluster spec defines them, and the SHA-1 that names EVALSHA scripts.
#include <gtest/gtest.h>

#include <string>

#include "handoff/store/redis/sha1.h"
#include "handoff/store/redis/slot.h"

namespace handoff::store::redis {
namespace {

TEST(RedisSlot, Crc16MatchesTheSpecVector) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(RedisSlot, SlotIsCrcModulo16384) {
  EXPECT_EQ(slotOf("123456789"), 12739);
  // Values the server's CLUSTER KEYSLOT gives for these keys.
  EXPECT_EQ(slotOf("foo"), 12182);
  EXPECT_EQ(slotOf("bar"), 5061);
  EXPECT_EQ(slotOf(""), 0);
}

TEST(RedisSlot, HashTagsPutKeysInTheSameSlot) {
  EXPECT_EQ(hashTagOf("{user1000}.following"), "user1000");
  EXPECT_EQ(slotOf("{user1000}.following"), slotOf("{user1000}.followers"));
  EXPECT_EQ(slotOf("{user1000}.following"), slotOf("user1000"));
}

TEST(RedisSlot, EmptyTagHashesTheWholeKey) {
  EXPECT_EQ(hashTagOf("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(slotOf("foo{}{bar}"), crc16("foo{}{bar}") % 16384);
  EXPECT_EQ(hashTagOf("{}"), "{}");
}

TEST(RedisSlot, TagEndsAtTheFirstClosingBraceAfterTheFirstOpening) {
  EXPECT_EQ(hashTagOf("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(slotOf("foo{{bar}}zap"), crc16("{bar") % 16384);
  EXPECT_EQ(hashTagOf("foo{bar}{zap}"), "bar");
  EXPECT_EQ(slotOf("foo{bar}{zap}"), slotOf("bar"));
}

TEST(RedisSlot, UnclosedOrMisorderedBracesHashTheWholeKey) {
  EXPECT_EQ(hashTagOf("foo{bar"), "foo{bar");
  EXPECT_EQ(hashTagOf("foo}bar{"), "foo}bar{");
  EXPECT_EQ(hashTagOf("}{x}"), "x");
}

TEST(RedisSlot, BinaryKeysAreHashedByteForByte) {
  std::string key("a\0b{\xff\x00}", 7);
  EXPECT_EQ(hashTagOf(key), std::string("\xff\x00", 2));
  EXPECT_EQ(slotOf(key), crc16(std::string("\xff\x00", 2)) % 16384);
}

TEST(RedisSha1, KnownVectors) {
  EXPECT_EQ(sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(sha1Hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // 55 and 56 bytes: the length fits in the last block, or needs one more.
  EXPECT_EQ(sha1Hex(std::string(55, 'x')).size(), 40u);
  EXPECT_NE(sha1Hex(std::string(55, 'x')), sha1Hex(std::string(56, 'x')));
}

}  // namespace
}  // namespace handoff::store::redis
