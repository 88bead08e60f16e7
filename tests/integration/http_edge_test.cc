// handoffd's HTTP/1.1 edge, end to end, spoken to with raw sockets: keep-alive and
// Connection: close, Expect: 100-continue, 404, HEAD, /metrics, and a real client (curl).
#include "http_edge_fixture.h"

namespace handoff::it {
namespace {

// ── keep-alive ──────────────────────────────────────────────────────────────────────────────

TEST_F(HttpEdge, KeepAliveServesThreeRequestsOnOneConnection) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  ASSERT_TRUE(c.connected()) << c.error();
  for (int i = 0; i < 3; ++i) {
    auto r = c.roundTrip(kGetHealthz);
    ASSERT_TRUE(r) << "request " << i << ": " << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, kHealthzBody);
    EXPECT_EQ(r->header("Content-Type"), "application/json");
    EXPECT_EQ(r->header("Content-Length"), std::to_string(kHealthzBody.size()));
    EXPECT_FALSE(r->closes());
  }
  auto m = c.roundTrip(kGetMetrics);
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(metricValue(m->body, "handoff_connections_accepted_total"), 1u) << m->body;
  EXPECT_EQ(answeredWithStatus(m->body, "200"), 3u) << m->body;
}

TEST_F(HttpEdge, Http10WithoutKeepAliveGetsConnectionCloseAndEof) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  auto r = c.roundTrip("GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, kHealthzBody);
  EXPECT_TRUE(r->closes()) << r->raw;
  auto rest = c.readUntilEof();
  ASSERT_TRUE(rest) << "HTTP/1.0 connection left open";
  EXPECT_EQ(*rest, "");
}

TEST_F(HttpEdge, Http11ConnectionCloseIsHonoured) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  auto r = c.roundTrip("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->closes()) << r->raw;
  auto rest = c.readUntilEof();
  ASSERT_TRUE(rest) << "connection left open after Connection: close";
  EXPECT_EQ(*rest, "");
  // A request pipelined behind "Connection: close" is not answered.
  Client p(port());
  ASSERT_TRUE(p.send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" + std::string(kGetHealthz)))
      << p.error();
  auto first = p.readResponse();
  ASSERT_TRUE(first) << p.error();
  EXPECT_TRUE(first->closes());
  auto after = p.readUntilEof();
  ASSERT_TRUE(after) << "connection left open after Connection: close";
  EXPECT_EQ(*after, "") << "answered a request sent after Connection: close";
}


// ── Expect, 404, HEAD ───────────────────────────────────────────────────────────────────────

TEST_F(HttpEdge, ExpectContinueGetsInterim100BeforeFinalResponse) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"))
      << c.error();
  auto interim = c.readResponse(2s);
  ASSERT_TRUE(interim) << "no interim response before the body: " << c.error();
  EXPECT_EQ(interim->status, 100) << interim->raw;
  EXPECT_EQ(interim->raw, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send("hello")) << c.error();
  auto r = c.readResponse();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 405);
  EXPECT_FALSE(r->closes());
}

TEST_F(HttpEdge, ExpectContinueWithBodyOverTheLimitGets413Instead) {
  ASSERT_NO_FATAL_FAILURE(launchWithLimits(kSmallLimits));
  Client c(port());
  ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n"))
      << c.error();
  auto r = c.readResponse(2s);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 413) << r->raw;
}

TEST_F(HttpEdge, UnknownPathGets404Json) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  auto r = c.roundTrip("GET /no/such/path?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(r->body, R"({"error":"not_found","error_description":"no such endpoint"})");
  EXPECT_FALSE(r->closes());
  auto next = c.roundTrip(kGetHealthz);
  ASSERT_TRUE(next) << c.error();
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpEdge, HeadHealthzHasContentLengthButNoBody) {
  ASSERT_NO_FATAL_FAILURE(launch());
  Client c(port());
  // HEAD then GET in one send: any body bytes after the HEAD response would corrupt the GET's.
  ASSERT_TRUE(c.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + std::string(kGetHealthz))) << c.error();
  auto head = c.readResponse(3s, /*toHead=*/true);
  ASSERT_TRUE(head) << c.error();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), std::to_string(kHealthzBody.size()));
  EXPECT_EQ(head->header("Content-Type"), "application/json");
  auto get = c.readResponse();
  ASSERT_TRUE(get) << "GET after HEAD: " << c.error();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, kHealthzBody);
  EXPECT_FALSE(c.readable(50ms)) << escapeBytes(c.buffered());
}

// ── /metrics ────────────────────────────────────────────────────────────────────────────────

