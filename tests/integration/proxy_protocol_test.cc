// PROXY protocol listeners against a real handoffd started with a plain listener and a
// listen_proxy one: v1 and v2 headers are consumed and their source becomes the client IP (seen
// in the tenant log's fepft events), LOCAL keeps the TCP peer, headers split byte by byte and
// requests pipelined behind a header work, a malformed, incomplete or untrusted one closes the
// connection without an answer (and is counted), and the plain listener treats a PROXY line as
// the bad HTTP request it is there.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "browser_client.h"
#include "server_fixture.h"

namespace handoff::it {
namespace {

const std::string kClientIp = "203.0.113.7";

// The demo tenant (src/config/demo.cc) as a file, with a plain listener first (it names the
// issuer), a PROXY protocol listener second, and `trusted` as the trusted proxies.
std::string tenantConfig(const std::string& trusted) {
  return "[server]\nlisten = [\"127.0.0.1:0\"]\nlisten_proxy = [\"127.0.0.1:0\"]\n\n"
         "[limits]\nheader_timeout_ms = 1500\n\n"
         "[proxy]\ntrusted = [\"" + trusted + "\"]\n\n"
         "[[users]]\nuser_id = \"auth0|demo\"\nemail = \"demo@example.com\"\npassword = \"demo-password\"\n"
         "name = \"Demo User\"\nemail_verified = true\n\n"
         "[[clients]]\nclient_id = \"demo-native\"\nname = \"Demo Native App\"\napp_type = \"native\"\n"
         "token_endpoint_auth_method = \"none\"\ngrant_types = [\"authorization_code\", \"refresh_token\", \"password\"]\n"
         "callbacks = [\"com.example.handoff://callback\"]\nrefresh_token = { rotation_type = \"rotating\", leeway = 0 }\n"
         "session_transfer = { can_create_session_transfer_token = true }\n\n"
         "[[clients]]\nclient_id = \"demo-web\"\nclient_secret = \"demo-web-secret\"\nname = \"Demo Web App\"\n"
         "app_type = \"regular_web\"\ngrant_types = [\"authorization_code\", \"refresh_token\"]\n"
         "callbacks = [\"http://127.0.0.1:3000/callback\", \"http://localhost:3000/callback\"]\n"
         "allowed_logout_urls = [\"http://127.0.0.1:3000/\", \"http://localhost:3000/\"]\n"
         "[clients.session_transfer]\nallowed_authentication_methods = [\"cookie\", \"query\"]\n"
         "enforce_device_binding = \"ip\"\nallow_refresh_token = true\nenforce_online_refresh_tokens = true\n\n"
         "[[clients]]\nclient_id = \"demo-web-asn\"\nclient_secret = \"demo-web-asn-secret\"\n"
         "name = \"Demo Web App (ASN binding)\"\napp_type = \"regular_web\"\n"
         "grant_types = [\"authorization_code\", \"refresh_token\"]\n"
         "callbacks = [\"http://127.0.0.1:3000/callback\", \"http://localhost:3000/callback\"]\n"
         "allowed_logout_urls = [\"http://127.0.0.1:3000/\", \"http://localhost:3000/\"]\n"
         "[clients.session_transfer]\nallowed_authentication_methods = [\"cookie\", \"query\"]\n"
         "enforce_device_binding = \"asn\"\nallow_refresh_token = true\nenforce_online_refresh_tokens = true\n\n"
         "[[clients]]\nclient_id = \"demo-m2m\"\nclient_secret = \"demo-m2m-secret\"\nname = \"Demo Management Client\"\n"
         "app_type = \"non_interactive\"\ngrant_types = [\"client_credentials\"]\n";
}

std::string v1Header(uint16_t dstPort, const std::string& src = kClientIp) {
  return "PROXY TCP4 " + src + " 127.0.0.1 51234 " + std::to_string(dstPort) + "\r\n";
}

// A v2 PROXY header for TCP over IPv4 from 203.0.113.7:51234, with one NOOP TLV; LOCAL when
// `local` (the proxy's own connection: no address block).
std::string v2Header(uint16_t dstPort, bool local = false) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  if (local) return h + std::string("\x20\x00\x00\x00", 4);
  std::string block = {'\xcb', '\x00', '\x71', '\x07', '\x7f', '\x00', '\x00', '\x01', '\xc8', '\x22',
                       static_cast<char>(dstPort >> 8), static_cast<char>(dstPort & 0xff), '\x04', '\x00', '\x02', 'n', 'o'};
  h += std::string("\x21\x11\x00", 3) + static_cast<char>(block.size());
  return h + block;
}

std::string healthz(bool close = false) {
  return std::string("GET /healthz HTTP/1.1\r\nHost: handoff\r\n") + (close ? "Connection: close\r\n" : "") + "\r\n";
}

class ProxyProtocolTest : public ::testing::Test {
 protected:
  void start(const std::string& trusted = "127.0.0.1") {
    server_ = std::make_unique<Server>(ServerOptions{.config = tenantConfig(trusted), .listen = "", .listeners = 2});
    ASSERT_TRUE(server_->start()) << server_->failure();
    ASSERT_EQ(server_->ports().size(), 2u) << server_->stdoutText();
  }
  uint16_t plainPort() const { return server_->ports()[0]; }
  uint16_t proxyPort() const { return server_->ports()[1]; }

