// The fixture shared by the HTTP/1.1 edge tests (http_edge_test.cc, http_framing_test.cc,
// http_limits_test.cc, lifecycle_test.cc): a real handoffd per test on 127.0.0.1:0, raw sockets,
// and the two shapes of answer they expect — a refusal that closes, or an answer that keeps the
// connection usable.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "server_fixture.h"


namespace handoff::it {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

inline constexpr std::string_view kGetHealthz = "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
inline constexpr std::string_view kGetMetrics = "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n";
// Small limits for the tests that reach them (and for 100-continue over the body limit).
inline constexpr std::string_view kSmallLimits =
    "max_request_line = 128\nmax_header_line = 128\nmax_header_bytes = 512\nmax_headers = 8\nmax_body_bytes = 64\n";
inline constexpr std::string_view kHealthzBody = R"({"status":"ok"})";

// Sum of handoff_http_requests_total over every route for one status. Tests that are not about
// route labels use it, so that they do not depend on how /metrics names routes.
inline uint64_t answeredWithStatus(std::string_view metrics, std::string_view status) {
  static constexpr std::string_view kPrefix = "handoff_http_requests_total{";
  std::string label = "status=\"" + std::string(status) + "\"}";
  uint64_t sum = 0;
  size_t at = 0;
  while ((at = metrics.find(kPrefix, at)) != std::string_view::npos) {
    size_t end = metrics.find('}', at);
    if (end == std::string_view::npos) break;
    std::string_view series = metrics.substr(at, end + 1 - at);
    if (series.size() >= label.size() && series.substr(series.size() - label.size()) == label) {
      sum += metricValue(metrics, series).value_or(0);
    }
    at = end;
  }
  return sum;
}

inline long long msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

class HttpEdge : public ::testing::Test {
 protected:
  void launch(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(std::move(options));
    ASSERT_TRUE(server_->start()) << server_->failure();
  }
  void launchWithLimits(std::string_view limits) {
    ServerOptions o;
    o.config = configWithLimits(limits);
    launch(std::move(o));
  }
  uint16_t port() const { return server_->port(); }

  // A fresh connection that sends `request` must get exactly one response with `status`,
  // marked "Connection: close", and then the end of the stream with nothing more.
  void expectRefusal(std::string_view request, int status) {
    SCOPED_TRACE("request: " + escapeBytes(request));
    Client c(port());
    ASSERT_TRUE(c.connected()) << c.error();
    ASSERT_TRUE(c.send(request)) << c.error();
    auto r = c.readResponse();
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, status) << r->raw;
    EXPECT_TRUE(r->closes()) << r->raw;
    EXPECT_EQ(r->header("Content-Type"), "application/json") << r->raw;
    EXPECT_THAT(r->body, HasSubstr("\"error\":")) << r->raw;
    auto rest = c.readUntilEof();
    ASSERT_TRUE(rest) << "the connection stayed open after a " << status;
    EXPECT_EQ(*rest, "") << "bytes after the error response: " << escapeBytes(*rest);
  }

  // A fresh connection that sends `request` gets `status`, and the connection stays usable.
  void expectServed(std::string_view request, int status) {
    SCOPED_TRACE("request: " + escapeBytes(request));
    Client c(port());
    ASSERT_TRUE(c.connected()) << c.error();
    auto r = c.roundTrip(request);
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, status) << r->raw;
    EXPECT_FALSE(r->closes()) << r->raw;
    auto again = c.roundTrip(kGetHealthz);
    ASSERT_TRUE(again) << "the connection did not survive: " << c.error();
    EXPECT_EQ(again->status, 200);
  }

  std::unique_ptr<Server> server_;
};

}  // namespace handoff::it
