// Discovery and JWKS against a real handoffd: the issuer is this server, every advertised
// endpoint is served, and signing keys persist in the data directory and rotate on an
// algorithm change with the old key still published.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <regex>
#include <string>
#include <vector>

#include "server_fixture.h"

namespace handoff::it {
namespace {

std::string get(uint16_t port, const std::string& path, int* status = nullptr) {
  Client c(port);
  auto r = c.roundTrip("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(r) << c.error();
  if (!r) return {};
  if (status) *status = r->status;
  return r->body;
}

std::vector<std::string> all(const std::string& text, const std::string& pattern) {
  std::vector<std::string> out;
  std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

std::string tempDir() {
  char d[] = "/tmp/handoff-disc-XXXXXX";
  EXPECT_NE(mkdtemp(d), nullptr);
  return d;
}

TEST(Discovery, NamesThisServerAsIssuerAndServesEveryAdvertisedEndpoint) {
  Server s;
  ASSERT_TRUE(s.start()) << s.failure();
  int status = 0;
  std::string doc = get(s.port(), "/.well-known/openid-configuration", &status);
  ASSERT_EQ(status, 200) << doc;
  std::string base = "http://127.0.0.1:" + std::to_string(s.port());
  EXPECT_NE(doc.find("\"issuer\":\"" + base + "/\""), std::string::npos) << doc;
  EXPECT_NE(doc.find("\"jwks_uri\":\"" + base + "/.well-known/jwks.json\""), std::string::npos) << doc;
  EXPECT_NE(doc.find("\"code_challenge_methods_supported\":[\"S256\"]"), std::string::npos) << doc;
  EXPECT_NE(doc.find("\"id_token_signing_alg_values_supported\":[\"RS256\"]"), std::string::npos) << doc;
  auto urls = all(doc, "\"(?:[a-z_]+_endpoint|jwks_uri)\":\"([^\"]+)\"");
  ASSERT_FALSE(urls.empty());
  for (const std::string& url : urls) {
    ASSERT_EQ(url.rfind(base, 0), 0u) << url;
    int st = 0;
    get(s.port(), url.substr(base.size()), &st);
    EXPECT_NE(st, 404) << "advertised but not served: " << url;
  }
}

TEST(Discovery, JwksPublishesTheSigningKeyAndItSurvivesARestart) {
  std::string dir = tempDir();
  std::string kid;
  {
    ServerOptions o;
    o.dataDir = dir;
    Server s(o);
    ASSERT_TRUE(s.start()) << s.failure();
    std::string jwks = get(s.port(), "/.well-known/jwks.json");
    auto kids = all(jwks, "\"kid\":\"([^\"]+)\"");
    ASSERT_EQ(kids.size(), 1u) << jwks;
    EXPECT_NE(jwks.find("\"kty\":\"RSA\""), std::string::npos);
    EXPECT_EQ(jwks.find("\"d\":"), std::string::npos) << "private key material published";
    kid = kids[0];
    ASSERT_EQ(s.stop(), 0);
  }
  ServerOptions o;
  o.dataDir = dir;
  Server again(o);
  ASSERT_TRUE(again.start()) << again.failure();
  EXPECT_EQ(all(get(again.port(), "/.well-known/jwks.json"), "\"kid\":\"([^\"]+)\""), std::vector<std::string>{kid});
}

TEST(Discovery, ChangingTheAlgorithmRotatesAndKeepsTheOldKeyPublished) {
  std::string dir = tempDir();
  std::string rsaKid;
  {
    ServerOptions o;
    o.dataDir = dir;
    Server s(o);
    ASSERT_TRUE(s.start()) << s.failure();
    rsaKid = all(get(s.port(), "/.well-known/jwks.json"), "\"kid\":\"([^\"]+)\"").at(0);
    ASSERT_EQ(s.stop(), 0);
  }
  ServerOptions o;
  o.dataDir = dir;
  o.config = "[tenant]\nsigning_alg = \"ES256\"\n";
  Server s(o);
  ASSERT_TRUE(s.start()) << s.failure();
  std::string jwks = get(s.port(), "/.well-known/jwks.json");
  auto kids = all(jwks, "\"kid\":\"([^\"]+)\"");
  ASSERT_EQ(kids.size(), 2u) << jwks;
  EXPECT_EQ(kids[1], rsaKid) << "the old key must stay published for tokens it signed";
  EXPECT_NE(jwks.find("\"crv\":\"P-256\""), std::string::npos) << jwks;
  std::string doc = get(s.port(), "/.well-known/openid-configuration");
  EXPECT_NE(doc.find("\"id_token_signing_alg_values_supported\":[\"ES256\"]"), std::string::npos) << doc;
}

TEST(Discovery, ACorruptKeyFileStopsTheStartWithAClearMessage) {
  std::string dir = tempDir();
  {
    FILE* f = fopen((dir + "/keys.json").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs("[{\"kid\":\"x\",", f);
    fclose(f);
  }
  ServerOptions o;
  o.dataDir = dir;
  Server s(o);
  EXPECT_FALSE(s.start());
  auto code = s.waitExit(Millis(5000));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(s.stderrText().find("keys"), std::string::npos) << s.stderrText();
}

}  // namespace
}  // namespace handoff::it
