// handoffd's HTTP/1.1 framing, end to end over raw sockets: pipelining (in order, beyond the
// pipeline limit, under back-pressure), requests and bodies split at every byte, buffer growth,
// and every refused framing (CL+TE, duplicate CL, unknown codings, obs-fold, bare CR, NUL,
// Host rules, versions) answered once and closed, with nothing after it dispatched.
#include "http_edge_fixture.h"

namespace handoff::it {
namespace {

// ── pipelining ──────────────────────────────────────────────────────────────────────────────

// Sends 100 requests in one send(): healthz, metrics and an unknown path in turn. Each /metrics
// response reports how many requests were answered with 200 and 404 before it (all on this
// connection's shard), which pins the order exactly.
void expectHundredPipelinedInOrder(uint16_t port) {
  constexpr int kCount = 100;
  std::string batch;
  for (int i = 0; i < kCount; ++i) {
    if (i % 3 == 0) batch += kGetHealthz;
    else if (i % 3 == 1) batch += kGetMetrics;
    else batch += "GET /nope-" + std::to_string(i) + " HTTP/1.1\r\nHost: test\r\n\r\n";
  }
  Client c(port);
  ASSERT_TRUE(c.connected()) << c.error();
  ASSERT_TRUE(c.send(batch)) << c.error();
  uint64_t okSoFar = 0, notFoundSoFar = 0;
  for (int i = 0; i < kCount; ++i) {
    auto r = c.readResponse(5s);
    ASSERT_TRUE(r) << "response " << i << " of " << kCount << ": " << c.error();
    ASSERT_FALSE(r->closes()) << "response " << i << " closes the connection";
    if (i % 3 == 0) {
      ASSERT_EQ(r->status, 200) << "response " << i;
      ASSERT_EQ(r->body, kHealthzBody) << "response " << i;
      ++okSoFar;
    } else if (i % 3 == 1) {
      ASSERT_EQ(r->status, 200) << "response " << i;
      ASSERT_EQ(answeredWithStatus(r->body, "200"), okSoFar) << "response " << i << ":\n" << r->body;
      ASSERT_EQ(answeredWithStatus(r->body, "404"), notFoundSoFar) << "response " << i << ":\n" << r->body;
      ++okSoFar;
    } else {
      ASSERT_EQ(r->status, 404) << "response " << i;
      ++notFoundSoFar;
    }
  }
  EXPECT_FALSE(c.readable(50ms)) << "more than " << kCount << " responses: " << escapeBytes(c.buffered());
  auto after = c.roundTrip(kGetHealthz);
  ASSERT_TRUE(after) << "connection unusable after the batch: " << c.error();
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpEdge, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectHundredPipelinedInOrder(port());
}

TEST_F(HttpEdge, PipelinedRequestsBeyondMaxPipelinedAreAllAnswered) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("max_pipelined = 4"));
  expectHundredPipelinedInOrder(port());
}

TEST_F(HttpEdge, PipelinedRequestsUnderOutputBackPressureAreAllAnswered) {
  // Each /metrics response is ~1 KiB: reading stops every few requests until the kernel has
  // taken what was written.
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("max_output_bytes = 4096\nmax_pipelined = 2"));
  expectHundredPipelinedInOrder(port());
}

// ── requests split at every byte ────────────────────────────────────────────────────────────

TEST_F(HttpEdge, RequestSplitAtEveryByteIsAnswered) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  ASSERT_TRUE(c.sendBytewise("GET /healthz?x=1 HTTP/1.1\r\nHost: test\r\nAccept: */*\r\n\r\n")) << c.error();
  auto r = c.readResponse();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, kHealthzBody);
  // Two pipelined requests, still one byte at a time.
  ASSERT_TRUE(c.sendBytewise(std::string(kGetHealthz) + std::string(kGetMetrics))) << c.error();
  auto a = c.readResponse();
  ASSERT_TRUE(a) << c.error();
  EXPECT_EQ(a->body, kHealthzBody);
  auto b = c.readResponse();
  ASSERT_TRUE(b) << c.error();
  EXPECT_EQ(b->status, 200);
  EXPECT_EQ(b->header("Content-Type"), "text/plain; version=0.0.4");
}

