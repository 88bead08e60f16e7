// SECURITY.md "HTTP/1.1 edge", the rules http_edge_test.cc leaves open or checks only in part:
// request smuggling vectors with a second request hidden behind the first (nothing may be
// dispatched after a refusal), bare LF, header names with whitespace, malformed Content-Length
// and chunk sizes, the per-endpoint body limits (413 before the body is read), a trickled body
// (slowloris on the body timer), 405 with Allow on every endpoint and 505 for other versions.
// A real handoffd per test on 127.0.0.1:0, spoken to with raw sockets. docs/SECURITY-TESTS.md
// maps every rule to its tests.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server_fixture.h"

namespace handoff::it {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

constexpr Millis kRead = 15000ms;  // generous: the machine is loaded

long long msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Sum of handoff_http_requests_total over the routes that handlers serve: not "none" (refusals
// before dispatch count there) nor "metrics" (the request that reads them counts itself).
uint64_t dispatched(const std::string& metrics) {
  static const std::string kPrefix = "handoff_http_requests_total{";
  uint64_t sum = 0;
  for (size_t at = 0; (at = metrics.find(kPrefix, at)) != std::string::npos;) {
    size_t end = metrics.find('}', at);
    if (end == std::string::npos) break;
    std::string series = metrics.substr(at, end + 1 - at);
    bool skip = series.find("route=\"none\"") != std::string::npos || series.find("route=\"metrics\"") != std::string::npos;
    if (!skip) sum += metricValue(metrics, series).value_or(0);
    at = end;
  }
  return sum;
}

class SecurityEdge : public ::testing::Test {
 protected:
  void launch(const std::string& limits = "") {
    ServerOptions o;
    if (!limits.empty()) o.config = configWithLimits(limits);
    server_ = std::make_unique<Server>(std::move(o));
    ASSERT_TRUE(server_->start(15000ms)) << server_->failure();
  }
  uint16_t port() const { return server_->port(); }

  // `request` on a fresh connection gets exactly one error response (`status`, or any 4xx/5xx
  // when status is 0) marked Connection: close, then the end of the stream and nothing more.
  void expectRefused(const std::string& request, int status) {
    SCOPED_TRACE("request: " + escapeBytes(request));
    Client c(port());
    ASSERT_TRUE(c.connected()) << c.error();
    c.send(request);  // may fail part-way once the server has answered and closed
    auto r = c.readResponse(kRead);
    ASSERT_TRUE(r) << c.error();
    if (status != 0) {
      EXPECT_EQ(r->status, status) << r->raw;
    }
    EXPECT_GE(r->status, 400) << r->raw;
    EXPECT_TRUE(r->closes()) << r->raw;
    auto rest = c.readUntilEof(kRead);
    ASSERT_TRUE(rest) << "the connection stayed open after a " << r->status;
    EXPECT_EQ(*rest, "") << "bytes after the refusal: " << escapeBytes(*rest);
  }

  // Every request in `vectors` carries a second request (GET /healthz) that a parser reading the
  // framing another way would find and answer. Each must be refused, and no request at all may
  // reach a handler (the metrics count every dispatched request by route).
  void expectNothingSmuggled(const std::vector<std::string>& vectors) {
    for (const std::string& v : vectors) expectRefused(v, 0);
    std::string m = fetchMetrics(port());
    ASSERT_FALSE(m.empty());
    EXPECT_EQ(dispatched(m), 0u) << "a smuggled request reached a handler:\n" << m;
    EXPECT_EQ(metricValue(m, "handoff_http_parse_errors_total").value_or(0), vectors.size()) << m;
  }

  std::unique_ptr<Server> server_;
};

const std::string kHidden = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

// ── smuggling ───────────────────────────────────────────────────────────────────────────────

TEST_F(SecurityEdge, ClTeAndTeClDesyncVectorsDispatchNothing) {
  ASSERT_NO_FATAL_FAILURE(launch());
  std::string chunkedEnd = "0\r\n\r\n";
  std::string clOfAll = std::to_string(chunkedEnd.size() + kHidden.size());
  expectNothingSmuggled({
      // CL.TE: a front end using Content-Length forwards everything; chunked ends after "0".
      "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: " + clOfAll + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
          chunkedEnd + kHidden,
      // TE.CL: the other order of the same headers.
      "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + chunkedEnd +
          kHidden,
      // Two lengths: one reader takes the first, another the last.
      "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: " + std::to_string(kHidden.size()) +
          "\r\n\r\n" + kHidden,
      // chunked not final: the length of the body cannot be known (RFC 9112 §6.3).
      "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + chunkedEnd + kHidden,
      "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" +
          chunkedEnd + kHidden,
      // Obfuscated codings a lenient reader would take as chunked.
      "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n" + chunkedEnd + kHidden,
      "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \"chunked\"\r\n\r\n" + chunkedEnd + kHidden,
      "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n" + chunkedEnd + kHidden,
      "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\x0b" "chunked\r\n\r\n" + chunkedEnd + kHidden,
  });
}

TEST_F(SecurityEdge, LineEndingAndHeaderSyntaxVectorsDispatchNothing) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectNothingSmuggled({
      // llhttp 8.1 ends the header block at "\r\n\rX"; the hidden request would follow.
      "GET /healthz HTTP/1.1\r\nHost: t\r\n\rX" + kHidden,
      // Bare LF as a line end, in every position.
      "GET /healthz HTTP/1.1\nHost: t\r\n\r\n" + kHidden,
      "GET /healthz HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n" + kHidden,
      "GET /healthz HTTP/1.1\r\nHost: t\r\n\n" + kHidden,
      "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\nb\r\n\r\n" + kHidden,
      // obs-fold hiding a header line.
      "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n Content-Length: 5\r\n\r\n" + kHidden,
      // Whitespace in or before a header name.
      "GET /healthz HTTP/1.1\r\nHost : t\r\n\r\n" + kHidden,
      "GET /healthz HTTP/1.1\r\nHost: t\r\nX A: b\r\n\r\n" + kHidden,
      "GET /healthz HTTP/1.1\r\n Host: t\r\n\r\n" + kHidden,
      "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A\t: b\r\n\r\n" + kHidden,
      // NUL in a name or value.
      "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n"s + kHidden,
      "GET /healthz HTTP/1.1\r\nHost: t\r\nX\0-A: b\r\n\r\n"s + kHidden,
  });
}

TEST_F(SecurityEdge, MalformedContentLengthAndChunkSizesDispatchNothing) {
  ASSERT_NO_FATAL_FAILURE(launch());
  std::vector<std::string> vectors;
  for (std::string cl : {"+5", "-5", "0x5", "5 5", "5a", " ", "5,6", "99999999999999999999999"}) {
    vectors.push_back("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: " + cl + "\r\n\r\nhello" + kHidden);
  }
  std::string te = "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  vectors.push_back(te + "fffffffffffffffffff1\r\nhello\r\n0\r\n\r\n" + kHidden);  // overflows 64 bits
  vectors.push_back(te + "-5\r\nhello\r\n0\r\n\r\n" + kHidden);
  vectors.push_back(te + "5\r\nhelloXX0\r\n\r\n" + kHidden);  // no CRLF after the chunk data
  vectors.push_back(te + "5\nhello\r\n0\r\n\r\n" + kHidden);  // bare LF after the size
  vectors.push_back(te + "0\r\n\rX" + kHidden);                // bare CR in the trailer section
  expectNothingSmuggled(vectors);
}

TEST_F(SecurityEdge, AfterAParseErrorAPipelinedTokenRequestIsNeverServed) {
  // The request behind the refused one would have minted tokens: it must not run.
  ASSERT_NO_FATAL_FAILURE(launch());
  std::string body = "grant_type=password&client_id=demo-native&username=demo%40example.com&password=demo-password";
  std::string tokenRequest = "POST /oauth/token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (const std::string& bad : {"GET /healthz HTTP/1.1\r\nHost: t\r\n\rX"s, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"s,
                                 "GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n"s, "GET /healthz HTTP/1.1\r\nX: \0\r\n\r\n"s}) {
    SCOPED_TRACE(escapeBytes(bad));
    Client c(port());
    ASSERT_TRUE(c.send(bad + tokenRequest)) << c.error();
    auto rest = c.readUntilEof(kRead);
    ASSERT_TRUE(rest) << "the connection stayed open";
    std::string all = *rest;
    EXPECT_EQ(all.find("access_token"), std::string::npos) << escapeBytes(all);
    EXPECT_EQ(all.find("HTTP/1.1", 1), std::string::npos) << "more than one response: " << escapeBytes(all);
  }
  std::string m = fetchMetrics(port());
  EXPECT_EQ(dispatched(m), 0u) << m;
}

