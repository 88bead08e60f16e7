// handoffd's HTTP/1.1 limits and time-outs, end to end over raw sockets: 414, 431, 413 (before
// the body is sent), 408 for partial heads and bodies, trickled headers, idle keep-alive.
#include "http_edge_fixture.h"

namespace handoff::it {
namespace {

// ── limits ──────────────────────────────────────────────────────────────────────────────────

TEST_F(HttpEdge, OverlongRequestTargetGets414) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(kSmallLimits));
  expectServed("GET /healthz?q=" + std::string(80, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 200);
  expectRefusal("GET /healthz?q=" + std::string(200, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414);
}

TEST_F(HttpEdge, OverlongHeaderLineGets431) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(kSmallLimits));
  expectServed("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Long: " + std::string(80, 'v') + "\r\n\r\n", 200);
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Long: " + std::string(200, 'v') + "\r\n\r\n", 431);
  expectRefusal("GET /healthz HTTP/1.1\r\nHost: t\r\nX-" + std::string(200, 'n') + ": v\r\n\r\n", 431);
}

TEST_F(HttpEdge, OversizedHeaderSectionGets431) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(kSmallLimits));
  // Six headers of ~100 bytes: each under max_header_line, count under max_headers, total > 512.
  std::string req = "GET /healthz HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 6; ++i) req += "X-H" + std::to_string(i) + ": " + std::string(95, 'v') + "\r\n";
  expectRefusal(req + "\r\n", 431);
}

TEST_F(HttpEdge, TooManyHeadersGets431) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(kSmallLimits));
  std::string atLimit = "GET /healthz HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 7; ++i) atLimit += "X-H" + std::to_string(i) + ": v\r\n";  // 8 with Host
  expectServed(atLimit + "\r\n", 200);
  expectRefusal(atLimit + "X-H7: v\r\n\r\n", 431);
}

TEST_F(HttpEdge, ContentLengthOverMaxBodyGets413BeforeTheBodyIsSent) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(kSmallLimits));
  {
    // Headers only: the answer must not wait for the 65 bytes.
    Client c(port());
    ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n\r\n")) << c.error();
    auto r = c.readResponse(2s);
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 413) << r->raw;
    EXPECT_TRUE(r->closes());
    EXPECT_TRUE(c.readUntilEof()) << "connection left open after 413";
  }
  {
    Client c(port());
    ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000000\r\n\r\n")) << c.error();
    auto r = c.readResponse(2s);
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 413) << r->raw;
  }
  // Exactly at the limit the body is read (and the method refused).
  expectServed("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'b'), 405);
}

TEST_F(HttpEdge, ChunkedBodyOverMaxBodyGets413) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(kSmallLimits));
  expectRefusal("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n" + std::string(80, 'b') +
                    "\r\n0\r\n\r\n",
                413);
  // Many small chunks add up.
  std::string many = "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) many += "a\r\n" + std::string(10, 'b') + "\r\n";
  expectRefusal(many + "0\r\n\r\n", 413);
  expectServed("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + std::string(64, 'b') +
                   "\r\n0\r\n\r\n",
               405);
}

// A request left unfinished since t0 (timeouts configured at 300 ms) gets one 408, no sooner,
// and then the connection closes without another byte.
void expect408ThenClose(Client& c, Clock::time_point t0) {
  auto r = c.readResponse(3s);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 408) << r->raw;
  EXPECT_TRUE(r->closes());
  EXPECT_GE(msSince(t0), 250);
  auto rest = c.readUntilEof();
  ASSERT_TRUE(rest) << "connection left open after 408";
  EXPECT_EQ(*rest, "");
}

TEST_F(HttpEdge, PartialHeadersTimeOutWith408AndClose) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("header_timeout_ms = 300"));
  Client c(port());
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: t\r\n")) << c.error();
  expect408ThenClose(c, t0);
}

TEST_F(HttpEdge, PartialSecondRequestOnKeepAliveTimesOutWith408) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("header_timeout_ms = 300"));
  Client c(port());
  auto first = c.roundTrip(kGetHealthz);
  ASSERT_TRUE(first) << c.error();
  EXPECT_EQ(first->status, 200);
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHo")) << c.error();
  auto r = c.readResponse(3s);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 408) << r->raw;
  EXPECT_GE(msSince(t0), 250);
  EXPECT_TRUE(c.readUntilEof()) << "connection left open after 408";
}

TEST_F(HttpEdge, SilentConnectionIsClosedAfterTheHeaderTimeoutWithoutAResponse) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("header_timeout_ms = 300"));
  Client c(port());
  auto t0 = Clock::now();
  auto rest = c.readUntilEof(3s);
  ASSERT_TRUE(rest) << "a connection that never sent a byte was kept open";
  EXPECT_EQ(*rest, "");
  EXPECT_GE(msSince(t0), 250);
}

TEST_F(HttpEdge, TrickledHeadersDoNotExtendTheHeaderTimeout) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("header_timeout_ms = 300"));
  Client c(port());
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")) << c.error();
  // One byte every 50 ms (slowloris) until the server answers, for at most 3 s.
  while (msSince(t0) < 3000 && !c.readable(50ms)) {
    if (!c.send("a")) break;
  }
  auto r = c.readResponse(1s);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 408) << r->raw;
  EXPECT_LT(msSince(t0), 1500) << "the header timer was re-armed by each byte";
}

TEST_F(HttpEdge, PartialBodyTimesOutWith408AndClose) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("body_timeout_ms = 300"));
  Client c(port());
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello")) << c.error();
  expect408ThenClose(c, t0);
}

TEST_F(HttpEdge, IdleKeepAliveConnectionIsClosedSilently) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("idle_timeout_ms = 300"));
  Client c(port());
  auto r = c.roundTrip(kGetHealthz);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  auto t0 = Clock::now();
  auto rest = c.readUntilEof(3s);
  ASSERT_TRUE(rest) << "idle connection not closed";
  EXPECT_EQ(*rest, "") << "the idle close sent bytes: " << escapeBytes(*rest);
  EXPECT_GE(msSince(t0), 200);
}

// The connection's timer is moved lazily (net/stream.cc): a header deadline armed before the
// idle one, shorter than it, must not close a keep-alive connection that is merely idle, and the
// idle deadline must still hold after that early wake-up.
TEST_F(HttpEdge, AnIdleDeadlineLongerThanTheHeaderOneHolds) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits("header_timeout_ms = 150\nidle_timeout_ms = 900"));
  Client c(port());
  auto r = c.roundTrip(kGetHealthz);
  ASSERT_TRUE(r) << c.error();
  std::this_thread::sleep_for(450ms);  // past the header deadline, within the idle one
  r = c.roundTrip(kGetHealthz);
  ASSERT_TRUE(r) << "closed while idle for less than idle_timeout_ms: " << c.error();
  EXPECT_EQ(r->status, 200);
  auto t0 = Clock::now();
  auto rest = c.readUntilEof(5s);
  ASSERT_TRUE(rest) << "idle connection not closed";
  EXPECT_GE(msSince(t0), 700);
}

}  // namespace
}  // namespace handoff::it
