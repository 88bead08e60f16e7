#include "handoff/http/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace handoff::http {
namespace {

using namespace std::string_view_literals;
using namespace std::string_literals;

class Json : public ::testing::Test {
 protected:
  // Parses from an exactly-sized heap copy, so ASan catches any read past the end.
  JsonError parse(std::string_view in, size_t maxDepth = 32) {
    buf_.assign(in.begin(), in.end());
    root_ = reinterpret_cast<const JsonValue*>(1);  // must be overwritten
    return parseJson(std::string_view(buf_.data(), buf_.size()), arena_, &root_, maxDepth,
                     &offending_);
  }
  std::string_view input() const { return {buf_.data(), buf_.size()}; }
  // The string value of a document that is one string.
  std::string str(std::string_view in) {
    EXPECT_EQ(parse(in), JsonError::kNone) << in;
    return root_ != nullptr && root_->isString() ? std::string(root_->text) : "<not a string>";
  }

  core::Arena arena_;
  std::vector<char> buf_;
  const JsonValue* root_ = nullptr;
  std::string_view offending_ = "untouched";
};

TEST_F(Json, ParsesLiterals) {
  ASSERT_EQ(parse("null"), JsonError::kNone);
  EXPECT_TRUE(root_->isNull());
  ASSERT_EQ(parse("true"), JsonError::kNone);
  EXPECT_TRUE(root_->isBool() && root_->boolean);
  ASSERT_EQ(parse(" \t\r\nfalse\n "), JsonError::kNone);
  EXPECT_TRUE(root_->isBool() && !root_->boolean);
}

TEST_F(Json, ParsesNumbersAndKeepsTheirText) {
  struct Case { std::string_view in; double value; };
  for (Case c : {Case{"0", 0}, {"-0", -0.0}, {"7", 7}, {"-12", -12}, {"1.5", 1.5},
                 {"-1.5e-3", -1.5e-3}, {"1E+2", 100}, {"2e2", 200}, {"0.25", 0.25},
                 {"10E-1", 1}, {"1.7976931348623157e308", 1.7976931348623157e308}}) {
    ASSERT_EQ(parse(c.in), JsonError::kNone) << c.in;
    EXPECT_TRUE(root_->isNumber());
    EXPECT_EQ(root_->number, c.value) << c.in;
    EXPECT_EQ(root_->text, c.in);
  }
}

TEST_F(Json, LargeIntegersBecomeApproximateDoubles) {
  ASSERT_EQ(parse("123456789012345678901234567890"), JsonError::kNone);
  EXPECT_DOUBLE_EQ(root_->number, 1.2345678901234568e29);
  EXPECT_EQ(root_->text, "123456789012345678901234567890");
}

TEST_F(Json, NumberBeyondDoubleRangeIsTooLarge) {
  EXPECT_EQ(parse("1e400"), JsonError::kTooLarge);
  EXPECT_EQ(parse("-1e400"), JsonError::kTooLarge);
  EXPECT_EQ(parse("[1, 2e99999999999999999999]"), JsonError::kTooLarge);
  EXPECT_EQ(parse("1" + std::string(400, '0')), JsonError::kTooLarge);
  EXPECT_EQ(parse("0.000001e315"), JsonError::kTooLarge);
}

TEST_F(Json, NumberTooSmallForDoubleBecomesZero) {
  ASSERT_EQ(parse("1e-400"), JsonError::kNone);
  EXPECT_EQ(root_->number, 0.0);
  ASSERT_EQ(parse("-1e-400"), JsonError::kNone);
  EXPECT_EQ(root_->number, 0.0);
  EXPECT_TRUE(std::signbit(root_->number));
  ASSERT_EQ(parse("0.0000000001e-320"), JsonError::kNone);
  EXPECT_EQ(root_->number, 0.0);
  ASSERT_EQ(parse("1000e-99999999999999999999"), JsonError::kNone);
  EXPECT_EQ(root_->number, 0.0);
}

TEST_F(Json, NumberGrammarIsStrict) {
  for (std::string_view bad : {"+1", ".5", "1.", "1.e3", "1e", "1e+", "1E-", "-", "-.5", "--1",
                               "NaN", "Infinity", "-Infinity", "0x10", "[01]", "[-01]", "[1.]",
                               "[1e]", "1.5.", "[.1]", "[+0]"}) {
    JsonError e = parse(bad);
    EXPECT_TRUE(e == JsonError::kSyntax || e == JsonError::kTrailing) << bad;
  }
  EXPECT_EQ(parse("01"), JsonError::kSyntax);  // leading zeros are not "0" then "1"
  EXPECT_EQ(parse("-00"), JsonError::kSyntax);
  EXPECT_EQ(parse("[01]"), JsonError::kSyntax);
  EXPECT_EQ(parse("1.5.2"), JsonError::kTrailing);
}

TEST_F(Json, AsInt64AcceptsOnlyIntegersThatFit) {
  int64_t v = 42;
  ASSERT_EQ(parse("9223372036854775807"), JsonError::kNone);
  ASSERT_TRUE(root_->asInt64(&v));
  EXPECT_EQ(v, INT64_MAX);
  ASSERT_EQ(parse("-9223372036854775808"), JsonError::kNone);
  ASSERT_TRUE(root_->asInt64(&v));
  EXPECT_EQ(v, INT64_MIN);
  ASSERT_EQ(parse("-0"), JsonError::kNone);
  ASSERT_TRUE(root_->asInt64(&v));
  EXPECT_EQ(v, 0);

  v = 42;
  for (std::string_view no : {"9223372036854775808", "-9223372036854775809", "1.0", "1e3",
                              "1E0", "0.5", "\"1\"", "true", "null", "[1]"}) {
    ASSERT_EQ(parse(no), JsonError::kNone) << no;
    EXPECT_FALSE(root_->asInt64(&v)) << no;
    EXPECT_EQ(v, 42) << no;
  }
}

TEST_F(Json, ParsesStringsWithoutEscapesAsViewsIntoTheInput) {
  ASSERT_EQ(parse("\"demo-native\""), JsonError::kNone);
  EXPECT_EQ(root_->text, "demo-native");
  EXPECT_EQ(root_->text.data(), input().data() + 1);
}

TEST_F(Json, UnescapesAllSimpleEscapesIntoTheArena) {
  ASSERT_EQ(parse(R"("a\"b\\c\/d\be\ff\ng\rh\ti")"), JsonError::kNone);
  EXPECT_EQ(root_->text, "a\"b\\c/d\be\ff\ng\rh\ti");
  EXPECT_FALSE(root_->text.data() >= input().data() &&
               root_->text.data() < input().data() + input().size());
}

TEST_F(Json, UnicodeEscapesBecomeUtf8) {
  EXPECT_EQ(str(R"("\u0041\u00e9\u00E9\u20AC")"), "A\xC3\xA9\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(str(R"("\u007f\u0080\u07ff\u0800\uffff")"),
            "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF");
  EXPECT_EQ(str(R"("\u0000")"), "\0"s);
}

TEST_F(Json, SurrogatePairsBecomeOneCodePoint) {
  EXPECT_EQ(str(R"("\uD83D\uDE00")"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(str(R"("\ud800\udc00")"), "\xF0\x90\x80\x80");
  EXPECT_EQ(str(R"("x\uDBFF\uDFFFy")"), "x\xF4\x8F\xBF\xBFy");
}

TEST_F(Json, LoneSurrogatesAreBadStrings) {
  for (std::string_view bad : {R"("\uD800")", R"("\uDC00")", R"("\uDFFF")", R"("\uD800x")",
                               R"("\uD800\u0041")", R"("\uD800\uD800")", R"("\uD800\n")",
                               R"("\uDE00\uD83D")", R"("\uD83D\uDE0")", R"("\uD83D\")"}) {
    JsonError e = parse(bad);
    EXPECT_TRUE(e == JsonError::kBadString || e == JsonError::kSyntax) << bad;
  }
  EXPECT_EQ(parse(R"("\uD800")"), JsonError::kBadString);
  EXPECT_EQ(parse(R"("\uDC00")"), JsonError::kBadString);
  EXPECT_EQ(parse(R"("\uD800\u0041")"), JsonError::kBadString);
}

TEST_F(Json, BadEscapesAreBadStrings) {
  for (std::string_view bad : {R"("\x41")", R"("\a")", R"("\u12")", R"("\u12G4")", R"("\uZZZZ")",
                               R"("\U0041")", R"("\u+041")", R"("\u-041")", R"("\u 041")",
                               R"("\u0x41")", R"("\'")", R"("\0")", "\"\\\xC3\xA9\""}) {
    EXPECT_EQ(parse(bad), JsonError::kBadString) << bad;
  }
}

TEST_F(Json, RawControlCharactersAreBadStrings) {
  for (int c = 0; c < 0x20; ++c) {
    std::string in = "\"a";
    in.push_back(static_cast<char>(c));
    in += "b\"";
    EXPECT_EQ(parse(in), JsonError::kBadString) << c;
  }
  EXPECT_EQ(str("\"a\x7F" "b\""), "a\x7F" "b");  // DEL is not a control character in JSON
}

TEST_F(Json, ValidUtf8PassesThrough) {
  for (std::string_view ok : {"\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
                              "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
                              "\xF4\x8F\xBF\xBF", "Ren\xC3\xA9" "e \xF0\x9F\x98\x80"}) {
    std::string in = "\"" + std::string(ok) + "\"";
    EXPECT_EQ(str(in), ok);
  }
}

TEST_F(Json, InvalidUtf8IsABadString) {
  for (std::string_view bad : {
           "\x80", "\xBF", "\xC0\x80", "\xC1\xBF",             // stray continuation, overlong
           "\xC2", "\xC2\x41", "\xE0\x80\x80", "\xE0\x9F\xBF",  // truncated, overlong
           "\xED\xA0\x80", "\xED\xBF\xBF",                      // UTF-8-encoded surrogates
           "\xE2\x82", "\xE2\x82\x41", "\xF0\x8F\xBF\xBF",      // truncated, overlong
           "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF0\x90\x80", "\xFE", "\xFF"}) {
    std::string in = "\"a" + std::string(bad) + "\"";
    EXPECT_EQ(parse(in), JsonError::kBadString) << testing::PrintToString(bad);
  }
  // A truncated sequence at the very end of the input.
  EXPECT_NE(parse("\"\xE2\x82"), JsonError::kNone);
  EXPECT_EQ(parse("\xC3\xA9"), JsonError::kSyntax);  // non-ASCII outside a string
}

TEST_F(Json, ParsesArraysInOrder) {
  ASSERT_EQ(parse(R"([1, "two", true, null, [], {}, [3]])"), JsonError::kNone);
  ASSERT_TRUE(root_->isArray());
  ASSERT_EQ(root_->size, 7u);
  EXPECT_EQ(root_->elements[0].number, 1);
  EXPECT_EQ(root_->elements[1].text, "two");
  EXPECT_TRUE(root_->elements[2].boolean);
  EXPECT_TRUE(root_->elements[3].isNull());
  EXPECT_TRUE(root_->elements[4].isArray() && root_->elements[4].size == 0);
  EXPECT_TRUE(root_->elements[5].isObject() && root_->elements[5].size == 0);
  ASSERT_EQ(root_->array()[6].size, 1u);
  EXPECT_EQ(root_->array()[6].elements[0].number, 3);
  EXPECT_TRUE(root_->object().empty());
}

TEST_F(Json, ParsesObjectsInOrderWithFind) {
  ASSERT_EQ(
      parse(R"( { "client_id" : "demo-native", "n": 5, "nested": {"k": [1, {"x": null}]} } )"),
      JsonError::kNone);
  ASSERT_TRUE(root_->isObject());
  ASSERT_EQ(root_->size, 3u);
  EXPECT_EQ(root_->members[0].key, "client_id");
  EXPECT_EQ(root_->members[2].key, "nested");
  ASSERT_NE(root_->findString("client_id"), nullptr);
  EXPECT_EQ(*root_->findString("client_id"), "demo-native");
  EXPECT_EQ(root_->findString("n"), nullptr);
  EXPECT_EQ(root_->find("n")->number, 5);
  EXPECT_EQ(root_->find("missing"), nullptr);
  const JsonValue* k = root_->find("nested")->find("k");
  ASSERT_TRUE(k != nullptr && k->isArray());
  EXPECT_TRUE(k->elements[1].find("x")->isNull());
  EXPECT_EQ(k->find("x"), nullptr);  // find on a non-object
  int count = 0;
  for (const JsonMember& m : root_->object()) count += !m.key.empty();
  EXPECT_EQ(count, 3);
  EXPECT_TRUE(root_->array().empty());
}

TEST_F(Json, KeysAreUnescaped) {
  ASSERT_EQ(parse(R"({"a\u0062c": 1, "": 2})"), JsonError::kNone);
  EXPECT_NE(root_->find("abc"), nullptr);
  EXPECT_NE(root_->find(""), nullptr);
}

TEST_F(Json, DuplicateKeyIsRejected) {
  EXPECT_EQ(parse(R"({"a": 1, "b": 2, "a": 3})"), JsonError::kDuplicateKey);
  EXPECT_EQ(offending_, "a");
  EXPECT_EQ(root_, nullptr);
}

TEST_F(Json, DuplicateKeyIsRejectedInNestedObjectsAndAfterUnescaping) {
  EXPECT_EQ(parse(R"([{"x": {"k": 1, "k": 2}}])"), JsonError::kDuplicateKey);
  EXPECT_EQ(offending_, "k");
  EXPECT_EQ(parse(R"({"scope": 1, "sc\u006fpe": 2})"), JsonError::kDuplicateKey);
  EXPECT_EQ(offending_, "scope");
}

TEST_F(Json, DuplicateKeyIsRejectedInLargeObjects) {
  std::string in = "{";
  for (int i = 0; i < 100; ++i) in += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  ASSERT_EQ(parse(in + "\"last\": 0}"), JsonError::kNone);
  EXPECT_EQ(root_->size, 101u);
  EXPECT_EQ(root_->find("k57")->number, 57);
  EXPECT_EQ(parse(in + "\"k42\": 0}"), JsonError::kDuplicateKey);
  EXPECT_EQ(offending_, "k42");
}

TEST_F(Json, SameKeyInSiblingObjectsIsFine) {
  EXPECT_EQ(parse(R"([{"a": 1}, {"a": 2}, {"b": {"a": 3}, "a": 4}])"), JsonError::kNone);
  EXPECT_EQ(offending_, "untouched");
}

TEST_F(Json, SyntaxErrors) {
  for (std::string_view bad :
       {"", " ", "\n\t", "[", "{", "]", "}", "[1,]", "[,1]", "[1 2]", "[1,,2]", "{\"a\"}",
        "{\"a\":}", "{\"a\" 1}", "{a:1}", "{'a':1}", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{,}",
        "{1:2}", "\"abc", "'abc'", "tru", "nul", "fals", "True", "NULL", "[1}", "{\"a\":1]",
        "\xEF\xBB\xBFnull", "// c\nnull", "/* c */ 1", "[\"a\":1]", "{\"a\":1:2}", "\x0Bnull",
        "\fnull", ",", ":", "{\"a\"::1}", "[\"abc]"}) {
    EXPECT_EQ(parse(bad), JsonError::kSyntax) << testing::PrintToString(bad);
    EXPECT_EQ(root_, nullptr);
  }
}

TEST_F(Json, TrailingCharactersAreRejected) {
  for (std::string_view bad :
       {"1 2", "{} x", "null,", "[1]]", "{}}", "\"a\"\"b\"", "truex", "[] []", "0 \x01"}) {
    EXPECT_EQ(parse(bad), JsonError::kTrailing) << bad;
  }
  EXPECT_EQ(parse("{}  \r\n\t "), JsonError::kNone);
  EXPECT_EQ(parse("null\0"sv), JsonError::kTrailing);
}

TEST_F(Json, DepthLimitIsExactlyMaxDepth) {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_EQ(parse(nested(32)), JsonError::kNone);
  EXPECT_EQ(parse(nested(33)), JsonError::kDepth);
  EXPECT_EQ(parse(nested(5), 5), JsonError::kNone);
  EXPECT_EQ(parse(nested(6), 5), JsonError::kDepth);
  EXPECT_EQ(parse("[{\"a\":[{}]}]", 4), JsonError::kNone);
  EXPECT_EQ(parse("[{\"a\":[{}]}]", 3), JsonError::kDepth);
  EXPECT_EQ(parse("1", 0), JsonError::kNone);
  EXPECT_EQ(parse("[]", 0), JsonError::kDepth);
  EXPECT_EQ(parse("[[],[],[[]]]", 3), JsonError::kNone);
}

TEST_F(Json, DeepNestingDoesNotRecurse) {
  const size_t depth = 200000;  // would overflow the stack of a recursive parser
  std::string in = std::string(depth, '[') + "7" + std::string(depth, ']');
  ASSERT_EQ(parse(in, depth), JsonError::kNone);
  const JsonValue* v = root_;
  for (size_t i = 0; i < depth; ++i) {
    ASSERT_TRUE(v->isArray() && v->size == 1);
    v = v->elements;
  }
  EXPECT_EQ(v->number, 7);
  EXPECT_EQ(parse(std::string(depth, '['), depth), JsonError::kSyntax);
}

TEST_F(Json, LargeFlatArrayThenSmallDocument) {
  std::string in = "[";
  for (int i = 0; i < 100000; ++i) in += std::to_string(i) + ",";
  in += "-1]";
  ASSERT_EQ(parse(in), JsonError::kNone);
  ASSERT_EQ(root_->size, 100001u);
  EXPECT_EQ(root_->elements[99999].number, 99999);
  arena_.reset();
  ASSERT_EQ(parse(R"({"a":[1,2]})"), JsonError::kNone);
  EXPECT_EQ(root_->find("a")->size, 2u);
}

TEST_F(Json, EarlierDocumentsStayValidAfterLaterParses) {
  const JsonValue* first = nullptr;
  ASSERT_EQ(parseJson(R"({"a":[1,2,{"b":"x\ny"}]})", arena_, &first), JsonError::kNone);
  ASSERT_EQ(parse(R"([[9,9,9],{"c":{"d":[]}}])"), JsonError::kNone);
  ASSERT_EQ(parse(R"({"broken": [1, 2)"), JsonError::kSyntax);
  const JsonValue* a = first->find("a");
  ASSERT_TRUE(a != nullptr && a->size == 3);
  EXPECT_EQ(a->elements[1].number, 2);
  EXPECT_EQ(*a->elements[2].findString("b"), "x\ny");
}

TEST(JsonThreads, ParsesConcurrentlyOnSeveralThreads) {
  auto work = [](int seed, bool* ok) {
    core::Arena arena;
    *ok = true;
    for (int i = 0; i < 500; ++i) {
      std::string doc = R"({"n":)" + std::to_string(seed * 1000 + i) + R"(,"a":[[1],[2,[3]]]})";
      const JsonValue* v = nullptr;
      *ok = *ok && parseJson(doc, arena, &v) == JsonError::kNone &&
            v->find("n")->number == seed * 1000 + i && v->find("a")->size == 2;
      arena.reset();
    }
  };
  bool ok1 = false, ok2 = false;
  std::thread t1(work, 1, &ok1);
  std::thread t2(work, 2, &ok2);
  t1.join();
  t2.join();
  EXPECT_TRUE(ok1);
  EXPECT_TRUE(ok2);
}

TEST(JsonLayout, ValueIsCompact) { EXPECT_LE(sizeof(JsonValue), 40u); }

TEST_F(Json, OffendingKeyIsOptional) {
  const JsonValue* v = nullptr;
  EXPECT_EQ(parseJson(R"({"a":1,"a":2})", arena_, &v), JsonError::kDuplicateKey);
  EXPECT_EQ(v, nullptr);
}

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  std::string out;
  appendJsonString(out, "a\"b\\c\nd\re\tf\bg\fh\x01i\x1Fj\x7F");
  EXPECT_EQ(out, R"("a\"b\\c\nd\re\tf\bg\fh\u0001i\u001fj)" "\x7F\"");
}

TEST(JsonString, EscapesHtmlSpecialCharacters) {
  std::string out;
  appendJsonString(out, "</script><b>&amp;");
  EXPECT_EQ(out, R"("\u003c/script\u003e\u003cb\u003e\u0026amp;")");
}

TEST(JsonString, PassesUtf8ThroughAndEscapesLineSeparators) {
  std::string out = "x:";
  appendJsonString(out, "Ren\xC3\xA9" "e \xF0\x9F\x98\x80 \xE2\x80\xA8\xE2\x80\xA9\xE2\x80\xA7");
  EXPECT_EQ(out, "x:\"Ren\xC3\xA9" "e \xF0\x9F\x98\x80 \\u2028\\u2029\xE2\x80\xA7\"");
}

TEST(JsonString, ReplacesInvalidUtf8) {
  std::string out;
  appendJsonString(out, "a\xFF" "b\xC3" "c\xED\xA0\x80" "d\xE2\x82");
  EXPECT_EQ(out, R"("a\ufffdb\ufffdc\ufffd\ufffd\ufffdd\ufffd\ufffd")");
}

TEST(JsonString, EmptyString) {
  std::string out;
  appendJsonString(out, "");
  EXPECT_EQ(out, "\"\"");
}

TEST(JsonString, RoundTripsThroughParseJson) {
  std::string allAscii;
  for (int c = 0; c < 0x80; ++c) allAscii.push_back(static_cast<char>(c));
  const std::vector<std::string> tricky = {
      "", "plain", "\"", "\\", "\\\"", "\"\\\"", "</script>", "&<>", "\0mid\0"s, allAscii,
      "\xE2\x80\xA8\xE2\x80\xA9", "\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF\xC2\x80",
      "\\u0041", "\\uD800", "line\r\nbreak", "tab\tend\x1F"};
  core::Arena arena;
  for (const std::string& s : tricky) {
    std::string doc = "{\"k\":";
    appendJsonString(doc, s);
    doc += ",\"a\":[";
    appendJsonString(doc, s);
    doc += "]}";
    const JsonValue* v = nullptr;
    ASSERT_EQ(parseJson(doc, arena, &v), JsonError::kNone) << doc;
    EXPECT_EQ(v->find("k")->text, s);
    EXPECT_EQ(v->find("a")->elements[0].text, s);
  }
}

// Deterministic robustness check: every prefix and a few thousand random mutations of valid
// documents must parse to some result without crashing or reading out of bounds.
TEST(JsonRobustness, PrefixesAndMutationsNeverCrash) {
  const std::vector<std::string> seeds = {
      R"({"client_id":"demo-native","grant_type":"refresh_token","audience":"urn:a:b"})",
      R"([1, -2.5e-3, true, false, null, {"a": [{}, []]}, "\u00e9\uD83D\uDE00\n"])",
      "{\"x\": \"Ren\xC3\xA9" "e \xF0\x9F\x98\x80\", \"y\": [0, 1E+2, -0.0]}",
  };
  const std::string alphabet = "{}[]\",:\\u0123456789eE+-.tfn \n\x01\x80\xC3\xED\xF4\xFF"s;
  core::Arena arena;
  std::mt19937 rng(20240611);
  auto check = [&](const std::string& s) {
    std::vector<char> buf(s.begin(), s.end());
    const JsonValue* v = nullptr;
    std::string_view key;
    JsonError e = parseJson(std::string_view(buf.data(), buf.size()), arena, &v, 4, &key);
    EXPECT_EQ(e == JsonError::kNone, v != nullptr);
    arena.reset();
  };
  for (const std::string& seed : seeds) {
    for (size_t n = 0; n <= seed.size(); ++n) check(seed.substr(0, n));
  }
  for (int iter = 0; iter < 5000; ++iter) {
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