TEST_F(HttpEdge, PostWithBodySplitAtEveryByteGets405WithAllow) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  // The body holds a bare CR and LF: body bytes are opaque.
  ASSERT_TRUE(c.sendBytewise("POST /healthz HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 11\r\n\r\nhel\rlo\nworl"))
      << c.error();
  auto r = c.readResponse();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 405) << r->raw;
  EXPECT_EQ(r->header("Allow"), "GET, HEAD");
  EXPECT_FALSE(r->closes());
  auto next = c.roundTrip(kGetHealthz);  // the body was consumed exactly
  ASSERT_TRUE(next) << c.error();
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpEdge, ChunkedPostSplitAtEveryByteGets405) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  ASSERT_TRUE(c.sendBytewise("POST /healthz HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhe\rlo\r\n3;ext=1\r\nabc\r\n0\r\n\r\n"))
      << c.error();
  auto r = c.readResponse();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 405) << r->raw;
  EXPECT_EQ(r->header("Allow"), "GET, HEAD");
  auto next = c.roundTrip(kGetHealthz);
  ASSERT_TRUE(next) << c.error();
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpEdge, LargePipelinedRequestsSurviveBufferGrowthAndCompaction) {
  ASSERT_NO_FATAL_FAILURE(launch());
  // Requests larger than the 4 KiB initial buffer, pipelined and sent in odd-sized pieces, so
  // that the buffer grows and is compacted while a request is half-received.
  std::string batch;
  constexpr int kCount = 12;
  for (int i = 0; i < kCount; ++i) {
    if (i % 2 == 0) {
      batch += "GET /healthz HTTP/1.1\r\nHost: t\r\n";
      for (int h = 0; h < 3; ++h) batch += "X-Big-" + std::to_string(h) + ": " + std::string(2000 + i, 'a' + h) + "\r\n";
      batch += "\r\n";
    } else {
      std::string body(3000 * i, 'b');
      batch += "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
  }
  Client c(port());
  for (size_t at = 0; at < batch.size(); at += 777) {
    ASSERT_TRUE(c.send(std::string_view(batch).substr(at, 777))) << c.error();
  }
  for (int i = 0; i < kCount; ++i) {
    auto r = c.readResponse();
    ASSERT_TRUE(r) << "response " << i << ": " << c.error();
    EXPECT_EQ(r->status, i % 2 == 0 ? 200 : 405) << "response " << i;
  }
  EXPECT_FALSE(c.readable(50ms)) << escapeBytes(c.buffered());
}

TEST_F(HttpEdge, HeaderPaddedWithWhitespaceBeyondTheBufferGets431NotAStall) {
  // Leading whitespace of a value is not part of the value, so it is not counted against
  // max_header_bytes; yet it fills the input buffer (max_request_line + max_header_bytes +
  // 4096 + max_body_bytes = 4416 bytes here). A full buffer must end the request with 431, not
  // stop reading until the header timeout.
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(
      "max_request_line = 64\nmax_header_bytes = 256\nmax_body_bytes = 0\nheader_timeout_ms = 3000\n"));
  Client c(port());
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad:" + std::string(10000, ' ') + "v\r\n\r\n")) << c.error();
  auto r = c.readResponse(1500ms);
  ASSERT_TRUE(r) << "no answer within 1.5 s (the session stopped reading with a full buffer): " << c.error();
  EXPECT_EQ(r->status, 431) << r->raw;
  EXPECT_TRUE(r->closes());
}