  uint64_t rejected(const std::string& reason) {
    std::string text = fetchMetrics(plainPort());
    auto v = metricValue(text, "handoff_proxy_protocol_rejected_total{reason=\"" + reason + "\"}");
    EXPECT_TRUE(v) << text;
    return v.value_or(0);
  }

  // Sends `bytes` on a fresh connection to the PROXY listener and expects it closed with no byte
  // of answer.
  void expectClosedSilently(const std::string& bytes, const std::string& what, const std::string& sourceIp = "") {
    Client c(proxyPort(), sourceIp);
    ASSERT_TRUE(c.connected()) << c.error();
    c.send(bytes);  // may fail once the server has closed: that is the point
    auto rest = c.readUntilEof(Millis(15000));
    ASSERT_TRUE(rest) << what << ": still open";
    EXPECT_EQ(*rest, "") << what;
  }

  // A failing password grant (unknown user) sent after `prefix` to `port`, with `userAgent`.
  void failedPasswordGrant(uint16_t port, const std::string& prefix, const std::string& userAgent) {
    std::string body = form({{"grant_type", "password"}, {"client_id", "demo-native"}, {"username", "x"}, {"password", "y"}});
    Client c(port);
    auto r = c.roundTrip(prefix + "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                             "\r\nUser-Agent: " + userAgent +
                             "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body,
                         Millis(15000));
    ASSERT_TRUE(r) << userAgent << ": " << c.error();
    EXPECT_EQ(r->status, 403) << userAgent << ": " << r->body;
    EXPECT_EQ(jsonField(r->body, "error"), "invalid_grant") << userAgent;
  }

  // The tenant log's events, read on the plain listener with a read:logs management token.
  std::vector<std::string> logEvents() {
    std::string body = form({{"grant_type", "client_credentials"}, {"client_id", "demo-m2m"},
                             {"client_secret", "demo-m2m-secret"},
                             {"audience", "http://127.0.0.1:" + std::to_string(plainPort()) + "/api/v2/"},
                             {"scope", "read:logs"}});
    Client c(plainPort());
    auto t = c.roundTrip("POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(plainPort()) +
                         "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_TRUE(t && t->status == 200) << (t ? t->body : c.error());
    std::string token = t ? jsonField(t->body, "access_token") : "";
    auto r = c.roundTrip("GET /api/v2/logs?per_page=100 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(plainPort()) +
                         "\r\nAuthorization: Bearer " + token + "\r\n\r\n");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : c.error());
    return r ? jsonObjects(r->body) : std::vector<std::string>{};
  }

  std::unique_ptr<Server> server_;
};

TEST_F(ProxyProtocolTest, HeadersNameTheClientIpTheTenantLogRecords) {
  start();
  failedPasswordGrant(proxyPort(), v1Header(proxyPort()), "proxy-v1");
  failedPasswordGrant(proxyPort(), v2Header(proxyPort()), "proxy-v2");
  failedPasswordGrant(proxyPort(), v2Header(proxyPort(), true), "proxy-v2-local");
  failedPasswordGrant(plainPort(), "", "plain");
  std::vector<std::string> fepft;
  for (const std::string& e : logEvents()) {
    if (jsonField(e, "type") == "fepft") fepft.push_back(e);
  }
  ASSERT_EQ(fepft.size(), 4u);
  auto ipOf = [&](const std::string& userAgent) {
    for (const std::string& e : fepft) {
      if (jsonField(e, "user_agent") == userAgent) return jsonField(e, "ip");
    }
    return std::string("(no event)");
  };
  EXPECT_EQ(ipOf("proxy-v1"), kClientIp);
  EXPECT_EQ(ipOf("proxy-v2"), kClientIp);
  EXPECT_EQ(ipOf("proxy-v2-local"), "127.0.0.1") << "LOCAL keeps the TCP peer";
  EXPECT_EQ(ipOf("plain"), "127.0.0.1");
  EXPECT_EQ(rejected("malformed") + rejected("untrusted_peer") + rejected("timeout"), 0u);
}

TEST_F(ProxyProtocolTest, HeaderSplitByteByByteWorks) {
  start();
  for (const std::string& header : {v1Header(proxyPort()), v2Header(proxyPort())}) {
    Client c(proxyPort());
    ASSERT_TRUE(c.sendBytewise(header + healthz())) << c.error();
    auto r = c.readResponse(Millis(15000));
    ASSERT_TRUE(r) << escapeBytes(header) << ": " << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"status":"ok"})");
  }
}

