// Configuration: the demo tenant is exactly the documented one; files are parsed strictly, and
// every error names the file, the line and the key; flags override the file.
#include "handoff/config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace handoff::config {
namespace {

std::string writeTemp(const std::string& text) {
  char path[] = "/tmp/handoff-config-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

const ClientConfig* client(const Config& c, const std::string& id) {
  for (const auto& cl : c.clients) {
    if (cl.clientId == id) return &cl;
  }
  return nullptr;
}

TEST(DemoTenant, HasTheDocumentedClientsAndUser) {
  Config c = demoConfig();
  EXPECT_TRUE(c.demo);
  ASSERT_EQ(c.users.size(), 1u);
  EXPECT_EQ(c.users[0].email, "demo@example.com");
  EXPECT_EQ(c.users[0].password, "demo-password");
  EXPECT_EQ(c.users[0].userId, "auth0|demo");

  const ClientConfig* native = client(c, "demo-native");
  ASSERT_NE(native, nullptr);
  EXPECT_EQ(native->tokenEndpointAuthMethod, "none");
  EXPECT_EQ(native->grantTypes, (std::vector<std::string>{"authorization_code", "refresh_token", "password"}));
  EXPECT_EQ(native->callbacks, (std::vector<std::string>{"com.example.handoff://callback"}));
  EXPECT_EQ(native->refreshToken.rotationType, "rotating");
  EXPECT_EQ(native->refreshToken.leeway, 0);
  EXPECT_TRUE(native->sessionTransfer.canCreateSessionTransferToken);

  const ClientConfig* web = client(c, "demo-web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->clientSecret, "demo-web-secret");
  EXPECT_EQ(web->callbacks, (std::vector<std::string>{"http://127.0.0.1:3000/callback", "http://localhost:3000/callback"}));
  EXPECT_EQ(web->sessionTransfer.allowedAuthenticationMethods, (std::vector<std::string>{"cookie", "query"}));
  EXPECT_EQ(web->sessionTransfer.enforceDeviceBinding, "ip");
  EXPECT_TRUE(web->sessionTransfer.allowRefreshToken);
  EXPECT_TRUE(web->sessionTransfer.enforceOnlineRefreshTokens);

  const ClientConfig* asn = client(c, "demo-web-asn");
  ASSERT_NE(asn, nullptr);
  EXPECT_EQ(asn->clientSecret, "demo-web-asn-secret");
  EXPECT_EQ(asn->sessionTransfer.enforceDeviceBinding, "asn");

  const ClientConfig* m2m = client(c, "demo-m2m");
  ASSERT_NE(m2m, nullptr);
  EXPECT_EQ(m2m->clientSecret, "demo-m2m-secret");
  EXPECT_EQ(m2m->grantTypes, (std::vector<std::string>{"client_credentials"}));
}

TEST(ConfigFile, ReadsEverySection) {
  std::string path = writeTemp(R"(
[server]
listen = ["127.0.0.1:0", "[::1]:0"]
threads = 3
data_dir = "/tmp/x"
log_level = "debug"

[limits]
max_request_line = 1000
idle_timeout_ms = 1234

[tenant]
domain = "auth.example.com"
signing_alg = "ES256"

[geo]
asn = "/tmp/asn.mmdb"

[[clients]]
client_id = "web"
client_secret = "s"
app_type = "regular_web"
callbacks = ["https://app/cb"]
web_origins = ["https://app"]
allowed_origins = ["https://other.app", "http://127.0.0.1:3000"]
[clients.session_transfer]
allowed_authentication_methods = ["cookie"]
enforce_device_binding = "none"
future_flag = true

[[users]]
user_id = "auth0|1"
email = "a@b.c"
password = "pw"
)");
  auto c = loadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->listen.size(), 2u);
  EXPECT_EQ(c->threads, 3u);
  EXPECT_EQ(c->logLevel, core::LogLevel::kDebug);
  EXPECT_EQ(c->limits.maxRequestLine, 1000u);
  EXPECT_EQ(c->limits.idleTimeoutMs, 1234u);
  EXPECT_EQ(c->tenant.signingAlg, "ES256");
  EXPECT_EQ(c->geoAsn, "/tmp/asn.mmdb");
  ASSERT_EQ(c->clients.size(), 1u);
  EXPECT_EQ(c->clients[0].sessionTransfer.enforceDeviceBinding, "none");
  EXPECT_EQ(c->clients[0].webOrigins, (std::vector<std::string>{"https://app"}));
  EXPECT_EQ(c->clients[0].allowedOrigins, (std::vector<std::string>{"https://other.app", "http://127.0.0.1:3000"}));
  EXPECT_EQ(c->clients[0].sessionTransfer.unknown.at("future_flag"), "true");
  ASSERT_EQ(c->users.size(), 1u);
  unlink(path.c_str());
}

void expectError(const std::string& text, const std::string& needle) {
  std::string path = writeTemp(text);
  auto c = loadConfigFile(path);
  ASSERT_FALSE(c.ok()) << text;
  EXPECT_NE(c.error().message().find(path), std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find(needle), std::string::npos) << c.error().message();
  unlink(path.c_str());
}

TEST(ConfigFile, UnknownKeyNamesFileLineAndKey) {
  expectError("[server]\nthreads = 2\nthraeds = 3\n", ":3: server.thraeds: unknown key");
}

TEST(ConfigFile, WrongTypeNamesTheKey) {
  expectError("[server]\nthreads = \"two\"\n", ":2: server.threads: expected an integer");
}

TEST(ConfigFile, OutOfRangeIsRefused) {
  expectError("[limits]\nmax_headers = 0\n", "limits.max_headers: out of range");
}

TEST(ConfigFile, BadEnumValueListsTheChoices) {
  expectError("[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\n[clients.session_transfer]\nenforce_device_binding = \"mac\"\n",
              "clients[0].session_transfer.enforce_device_binding: must be one of: ip, asn, none");
}

TEST(ConfigFile, ClientWithoutSecretNeedsAuthMethodNone) {
  expectError("[[clients]]\nclient_id = \"a\"\n", "client_secret is required");
}

TEST(ConfigFile, DuplicateClientIdIsRefused) {
  expectError("[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\n[[clients]]\nclient_id = \"a\"\nclient_secret = \"t\"\n",
              "duplicate 'a'");
}

TEST(ConfigFile, SyntaxErrorNamesTheLine) {
  expectError("[server]\nthreads = = 2\n", ":2:");
}

TEST(ConfigFile, MissingFileIsAnError) {
  auto c = loadConfigFile("/nonexistent/handoff.toml");
  EXPECT_FALSE(c.ok());
}

TEST(ConfigFile, EventsSectionSetsRingCapacityAndSink) {
  Config defaults;
  EXPECT_EQ(defaults.events.ringCapacity, 10000u);
  EXPECT_EQ(defaults.events.sink, "");
  std::string path = writeTemp("[events]\nring_capacity = 64\nsink = \"/tmp/handoff-events.jsonl\"\n");
  auto c = loadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->events.ringCapacity, 64u);
  EXPECT_EQ(c->events.sink, "/tmp/handoff-events.jsonl");
  unlink(path.c_str());
}

TEST(ConfigFile, EventsSectionIsStrict) {
  expectError("[events]\nring_capacity = 15\n", ":2: events.ring_capacity: out of range [16, 1000000]");
  expectError("[events]\nring_capacity = 1000001\n", "events.ring_capacity: out of range");
  expectError("[events]\nsink = 3\n", ":2: events.sink: expected a string");
  expectError("[events]\nsink = \"x\"\nsinc = \"y\"\n", ":3: events.sinc: unknown key");
  expectError("events = 3\n", "events: expected a table");
}

TEST(ConfigFile, OverloadLimitsAndRateLimits) {
  Config defaults;
  EXPECT_EQ(defaults.limits.maxConnections, 10000u);
  EXPECT_EQ(defaults.limits.maxConnectionsPerIp, 1024u);
  EXPECT_EQ(defaults.limits.maxPasswordChecks, 4u);
  EXPECT_EQ(defaults.rateLimits.login.burst, 10u);
  EXPECT_EQ(defaults.rateLimits.login.perMinute, 10u);
  EXPECT_EQ(defaults.rateLimits.token.perMinute, 0u) << "the token endpoint is not limited by default";
  std::string path = writeTemp(
      "[limits]\nmax_connections = 500\nmax_connections_per_ip = 0\nmax_password_checks = 4\n"
      "[rate_limits]\nlogin_burst = 5\nlogin_per_minute = 30\ntoken_per_minute = 600\nmax_keys = 1000\n");
  auto c = loadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->limits.maxConnections, 500u);
  EXPECT_EQ(c->limits.maxConnectionsPerIp, 0u);
  EXPECT_EQ(c->limits.maxPasswordChecks, 4u);
  EXPECT_EQ(c->rateLimits.login.burst, 5u);
  EXPECT_EQ(c->rateLimits.login.perMinute, 30u);
  EXPECT_EQ(c->rateLimits.token.perMinute, 600u);
  EXPECT_EQ(c->rateLimits.token.burst, 600u) << "no burst given: a minute's worth";
  EXPECT_EQ(c->rateLimits.maxKeys, 1000u);
  unlink(path.c_str());
  expectError("[limits]\nmax_password_checks = 0\n", "limits.max_password_checks: out of range");
  expectError("[limits]\nmax_connections = -1\n", "limits.max_connections: out of range");
  expectError("[rate_limits]\ntoken_per_minute = 60001\n", "rate_limits.token_per_minute: out of range");
  expectError("[rate_limits]\nlogin_burst = 0\n", "rate_limits.login_burst: out of range");
  expectError("[rate_limits]\ntoken_rate = 1\n", ":2: rate_limits.token_rate: unknown key");
}

