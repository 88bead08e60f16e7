// TLS listeners against a real handoffd: curl and openssl s_client (OpenSSL 3) and a BoringSSL
// client of our own (tls_helpers.h) over 127.0.0.1 — TLS 1.2 and 1.3, ALPN, the chain, SNI,
// resumption from tickets on any shard, keep-alive and pipelining, plain and TLS side by side,
// garbage, stalled handshakes and renegotiation, certificate reload on SIGHUP (good and bad),
// start-up refusals, and a full OAuth flow over TLS with Secure cookies. Certificates come from
// tools/gen-test-certs.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <thread>

#include "browser_client.h"
#include "server_fixture.h"
#include "tls_helpers.h"

namespace handoff::it {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kGetHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
constexpr std::string_view kHealthzBody = R"({"status":"ok"})";
// The demo tenant's first start generates its signing key: slow on a busy machine.
constexpr Millis kStart(20000);

std::string tempDir(const std::string& stem) {
  std::string t = "/tmp/handoff-tls-" + stem + "-XXXXXX";
  if (::mkdtemp(t.data()) == nullptr) return "";
  return t;
}

// Removes a temporary directory when the test leaves, whichever way.
struct DirGuard {
  std::string path;
  ~DirGuard() {
    if (!path.empty()) fs::remove_all(path);
  }
};

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

// eventually() with room for a busy machine.
bool soon(const std::function<bool()>& pred) { return eventually(pred, Millis(10000)); }

// The suite's certificates: made once, shared by the tests that do not change them.
class TlsCerts : public ::testing::Environment {
 public:
  void SetUp() override {
    dir = tempDir("certs");
    std::string why;
    ok = !dir.empty() && genTestCerts(dir, false, &why);
    if (!ok) std::fprintf(stderr, "tls_test: cannot make certificates: %s\n", why.c_str());
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }
  static inline std::string dir;
  static inline bool ok = false;
};

const auto* const kCerts = ::testing::AddGlobalTestEnvironment(new TlsCerts);

std::string certs(const std::string& name) { return TlsCerts::dir + "/" + name; }

// The demo tenant with a TLS listener (first: it names the issuer) and a plain one, on two shards.
ServerOptions demoOverTls(const std::string& dir) {
  ServerOptions o;
  o.listeners = 2;
  o.extraArgs = {"--listen-tls", "127.0.0.1:0", "--tls-cert", dir + "/server.pem", "--tls-key", dir + "/server.key"};
  return o;
}

TlsOptions verified() {
  TlsOptions o;
  o.caFile = certs("ca.pem");
  return o;
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(TlsCerts::ok);
    server_ = std::make_unique<Server>(demoOverTls(TlsCerts::dir));
    ASSERT_TRUE(server_->start(kStart)) << server_->failure();
    ASSERT_EQ(server_->ports().size(), 2u);
  }
  uint16_t tlsPort() const { return server_->ports()[0]; }
  uint16_t plainPort() const { return server_->ports()[1]; }
  std::string base() const { return "https://127.0.0.1:" + std::to_string(tlsPort()); }
  std::string metrics() const { return fetchMetrics(plainPort()); }

  CommandResult curl(std::vector<std::string> args) {
    std::vector<std::string> argv{"curl", "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", certs("ca.pem")};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv);
  }
  CommandResult sClient(std::vector<std::string> args, const std::string& input = "", Millis hold = Millis(0)) {
    std::vector<std::string> argv{"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(tlsPort()),
                                  "-CAfile", certs("ca.pem")};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, input, Millis(10000), hold);
  }

  std::unique_ptr<Server> server_;
};