TEST_F(HttpEdge, ChunkedBodyInTinyChunksIsServedNotStalled) {
  // 1000 body bytes (under max_body_bytes = 1024) in 1-byte chunks: 6000 bytes of framing, more
  // than an input buffer sized for the limits (64 + 256 + 4096 + 1024 bytes). The body is within
  // the limit, so the request must be read whole and answered (405 here), with a request
  // pipelined behind it answered too, instead of reads pausing until the body timeout.
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(
      "max_request_line = 64\nmax_header_bytes = 256\nmax_body_bytes = 1024\nbody_timeout_ms = 3000\n"));
  std::string req = "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 1000; ++i) req += "1\r\nx\r\n";
  req += "0\r\n\r\n";
  Client c(port());
  ASSERT_TRUE(c.send(req + std::string(kGetHealthz))) << c.error();
  auto r = c.readResponse(1500ms);
  ASSERT_TRUE(r) << "no answer within 1.5 s (the session stopped reading with a full buffer): " << c.error();
  EXPECT_EQ(r->status, 405) << r->raw;
  EXPECT_FALSE(r->closes()) << r->raw;
  auto next = c.readResponse(1500ms);
  ASSERT_TRUE(next) << "request pipelined after the chunked one: " << c.error();
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, kHealthzBody);
}

// Trailer fields are read and dropped. A chunked request is detached from the input buffer
// (its parsed bytes leave as it reads), so a trailer field arriving in two reads once failed as
// "not contiguous" with a 400: here every trailer byte is a read of its own (a pause between
// sends), and the request must be served (405) with the connection kept. Obs-fold in a trailer
// is refused as in the head; trailers count against max_header_bytes.
TEST_F(HttpEdge, TrailerFieldsSplitAcrossReadsAreDroppedAndTheRequestServed) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("max_header_bytes = 256\nbody_timeout_ms = 10000\n"));
  std::string head = "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n";
  std::string trailers = "X-Trailer: one\r\nX-Other: two words\r\n\r\n";
  Client c(port());
  ASSERT_TRUE(c.send(head)) << c.error();
  ASSERT_TRUE(c.sendBytewise(trailers, Millis(5))) << c.error();
  auto r = c.readResponse(3s);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 405) << r->raw;
  EXPECT_FALSE(r->closes()) << r->raw;
  auto next = c.roundTrip(kGetHealthz);
  ASSERT_TRUE(next) << c.error();
  EXPECT_EQ(next->status, 200);

  expectRefusal(head + "X-Trailer: one\r\n folded\r\n\r\n", 400);
  expectRefusal(head + "X-Big: " + std::string(300, 'b') + "\r\n\r\n", 431);
}

TEST_F(HttpEdge, PipelinedChunkedRequestsKeepTheirFraming) {
  ASSERT_NO_FATAL_FAILURE(launch());
  // Chunked, Content-Length, chunked (split at every byte), then a GET: each is delimited
  // exactly, or the GET would be parsed out of a body.
  std::string chunked = "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "4\r\nGET \r\n1c\r\n/healthz HTTP/1.1\r\nHost: x\r\n\r\n0\r\n\r\n";
  std::string sized = "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd";
  Client c(port());
  ASSERT_TRUE(c.send(chunked + sized)) << c.error();
  ASSERT_TRUE(c.sendBytewise(chunked + std::string(kGetMetrics), Millis(0))) << c.error();
  for (int expected : {405, 405, 405}) {
    auto r = c.readResponse();
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, expected) << r->raw;
  }
  auto m = c.readResponse();
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(answeredWithStatus(m->body, "405"), 3u) << m->body;
  EXPECT_EQ(answeredWithStatus(m->body, "200"), 0u) << "a request was parsed out of a body:\n" << m->body;
  EXPECT_FALSE(c.readable(50ms)) << escapeBytes(c.buffered());
}

// ── framing ─────────────────────────────────────────────────────────────────────────────────

TEST_F(HttpEdge, ContentLengthWithTransferEncodingIsRefusedWith400AndCloses) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                "0\r\n\r\n",
                400);
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                "0\r\n\r\n",
                400);
}

TEST_F(HttpEdge, DuplicateContentLengthIsRefusedWith400) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400);
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400);
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\nhello", 400);
}

TEST_F(HttpEdge, UnknownTransferCodingIsRefusedWith501) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501);
}

