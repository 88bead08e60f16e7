// Overload against a real handoffd (README "Limits and overload"): a client IP over
// max_connections_per_ip and anyone over max_connections get the canned 503 (Retry-After,
// Connection: close) and are closed, while other clients are still served promptly; a PROXY
// listener counts the client its header names; the token endpoint's rate limit answers 429
// (OAuth JSON, Retry-After) and recovers after the interval, with one budget across shards;
// password checks beyond max_password_checks are shed with 503. Other client IPs are other
// loopback addresses (127.0.0.2, ...). Every wait is generous: a loaded 2-core machine is slow,
// and no assertion depends on a deadline shorter than seconds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.h"

namespace handoff::it {
namespace {

using Clock = std::chrono::steady_clock;

const char kHealthz[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// One public client with the password grant and its user, [limits] and [rate_limits] as given.
std::string overloadConfig(const std::string& limits, const std::string& rateLimits = "",
                           const std::string& server = "listen = [\"127.0.0.1:0\"]\n") {
  return "[server]\n" + server + "\n[limits]\n" + limits + "\n\n[rate_limits]\n" + rateLimits +
         "\n\n[[users]]\nuser_id = \"auth0|u1\"\nemail = \"u1@example.com\"\npassword = \"pw-1\"\n\n"
         "[[clients]]\nclient_id = \"native\"\napp_type = \"native\"\ntoken_endpoint_auth_method = \"none\"\n"
         "grant_types = [\"password\"]\n";
}

std::string tokenRequest(const std::string& body) {
  return "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
const std::string kPasswordGrant = "grant_type=password&client_id=native&username=u1%40example.com&password=pw-1";
const std::string kUnknownClient = "grant_type=client_credentials&client_id=nobody";

// The canned overload answer, then the server's close.
void expectRefused(Client& c, const std::string& what) {
  auto r = c.readResponse(Millis(10000));
  ASSERT_TRUE(r) << what << ": " << c.error();
  EXPECT_EQ(r->status, 503) << what << ": " << r->raw;
  EXPECT_EQ(r->header("retry-after"), "1") << what;
  EXPECT_TRUE(r->closes()) << what;
  EXPECT_NE(r->body.find("temporarily_unavailable"), std::string::npos) << what << ": " << r->body;
  EXPECT_TRUE(c.readUntilEof(Millis(10000)).has_value()) << what << ": the server closes a refused connection";
}

// A fresh connection from `ip` answers /healthz with 200.
bool servedFrom(uint16_t port, const std::string& ip) {
  Client c(port, ip);
  auto r = c.roundTrip(kHealthz, Millis(10000));
  return r && r->status == 200;
}

TEST(Overload, PerIpCapRefusesTheFlooderWhileOtherClientsAreServed) {
  Server s(ServerOptions{.config = overloadConfig("max_connections_per_ip = 8\n")});
  ASSERT_TRUE(s.start()) << s.failure();

  // The flooder's first 8 connections are admitted and stay open.
  std::vector<Client> held;
  for (int i = 0; i < 8; ++i) {
    held.emplace_back(s.port(), "127.0.0.1");
    auto r = held.back().roundTrip(kHealthz, Millis(10000));
    ASSERT_TRUE(r && r->status == 200) << i << ": " << held.back().error();
  }
  // The ninth is refused with the canned answer, before any request of its own is read.
  {
    Client extra(s.port(), "127.0.0.1");
    ASSERT_TRUE(extra.send(kHealthz));
    expectRefused(extra, "the ninth connection");
  }

  // A flood: for a second and a half the flooder opens connection after connection; meanwhile
  // another client IP keeps making requests on fresh connections, and each is answered.
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0}, other{0};
  std::thread flood([&] {
    while (!stop.load()) {
      Client c(s.port(), "127.0.0.1");
      if (!c.send(kHealthz)) continue;
      auto r = c.readResponse(Millis(10000));
      if (r && r->status == 503 && r->header("retry-after") == "1") ++refused;
      else ++other;
    }
  });
  auto floodEnd = Clock::now() + std::chrono::milliseconds(1500);
  int served = 0;
  Millis slowest(0);
  while (Clock::now() < floodEnd) {
    auto t0 = Clock::now();
    EXPECT_TRUE(servedFrom(s.port(), "127.0.0.2")) << "another client IP is served during the flood";
    slowest = std::max(slowest, std::chrono::duration_cast<Millis>(Clock::now() - t0));
    ++served;
  }
  stop = true;
  flood.join();
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(other.load(), 0) << "every flood connection beyond the cap got the 503";
  EXPECT_GT(served, 0);
  std::printf("flood: %d refused with 503; other client: %d requests served, slowest %lld ms\n", refused.load(),
              served, static_cast<long long>(slowest.count()));
  // The admitted connections still work.
  for (Client& c : held) {
    auto r = c.roundTrip(kHealthz, Millis(10000));
    EXPECT_TRUE(r && r->status == 200) << c.error();
  }

  // Refusals are counted, and the IP is tracked once.
  Client metricsClient(s.port(), "127.0.0.3");
  auto m = metricsClient.roundTrip("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", Millis(10000));
  ASSERT_TRUE(m && m->status == 200);
  auto perIp = metricValue(m->body, "handoff_connections_refused_total{reason=\"max_connections_per_ip\"}");
  ASSERT_TRUE(perIp);
  EXPECT_GE(*perIp, static_cast<uint64_t>(refused.load()) + 1);
  EXPECT_EQ(metricValue(m->body, "handoff_connections_refused_total{reason=\"max_connections\"}"), 0u);

  // One held connection closes: its slot comes back.
  held.pop_back();
  EXPECT_TRUE(eventually([&] { return servedFrom(s.port(), "127.0.0.1"); }, Millis(10000)));
}

TEST(Overload, GlobalCapRefusesEveryAddressBeyondIt) {
  Server s(ServerOptions{.config = overloadConfig("max_connections = 6\nmax_connections_per_ip = 0\n")});
  ASSERT_TRUE(s.start()) << s.failure();
  std::vector<Client> held;
  for (int i = 0; i < 6; ++i) {
    held.emplace_back(s.port(), "127.0.0." + std::to_string(10 + i));
    auto r = held.back().roundTrip(kHealthz, Millis(10000));
    ASSERT_TRUE(r && r->status == 200) << i << ": " << held.back().error();
  }
  for (const char* ip : {"127.0.0.20", "127.0.0.21", "127.0.0.10"}) {
    Client c(s.port(), ip);
    ASSERT_TRUE(c.send(kHealthz));
    expectRefused(c, ip);
  }
  held.erase(held.begin());
  EXPECT_TRUE(eventually([&] { return servedFrom(s.port(), "127.0.0.20"); }, Millis(10000)));
  std::string metrics;
  ASSERT_TRUE(eventually(
      [&] {
        Client mc(s.port(), "127.0.0.22");
        auto r = mc.roundTrip("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", Millis(10000));
        if (!r || r->status != 200) return false;
        metrics = r->body;
        return true;
      },
      Millis(10000)));
  auto global = metricValue(metrics, "handoff_connections_refused_total{reason=\"max_connections\"}");
  ASSERT_TRUE(global);
  EXPECT_GE(*global, 3u);
  EXPECT_EQ(metricValue(metrics, "handoff_connections_admitted"), 6u) << "5 held + this one";
}

TEST(Overload, ProxyListenerCountsTheClientTheHeaderNames) {
  Server s(ServerOptions{
      .config = overloadConfig("max_connections_per_ip = 2\n", "",
                               "listen = [\"127.0.0.1:0\"]\nlisten_proxy = [\"127.0.0.1:0\"]\n") +
                "\n[proxy]\ntrusted = [\"127.0.0.0/8\"]\n",
      .listen = "",
      .listeners = 2});
  ASSERT_TRUE(s.start()) << s.failure();
  uint16_t proxyPort = s.ports()[1];
  auto header = [&](const std::string& src) {
    return "PROXY TCP4 " + src + " 127.0.0.1 51234 " + std::to_string(proxyPort) + "\r\n";
  };
  // Every connection comes from the proxy (127.0.0.1); the cap applies to the clients it names.
  std::vector<Client> held;
  for (int i = 0; i < 2; ++i) {
    held.emplace_back(proxyPort);
    auto r = held.back().roundTrip(header("192.0.2.1") + kHealthz, Millis(10000));
    ASSERT_TRUE(r && r->status == 200) << i << ": " << held.back().error();
  }
  Client third(proxyPort);
  ASSERT_TRUE(third.send(header("192.0.2.1") + kHealthz));
  expectRefused(third, "a third connection for 192.0.2.1");
  Client otherClient(proxyPort);
  auto r = otherClient.roundTrip(header("192.0.2.2") + kHealthz, Millis(10000));
  ASSERT_TRUE(r) << otherClient.error();
  EXPECT_EQ(r->status, 200) << "another client behind the same proxy";
}

TEST(Overload, TokenRateLimitAnswers429WithRetryAfterThenRecovers) {
  // 3 at once, then one every 3 s, per client IP, across both shards.
  Server s(ServerOptions{.config = overloadConfig("", "token_burst = 3\ntoken_per_minute = 20\n")});
  ASSERT_TRUE(s.start()) << s.failure();
  for (int i = 0; i < 3; ++i) {
    Client c(s.port(), "127.0.0.1");  // fresh connections: whichever shard takes them, one budget
    auto r = c.roundTrip(tokenRequest(kUnknownClient), Millis(10000));
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 401) << i << ": " << r->body;
  }
  Client c(s.port(), "127.0.0.1");
  auto limited = c.roundTrip(tokenRequest(kPasswordGrant), Millis(10000));
  ASSERT_TRUE(limited) << c.error();
  EXPECT_EQ(limited->status, 429) << limited->body;
  EXPECT_EQ(limited->body.find("{\"error\":\"too_many_requests\",\"error_description\":"), 0u) << limited->body;
  EXPECT_EQ(limited->header("cache-control"), "no-store");
  int retryAfter = std::atoi(limited->header("retry-after").c_str());
  EXPECT_GE(retryAfter, 1) << limited->raw;
  EXPECT_LE(retryAfter, 3) << limited->raw;
  EXPECT_FALSE(limited->closes()) << "a rate-limited client keeps its connection";

  // Another client IP has its own budget.
  Client other(s.port(), "127.0.0.2");
  auto ok = other.roundTrip(tokenRequest(kPasswordGrant), Millis(10000));
  ASSERT_TRUE(ok) << other.error();
  EXPECT_EQ(ok->status, 200) << ok->body;

  // After Retry-After, the limited client is answered again, on the same connection.
  std::this_thread::sleep_for(std::chrono::milliseconds(retryAfter * 1000 + 200));
  auto again = c.roundTrip(tokenRequest(kPasswordGrant), Millis(10000));
  ASSERT_TRUE(again) << c.error();
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_NE(again->body.find("\"access_token\""), std::string::npos) << again->body;

  std::string metrics = fetchMetrics(s.port());
  EXPECT_GE(metricValue(metrics, "handoff_rate_limited_total{endpoint=\"token\"}").value_or(0), 1u) << metrics;
}

TEST(Overload, PasswordChecksBeyondTheCapAreShedWith503) {
  Server s(ServerOptions{.config = overloadConfig("max_password_checks = 1\n")});
  ASSERT_TRUE(s.start()) << s.failure();
  // Twelve password grants at once, from twelve client IPs: one check runs (~40 ms), the ones
  // that arrive meanwhile are refused at once rather than queued.
  std::vector<Client> clients;
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back(s.port(), "127.0.0." + std::to_string(30 + i));
    ASSERT_TRUE(clients.back().connected()) << clients.back().error();
  }
  for (Client& c : clients) ASSERT_TRUE(c.send(tokenRequest(kPasswordGrant)));
  int ok = 0, shed = 0;
  for (Client& c : clients) {
    auto r = c.readResponse(Millis(20000));
    ASSERT_TRUE(r) << c.error();
    if (r->status == 200) {
      ++ok;
    } else {
      EXPECT_EQ(r->status, 503) << r->body;
      EXPECT_EQ(r->header("retry-after"), "1");
      EXPECT_NE(r->body.find("temporarily_unavailable"), std::string::npos) << r->body;
      ++shed;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(shed, 1);
  std::printf("password checks: %d served, %d shed\n", ok, shed);
  std::string metrics;
  EXPECT_TRUE(eventually(
      [&] {
        metrics = fetchMetrics(s.port());
        return metricValue(metrics, "handoff_password_checks_in_flight") == 0u;
      },
      Millis(10000)))
      << metrics;
  EXPECT_EQ(metricValue(metrics, "handoff_password_checks_shed_total"), static_cast<uint64_t>(shed));
  // The slot came back: a later grant is served.
  Client later(s.port(), "127.0.0.50");
  auto r = later.roundTrip(tokenRequest(kPasswordGrant), Millis(20000));
  ASSERT_TRUE(r) << later.error();
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
}  // namespace handoff::it
