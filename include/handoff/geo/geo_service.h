// The GeoIP databases in service and their hot reload (issue 5).
//
// A Snapshot pairs the ASN and country databases in service with a generation number; it is
// immutable, and every shard holds its own shared_ptr to the current one (handed over by
// post(), so a lookup never takes a lock). Reloads run on one shard's loop: its directory
// watch (or SIGHUP, posted there) schedules a load on libuv's thread pool — copy, open,
// validate — and a database that passes is published to every shard; one that fails is
// refused, logged and counted, and the old one keeps serving. A missing file at start is not
// fatal: the server serves without it and picks it up when it appears.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "handoff/core/shard.h"
#include "handoff/geo/geo_db.h"

namespace handoff::geo {

struct Snapshot {
  std::shared_ptr<const Database> asn;      // null: no ASN database in service
  std::shared_ptr<const Database> country;  // null: no country database
  uint64_t generation = 0;                  // grows with every publication
};

// What a lookup found; asn 0 and an empty country when unknown.
struct Answer {
  uint32_t asn = 0;
  std::string country;
};

// Looks `ip` up in `snap` (either may be absent).
Answer lookup(const Snapshot* snap, const net::IpBytes& ip);

class GeoService {
 public:
  struct Stats {
    std::atomic<uint64_t> reloads{0};         // databases swapped in after start
    std::atomic<uint64_t> refused{0};         // candidates refused (bad, truncated, older, missing)
    std::atomic<uint64_t> lastLoadUs{0};      // copy + open + validate of the last good database
    std::atomic<uint64_t> asnEpoch{0};        // build_epoch of the ASN database in service
    std::atomic<uint64_t> countryEpoch{0};
  };

  GeoService(std::string asnPath, std::string countryPath);

  // Loads whatever is there now (before the shards start). Missing or bad files are logged and
  // left out. Returns the first snapshot.
  std::shared_ptr<const Snapshot> loadAtStart();

  // Starts watching both files' directories on `home` (call on that shard); `publish` hands a new
  // snapshot to every shard. On-shard only.
  void watch(core::Shard& home, std::function<void(std::shared_ptr<const Snapshot>)> publish);

  // Re-reads both files (SIGHUP). Thread-safe: runs on the home shard.
  void requestReload();

  const Stats& stats() const { return stats_; }
  bool configured() const { return !asnPath_.empty() || !countryPath_.empty(); }
  bool asnConfigured() const { return !asnPath_.empty(); }

 private:
  // On the home shard: loads `kind` off the loop and publishes it when it passes.
  void reload(Kind kind);

  std::string asnPath_, countryPath_;
  core::Shard* home_ = nullptr;
  std::function<void(std::shared_ptr<const Snapshot>)> publish_;
  std::shared_ptr<const Snapshot> current_;  // written before the shards start, then by the home shard only
  bool loading_[2] = {false, false};
  bool again_[2] = {false, false};
  Stats stats_;
};

}  // namespace handoff::geo
