// Hot reload of the GeoIP databases: watch, load off the loop, validate, publish.
#include "handoff/geo/geo_service.h"

#include <chrono>

#include "handoff/core/log.h"

namespace handoff::geo {
namespace {

constexpr uint64_t kDebounceMs = 150;  // a copy or a rename raises several events: wait for quiet

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string baseOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

const char* kindName(Kind k) { return k == Kind::kAsn ? "asn" : "country"; }

}  // namespace

Answer lookup(const Snapshot* snap, const net::IpBytes& ip) {
  Answer a;
  if (snap == nullptr) return a;
  if (snap->asn) {
    a.asn = snap->asn->asn(ip, /*withOrganization=*/false).asn;  // nothing on the request path reads it
  }
  if (snap->country) a.country = std::string(snap->country->country(ip));
  return a;
}

GeoService::GeoService(std::string asnPath, std::string countryPath)
    : asnPath_(std::move(asnPath)), countryPath_(std::move(countryPath)) {}

std::shared_ptr<const Snapshot> GeoService::loadAtStart() {
  auto snap = std::make_shared<Snapshot>();
  snap->generation = 1;
  for (Kind kind : {Kind::kAsn, Kind::kCountry}) {
    const std::string& path = kind == Kind::kAsn ? asnPath_ : countryPath_;
    if (path.empty()) continue;
    auto t0 = std::chrono::steady_clock::now();
    auto db = Database::open(path, kind);
    if (!db) {
      core::logWarn("geo: database not loaded; serving without it until a good one appears",
                    {{"kind", kindName(kind)}, {"error", db.error().message()}});
      continue;
    }
    uint64_t us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    stats_.lastLoadUs.store(us, std::memory_order_relaxed);
    (kind == Kind::kAsn ? stats_.asnEpoch : stats_.countryEpoch).store((*db)->buildEpoch(), std::memory_order_relaxed);
    core::logInfo("geo: database loaded", {{"kind", kindName(kind)}, {"type", (*db)->type()},
                                           {"build_epoch", static_cast<unsigned long long>((*db)->buildEpoch())},
                                           {"bytes", static_cast<unsigned long long>((*db)->bytes())},
                                           {"load_us", static_cast<unsigned long long>(us)}});
    (kind == Kind::kAsn ? snap->asn : snap->country) = std::move(db).value();
  }
  current_ = snap;
  return snap;
}

void GeoService::watch(core::Shard& home, std::function<void(std::shared_ptr<const Snapshot>)> publish) {
  home_ = &home;
  publish_ = std::move(publish);
  for (Kind kind : {Kind::kAsn, Kind::kCountry}) {
    const std::string& path = kind == Kind::kAsn ? asnPath_ : countryPath_;
    if (path.empty()) continue;
    std::string dir = dirOf(path), base = baseOf(path);
    bool ok = home.watchDirectory(dir, kDebounceMs, [this, kind, base](std::vector<std::string> names) {
      for (const std::string& n : names) {
        if (n.empty() || n == base) return reload(kind);
      }
    });
    if (!ok) core::logWarn("geo: cannot watch the database directory; SIGHUP still reloads", {{"dir", dir}});
  }
}

void GeoService::requestReload() {
  if (home_ == nullptr) return;
  home_->post([this] {
    reload(Kind::kAsn);
    reload(Kind::kCountry);
  });
}

void GeoService::reload(Kind kind) {
  const std::string& path = kind == Kind::kAsn ? asnPath_ : countryPath_;
  if (path.empty()) return;
  int k = kind == Kind::kAsn ? 0 : 1;
  if (loading_[k]) {  // one load at a time per kind; a change during it triggers one more
    again_[k] = true;
    return;
  }
  loading_[k] = true;
  std::shared_ptr<const Database> inService = kind == Kind::kAsn ? current_->asn : current_->country;
  uint64_t minEpoch = inService ? inService->buildEpoch() : 0;
  home_->offload(
      [path, kind, minEpoch]() {
        auto t0 = std::chrono::steady_clock::now();
        auto db = Database::open(path, kind, minEpoch);
        uint64_t us = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
        return std::make_pair(std::move(db), us);
      },
      [this, kind, k](std::pair<core::Result<std::shared_ptr<const Database>>, uint64_t> r) {
        loading_[k] = false;
        if (!r.first) {
          stats_.refused.fetch_add(1, std::memory_order_relaxed);
          core::logWarn("geo: new database refused; the one in service keeps serving",
                        {{"kind", kindName(kind)}, {"error", r.first.error().message()}});
        } else {
          auto snap = std::make_shared<Snapshot>(*current_);
          std::shared_ptr<const Database> db = std::move(r.first).value();
          (kind == Kind::kAsn ? stats_.asnEpoch : stats_.countryEpoch).store(db->buildEpoch(), std::memory_order_relaxed);
          core::logInfo("geo: database reloaded", {{"kind", kindName(kind)}, {"type", db->type()},
                                                   {"build_epoch", static_cast<unsigned long long>(db->buildEpoch())},
                                                   {"bytes", static_cast<unsigned long long>(db->bytes())},
                                                   {"load_us", static_cast<unsigned long long>(r.second)}});
          (kind == Kind::kAsn ? snap->asn : snap->country) = std::move(db);
          snap->generation = current_->generation + 1;
          current_ = snap;
          stats_.lastLoadUs.store(r.second, std::memory_order_relaxed);
          stats_.reloads.fetch_add(1, std::memory_order_relaxed);
          publish_(snap);
        }
        if (again_[k]) {
          again_[k] = false;
          reload(kind);
        }
      });
}

}  // namespace handoff::geo
