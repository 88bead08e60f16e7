// tls::Context from files: what it accepts, what it refuses and how the refusal names the file;
// and the ticket key ring's rotation. Certificates are made in-process with BoringSSL.
#include "handoff/tls/context.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace handoff::tls {
namespace {

namespace fs = std::filesystem;

bssl::UniquePtr<EVP_PKEY> newKey() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  EC_KEY_generate_key(ec.get());
  bssl::UniquePtr<EVP_PKEY> k(EVP_PKEY_new());
  EVP_PKEY_assign_EC_KEY(k.get(), ec.release());
  return k;
}

// A self-signed certificate for `cn` with DNS `sans`, valid from now+fromS to now+toS.
bssl::UniquePtr<X509> newCert(EVP_PKEY* key, const std::string& cn, const std::vector<std::string>& sans,
                              int64_t fromS, int64_t toS, long serial = 4242) {
  bssl::UniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  time_t now = ::time(nullptr);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), now + fromS);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), now + toS);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key);
  if (!sans.empty()) {
    std::string list;
    for (const std::string& s : sans) list += (list.empty() ? "DNS:" : ",DNS:") + s;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, NID_subject_alt_name, list.c_str()));
    X509_add_ext(x.get(), ext.get(), -1);
  }
  X509_sign(x.get(), key, EVP_sha256());
  return x;
}

class ContextFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/handoff-tls-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void writeCert(const std::string& name, X509* c, X509* extra = nullptr) {
    bssl::UniquePtr<BIO> b(BIO_new_file(path(name).c_str(), "w"));
    PEM_write_bio_X509(b.get(), c);
    if (extra != nullptr) PEM_write_bio_X509(b.get(), extra);
  }
  void writeKey(const std::string& name, EVP_PKEY* k, bool encrypted = false) {
    bssl::UniquePtr<BIO> b(BIO_new_file(path(name).c_str(), "w"));
    static char pass[] = "secret";
    if (encrypted) {
      PEM_write_bio_PrivateKey(b.get(), k, EVP_aes_128_cbc(), reinterpret_cast<uint8_t*>(pass), 6, nullptr, nullptr);
    } else {
      PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
    }
  }
  void writeText(const std::string& name, const std::string& text) { std::ofstream(path(name)) << text; }

  // A good pair: a.pem (chain of two) / a.key for a.example.test.
  void goodPair(const std::string& stem, const std::vector<std::string>& sans, long serial = 4242) {
    auto k = newKey();
    auto c = newCert(k.get(), stem, sans, -60, 86400, serial);
    auto other = newKey();
    auto ca = newCert(other.get(), "some CA", {}, -60, 86400);
    writeCert(stem + ".pem", c.get(), ca.get());
    writeKey(stem + ".key", k.get());
  }

  std::string buildError(const ContextOptions& o) {
    auto r = Context::build(o);
    return r ? std::string("(built)") : r.error().message();
  }

  std::string dir_;
};

TEST_F(ContextFiles, BuildsFromAChainAndItsKey) {
  goodPair("a", {"a.example.test"}, 0x1234abcd);
  goodPair("b", {"b.example.test", "*.wild.example.test"});
  auto ctx = Context::build({.defaultCert = {path("a.pem"), path("a.key"), {}},
                             .bySni = {{path("b.pem"), path("b.key"), {}}}});
  ASSERT_TRUE(ctx.ok()) << ctx.error().message();
  const auto& certs = (*ctx)->certificates();
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(certs[0].serialHex, "1234abcd");
  EXPECT_EQ(certs[0].chainLength, 2u);
  EXPECT_TRUE(certs[0].names.empty());  // the default answers every other name
  EXPECT_EQ(certs[0].subject, "/CN=a");
  EXPECT_EQ(certs[1].names, (std::vector<std::string>{"b.example.test", "*.wild.example.test"}));
  EXPECT_GT((*ctx)->earliestNotAfter(), ::time(nullptr));
  EXPECT_NE((*ctx)->initial(), nullptr);
}

TEST_F(ContextFiles, ExplicitSniNamesReplaceTheCertificatesOwn) {
  goodPair("a", {"a.example.test"});
  goodPair("b", {"b.example.test"});
  auto ctx = Context::build({.defaultCert = {path("a.pem"), path("a.key"), {}},
                             .bySni = {{path("b.pem"), path("b.key"), {"Login.Example.TEST"}}}});
  ASSERT_TRUE(ctx.ok()) << ctx.error().message();
  EXPECT_EQ((*ctx)->certificates()[1].names, std::vector<std::string>{"login.example.test"});
}

TEST_F(ContextFiles, MissingOrUnreadableFilesAreNamed) {
  goodPair("a", {"a.example.test"});
  std::string e = buildError({.defaultCert = {path("nope.pem"), path("a.key"), {}}});
  EXPECT_NE(e.find("cannot read " + path("nope.pem")), std::string::npos) << e;
  EXPECT_NE(e.find("No such file"), std::string::npos) << e;
  e = buildError({.defaultCert = {path("a.pem"), path("nope.key"), {}}});
  EXPECT_NE(e.find(path("nope.key")), std::string::npos) << e;
  e = buildError({.defaultCert = {dir_, path("a.key"), {}}});
  EXPECT_NE(e.find(dir_ + ": not a regular file"), std::string::npos) << e;
}