TEST_F(Tls, CurlGetsHealthzAndDiscoveryOverTls12And13WithAnHttpsIssuer) {
  for (auto [flags, version] : {std::pair<std::vector<std::string>, std::string>{{"--tlsv1.2", "--tls-max", "1.2"}, "TLSv1.2"},
                                {{"--tlsv1.3"}, "TLSv1.3"}}) {
    std::vector<std::string> args = flags;
    args.insert(args.end(), {"-v", base() + "/healthz"});
    CommandResult r = curl(args);
    ASSERT_EQ(r.exitCode, 0) << r.out;
    EXPECT_TRUE(contains(r.out, "SSL connection using " + version)) << r.out;
    EXPECT_TRUE(contains(r.out, "ALPN: server accepted http/1.1")) << r.out;
    EXPECT_TRUE(contains(r.out, kHealthzBody)) << r.out;

    args = flags;
    args.push_back(base() + "/.well-known/openid-configuration");
    r = curl(args);
    ASSERT_EQ(r.exitCode, 0) << r.out;
    EXPECT_TRUE(contains(r.out, "\"issuer\":\"" + base() + "/\"")) << r.out;
    EXPECT_TRUE(contains(r.out, "\"token_endpoint\":\"" + base() + "/oauth/token\"")) << r.out;
  }
  // The same document on the plain listener names the same (https) issuer.
  Client c(plainPort());
  auto d = c.roundTrip("GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(d) << c.error();
  EXPECT_TRUE(contains(d->body, "\"issuer\":\"" + base() + "/\"")) << d->body;
  std::string m = metrics();
  EXPECT_GE(metricValue(m, R"(handoff_tls_handshakes_total{version="TLSv1.2"})").value_or(0), 2u) << m;
  EXPECT_GE(metricValue(m, R"(handoff_tls_handshakes_total{version="TLSv1.3"})").value_or(0), 2u) << m;
}

TEST_F(Tls, AlpnPicksHttp11AndRefusesAClientWithoutIt) {
  TlsOptions o = verified();
  o.alpn = {"h2", "http/1.1"};
  TlsInfo info;
  auto c = tlsConnect(tlsPort(), o, &info);
  ASSERT_TRUE(c) << info.error;
  EXPECT_EQ(info.alpn, "http/1.1");
  auto r = c->roundTrip(kGetHealthz);
  ASSERT_TRUE(r) << c->error();
  EXPECT_EQ(r->body, kHealthzBody);

  o.alpn = {};  // no ALPN at all: fine, HTTP/1.1 it is
  ASSERT_TRUE(tlsConnect(tlsPort(), o, &info)) << info.error;
  EXPECT_EQ(info.alpn, "");

  o.alpn = {"h2"};  // nothing in common: no_application_protocol (RFC 7301)
  EXPECT_FALSE(tlsConnect(tlsPort(), o, &info));
  EXPECT_TRUE(contains(info.error, "NO_APPLICATION_PROTOCOL")) << info.error;
}

TEST_F(Tls, OpensslShowsTheWholeChain) {
  CommandResult r = sClient({"-showcerts", "-servername", "localhost"});
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_TRUE(contains(r.out, " 0 s:CN = localhost\n   i:CN = handoff test intermediate CA")) << r.out;
  EXPECT_TRUE(contains(r.out, " 1 s:CN = handoff test intermediate CA\n   i:CN = handoff test root CA")) << r.out;
  EXPECT_TRUE(contains(r.out, "Verify return code: 0 (ok)")) << r.out;
  TlsInfo info;
  ASSERT_TRUE(tlsConnect(tlsPort(), verified(), &info)) << info.error;
  EXPECT_EQ(info.chainSubjects, (std::vector<std::string>{"/CN=localhost", "/CN=handoff test intermediate CA"}));
  EXPECT_EQ(info.serial, readLine(certs("server.serial")));
}

TEST_F(Tls, OpensslResumesFromItsSessionTicket) {
  std::string dir = tempDir("sess");
  DirGuard guard{dir};
  for (std::string v : {"-tls1_2", "-tls1_3"}) {
    std::string sess = dir + "/sess" + v;
    // TLS 1.3 tickets follow the handshake: s_client must still be there to take them (stdin
    // held open), or it leaves with no session to write.
    CommandResult first = sClient({v, "-sess_out", sess}, "", Millis(1000));
    ASSERT_EQ(first.exitCode, 0) << first.out;
    EXPECT_TRUE(contains(first.out, "New, TLSv1.")) << first.out;
    // The hint is the time left: the rotation period (3600 s) less the session's age.
    std::smatch hint;
    ASSERT_TRUE(std::regex_search(first.out, hint, std::regex("TLS session ticket lifetime hint: ([0-9]+)"))) << first.out;
    EXPECT_LE(std::stoi(hint[1].str()), 3600);
    EXPECT_GT(std::stoi(hint[1].str()), 3500);
    CommandResult again = sClient({v, "-sess_in", sess});
    ASSERT_EQ(again.exitCode, 0) << again.out;
    EXPECT_TRUE(contains(again.out, "Reused, TLSv1.")) << v << "\n" << again.out;
  }
  EXPECT_GE(metricValue(metrics(), "handoff_tls_resumed_total").value_or(0), 2u);
}

TEST_F(Tls, TicketsFromOneShardResumeOnEvery) {
  auto first = tlsConnect(tlsPort(), verified());
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->roundTrip(kGetHealthz));  // TLS 1.3 tickets come after the handshake
  std::shared_ptr<TlsSession> session = tlsSessionOf(*first);
  ASSERT_TRUE(session);
  // Two shards behind one reuseport port: twelve connections land on both.
  for (int i = 0; i < 12; ++i) {
    TlsOptions o = verified();
    o.session = session;
    TlsInfo info;
    auto c = tlsConnect(tlsPort(), o, &info);
    ASSERT_TRUE(c) << info.error;
    EXPECT_TRUE(info.resumed) << "connection " << i;
    auto r = c->roundTrip(kGetHealthz);
    ASSERT_TRUE(r) << c->error();
  }
}