TEST(ConfigFile, PolicyAndProxySections) {
  std::string path = writeTemp(
      "[policy]\nsession_transfer_max_lifetime_s = 3600\nsession_transfer_idle_timeout_s = 600\n"
      "deny_country_change = true\ndeny_asns = [64496, 4200000000]\n"
      "[proxy]\ntrusted = [\"10.0.0.0/8\", \"::1\", \"127.0.0.2/32\"]\n");
  auto c = loadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->policy.sessionTransferMaxLifetimeS, 3600);
  EXPECT_EQ(c->policy.sessionTransferIdleTimeoutS, 600);
  EXPECT_TRUE(c->policy.denyCountryChange);
  EXPECT_EQ(c->policy.denyAsns, (std::vector<uint32_t>{64496, 4200000000u}));
  EXPECT_EQ(c->proxy.trusted, (std::vector<std::string>{"10.0.0.0/8", "::1", "127.0.0.2/32"}));
  unlink(path.c_str());
  expectError("[policy]\ndeny_asns = [0]\n", ":2: policy.deny_asns: out of range");
  expectError("[policy]\ndeny_asns = \"64496\"\n", "policy.deny_asns: expected an array of ASNs");
  expectError("[policy]\nsession_transfer_max_lifetime_s = -1\n", "out of range");
  expectError("[policy]\nmax_lifetime = 1\n", "policy.max_lifetime: unknown key");
  expectError("[proxy]\ntrusted = [\"10.0.0.0/33\"]\n", "proxy.trusted: '10.0.0.0/33' is not an IP address or CIDR");
  expectError("[proxy]\ntrusted = [\"proxy.example\"]\n", "is not an IP address or CIDR");
}