TEST_F(ContextFiles, GarbageIsNotACertificateOrAKey) {
  goodPair("a", {"a.example.test"});
  writeText("junk", "hello, I am not PEM\n");
  std::string e = buildError({.defaultCert = {path("junk"), path("a.key"), {}}});
  EXPECT_NE(e.find(path("junk") + ": no PEM certificate"), std::string::npos) << e;
  e = buildError({.defaultCert = {path("a.pem"), path("junk"), {}}});
  EXPECT_NE(e.find(path("junk") + ": no unencrypted PEM private key"), std::string::npos) << e;
  // The certificate file given as the key.
  e = buildError({.defaultCert = {path("a.pem"), path("a.pem"), {}}});
  EXPECT_NE(e.find("no unencrypted PEM private key"), std::string::npos) << e;
}

TEST_F(ContextFiles, AnEncryptedKeyIsRefusedNotPromptedFor) {
  auto k = newKey();
  auto c = newCert(k.get(), "a", {"a.example.test"}, -60, 86400);
  writeCert("a.pem", c.get());
  writeKey("a.key", k.get(), /*encrypted=*/true);
  std::string e = buildError({.defaultCert = {path("a.pem"), path("a.key"), {}}});
  EXPECT_NE(e.find(path("a.key") + ": no unencrypted PEM private key"), std::string::npos) << e;
}

TEST_F(ContextFiles, AKeyOfAnotherCertificateIsRefused) {
  goodPair("a", {"a.example.test"});
  goodPair("b", {"b.example.test"});
  std::string e = buildError({.defaultCert = {path("a.pem"), path("b.key"), {}}});
  EXPECT_NE(e.find(path("b.key") + ": this key does not belong to the certificate in " + path("a.pem")), std::string::npos)
      << e;
}

TEST_F(ContextFiles, ExpiredAndNotYetValidCertificatesAreRefused) {
  auto k = newKey();
  writeKey("k.key", k.get());
  auto expired = newCert(k.get(), "old", {"old.example.test"}, -86400 * 10, -86400);
  writeCert("old.pem", expired.get());
  std::string e = buildError({.defaultCert = {path("old.pem"), path("k.key"), {}}});
  EXPECT_NE(e.find(path("old.pem") + ": the certificate expired on "), std::string::npos) << e;
  auto future = newCert(k.get(), "new", {"new.example.test"}, 86400, 86400 * 10);
  writeCert("new.pem", future.get());
  e = buildError({.defaultCert = {path("new.pem"), path("k.key"), {}}});
  EXPECT_NE(e.find(path("new.pem") + ": the certificate is not valid before "), std::string::npos) << e;
}

TEST_F(ContextFiles, AnSniCertificateMustNameItsNames) {
  goodPair("a", {"a.example.test"});
  goodPair("nodns", {});
  std::string e = buildError({.defaultCert = {path("a.pem"), path("a.key"), {}},
                              .bySni = {{path("nodns.pem"), path("nodns.key"), {}}}});
  EXPECT_NE(e.find(path("nodns.pem") + ": no DNS name"), std::string::npos) << e;
}

TEST_F(ContextFiles, ANameClaimedByTwoCertificatesIsRefused) {
  goodPair("a", {"a.example.test"});
  goodPair("b", {"same.example.test"});
  goodPair("c", {"same.example.test"});
  std::string e = buildError({.defaultCert = {path("a.pem"), path("a.key"), {}},
                              .bySni = {{path("b.pem"), path("b.key"), {}}, {path("c.pem"), path("c.key"), {}}}});
  EXPECT_NE(e.find("'same.example.test' is claimed by both " + path("b.pem") + " and " + path("c.pem")),
            std::string::npos)
      << e;
}

TEST(TicketKeys, RotationKeepsThePreviousKeyAndForgetsTheOneBefore) {
  auto first = TicketKeys::generate();
  bool previous = true;
  ASSERT_EQ(first->find(first->current().name, &previous), &first->current());
  EXPECT_FALSE(previous);

  auto second = first->rotated();
  EXPECT_NE(std::memcmp(second->current().name, first->current().name, 16), 0);
  const TicketKey* old = second->find(first->current().name, &previous);
  ASSERT_NE(old, nullptr);
  EXPECT_TRUE(previous);  // opens, and the ticket is renewed under the current key
  EXPECT_EQ(std::memcmp(old->aesKey, first->current().aesKey, 32), 0);

  auto third = second->rotated();
  EXPECT_EQ(third->find(first->current().name, &previous), nullptr);  // two rotations old: gone
  EXPECT_NE(third->find(second->current().name, &previous), nullptr);
  uint8_t unknown[16] = {};
  EXPECT_EQ(third->find(unknown, &previous), nullptr);
}

}  // namespace
}  // namespace handoff::tls
