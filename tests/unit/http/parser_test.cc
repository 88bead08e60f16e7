// The llhttp wrapper: messages come out whole however the bytes are split, pipelined messages
// come out one at a time (paused after each), and ambiguous framing is refused.
#include "handoff/http/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace handoff::http {
namespace {

struct Message {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Method method = Method::kOther;
  bool keepAlive = false;
};

// Records what the parser reports, pausing after each message like the session does.
class Recorder : public ParserEvents {
 public:
  Parser parser{*this};
  std::vector<Message> done;
  Message cur;
  bool lastValue = false;

  int onMessageBegin() override {
    cur = {};
    lastValue = false;
    return kContinue;
  }
  int onUrl(const char* at, size_t n) override {
    cur.url.append(at, n);
    return kContinue;
  }
  int onHeaderField(const char* at, size_t n) override {
    if (cur.headers.empty() || lastValue) cur.headers.emplace_back();
    lastValue = false;
    cur.headers.back().first.append(at, n);
    return kContinue;
  }
  int onHeaderValue(const char* at, size_t n) override {
    lastValue = true;
    cur.headers.back().second.append(at, n);
    return kContinue;
  }
  int onHeadersComplete() override {
    cur.method = parser.method();
    cur.keepAlive = parser.keepAlive();
    return kContinue;
  }
  int onBody(const char* at, size_t n) override {
    cur.body.append(at, n);
    return kContinue;
  }
  int onMessageComplete() override {
    done.push_back(cur);
    return kPause;
  }

  // Feeds `data` in pieces of `step` bytes, resuming after each pause. Returns the last result.
  ParseResult feed(const std::string& data, size_t step) {
    size_t pos = 0;
    while (pos < data.size()) {
      size_t n = std::min(step, data.size() - pos);
      size_t off = 0;
      while (off < n) {
        size_t consumed = 0;
        ParseResult r = parser.execute(data.data() + pos + off, n - off, &consumed);
        off += consumed;
        if (r == ParseResult::kPaused) {
          parser.resume();
          continue;
        }
        if (r != ParseResult::kOk) return r;
      }
      pos += n;
    }
    return ParseResult::kOk;
  }
};

const std::string kPipeline =
    "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
    "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nContent-Type: application/json\r\n\r\n{\"k\":\"v1\"}"
    "\r\n"  // stray CRLF between messages is tolerated (RFC 9112 §2.2)
    "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n"
    "GET /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

void expectPipeline(const std::vector<Message>& m) {
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].url, "/a?x=1");
  EXPECT_EQ(m[0].method, Method::kGet);
  EXPECT_EQ(m[1].url, "/b");
  EXPECT_EQ(m[1].body, "{\"k\":\"v1\"}");
  EXPECT_EQ(m[1].method, Method::kPost);
  ASSERT_EQ(m[1].headers.size(), 3u);
  EXPECT_EQ(m[1].headers[2].first, "Content-Type");
  EXPECT_EQ(m[1].headers[2].second, "application/json");
  EXPECT_EQ(m[2].body, "abcdefg");
  EXPECT_TRUE(m[2].keepAlive);
  EXPECT_EQ(m[3].url, "/d");
  EXPECT_FALSE(m[3].keepAlive);
}

TEST(Parser, PipelinedMessagesComeOutInOrder) {
  Recorder r;
  ASSERT_EQ(r.feed(kPipeline, kPipeline.size()), ParseResult::kOk);
  expectPipeline(r.done);
}

TEST(Parser, EverySplitGivesTheSameMessages) {
  for (size_t step = 1; step <= 17; ++step) {
    Recorder r;
    ASSERT_EQ(r.feed(kPipeline, step), ParseResult::kOk) << "step " << step;
    expectPipeline(r.done);
  }
}

TEST(Parser, SplitAtEveryPositionGivesTheSameMessages) {
  for (size_t cut = 1; cut < kPipeline.size(); ++cut) {
    Recorder r;
    ASSERT_EQ(r.feed(kPipeline.substr(0, cut), cut), ParseResult::kOk);
    ASSERT_EQ(r.feed(kPipeline.substr(cut), kPipeline.size()), ParseResult::kOk);
    expectPipeline(r.done);
  }
}

TEST(Parser, PausesRightAfterEachMessage) {
  Recorder r;
  size_t consumed = 0;
  ASSERT_EQ(r.parser.execute(kPipeline.data(), kPipeline.size(), &consumed), ParseResult::kPaused);
  EXPECT_EQ(consumed, std::string("GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n").size());
}

ParseResult parseOne(const std::string& req) {
  Recorder r;
  return r.feed(req, req.size());
}

TEST(Parser, ContentLengthWithTransferEncodingIsRefused) {
  EXPECT_EQ(parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ParseResult::kBadRequest);
}

TEST(Parser, DuplicateContentLengthIsRefused) {
  EXPECT_EQ(parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
            ParseResult::kBadRequest);
}

TEST(Parser, NonFinalChunkedIsRefused) {
  EXPECT_EQ(parseOne("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
            ParseResult::kBadRequest);
}

TEST(Parser, SpaceBeforeColonIsRefused) {
  EXPECT_EQ(parseOne("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), ParseResult::kBadRequest);
}

TEST(Parser, BareLineFeedsAreRefused) {
  EXPECT_EQ(parseOne("GET / HTTP/1.1\nHost: h\n\n"), ParseResult::kBadRequest);
}

TEST(Parser, NulInHeaderIsRefused) {
  EXPECT_EQ(parseOne(std::string("GET / HTTP/1.1\r\nHost: h\0x\r\n\r\n", 29)), ParseResult::kBadRequest);
}

TEST(Parser, UnknownVersionIsReportedAsSuch) {
  EXPECT_EQ(parseOne("GET / HTTP/1.9\r\nHost: h\r\n\r\n"), ParseResult::kBadVersion);
}

TEST(Parser, Http10DefaultsToClose) {
  Recorder r;
  ASSERT_EQ(r.feed("GET / HTTP/1.0\r\n\r\n", 100), ParseResult::kOk);
  ASSERT_EQ(r.done.size(), 1u);
  EXPECT_FALSE(r.done[0].keepAlive);
}

TEST(Parser, ContentLengthIsExposedAtHeadersComplete) {
  struct CL : Recorder {
    int64_t seen = -2;
    int onHeadersComplete() override {
      seen = parser.contentLength();
      return Recorder::onHeadersComplete();
    }
  } r;
  ASSERT_EQ(r.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 100), ParseResult::kOk);
  EXPECT_EQ(r.seen, 5);
}

TEST(Parser, CallbackAbortIsReported) {
  struct Abort : Recorder {
    int onHeaderField(const char*, size_t) override { return kAbort; }
  } r;
  EXPECT_EQ(r.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 100), ParseResult::kAborted);
}

}  // namespace
}  // namespace handoff::http