TEST(CommandLine, FlagsOverrideTheFile) {
  std::string path = writeTemp("[server]\nlisten = [\"127.0.0.1:1\"]\nthreads = 2\n");
  std::string cfg = "--config", listen = "--listen", l1 = "127.0.0.1:0", l2 = "[::1]:0", th = "--threads", four = "4";
  char* argv[] = {const_cast<char*>("handoffd"), cfg.data(), path.data(), listen.data(), l1.data(),
                  listen.data(), l2.data(), th.data(), four.data()};
  auto cl = parseCommandLine(9, argv);
  ASSERT_TRUE(cl.ok()) << cl.error().message();
  EXPECT_EQ(cl->config.listen, (std::vector<std::string>{"127.0.0.1:0", "[::1]:0"}));
  EXPECT_EQ(cl->config.threads, 4u);
  unlink(path.c_str());
}

TEST(ConfigFile, ProxyProtocolListeners) {
  std::string both = writeTemp("[server]\nlisten = [\"127.0.0.1:1\"]\nlisten_proxy = [\"127.0.0.1:2\", \"[::1]:3\"]\n");
  auto c = loadConfigFile(both);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->listen, (std::vector<std::string>{"127.0.0.1:1"}));
  EXPECT_EQ(c->listenProxy, (std::vector<std::string>{"127.0.0.1:2", "[::1]:3"}));
  unlink(both.c_str());
  // Naming only PROXY protocol listeners drops the default plain one: no port bypasses the proxy.
  std::string only = writeTemp("[server]\nlisten_proxy = [\"127.0.0.1:2\"]\n");
  c = loadConfigFile(only);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->listen.empty());
  unlink(only.c_str());
  EXPECT_TRUE(Config{}.listenProxy.empty());
  expectError("[server]\nlisten_proxy = \"127.0.0.1:2\"\n", "server.listen_proxy: expected an array of strings");
  expectError("[server]\nlisten_proxy = [2]\n", "server.listen_proxy: expected an array of strings");
  expectError("[server]\nlisten = []\nlisten_proxy = []\n", "server.listen: at least one address is required");
}