TEST_F(ProxyProtocolTest, RequestsPipelinedBehindTheHeaderAreAnswered) {
  start();
  for (const std::string& header : {v1Header(proxyPort()), v2Header(proxyPort())}) {
    Client c(proxyPort());
    ASSERT_TRUE(c.send(header + healthz() + healthz() + healthz(true))) << c.error();
    for (int i = 0; i < 3; ++i) {
      auto r = c.readResponse(Millis(15000));
      ASSERT_TRUE(r) << escapeBytes(header) << " response " << i << ": " << c.error();
      EXPECT_EQ(r->status, 200);
    }
    auto rest = c.readUntilEof();
    ASSERT_TRUE(rest);
    EXPECT_EQ(*rest, "");
  }
}

TEST_F(ProxyProtocolTest, MalformedHeadersCloseTheConnectionWithoutAnAnswer) {
  start();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"PROXY TCP4 203.0.113.999 127.0.0.1 51234 80\r\n" + healthz(), "bad source address"},
      {"PROXY TCP4 203.0.113.7 127.0.0.1 51234 80\n" + healthz(), "LF without CR"},
      {"PROXY UNKNOWN " + std::string(120, 'x') + "\r\n", "no CRLF within 107 bytes"},
      {healthz(), "plain HTTP on the PROXY listener"},
      {std::string("\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0c", 16) + std::string(12, '\0') + healthz(), "v2 version 3"},
      {std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\x10\x00", 16), "v2 length beyond the limit"},
  };
  for (const auto& [bytes, what] : bad) expectClosedSilently(bytes, what);
  EXPECT_TRUE(eventually([&] { return rejected("malformed") == bad.size(); })) << rejected("malformed");
  // Half a header, then the client leaves: malformed too.
  {
    Client c(proxyPort());
    ASSERT_TRUE(c.send("PROXY TCP4 203.0"));
    c.shutdownWrite();
    auto rest = c.readUntilEof(Millis(15000));
    ASSERT_TRUE(rest);
    EXPECT_EQ(*rest, "");
  }
  EXPECT_TRUE(eventually([&] { return rejected("malformed") == bad.size() + 1; }));
  EXPECT_EQ(rejected("timeout"), 0u);
  // The listener still serves well-formed connections.
  Client ok(proxyPort());
  auto r = ok.roundTrip(v1Header(proxyPort()) + healthz());
  ASSERT_TRUE(r) << ok.error();
  EXPECT_EQ(r->status, 200);
}

TEST_F(ProxyProtocolTest, AnIncompleteHeaderTimesOut) {
  start();
  Client c(proxyPort());
  ASSERT_TRUE(c.send("PROXY TCP4 203.0.113.7 127.0.0.1"));
  auto rest = c.readUntilEof(Millis(6000));  // header_timeout_ms is 1500
  ASSERT_TRUE(rest) << "still open";
  EXPECT_EQ(*rest, "");
  EXPECT_TRUE(eventually([&] { return rejected("timeout") == 1; }));
  EXPECT_EQ(rejected("malformed"), 0u);
}

TEST_F(ProxyProtocolTest, UntrustedPeersAreClosedAtOnce) {
  start("127.0.0.2");
  {
    Client c(proxyPort());  // from 127.0.0.1, which is not trusted here
    ASSERT_TRUE(c.connected()) << c.error();
    auto rest = c.readUntilEof(Millis(1000));  // well before the 1500 ms header timeout
    ASSERT_TRUE(rest) << "an untrusted peer's connection stayed open";
    EXPECT_EQ(*rest, "");
  }
  expectClosedSilently(v1Header(proxyPort()) + healthz(), "a valid header from an untrusted peer");
  expectClosedSilently(v2Header(proxyPort()) + healthz(), "a valid v2 header from an untrusted peer");
  EXPECT_TRUE(eventually([&] { return rejected("untrusted_peer") == 3; })) << rejected("untrusted_peer");
  EXPECT_EQ(rejected("timeout"), 0u);
  EXPECT_EQ(rejected("malformed"), 0u);
  // The trusted proxy's connections are served.
  Client trusted(proxyPort(), "127.0.0.2");
  auto r = trusted.roundTrip(v1Header(proxyPort()) + healthz());
  ASSERT_TRUE(r) << trusted.error();
  EXPECT_EQ(r->status, 200);
}

TEST_F(ProxyProtocolTest, ThePlainListenerAnswers400ToAProxyLine) {
  start();
  for (const std::string& header : {v1Header(plainPort()), v2Header(plainPort())}) {
    Client c(plainPort());
    auto r = c.roundTrip(header + healthz());
    ASSERT_TRUE(r) << escapeBytes(header) << ": " << c.error();
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(r->closes());
  }
  EXPECT_EQ(rejected("malformed"), 0u) << "not a PROXY listener: nothing to count there";
}

}  // namespace
}  // namespace handoff::it