TEST_F(HttpEdge, TransferCodingAfterChunkedIsRefused) {
  // RFC 9112 §6.3: chunked not last → the length cannot be determined → 400 and close.
  // session.cc answers every Transfer-Encoding other than exactly "chunked" with 501; either way
  // the request must be refused and the connection closed.
  ASSERT_NO_FATAL_FAILURE(launch());
  for (std::string_view te : {"chunked, identity", "chunked, gzip"}) {
    std::string req = "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + std::string(te) + "\r\n\r\n0\r\n\r\n";
    SCOPED_TRACE(req);
    Client c(port());
    ASSERT_TRUE(c.send(req)) << c.error();
    auto r = c.readResponse();
    ASSERT_TRUE(r) << c.error();
    EXPECT_TRUE(r->status == 400 || r->status == 501) << r->raw;
    EXPECT_TRUE(r->closes()) << r->raw;
    auto rest = c.readUntilEof();
    ASSERT_TRUE(rest) << "connection left open";
    EXPECT_EQ(*rest, "");
  }
}

TEST_F(HttpEdge, TransferEncodingSplitOverTwoHeaderLinesIsJudgedAsOneList) {
  // Two Transfer-Encoding lines form one list (RFC 9110 §5.3): "gzip" then "chunked" is
  // "gzip, chunked", a coding the server does not implement. Looking only at the last line would
  // accept it as plain chunked and hand the handler gzip bytes.
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                "0\r\n\r\n",
                501);
}

TEST_F(HttpEdge, ObsFoldIsRefusedWith400) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  continued\r\n\r\n", 400);
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\tcontinued\r\n\r\n", 400);
}

TEST_F(HttpEdge, BareCrIsRefusedWith400) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: a\r\n\rX", 400);         // llhttp 8.1 would end the headers here
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);      // inside a value
  expectRefusal("GET /healthz HTTP/1.1\r\nHo\rst: a\r\n\r\n", 400);       // inside a name
  expectRefusal("GET /healthz HTTP/1.1\rHost: a\r\n\r\n", 400);           // ending the request line
}

TEST_F(HttpEdge, BareCrSplitAtEveryByteIsRefusedWith400) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  c.sendBytewise("GET /healthz HTTP/1.1\r\nHost: a\r\n\rX");  // may fail once the server closes
  auto r = c.readResponse();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 400) << r->raw;
  EXPECT_TRUE(c.readUntilEof()) << "connection left open";
}

TEST_F(HttpEdge, NulInHeaderIsRefusedWith400) {
  ASSERT_NO_FATAL_FAILURE(launch());
  using namespace std::string_literals;
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n"s, 400);
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: t\r\nX-\0A: ab\r\n\r\n"s, 400);
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: t\0\r\n\r\n"s, 400);
}

TEST_F(HttpEdge, MissingHostOnHttp11IsRefusedWith400) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefusal("GET /healthz HTTP/1.1\r\n\r\n", 400);
  expectRefusal("GET /healthz HTTP/1.1\r\nX-Host: t\r\n\r\n", 400);
}

TEST_F(HttpEdge, Http10WithoutHostIsServed) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  auto r = c.roundTrip("GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpEdge, TwoHostHeadersAreRefusedWith400) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
  expectRefusal("GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

TEST_F(HttpEdge, UnsupportedHttpVersionIsRefusedWith505) {
  ASSERT_NO_FATAL_FAILURE(launch());
  for (std::string_view v : {"HTTP/1.9", "HTTP/2.0", "HTTP/3.0", "HTTP/0.9"}) {
    expectRefusal("GET /healthz " + std::string(v) + "\r\nHost: t\r\n\r\n", 505);
  }
}

TEST_F(HttpEdge, NothingAfterARefusedRequestIsDispatched) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  // A 400 (no Host) with a valid request pipelined behind it, in one send.
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\n\r\n" + std::string(kGetHealthz))) << c.error();
  auto r = c.readResponse();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(r->closes());
  auto rest = c.readUntilEof();
  ASSERT_TRUE(rest) << "connection left open";
  EXPECT_EQ(*rest, "") << "a second response: " << escapeBytes(*rest);
  std::string m = fetchMetrics(port());
  EXPECT_EQ(answeredWithStatus(m, "200"), 0u) << m;
  EXPECT_EQ(metricValue(m, "handoff_http_parse_errors_total"), 1u) << m;
}

}  // namespace
}  // namespace handoff::it