TEST(CommandLine, ListenProxyIsRepeatableAndNeedsTrustedProxies) {
  std::string trusted = writeTemp("[server]\nlisten = [\"127.0.0.1:1\"]\n[proxy]\ntrusted = [\"10.0.0.0/8\"]\n");
  std::string cfg = "--config", lp = "--listen-proxy", a1 = "127.0.0.1:0", a2 = "[::1]:0";
  char* argv[] = {const_cast<char*>("handoffd"), cfg.data(), trusted.data(), lp.data(), a1.data(), lp.data(), a2.data()};
  auto cl = parseCommandLine(7, argv);
  ASSERT_TRUE(cl.ok()) << cl.error().message();
  EXPECT_EQ(cl->config.listen, (std::vector<std::string>{"127.0.0.1:1"}));
  EXPECT_EQ(cl->config.listenProxy, (std::vector<std::string>{"127.0.0.1:0", "[::1]:0"}));
  unlink(trusted.c_str());
  // Without a trusted proxy every connection would be refused: a configuration error.
  char* demo[] = {const_cast<char*>("handoffd"), lp.data(), a1.data()};
  auto refused = parseCommandLine(3, demo);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("proxy.trusted"), std::string::npos) << refused.error().message();
  char* missing[] = {const_cast<char*>("handoffd"), lp.data()};
  EXPECT_FALSE(parseCommandLine(2, missing).ok());
}

TEST(ConfigFile, TlsSectionAndListeners) {
  std::string path = writeTemp(
      "[server]\nlisten_tls = [\"127.0.0.1:8443\"]\n"
      "[tls]\ncert = \"/etc/h/chain.pem\"\nkey = \"/etc/h/key.pem\"\nticket_rotation_s = 600\n"
      "[[tls.certificates]]\ncert = \"/etc/h/login.pem\"\nkey = \"/etc/h/login.key\"\nnames = [\"login.example.com\"]\n"
      "[[tls.certificates]]\ncert = \"/etc/h/other.pem\"\nkey = \"/etc/h/other.key\"\n");
  auto c = loadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->listenTls, std::vector<std::string>{"127.0.0.1:8443"});
  EXPECT_TRUE(c->listen.empty());  // no default plain listener beside a TLS one
  EXPECT_EQ(c->tls.cert, "/etc/h/chain.pem");
  EXPECT_EQ(c->tls.key, "/etc/h/key.pem");
  EXPECT_EQ(c->tls.ticketRotationS, 600u);
  ASSERT_EQ(c->tls.certificates.size(), 2u);
  EXPECT_EQ(c->tls.certificates[0].names, std::vector<std::string>{"login.example.com"});
  EXPECT_EQ(c->tls.certificates[1].key, "/etc/h/other.key");
  EXPECT_TRUE(c->tls.certificates[1].names.empty());
  unlink(path.c_str());
  EXPECT_EQ(Config{}.tls.ticketRotationS, 3600u);
  expectError("[server]\nlisten_tls = [\"127.0.0.1:1\"]\n[tls]\ncertificate = \"x\"\n", "tls.certificate: unknown key");
  expectError("[server]\nlisten_tls = [\"127.0.0.1:1\"]\n[tls]\nticket_rotation_s = 0\n", "tls.ticket_rotation_s: out of range");
  expectError("[server]\nlisten_tls = [\"127.0.0.1:1\"]\n[[tls.certificates]]\ncert = \"x\"\n",
              "tls.certificates[0]: cert and key are required");
}

