#include "handoff/http/params.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::http {
namespace {

using namespace std::string_view_literals;
using namespace std::string_literals;

bool pointsInto(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

class FormDecode : public ::testing::Test {
 protected:
  DecodeStatus decode(std::string_view in, size_t maxParams = 64) {
    return decodeForm(in, arena_, list_, maxParams, &offending_);
  }
  core::Arena arena_;
  ParamList list_;
  std::string_view offending_;
};

TEST_F(FormDecode, SplitsPairsOnAmpersandInOrder) {
  ASSERT_EQ(decode("a=1&b=2&c=3"), DecodeStatus::kOk);
  ASSERT_EQ(list_.size(), 3u);
  EXPECT_EQ(list_[0].name, "a");
  EXPECT_EQ(list_[0].value, "1");
  EXPECT_EQ(list_[1].name, "b");
  EXPECT_EQ(list_[2].value, "3");
  EXPECT_EQ(list_.get("b"), "2");
}

TEST_F(FormDecode, EmptyInputGivesEmptyList) {
  ASSERT_EQ(decode(""), DecodeStatus::kOk);
  EXPECT_TRUE(list_.empty());
}

TEST_F(FormDecode, EmptyPairsAreSkipped) {
  ASSERT_EQ(decode("&&a=1&&&b=2&"), DecodeStatus::kOk);
  ASSERT_EQ(list_.size(), 2u);
  EXPECT_EQ(list_.get("a"), "1");
  EXPECT_EQ(list_.get("b"), "2");
  ASSERT_EQ(decode("&"), DecodeStatus::kOk);
  EXPECT_TRUE(list_.empty());
}

TEST_F(FormDecode, NameWithoutEqualsHasEmptyValue) {
  ASSERT_EQ(decode("flag&a=1"), DecodeStatus::kOk);
  ASSERT_TRUE(list_.has("flag"));
  EXPECT_EQ(list_.get("flag"), "");
  EXPECT_EQ(list_.find("flag")->value.size(), 0u);
}

TEST_F(FormDecode, EmptyValueAfterEquals) {
  ASSERT_EQ(decode("a=&b=2"), DecodeStatus::kOk);
  EXPECT_TRUE(list_.has("a"));
  EXPECT_EQ(list_.get("a"), "");
}

TEST_F(FormDecode, ValueMayContainEquals) {
  ASSERT_EQ(decode("a=b=c"), DecodeStatus::kOk);
  EXPECT_EQ(list_.get("a"), "b=c");
}

TEST_F(FormDecode, PlusDecodesToSpaceButEncodedPlusStaysPlus) {
  ASSERT_EQ(decode("scope=openid+profile&x=a%2Bb&y=%2b"), DecodeStatus::kOk);
  EXPECT_EQ(list_.get("scope"), "openid profile");
  EXPECT_EQ(list_.get("x"), "a+b");
  EXPECT_EQ(list_.get("y"), "+");
}

TEST_F(FormDecode, PercentDecodingIsCaseInsensitive) {
  ASSERT_EQ(decode("u=https%3A%2F%2Fa.example%2fcb&v=%3a%3A"), DecodeStatus::kOk);
  EXPECT_EQ(list_.get("u"), "https://a.example/cb");
  EXPECT_EQ(list_.get("v"), "::");
}

TEST_F(FormDecode, NamesArePercentDecodedToo) {
  ASSERT_EQ(decode("client%5Fid=x&a+b=y"), DecodeStatus::kOk);
  EXPECT_EQ(list_.get("client_id"), "x");
  EXPECT_EQ(list_.get("a b"), "y");
}

TEST_F(FormDecode, PercentEncodedUtf8DecodesToBytes) {
  ASSERT_EQ(decode("name=Ren%C3%A9e&emoji=%F0%9F%98%80"), DecodeStatus::kOk);
  EXPECT_EQ(list_.get("name"), "Ren\xC3\xA9" "e");
  EXPECT_EQ(list_.get("emoji"), "\xF0\x9F\x98\x80");
}

TEST_F(FormDecode, UndecodedValuesAreViewsIntoTheInput) {
  std::string in = "grant_type=refresh_token&client_id=demo-native";
  ASSERT_EQ(decode(in), DecodeStatus::kOk);
  for (const Param& p : list_) {
    EXPECT_TRUE(pointsInto(p.name, in)) << p.name;
    EXPECT_TRUE(pointsInto(p.value, in)) << p.value;
  }
  EXPECT_EQ(arena_.bytesInUse(), 0u);
}

TEST_F(FormDecode, DecodedValuesLiveInTheArena) {
  std::string in = "a=x%20y&b=plain";
  ASSERT_EQ(decode(in), DecodeStatus::kOk);
  EXPECT_FALSE(pointsInto(list_.get("a"), in));
  EXPECT_TRUE(pointsInto(list_.get("b"), in));
  EXPECT_TRUE(pointsInto(list_.find("a")->name, in));
  EXPECT_GT(arena_.bytesInUse(), 0u);
}

TEST_F(FormDecode, TruncatedPercentEscapeIsMalformed) {
  EXPECT_EQ(decode("a=%"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a=%4"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a=x%4&b=1"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a%=1"), DecodeStatus::kMalformed);
}

TEST_F(FormDecode, NonHexPercentEscapeIsMalformed) {
  EXPECT_EQ(decode("a=%zz"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a=%4G"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a=%G4"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a=%%41"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a=%+1"), DecodeStatus::kMalformed);
}

TEST_F(FormDecode, EncodedNulIsMalformed) {
  EXPECT_EQ(decode("a=x%00y"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a%00=1"), DecodeStatus::kMalformed);
}

TEST_F(FormDecode, RawNulIsMalformed) {
  EXPECT_EQ(decode("a=x\0y"sv), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("\0=1"sv), DecodeStatus::kMalformed);
}

TEST_F(FormDecode, EmptyNameIsMalformed) {
  EXPECT_EQ(decode("=x"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("a=1&=x"), DecodeStatus::kMalformed);
  EXPECT_EQ(decode("="), DecodeStatus::kMalformed);
}

TEST_F(FormDecode, DuplicateNameIsRejected) {
  EXPECT_EQ(decode("client_id=a&scope=x&client_id=b"), DecodeStatus::kDuplicate);
  EXPECT_EQ(offending_, "client_id");
}

TEST_F(FormDecode, DuplicateIsDetectedAfterDecoding) {
  EXPECT_EQ(decode("client_id=a&client%5Fid=b"), DecodeStatus::kDuplicate);
  EXPECT_EQ(offending_, "client_id");
  EXPECT_EQ(decode("a+b=1&a%20b=2"), DecodeStatus::kDuplicate);
  EXPECT_EQ(offending_, "a b");
}

TEST_F(FormDecode, DuplicateWithEmptyValuesIsRejected) {
  EXPECT_EQ(decode("a&a"), DecodeStatus::kDuplicate);
  EXPECT_EQ(offending_, "a");
}

TEST_F(FormDecode, OffendingIsOptional) {
  EXPECT_EQ(decodeForm("a=1&a=2", arena_, list_), DecodeStatus::kDuplicate);
}

TEST_F(FormDecode, MoreThanMaxParamsIsTooMany) {
  EXPECT_EQ(decode("a=1&b=2&c=3", 3), DecodeStatus::kOk);
  EXPECT_EQ(decode("a=1&b=2&c=3&d=4", 3), DecodeStatus::kTooMany);
  EXPECT_EQ(decode("a=1&&&b=2&&c=3&", 3), DecodeStatus::kOk);  // empty pairs do not count
  EXPECT_EQ(decode("a", 0), DecodeStatus::kTooMany);
}

TEST_F(FormDecode, DefaultLimitIsSixtyFour) {
  std::string in;
  for (int i = 0; i < 64; ++i) in += "p" + std::to_string(i) + "=v&";
  ASSERT_EQ(decode(in), DecodeStatus::kOk);
  EXPECT_EQ(list_.size(), 64u);
  in += "last=1";
  EXPECT_EQ(decodeForm(in, arena_, list_), DecodeStatus::kTooMany);
}

TEST_F(FormDecode, ClearsTheListFirst) {
  ASSERT_EQ(decode("a=1&b=2"), DecodeStatus::kOk);
  ASSERT_EQ(decode("c=3"), DecodeStatus::kOk);
  EXPECT_EQ(list_.size(), 1u);
  EXPECT_FALSE(list_.has("a"));
}

TEST_F(FormDecode, KeepsPairsBeforeAnError) {
  EXPECT_EQ(decode("a=1&b=%&c=3"), DecodeStatus::kMalformed);
  ASSERT_EQ(list_.size(), 1u);
  EXPECT_EQ(list_[0].name, "a");
}

TEST(ParamListTest, FindReturnsFirstMatchAndGetIsEmptyWhenAbsent) {
  ParamList list;
  list.add({"a", "1"});
  list.add({"a", "2"});
  EXPECT_EQ(list.find("a")->value, "1");
  EXPECT_EQ(list.find("b"), nullptr);
  EXPECT_EQ(list.get("b"), "");
  EXPECT_FALSE(list.has("b"));
  list.clear();
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.begin(), list.end());
}

// The name filter only skips scans: every held name is found (the first of its kind), names not
// held are not, whichever bits they share, and clear() forgets the names as well as the pairs.
TEST(ParamListTest, TheNameFilterNeverHidesAHeldName) {
  std::mt19937 rng(7);
  std::vector<std::string> held, absent;
  auto randomName = [&] {
    std::string s(1 + rng() % 24, 'x');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
  };
  while (held.size() < 64) held.push_back(randomName());
  while (absent.size() < 2000) {
    std::string s = randomName();
    if (std::find(held.begin(), held.end(), s) == held.end()) absent.push_back(s);
  }
  ParamList list;
  list.add({"", "empty"});
  for (const std::string& n : held) list.add({n, n});
  for (const std::string& n : held) {
    ASSERT_NE(list.find(n), nullptr) << n;
    EXPECT_EQ(list.find(n), &*std::find_if(list.begin(), list.end(), [&](const Param& p) { return p.name == n; }));
  }
  EXPECT_EQ(list.get(""), "empty");
  for (const std::string& n : absent) EXPECT_EQ(list.find(n), nullptr) << n;
  list.clear();
  for (const std::string& n : held) EXPECT_EQ(list.find(n), nullptr) << n;
  EXPECT_FALSE(list.has(""));
  list.add({held[0], "again"});
  EXPECT_EQ(list.get(held[0]), "again");
}

TEST(CookieDecode, SplitsOnSemicolonAndTrimsSpaces) {
  ParamList list;
  decodeCookies("sid=abc; theme=dark;lang=en ;  \tx = y ", list);
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list.get("sid"), "abc");
  EXPECT_EQ(list.get("theme"), "dark");
  EXPECT_EQ(list.get("lang"), "en");
  EXPECT_EQ(list.get("x"), "y");
}

TEST(CookieDecode, ValuesAreNotPercentDecoded) {
  ParamList list;
  decodeCookies("a=x%20y+z; b=a=b", list);
  EXPECT_EQ(list.get("a"), "x%20y+z");
  EXPECT_EQ(list.get("b"), "a=b");
}

TEST(CookieDecode, QuotedValueIsUnquoted) {
  ParamList list;
  decodeCookies("a=\"quoted value\"; b=\"\"; c=\"; d=\"x", list);
  EXPECT_EQ(list.get("a"), "quoted value");
  EXPECT_TRUE(list.has("b"));
  EXPECT_EQ(list.get("b"), "");
  EXPECT_EQ(list.get("c"), "\"");  // a lone quote is not a quoted value
  EXPECT_EQ(list.get("d"), "\"x");
}

TEST(CookieDecode, PairsWithoutEqualsOrNameAreSkipped) {
  ParamList list;
  decodeCookies("novalue; =x; ;  = y; ok=1;;", list);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list.get("ok"), "1");
}

TEST(CookieDecode, EmptyValueIsKept) {
  ParamList list;
  decodeCookies("a=; b=2", list);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(list.has("a"));
}

TEST(CookieDecode, DuplicatesAreKeptInOrder) {
  ParamList list;
  decodeCookies("sid=first; sid=second", list);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.get("sid"), "first");
  EXPECT_EQ(list[1].value, "second");
}

TEST(CookieDecode, StopsAfterMaxCookies) {
  ParamList list;
  decodeCookies("a=1; b=2; c=3; d=4", list, 2);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_FALSE(list.has("c"));
}

TEST(CookieDecode, EmptyHeaderGivesEmptyListAndClearsOld) {
  ParamList list;
  decodeCookies("a=1", list);
  decodeCookies("", list);
  EXPECT_TRUE(list.empty());
}

TEST(CookieDecode, ViewsPointIntoTheHeader) {
  ParamList list;
  std::string header = "a=1; b=\"2\"";
  decodeCookies(header, list);
  for (const Param& p : list) {
    EXPECT_TRUE(pointsInto(p.name, header));
    EXPECT_TRUE(pointsInto(p.value, header));
  }
}

TEST(UrlEncode, LeavesUnreservedAlone) {
  std::string out;
  appendUrlEncoded(out, "AZaz09-._~");
  EXPECT_EQ(out, "AZaz09-._~");
}

TEST(UrlEncode, EncodesEverythingElseWithUppercaseHex) {
  std::string out = "x=";
  appendUrlEncoded(out, "a b+c/:?&=%\xC3\xA9\x01\xFF*");
  EXPECT_EQ(out, "x=a%20b%2Bc%2F%3A%3F%26%3D%25%C3%A9%01%FF%2A");
}

TEST(UrlEncode, EmptyInputAppendsNothing) {
  std::string out = "keep";
  appendUrlEncoded(out, "");
  EXPECT_EQ(out, "keep");
}

TEST(UrlEncode, RoundTripsThroughFormDecode) {
  std::string all;
  for (int c = 1; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string body = "v=";
  appendUrlEncoded(body, all);
  core::Arena arena;
  ParamList list;
  ASSERT_EQ(decodeForm(body, arena, list), DecodeStatus::kOk);
  EXPECT_EQ(list.get("v"), all);
}

// Deterministic robustness check: prefixes and random mutations of valid inputs must decode
// to some status without crashing or reading out of bounds (ASan watches the reads).
TEST(PathSegment, DecodesEscapesInEitherCaseAndKeepsPlus) {
  std::string out;
  ASSERT_TRUE(decodePathSegment("auth0%7cabc%7C+x", out));
  EXPECT_EQ(out, "auth0|abc|+x");
  ASSERT_TRUE(decodePathSegment("", out));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(decodePathSegment("%41", out));
  EXPECT_EQ(out, "A");
}

TEST(PathSegment, RefusesBrokenEscapesAndNul) {
  std::string out;
  for (std::string_view bad : {"%", "a%", "a%7", "%7g", "%g7", "%00", "x%00y"}) {
    EXPECT_FALSE(decodePathSegment(bad, out)) << bad;
  }
}

// decodeForm against the rules written out plainly (split, decode, then look for a duplicate), on
// random inputs whose runs of plain bytes cross every offset of the sixteen-byte scan.
TEST(ParamsRobustness, DecodeFormAgreesWithAPlainReading) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto decode = [&](std::string_view raw, std::string* out) {
    out->clear();
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\0') return false;
      if (raw[i] == '+') { out->push_back(' '); continue; }
      if (raw[i] != '%') { out->push_back(raw[i]); continue; }
      if (i + 2 >= raw.size() || hex(raw[i + 1]) < 0 || hex(raw[i + 2]) < 0) return false;
      char c = static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
      if (c == '\0') return false;
      out->push_back(c);
      i += 2;
    }
    return true;
  };
  // Status and pairs of the plain reading (pairs decoded before an error included).
  auto reference = [&](std::string_view in, std::vector<std::pair<std::string, std::string>>* pairs) {
    pairs->clear();
    size_t pos = 0;
    while (pos <= in.size()) {
      size_t amp = in.find('&', pos);
      if (amp == std::string_view::npos) amp = in.size();
      std::string_view pair = in.substr(pos, amp - pos);
      pos = amp + 1;
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      std::string name, value;
      std::string_view rawName = pair.substr(0, eq);
      if (rawName.empty()) return DecodeStatus::kMalformed;
      if (pairs->size() >= 8) return DecodeStatus::kTooMany;
      if (!decode(rawName, &name) || !decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), &value)) {
        return DecodeStatus::kMalformed;
      }
      for (const auto& p : *pairs) {
        if (p.first == name) return DecodeStatus::kDuplicate;
      }
      pairs->emplace_back(name, value);
    }
    return DecodeStatus::kOk;
  };
  const std::string special = "&&&==%+\0"s;
  const std::string escapes[] = {"%41", "%7e", "%2F", "%00", "%4", "%zz", "%C3%A9"};
  std::mt19937 rng(99);
  core::Arena arena;
  ParamList list;
  std::vector<std::pair<std::string, std::string>> want;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    int pieces = static_cast<int>(rng() % 8);
    for (int i = 0; i < pieces; ++i) {
      s.append(rng() % 41, static_cast<char>('a' + rng() % 6));  // plain runs of 0..40 bytes
      if (rng() % 4 == 0) s.append(escapes[rng() % std::size(escapes)]);
      else s.push_back(special[rng() % special.size()]);
    }
    std::vector<char> buf(s.begin(), s.end());  // exactly sized: ASan sees a read past the end
    std::string_view in(buf.data(), buf.size());
    DecodeStatus got = decodeForm(in, arena, list, 8);
    DecodeStatus expected = reference(in, &want);
    ASSERT_EQ(static_cast<int>(got), static_cast<int>(expected)) << s;
    if (expected != DecodeStatus::kOk) continue;
    ASSERT_EQ(list.size(), want.size()) << s;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(list[i].name, want[i].first) << s;
      EXPECT_EQ(list[i].value, want[i].second) << s;
    }
    arena.reset();
  }
}

