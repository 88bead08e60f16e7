// geo::Database against the test databases generated from geo-data/*.csv at build time, and
// against damaged copies of them. Paths come from the environment (set by meson).
#include "handoff/geo/geo_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace handoff::geo {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string asnPath() { return env("HANDOFF_TEST_ASN_MMDB"); }
std::string countryPath() { return env("HANDOFF_TEST_COUNTRY_MMDB"); }

net::IpBytes ip(const char* text) { return *net::IpBytes::parse(text); }

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/handoff-geo-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir_); }
  std::string file(const std::string& name, const std::string& bytes) const {
    std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

 private:
  std::string dir_;
};

TEST(GeoDb, AsnLookupsOverBothFamilies) {
  auto db = Database::open(asnPath(), Kind::kAsn);
  ASSERT_TRUE(db) << db.error().message();
  EXPECT_EQ((*db)->type(), "GeoLite2-ASN");
  EXPECT_EQ((*db)->buildEpoch(), 1704067200u);
  EXPECT_EQ((*db)->asn(ip("127.0.0.1")).asn, 64500u);
  EXPECT_EQ((*db)->asn(ip("127.0.0.1")).organization, "Handoff Test Network A");
  EXPECT_EQ((*db)->asn(ip("127.0.0.127")).asn, 64500u);
  EXPECT_EQ((*db)->asn(ip("127.0.0.128")).asn, 64501u);
  EXPECT_EQ((*db)->asn(ip("::ffff:127.0.0.200")).asn, 64501u) << "IPv4-mapped";
  EXPECT_EQ((*db)->asn(ip("::1")).asn, 64502u);
  EXPECT_EQ((*db)->asn(ip("192.0.2.77")).organization, "Documentation Net 1, Inc.");
  EXPECT_EQ((*db)->asn(ip("2001:db8:1::5")).asn, 64499u);
  EXPECT_EQ((*db)->asn(ip("10.0.0.1")).asn, 0u);
  EXPECT_EQ((*db)->asn(ip("10.0.0.1")).organization, "");
  EXPECT_EQ((*db)->asn(ip("2606:4700::1111")).asn, 0u);
}

TEST(GeoDb, CountryLookups) {
  auto db = Database::open(countryPath(), Kind::kCountry);
  ASSERT_TRUE(db) << db.error().message();
  EXPECT_EQ((*db)->country(ip("127.0.0.1")), "XA");
  EXPECT_EQ((*db)->country(ip("127.0.0.129")), "XB");
  EXPECT_EQ((*db)->country(ip("::1")), "XA");
  EXPECT_EQ((*db)->country(ip("10.1.1.1")), "");
}

TEST(GeoDb, RefusesTheWrongKindGarbageTruncationAndMissingFiles) {
  auto wrong = Database::open(countryPath(), Kind::kAsn);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("is not an ASN database"), std::string::npos) << wrong.error().message();
  EXPECT_FALSE(Database::open(asnPath(), Kind::kCountry));

  TempDir t;
  std::string good = readAll(asnPath());
  ASSERT_GT(good.size(), 200u);
  EXPECT_FALSE(Database::open(t.file("empty.mmdb", ""), Kind::kAsn));
  EXPECT_FALSE(Database::open(t.file("garbage.mmdb", std::string(4096, '\x5a')), Kind::kAsn));
  // Every truncation loses the metadata at the end or the tree it describes: refused, no crash.
  for (size_t keep : {size_t{16}, good.size() / 3, good.size() / 2, good.size() - 20, good.size() - 1}) {
    EXPECT_FALSE(Database::open(t.file("cut.mmdb", good.substr(0, keep)), Kind::kAsn)) << keep;
  }
  auto missing = Database::open("/nonexistent/handoff.mmdb", Kind::kAsn);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("cannot open"), std::string::npos);
}

TEST(GeoDb, RefusesAnOlderBuild) {
  auto older = Database::open(asnPath(), Kind::kAsn, 1704067201);
  ASSERT_FALSE(older);
  EXPECT_NE(older.error().message().find("older than the database in service"), std::string::npos);
  EXPECT_TRUE(Database::open(asnPath(), Kind::kAsn, 1704067200)) << "the same build is not older";
}

TEST(GeoDb, ASnapshotSurvivesItsFileBeingRewrittenTruncatedOrRemoved) {
  TempDir t;
  std::string good = readAll(asnPath());
  std::string path = t.file("asn.mmdb", good);
  auto db = Database::open(path, Kind::kAsn);
  ASSERT_TRUE(db);
  {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << std::string(good.size(), '\0');  // in place
  }
  EXPECT_EQ((*db)->asn(ip("127.0.0.1")).asn, 64500u);
  ASSERT_EQ(::truncate(path.c_str(), 10), 0);
  EXPECT_EQ((*db)->asn(ip("127.0.0.200")).asn, 64501u);
  fs::remove(path);
  EXPECT_EQ((*db)->asn(ip("::1")).asn, 64502u);
  EXPECT_EQ((*db)->bytes(), good.size());
}

}  // namespace
}  // namespace handoff::geo