TEST_F(Tls, KeepAliveServesSeveralRequestsOnOneConnection) {
  TlsInfo info;
  auto c = tlsConnect(tlsPort(), verified(), &info);
  ASSERT_TRUE(c) << info.error;
  for (int i = 0; i < 5; ++i) {
    auto r = c->roundTrip(kGetHealthz);
    ASSERT_TRUE(r) << "request " << i << ": " << c->error();
    EXPECT_EQ(r->body, kHealthzBody);
    EXPECT_FALSE(r->closes());
  }
  // Pipelined: 30 requests in one TLS write, 30 answers in order.
  std::string batch;
  for (int i = 0; i < 30; ++i) batch += kGetHealthz;
  ASSERT_TRUE(c->send(batch));
  for (int i = 0; i < 30; ++i) {
    auto r = c->readResponse();
    ASSERT_TRUE(r) << "pipelined " << i << ": " << c->error();
    EXPECT_EQ(r->status, 200);
  }
  // A 48 KiB body (within the default body limit): three full records, split across many
  // socket reads, read whole before the answer.
  std::string body(48 * 1024, 'a');
  auto big = c->roundTrip("POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body);
  ASSERT_TRUE(big) << c->error();
  EXPECT_EQ(big->status, 405) << big->body;  // GET only: the framing held, the connection too
  EXPECT_FALSE(big->closes());
  // One byte per TLS record: the records are put back together.
  ASSERT_TRUE(c->sendBytewise(kGetHealthz, Millis(0)));
  auto r = c->readResponse();
  ASSERT_TRUE(r) << c->error();
  EXPECT_EQ(r->body, kHealthzBody);
}

TEST_F(Tls, PlainAndTlsListenersServeSideBySide) {
  auto t = tlsConnect(tlsPort(), verified());
  ASSERT_TRUE(t);
  Client p(plainPort());
  for (int i = 0; i < 3; ++i) {
    auto a = t->roundTrip(kGetHealthz);
    auto b = p.roundTrip(kGetHealthz);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->body, kHealthzBody);
    EXPECT_EQ(b->body, kHealthzBody);
  }
  // TLS on the plain listener is a malformed request there.
  TlsInfo info;
  EXPECT_FALSE(tlsConnect(plainPort(), verified(), &info));
}

TEST_F(Tls, GarbageAndPlainHttpOnTheTlsPortAreClosed) {
  std::mt19937 rng(7);
  std::string garbage(3000, '\0');
  for (char& ch : garbage) ch = static_cast<char>(rng());
  garbage[0] = 'Z';  // not a handshake record type
  for (const std::string& bytes : {garbage, std::string(kGetHealthz)}) {
    Client c(tlsPort());
    ASSERT_TRUE(c.send(bytes));
    auto rest = c.readUntilEof(Millis(3000));
    ASSERT_TRUE(rest) << "still open after " << escapeBytes(bytes.substr(0, 16));
    EXPECT_FALSE(contains(*rest, "HTTP/1.1")) << escapeBytes(*rest);
  }
  std::string m = metrics();
  EXPECT_GE(metricValue(m, R"(handoff_tls_handshake_failures_total{reason="protocol"})").value_or(0), 2u) << m;
  // The server is none the worse.
  auto c = tlsConnect(tlsPort(), verified());
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->roundTrip(kGetHealthz));
}

