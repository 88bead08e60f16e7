// The GeoIP database loader and validator (geo/geo_db.h) over untrusted files: the input is
// written to a scratch file and opened as an ASN and as a country database. A database that
// passes validation then serves lookups, which must stay inside it (ASan) and return an
// organization only with an ASN.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "fuzz_file.h"
#include "handoff/geo/geo_db.h"
#include "handoff/net/cidr.h"

namespace {

using namespace handoff;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "mmdb_fuzz: invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ScratchFile file(".mmdb");
  static const std::optional<net::IpBytes> kProbes[] = {
      net::IpBytes::parse("127.0.0.1"), net::IpBytes::parse("::1"),       net::IpBytes::parse("192.0.2.55"),
      net::IpBytes::parse("2001:db8::7"), net::IpBytes::parse("8.8.8.8"), net::IpBytes::parse("255.255.255.255"),
      net::IpBytes::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")};
  const std::string& path = file.write(data, size);
  for (geo::Kind kind : {geo::Kind::kAsn, geo::Kind::kCountry}) {
    auto db = geo::Database::open(path, kind);
    if (!db.ok()) continue;
    if (db.value()->bytes() != size) violated("the snapshot's size differs from the file's");
    for (const auto& ip : kProbes) {
      if (kind == geo::Kind::kAsn) {
        geo::AsnAnswer a = db.value()->asn(*ip);
        if (a.asn == 0 && !a.organization.empty()) violated("an organization without an ASN");
        volatile size_t sum = 0;
        for (char c : a.organization) sum = sum + static_cast<unsigned char>(c);
      } else {
        std::string_view cc = db.value()->country(*ip);
        volatile size_t sum = 0;
        for (char c : cc) sum = sum + static_cast<unsigned char>(c);
      }
    }
  }
  return 0;
}