TEST_F(SecurityEdge, ParseErrorSentOneByteAtATimeStillDispatchesNothing) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  c.sendBytewise("GET /healthz HTTP/1.1\r\nHost: t\nX: y\r\n\r\n" + kHidden);  // may fail once closed
  auto r = c.readResponse(kRead);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 400) << r->raw;
  auto rest = c.readUntilEof(kRead);
  ASSERT_TRUE(rest) << "connection left open";
  EXPECT_EQ(*rest, "");
  EXPECT_EQ(dispatched(fetchMetrics(port())), 0u);
}

// The scans that refuse the vectors above must not refuse what RFC 9112 allows: leading empty
// lines, chunk extensions, upper-case and zero-padded sizes, trailers, a chunked token request,
// each split at every byte and pipelined. (llhttp 8.1 itself refuses a second extension after an
// unquoted value, ";a=b;c=d"; that is older than these scans and not a framing ambiguity.)
TEST_F(SecurityEdge, WellFormedFramingIsStillServed) {
  ASSERT_NO_FATAL_FAILURE(launch());
  std::string body = "grant_type=password&client_id=demo-native&username=demo%40example.com&password=demo-password";
  char size[16];
  std::snprintf(size, sizeof size, "%zX", body.size() - 10);
  std::string token = "POST /oauth/token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n00" + std::string(size) + ";c=\"d e\";a=b\r\n" +
                      body.substr(0, body.size() - 10) + "\r\na\r\n" + body.substr(body.size() - 10) +
                      "\r\n0\r\nX-Trailer: 1\r\nX-Other: two words\r\n\r\n";
  std::string all = "\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + token +
                    "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n\r\n\r\n" + kHidden;
  for (bool bytewise : {false, true}) {
    SCOPED_TRACE(bytewise ? "one byte at a time" : "one send");
    Client c(port());
    ASSERT_TRUE(bytewise ? c.sendBytewise(all, Millis(0)) : c.send(all)) << c.error();
    auto first = c.readResponse(kRead);
    ASSERT_TRUE(first) << c.error();
    EXPECT_EQ(first->status, 200) << first->raw;
    auto t = c.readResponse(kRead);
    ASSERT_TRUE(t) << c.error();
    EXPECT_EQ(t->status, 200) << t->raw;
    EXPECT_NE(t->body.find("\"access_token\""), std::string::npos) << t->raw;
    auto crlfBody = c.readResponse(kRead);  // a body of CR LF CR LF is opaque
    ASSERT_TRUE(crlfBody) << c.error();
    EXPECT_EQ(crlfBody->status, 405) << crlfBody->raw;
    auto last = c.readResponse(kRead);
    ASSERT_TRUE(last) << c.error();
    EXPECT_EQ(last->status, 200) << last->raw;
  }
}