TEST_F(Tls, RenegotiationIsRefused) {
  // s_client renegotiates on an "R" line (TLS 1.2; 1.3 has no renegotiation).
  CommandResult r = sClient({"-tls1_2"}, "R\n", Millis(1500));
  EXPECT_TRUE(contains(r.out, "RENEGOTIATING")) << r.out;
  EXPECT_TRUE(contains(r.out, "no renegotiation")) << r.out;
  EXPECT_TRUE(soon([&] { return metricValue(metrics(), "handoff_tls_errors_total").value_or(0) >= 1; }));
  auto c = tlsConnect(tlsPort(), verified());
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->roundTrip(kGetHealthz));
}

// The code flow (hosted login page) and the password grant, all over TLS.
TEST_F(Tls, OAuthFlowsOverTlsSetSecureCookies) {
  const std::string callback = "http://127.0.0.1:3000/callback";
  const std::string verifier = "handoff-test-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
  const std::string challenge = "77MeBUbqmXae-xc93csXpQDkCd7xqNT217KaYKLFEL0";
  uint16_t port = tlsPort();
  Browser b([port] {
    auto c = tlsConnect(port, verified());
    EXPECT_TRUE(c);
    return c ? std::move(*c) : Client(port);
  });
  std::string query = form({{"client_id", "demo-web"}, {"redirect_uri", callback}, {"response_type", "code"},
                            {"scope", "openid profile offline_access"}, {"state", "st"}, {"nonce", "n"},
                            {"code_challenge", challenge}, {"code_challenge_method", "S256"}});
  HttpResponse first = b.get("/authorize?" + query);
  ASSERT_EQ(first.status, 302) << first.raw;
  HttpResponse page = b.get(first.header("location"));
  ASSERT_EQ(page.status, 200) << page.raw;
  std::string csrfCookie = setCookie(page, "handoff_csrf");
  EXPECT_TRUE(contains(csrfCookie, "; Secure")) << csrfCookie;
  HttpResponse login = b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", hidden(page.body, "q")},
                                                {"email", "demo@example.com"}, {"password", "demo-password"}}));
  ASSERT_EQ(login.status, 302) << login.raw;
  std::string session = setCookie(login, "handoff_session");
  EXPECT_TRUE(contains(session, "; HttpOnly; SameSite=None; Secure")) << session;
  HttpResponse done = b.get(login.header("location"));
  ASSERT_EQ(done.status, 302) << done.raw;
  std::string location = done.header("location");
  EXPECT_EQ(param(location, "iss"), base() + "/") << location;
  std::string code = param(location, "code");
  ASSERT_FALSE(code.empty()) << location;
  HttpResponse tokens = b.post("/oauth/token", form({{"grant_type", "authorization_code"}, {"client_id", "demo-web"},
                                                     {"client_secret", "demo-web-secret"}, {"code", code},
                                                     {"redirect_uri", callback}, {"code_verifier", verifier}}));
  ASSERT_EQ(tokens.status, 200) << tokens.raw;
  EXPECT_TRUE(contains(jwtClaims(jsonField(tokens.body, "id_token")), "\"iss\":\"" + base() + "/\"")) << tokens.body;

  // Logout clears the cookie with the same Secure attributes.
  HttpResponse out = b.get("/v2/logout?client_id=demo-web");
  EXPECT_TRUE(contains(setCookie(out, "handoff_session"), "Max-Age=0; Path=/; HttpOnly; SameSite=None; Secure"))
      << out.raw;

  // The password grant (demo-native opts in), then /userinfo with its access token, over TLS.
  HttpResponse pw = b.post("/oauth/token", form({{"grant_type", "password"}, {"client_id", "demo-native"},
                                                 {"username", "demo@example.com"}, {"password", "demo-password"},
                                                 {"scope", "openid profile"}}));
  ASSERT_EQ(pw.status, 200) << pw.raw;
  std::string at = jsonField(pw.body, "access_token");
  HttpResponse me = b.get("/userinfo", "Authorization: Bearer " + at + "\r\n");
  ASSERT_EQ(me.status, 200) << me.raw;
  EXPECT_TRUE(contains(me.body, "\"sub\":\"auth0|demo\"")) << me.body;
}