TEST(CommandLine, ListenTlsNeedsACertificateAndReplacesTheDefaultListener) {
  std::string lt = "--listen-tls", addr = "127.0.0.1:0", tc = "--tls-cert", cert = "c.pem", tk = "--tls-key",
              key = "k.pem", listen = "--listen", plain = "127.0.0.1:1";
  char* tlsOnly[] = {const_cast<char*>("handoffd"), lt.data(), addr.data(), tc.data(), cert.data(), tk.data(), key.data()};
  auto cl = parseCommandLine(7, tlsOnly);
  ASSERT_TRUE(cl.ok()) << cl.error().message();
  EXPECT_EQ(cl->config.listenTls, std::vector<std::string>{"127.0.0.1:0"});
  EXPECT_TRUE(cl->config.listen.empty());  // not the demo's 127.0.0.1:8080 as well
  EXPECT_EQ(cl->config.tls.cert, "c.pem");
  EXPECT_EQ(cl->config.tls.key, "k.pem");
  char* both[] = {const_cast<char*>("handoffd"), lt.data(), addr.data(), tc.data(), cert.data(), tk.data(), key.data(),
                  listen.data(), plain.data()};
  cl = parseCommandLine(9, both);
  ASSERT_TRUE(cl.ok()) << cl.error().message();
  EXPECT_EQ(cl->config.listen, std::vector<std::string>{"127.0.0.1:1"});
  // A file's plain listener stays beside a TLS listener given by flag.
  std::string path = writeTemp("[server]\nlisten = [\"127.0.0.1:2\"]\n");
  std::string cfg = "--config";
  char* file[] = {const_cast<char*>("handoffd"), cfg.data(), path.data(), lt.data(), addr.data(), tc.data(),
                  cert.data(), tk.data(), key.data()};
  cl = parseCommandLine(9, file);
  ASSERT_TRUE(cl.ok()) << cl.error().message();
  EXPECT_EQ(cl->config.listen, std::vector<std::string>{"127.0.0.1:2"});
  unlink(path.c_str());
  char* noKey[] = {const_cast<char*>("handoffd"), lt.data(), addr.data(), tc.data(), cert.data()};
  auto refused = parseCommandLine(5, noKey);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("tls.cert and tls.key (--tls-cert, --tls-key)"), std::string::npos)
      << refused.error().message();
}

TEST(CommandLine, StoreOnRedisCluster) {
  std::string store = "--store", url = "redis-cluster://127.0.0.1:7001,127.0.0.1:7002";
  char* argv[] = {const_cast<char*>("handoffd"), store.data(), url.data()};
  auto cl = parseCommandLine(3, argv);
  ASSERT_TRUE(cl.ok()) << cl.error().message();
  EXPECT_EQ(cl->config.store.redisCluster, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  for (std::string bad : {"redis://127.0.0.1:7001", "redis-cluster://", "redis-cluster://127.0.0.1",
                          "redis-cluster://127.0.0.1:70x1", "redis-cluster://127.0.0.1:7001,"}) {
    char* a[] = {const_cast<char*>("handoffd"), store.data(), bad.data()};
    EXPECT_FALSE(parseCommandLine(3, a).ok()) << bad;
  }
  std::string path = writeTemp("[store]\nredis_cluster = [\"127.0.0.1:7001\"]\nredis_deadline_ms = 250\n");
  auto file = loadConfigFile(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->store.redisCluster, (std::vector<std::string>{"127.0.0.1:7001"}));
  EXPECT_EQ(file->store.redisDeadlineMs, 250u);
  unlink(path.c_str());
}

TEST(CommandLine, NoConfigMeansTheDemoTenant) {
  char* argv[] = {const_cast<char*>("handoffd")};
  auto cl = parseCommandLine(1, argv);
  ASSERT_TRUE(cl.ok());
  EXPECT_TRUE(cl->config.demo);
}

TEST(CommandLine, BadValuesAreRefused) {
  std::string th = "--threads", zero = "0", lvl = "--log-level", loud = "loud", unknown = "--frobnicate";
  char* a1[] = {const_cast<char*>("handoffd"), th.data(), zero.data()};
  EXPECT_FALSE(parseCommandLine(3, a1).ok());
  char* a2[] = {const_cast<char*>("handoffd"), lvl.data(), loud.data()};
  EXPECT_FALSE(parseCommandLine(3, a2).ok());
  char* a3[] = {const_cast<char*>("handoffd"), unknown.data()};
  EXPECT_FALSE(parseCommandLine(2, a3).ok());
  char* a4[] = {const_cast<char*>("handoffd"), th.data()};
  EXPECT_FALSE(parseCommandLine(2, a4).ok());
}

}  // namespace
}  // namespace handoff::config