// ── versions and methods ────────────────────────────────────────────────────────────────────

TEST_F(SecurityEdge, OtherVersionsGet505AndTheHttp2PrefaceIsRefused) {
  ASSERT_NO_FATAL_FAILURE(launch());
  expectRefused("GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n", 505);
  expectRefused("POST /oauth/token HTTP/2.0\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 505);
  expectRefused("GET /healthz HTTP/1.2\r\nHost: t\r\n\r\n", 505);
  expectRefused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0);  // h2c prior knowledge
  expectRefused("GET /healthz HTTP/11\r\nHost: t\r\n\r\n", 0);
  expectRefused("GET /healthz\r\n\r\n", 0);  // HTTP/0.9
  EXPECT_EQ(dispatched(fetchMetrics(port())), 0u);
}

TEST_F(SecurityEdge, WrongMethodOnEveryEndpointIs405WithAllow) {
  ASSERT_NO_FATAL_FAILURE(launch());
  struct Case {
    std::string request;
    std::string allow;
  };
  std::vector<Case> cases = {
      {"POST /authorize HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", "GET, HEAD"},
      {"GET /oauth/token HTTP/1.1\r\nHost: t\r\n\r\n", "POST, OPTIONS"},  // OPTIONS: CORS preflights
      {"PUT /oauth/token HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", "POST, OPTIONS"},
      {"GET /oauth/revoke HTTP/1.1\r\nHost: t\r\n\r\n", "POST"},
      {"DELETE /u/login HTTP/1.1\r\nHost: t\r\n\r\n", "GET, HEAD, POST"},
      {"POST /.well-known/jwks.json HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", "GET, HEAD"},
      {"PATCH /userinfo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", "GET, HEAD, POST"},
      {"OPTIONS /oauth/revoke HTTP/1.1\r\nHost: t\r\n\r\n", "POST"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(escapeBytes(k.request));
    Client c(port());
    auto r = c.roundTrip(k.request, kRead);
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 405) << r->raw;
    EXPECT_EQ(r->header("allow"), k.allow) << r->raw;
  }
  // A method llhttp does not know at all is refused, never dispatched.
  expectRefused("FROB /oauth/token HTTP/1.1\r\nHost: t\r\n\r\n", 0);
  std::string m = fetchMetrics(port());
  EXPECT_EQ(metricValue(m, "handoff_http_requests_total{route=\"token\",status=\"200\"}").value_or(0), 0u) << m;
}