// A config file: SNI certificates and short limits, TLS listener only.
std::string sniConfig(const std::string& dir, const std::string& limits = "") {
  return "[server]\nlisten_tls = [\"127.0.0.1:0\"]\n\n[limits]\n" + limits + "\n[tls]\ncert = \"" + dir +
         "/server.pem\"\nkey = \"" + dir + "/server.key\"\n\n[[tls.certificates]]\ncert = \"" + dir +
         "/custom.pem\"\nkey = \"" + dir + "/custom.key\"\n";
}

TEST(TlsSni, TheCustomDomainGetsItsOwnCertificate) {
  ASSERT_TRUE(TlsCerts::ok);
  Server s(ServerOptions{.config = sniConfig(TlsCerts::dir), .listen = ""});
  ASSERT_TRUE(s.start(kStart)) << s.failure();
  std::string custom = readLine(certs("custom.serial")), main = readLine(certs("server.serial"));
  struct Case {
    std::string sni, serial;
  };
  for (const Case& k : {Case{"custom.example.test", custom}, Case{"CUSTOM.Example.Test", custom},
                        Case{"localhost", main}, Case{"", main}, Case{"unknown.example.test", main}}) {
    TlsOptions o;
    o.serverName = k.sni;
    TlsInfo info;
    auto c = tlsConnect(s.port(), o, &info);
    ASSERT_TRUE(c) << k.sni << ": " << info.error;
    EXPECT_EQ(info.serial, k.serial) << "SNI '" << k.sni << "'";
    EXPECT_TRUE(c->roundTrip(kGetHealthz));
  }
  // A verifying client that asks for the custom domain by name (curl --resolve).
  std::string port = std::to_string(s.port());
  CommandResult r = runCommand({"curl", "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", certs("ca.pem"),
                                "--resolve", "custom.example.test:" + port + ":127.0.0.1",
                                "https://custom.example.test:" + port + "/healthz"});
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_EQ(r.out, kHealthzBody);
}

TEST(TlsLimits, AStalledHandshakeIsClosedAfterTheHeaderTimeout) {
  ASSERT_TRUE(TlsCerts::ok);
  Server s(ServerOptions{.config = sniConfig(TlsCerts::dir, "header_timeout_ms = 300\n"), .listen = ""});
  ASSERT_TRUE(s.start(kStart)) << s.failure();
  // Nothing at all, then half a ClientHello (a record header announcing 512 bytes, and 3 of them).
  for (std::string bytes : {std::string(), std::string("\x16\x03\x01\x02\x00\x01\x00\x01", 8)}) {
    Client c(s.port());
    if (!bytes.empty()) {
      ASSERT_TRUE(c.send(bytes));
    }
    auto t0 = std::chrono::steady_clock::now();
    auto rest = c.readUntilEof(Millis(3000));
    auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(rest) << "still open";
    EXPECT_GE(waited, 200ms);
  }
  std::string m = fetchMetricsOverTls(s.port());
  EXPECT_GE(metricValue(m, R"(handoff_tls_handshake_failures_total{reason="timeout"})").value_or(0), 2u) << m;
}

TEST(TlsLimits, PipelinedRequestsBeyondTheLimitAreAllAnswered) {
  // max_pipelined = 2: the session pauses reading after two unwritten answers while the rest of
  // the batch waits decrypted inside the TLS layer, and must be handed up when it resumes.
  ASSERT_TRUE(TlsCerts::ok);
  Server s(ServerOptions{.config = sniConfig(TlsCerts::dir, "max_pipelined = 2\n"), .listen = ""});
  ASSERT_TRUE(s.start(kStart)) << s.failure();
  // One TLS record per request (one SSL_write each): the records the session has no use for yet
  // stay in the SSL, and only a wake-up from the TLS layer can hand them up.
  for (bool halfClose : {false, true}) {
    auto c = tlsConnect(s.port(), verified());
    ASSERT_TRUE(c);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(c->send(kGetHealthz));
    // The client then stops sending: its end of stream must wait behind the requests before it.
    if (halfClose) c->shutdownWrite();
    for (int i = 0; i < 50; ++i) {
      auto r = c->readResponse();
      ASSERT_TRUE(r) << (halfClose ? "half-closed, " : "") << "answer " << i << ": " << c->error();
      EXPECT_EQ(r->status, 200);
    }
  }
}