TEST(ParamsRobustness, PrefixesAndMutationsNeverCrash) {
  const std::vector<std::string> seeds = {
      "grant_type=refresh_token&client_id=demo-native&audience=urn%3A127.0.0.1%3A8080",
      "client_id=x&redirect_uri=https%3A%2F%2Fa.example%2Fcb&scope=openid%20profile+email",
      "a=%C3%A9&b&c=&=&%&%%&+=+",
  };
  const std::string alphabet = "%&=+;\" \t\0aZ09fFgG\xC3\xFF"s;
  core::Arena arena;
  ParamList list;
  std::mt19937 rng(12345);
  auto check = [&](const std::string& s) {
    // Copy to an exactly-sized heap buffer so ASan catches any read past the end.
    std::vector<char> buf(s.begin(), s.end());
    std::string_view in(buf.data(), buf.size());
    std::string_view offending;
    DecodeStatus st = decodeForm(in, arena, list, 8, &offending);
    EXPECT_LE(static_cast<int>(st), static_cast<int>(DecodeStatus::kTooMany));
    for (const Param& p : list) EXPECT_FALSE(p.name.empty());
    decodeCookies(in, list, 8);
    arena.reset();
  };
  for (const std::string& seed : seeds) {
    for (size_t n = 0; n <= seed.size(); ++n) check(seed.substr(0, n));
  }
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = s.empty() ? 0 : rng() % s.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: if (!s.empty()) s[at] = c; break;
        case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: if (!s.empty()) s.erase(at, 1 + rng() % 3); break;
      }
    }
    check(s);
  }
}

}  // namespace
}  // namespace handoff::http