// ── limits ──────────────────────────────────────────────────────────────────────────────────

// The 413 must come while the body has not been sent: the client sends only the head and the
// answer arrives anyway (a server that waited for the body would time out instead).
TEST_F(SecurityEdge, PerEndpointBodyLimitsAnswer413BeforeTheBody) {
  ASSERT_NO_FATAL_FAILURE(launch("body_timeout_ms = 60000\n"));
  struct Case {
    std::string target;
    size_t limit;
  };
  for (const Case& k : {Case{"/userinfo", 4096}, Case{"/oauth/token", 16384}, Case{"/oauth/revoke", 16384},
                        Case{"/u/login", 16384}, Case{"/healthz", 65536}}) {
    SCOPED_TRACE(k.target);
    {
      Client c(port());
      ASSERT_TRUE(c.send("POST " + k.target + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         "Content-Length: " + std::to_string(k.limit + 1) + "\r\n\r\n"))
          << c.error();
      auto r = c.readResponse(kRead);
      ASSERT_TRUE(r) << "no answer before the body: " << c.error();
      EXPECT_EQ(r->status, 413) << r->raw;
      EXPECT_TRUE(r->closes()) << r->raw;
      EXPECT_TRUE(c.readUntilEof(kRead)) << "connection left open after 413";
    }
    {
      // At the limit the body is read and handed to the endpoint, which answers something else.
      Client c(port());
      auto r = c.roundTrip("POST " + k.target + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                           "Content-Length: " + std::to_string(k.limit) + "\r\n\r\n" + std::string(k.limit, 'a'),
                           kRead);
      ASSERT_TRUE(r) << c.error();
      EXPECT_NE(r->status, 413) << r->raw;
    }
    {
      // Chunked: the sum of the chunks counts, and crossing it is refused mid-body.
      Client c(port());
      std::string chunk(k.limit / 2 + 1, 'a');
      char size[32];
      std::snprintf(size, sizeof size, "%zx", chunk.size());
      c.send("POST " + k.target + " HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + chunk +
             "\r\n" + size + "\r\n" + chunk + "\r\n");
      auto r = c.readResponse(kRead);
      ASSERT_TRUE(r) << c.error();
      EXPECT_EQ(r->status, 413) << r->raw;
    }
  }
}

TEST_F(SecurityEdge, TrickledBodyDoesNotExtendTheBodyTimeout) {
  ASSERT_NO_FATAL_FAILURE(launch("body_timeout_ms = 400\n"));
  Client c(port());
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("POST /oauth/token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: 1000\r\n\r\n"))
      << c.error();
  // One byte every 50 ms (slowloris on the body) until the server answers, for at most 10 s.
  while (msSince(t0) < 10000 && !c.readable(50ms)) {
    if (!c.send("a")) break;
  }
  auto r = c.readResponse(kRead);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 408) << r->raw;
  EXPECT_TRUE(r->closes());
  EXPECT_GE(msSince(t0), 350);
  EXPECT_LT(msSince(t0), 5000) << "each byte re-armed the body timer";
  EXPECT_TRUE(c.readUntilEof(kRead));
}

TEST_F(SecurityEdge, TrickledChunkedBodyDoesNotExtendTheBodyTimeout) {
  ASSERT_NO_FATAL_FAILURE(launch("body_timeout_ms = 400\n"));
  Client c(port());
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("POST /oauth/token HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")) << c.error();
  while (msSince(t0) < 10000 && !c.readable(50ms)) {
    if (!c.send("1\r\na\r\n")) break;
  }
  auto r = c.readResponse(kRead);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 408) << r->raw;
  EXPECT_LT(msSince(t0), 5000) << "each chunk re-armed the body timer";
}

}  // namespace
}  // namespace handoff::it
