// InternTable: one copy per distinct live string, counted references, gone with the last one.
#include "handoff/store/intern.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace handoff::store {
namespace {

TEST(InternTable, OneHandlePerDistinctString) {
  InternTable t;
  auto a = t.acquire("openid profile email offline_access");
  auto b = t.acquire(std::string("openid profile email offline_access"));
  auto c = t.acquire("openid");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(t.view(a), "openid profile email offline_access");
  EXPECT_EQ(t.view(c), "openid");
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.references(a), 2u);
}

TEST(InternTable, TheEmptyStringIsNotStored) {
  InternTable t;
  EXPECT_EQ(t.acquire(""), InternTable::kEmpty);
  EXPECT_EQ(t.view(InternTable::kEmpty), "");
  t.release(InternTable::kEmpty);
  EXPECT_EQ(t.size(), 0u);
}

TEST(InternTable, AStringGoesWithItsLastReference) {
  InternTable t;
  auto a = t.acquire("client-a");
  t.acquire("client-a");
  t.release(a);
  EXPECT_EQ(t.view(a), "client-a") << "one reference left";
  t.release(a);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.references(a), 0u);
  auto b = t.acquire("client-b");
  EXPECT_EQ(b, a) << "the freed handle is reused";
  EXPECT_EQ(t.view(b), "client-b");
  EXPECT_EQ(t.acquire("client-a") == b, false);
}

TEST(InternTable, ViewsStayValidWhileTheTableGrows) {
  InternTable t;
  auto first = t.acquire("a string longer than the small-string buffer of std::string");
  std::string_view before = t.view(first);
  std::vector<InternTable::Handle> many;
  for (int i = 0; i < 10000; ++i) many.push_back(t.acquire("value-" + std::to_string(i)));
  EXPECT_EQ(before.data(), t.view(first).data());
  EXPECT_EQ(before, "a string longer than the small-string buffer of std::string");
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(t.view(many[i]), "value-" + std::to_string(i));
  for (auto h : many) t.release(h);
  EXPECT_EQ(t.size(), 1u) << "nothing accumulates after the references are gone";
}

TEST(InternTable, HoldsArbitraryBytes) {
  InternTable t;
  std::string bytes("a\0b\xff", 4);
  auto h = t.acquire(bytes);
  EXPECT_EQ(t.view(h), bytes);
  EXPECT_NE(t.acquire(std::string_view("a", 1)), h);
}

TEST(SipHash, MatchesTheReferenceVector) {
  // The SipHash paper, appendix A: key 00..0f, message 00..0e, SipHash-2-4.
  std::string msg;
  for (int i = 0; i < 15; ++i) msg.push_back(static_cast<char>(i));
  EXPECT_EQ(sipHash(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull, msg, 2, 4), 0xa129ca6149be45e5ull);
  EXPECT_NE(sipHash(1, 2, msg), sipHash(1, 3, msg)) << "the key changes the hash";
}

TEST(InternTableDeathTest, AReleasedHandleIsABrokenInvariant) {
  InternTable t;
  auto h = t.acquire("x");
  t.release(h);
  EXPECT_DEATH(t.view(h), "");
  EXPECT_DEATH(t.release(h), "");
  EXPECT_DEATH(t.view(12345), "");
}

}  // namespace
}  // namespace handoff::store