TEST_F(HttpEdge, MetricsCountRequestsAndParseErrorsAcrossShards) {
  ASSERT_NO_FATAL_FAILURE(launch());
  // Eight connections spread over the two shards by the kernel's reuseport hash.
  std::vector<Client> conns;
  uint64_t healthz = 0;
  for (int i = 0; i < 8; ++i) {
    conns.emplace_back(port());
    ASSERT_TRUE(conns.back().connected()) << conns.back().error();
    for (int k = 0; k <= i % 3; ++k) {
      auto r = conns.back().roundTrip(kGetHealthz);
      ASSERT_TRUE(r) << conns.back().error();
      ASSERT_EQ(r->status, 200);
      ++healthz;
    }
  }
  {
    Client bad(port());
    ASSERT_TRUE(bad.send("GET /healthz HTTP/1.1\r\n\r\n")) << bad.error();  // no Host
    auto r = bad.readResponse();
    ASSERT_TRUE(r) << bad.error();
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(bad.readUntilEof());
  }
  Client m(port());
  auto r = m.roundTrip(kGetMetrics);
  ASSERT_TRUE(r) << m.error();
  ASSERT_EQ(r->status, 200);
  const std::string& text = r->body;
  EXPECT_EQ(metricValue(text, R"(handoff_http_requests_total{route="healthz",status="200"})"), healthz) << text;
  EXPECT_EQ(metricValue(text, R"(handoff_http_requests_total{route="none",status="400"})"), 1u) << text;
  EXPECT_EQ(metricValue(text, "handoff_http_parse_errors_total"), 1u) << text;
  EXPECT_EQ(metricValue(text, "handoff_connections_accepted_total"), 10u) << text;
  EXPECT_EQ(metricValue(text, "handoff_shards"), 2u) << text;
  EXPECT_EQ(metricValue(text, "handoff_reloads_total"), 0u) << text;
  // The refused connection's close is accounted for after its socket closed: wait for it.
  std::string last;
  EXPECT_TRUE(eventually([&] {
    auto again = m.roundTrip(kGetMetrics);
    last = again ? again->body : "";
    return metricValue(last, "handoff_connections_open") == 9u;  // 8 kept alive + this one
  })) << last;
  EXPECT_EQ(metricValue(last, R"(handoff_http_requests_total{route="metrics",status="200"})").value_or(0) >= 1, true)
      << last;
  conns.clear();
  EXPECT_TRUE(eventually([&] {
    auto again = m.roundTrip(kGetMetrics);
    last = again ? again->body : "";
    return metricValue(last, "handoff_connections_open") == 1u;
  })) << last;
}

TEST(Metrics, RoutesAreNamedForRequestsServedRightAfterStart) {
  // /metrics takes route names from shard 0's router, which shard 0 builds on its own thread
  // after "listening on" is printed. A request served by another shard before that must still be
  // counted under its route, not under "none" (and reading a router being built is a data race).
  // Eight shards make it likely that the connection lands on one that started before shard 0.
  for (int i = 0; i < 60; ++i) {
    ServerOptions o;
    o.threads = 8;
    Server s(o);
    ASSERT_TRUE(s.start()) << s.failure();
    Client c(s.port());
    ASSERT_TRUE(c.send(std::string(kGetHealthz) + std::string(kGetMetrics))) << c.error();
    auto h = c.readResponse();
    ASSERT_TRUE(h) << c.error();
    auto m = c.readResponse();
    ASSERT_TRUE(m) << c.error();
    ASSERT_EQ(metricValue(m->body, R"(handoff_http_requests_total{route="healthz",status="200"})"), 1u)
        << "attempt " << i << ":\n" << m->body;
  }
}

// ── a real client ───────────────────────────────────────────────────────────────────────────

TEST_F(HttpEdge, CurlReusesOneConnectionForTwoUrls) {
  constexpr const char* kCurl = "/usr/bin/curl";
  if (::access(kCurl, X_OK) != 0) GTEST_SKIP() << kCurl << " is not installed";
  ASSERT_NO_FATAL_FAILURE(launch());
  std::string base = "http://127.0.0.1:" + std::to_string(port());
  std::string cmd = std::string(kCurl) + " -sS --noproxy '*' --max-time 5 " + base + "/healthz " + base + "/metrics 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char b[4096];
  size_t n;
  while ((n = std::fread(b, 1, sizeof b, p)) > 0) out.append(b, n);
  int st = ::pclose(p);
  ASSERT_EQ(st, 0) << cmd << "\n" << out;
  ASSERT_EQ(out.substr(0, kHealthzBody.size()), kHealthzBody) << out;
  std::string metrics = out.substr(kHealthzBody.size());
  EXPECT_EQ(answeredWithStatus(metrics, "200"), 1u) << metrics;
  EXPECT_EQ(metricValue(metrics, "handoff_connections_accepted_total"), 1u) << "curl did not reuse its connection\n"
                                                                            << metrics;
}

}  // namespace
}  // namespace handoff::it