// ── reload ──────────────────────────────────────────────────────────────────────────────────

class TlsReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tempDir("reload");
    std::string why;
    ASSERT_TRUE(genTestCerts(dir_, false, &why)) << why;
    server_ = std::make_unique<Server>(demoOverTls(dir_));
    ASSERT_TRUE(server_->start(kStart)) << server_->failure();
  }
  void TearDown() override { fs::remove_all(dir_); }

  uint16_t tlsPort() const { return server_->ports()[0]; }
  uint16_t plainPort() const { return server_->ports()[1]; }
  TlsOptions opts() const {
    TlsOptions o;
    o.caFile = dir_ + "/ca.pem";
    return o;
  }
  std::string servedSerial() {
    TlsInfo info;
    auto c = tlsConnect(tlsPort(), opts(), &info);
    return c ? info.serial : "(" + info.error + ")";
  }
  uint64_t metric(std::string_view name) { return metricValue(fetchMetrics(plainPort()), name).value_or(999); }

  std::string dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsReload, SighupServesTheNewCertificateWithoutDroppingConnections) {
  std::string before = readLine(dir_ + "/server.serial");
  TlsInfo info;
  auto kept = tlsConnect(tlsPort(), opts(), &info);
  ASSERT_TRUE(kept) << info.error;
  EXPECT_EQ(info.serial, before);
  ASSERT_TRUE(kept->roundTrip(kGetHealthz));
  std::shared_ptr<TlsSession> session = tlsSessionOf(*kept);
  ASSERT_TRUE(session);

  std::string why;
  ASSERT_TRUE(genTestCerts(dir_, /*renew=*/true, &why)) << why;
  std::string after = readLine(dir_ + "/server.serial");
  ASSERT_NE(after, before);
  ASSERT_TRUE(server_->signal(SIGHUP));
  std::string seen;
  EXPECT_TRUE(soon([&] { return (seen = servedSerial()) == after; })) << seen;
  EXPECT_EQ(metric("handoff_tls_reloads_total"), 1u);
  EXPECT_EQ(metric("handoff_tls_reloads_refused_total"), 0u);

  // The connection from before the reload goes on, on its old certificate.
  for (int i = 0; i < 3; ++i) {
    auto r = kept->roundTrip(kGetHealthz);
    ASSERT_TRUE(r) << kept->error();
    EXPECT_EQ(r->body, kHealthzBody);
  }
  // Tickets outlive a reload: the ticket keys are not the certificates'.
  TlsOptions o = opts();
  o.session = session;
  auto resumed = tlsConnect(tlsPort(), o, &info);
  ASSERT_TRUE(resumed) << info.error;
  EXPECT_TRUE(info.resumed);
  EXPECT_TRUE(contains(server_->stderrText(), "tls: certificate reloaded"));
}

TEST_F(TlsReload, ABadCertificateAtReloadKeepsTheOldOne) {
  std::string serving = readLine(dir_ + "/server.serial");
  auto kept = tlsConnect(tlsPort(), opts());
  ASSERT_TRUE(kept);
  // The custom domain's key in place of the server's: it does not match server.pem.
  fs::copy_file(dir_ + "/custom.key", dir_ + "/server.key", fs::copy_options::overwrite_existing);
  ASSERT_TRUE(server_->signal(SIGHUP));
  EXPECT_TRUE(soon([&] { return metric("handoff_tls_reloads_refused_total") == 1; }));
  EXPECT_EQ(servedSerial(), serving);
  EXPECT_TRUE(contains(server_->stderrText(), "this key does not belong to the certificate in " + dir_ + "/server.pem"))
      << server_->stderrText();
  // No certificate file at all.
  fs::remove(dir_ + "/server.pem");
  ASSERT_TRUE(server_->signal(SIGHUP));
  EXPECT_TRUE(soon([&] { return metric("handoff_tls_reloads_refused_total") == 2; }));
  EXPECT_EQ(servedSerial(), serving);
  EXPECT_TRUE(kept->roundTrip(kGetHealthz));
  EXPECT_EQ(metric("handoff_tls_reloads_total"), 0u);
  // A good pair again is taken.
  std::string why;
  ASSERT_TRUE(genTestCerts(dir_, /*renew=*/true, &why)) << why;
  ASSERT_TRUE(server_->signal(SIGHUP));
  std::string renewed = readLine(dir_ + "/server.serial");
  EXPECT_TRUE(soon([&] { return servedSerial() == renewed; }));
  EXPECT_EQ(metric("handoff_tls_reloads_total"), 1u);
}

