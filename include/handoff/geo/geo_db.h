// GeoIP lookups (issue 5): IP → {ASN, organization} from a GeoLite2-ASN-format database and
// IP → country from a GeoLite2-Country/City-format one, through libmaxminddb (geo_db.cc is its
// only includer, DESIGN.md §2).
//
// A Database is an immutable snapshot: the file is copied into a sealed anonymous memory file
// (memfd) before libmaxminddb maps it, so rewriting, truncating or deleting the original while
// it serves can never fault the process. Snapshots are shared (shared_ptr) by every shard and
// live until their last reader drops them. Lookups are thread-safe and allocation-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "handoff/core/result.h"
#include "handoff/net/cidr.h"

namespace handoff::geo {

enum class Kind : uint8_t { kAsn, kCountry };

struct AsnAnswer {
  uint32_t asn = 0;               // 0: not found
  std::string_view organization;  // points into the snapshot: valid while it is held
};

class Database {
 public:
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Copies `path`, opens the copy and validates it: a database of `kind` (metadata
  // database_type), binary format 2, and probe lookups that decode. `minEpoch`: refuse a
  // build_epoch older than this (a reload must not go back in time). Errors say why.
  static core::Result<std::shared_ptr<const Database>> open(const std::string& path, Kind kind, uint64_t minEpoch = 0);

  // The organization costs a second field lookup (~100 ns): asked for only when wanted.
  AsnAnswer asn(const net::IpBytes& ip, bool withOrganization = true) const;
  // ISO 3166-1 alpha-2 code ("FR"), or "" when unknown.
  std::string_view country(const net::IpBytes& ip) const;

  Kind kind() const { return kind_; }
  const std::string& type() const { return type_; }  // metadata database_type
  uint64_t buildEpoch() const { return buildEpoch_; }
  size_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  Database() = default;
  struct Handle;
  std::unique_ptr<Handle> h_;
  Kind kind_ = Kind::kAsn;
  std::string type_;
  std::string path_;
  uint64_t buildEpoch_ = 0;
  size_t bytes_ = 0;
};

}  // namespace handoff::geo