// ── start-up ────────────────────────────────────────────────────────────────────────────────

TEST(TlsStart, RefusesBadFilesNamingThem) {
  ASSERT_TRUE(TlsCerts::ok);
  std::string dir = tempDir("start");
  DirGuard guard{dir};
  std::ofstream(dir + "/junk.pem") << "not a certificate\n";
  struct Case {
    std::string cert, key, expect;
  };
  for (const Case& k : {
           Case{dir + "/missing.pem", certs("server.key"), "cannot read " + dir + "/missing.pem: No such file"},
           Case{certs("server.pem"), dir + "/missing.key", "cannot read " + dir + "/missing.key"},
           Case{certs("server.pem"), certs("custom.key"),
                certs("custom.key") + ": this key does not belong to the certificate in " + certs("server.pem")},
           Case{dir + "/junk.pem", certs("server.key"), dir + "/junk.pem: no PEM certificate"},
           Case{certs("server.pem"), certs("server.pem"), certs("server.pem") + ": no unencrypted PEM private key"},
       }) {
    Server s(ServerOptions{.listen = "",
                           .extraArgs = {"--listen-tls", "127.0.0.1:0", "--tls-cert", k.cert, "--tls-key", k.key}});
    EXPECT_FALSE(s.start(kStart)) << k.expect;
    EXPECT_EQ(s.waitExit(Millis(5000)), 1) << k.expect;
    EXPECT_TRUE(contains(s.stderrText(), "tls: " + k.expect)) << s.stderrText();
    EXPECT_FALSE(contains(s.stdoutText(), "listening on")) << s.stdoutText();
  }
  // A TLS listener without a certificate is a usage error.
  Server s(ServerOptions{.listen = "", .extraArgs = {"--listen-tls", "127.0.0.1:0"}});
  EXPECT_FALSE(s.start(kStart));
  EXPECT_EQ(s.waitExit(Millis(5000)), 2);
  EXPECT_TRUE(contains(s.stderrText(), "listen_tls needs a certificate and its key")) << s.stderrText();
}

// ── ticket keys ─────────────────────────────────────────────────────────────────────────────

TEST(TlsTickets, ATicketSealedBeforeARotationStillResumesAfterIt) {
  ASSERT_TRUE(TlsCerts::ok);
  std::string cfg = sniConfig(TlsCerts::dir);
  cfg.insert(cfg.find("[[tls.certificates]]"), "ticket_rotation_s = 4\n\n");
  Server s(ServerOptions{.config = cfg, .listen = ""});
  ASSERT_TRUE(s.start(kStart)) << s.failure();
  auto rotations = [&] {
    return metricValue(fetchMetricsOverTls(s.port()), "handoff_tls_ticket_key_rotations_total").value_or(999);
  };
  // Seal a ticket late in a period (2.5 s after a rotation was seen) and offer it just after the
  // next rotation, about 1.5 s old and within its 4 s lifetime: the previous key opens it. A
  // busy machine may see a rotation late; such a round is not conclusive and is run again.
  for (int round = 0; round < 4; ++round) {
    uint64_t r0 = rotations();
    ASSERT_TRUE(eventually([&] { return rotations() > r0; }, Millis(6000)));
    uint64_t period = rotations();
    std::this_thread::sleep_for(2500ms);
    auto c = tlsConnect(s.port(), verified());
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->roundTrip(kGetHealthz));
    std::shared_ptr<TlsSession> session = tlsSessionOf(*c);
    ASSERT_TRUE(session);
    if (rotations() != period) continue;  // sealed after the next rotation already
    ASSERT_TRUE(eventually([&] { return rotations() > period; }, Millis(3000)));
    TlsOptions o = verified();
    o.session = session;
    TlsInfo info;
    ASSERT_TRUE(tlsConnect(s.port(), o, &info)) << info.error;
    EXPECT_TRUE(info.resumed);
    return;
  }
  FAIL() << "never sealed a ticket and saw the next rotation in time";
}

}  // namespace
}  // namespace handoff::it
