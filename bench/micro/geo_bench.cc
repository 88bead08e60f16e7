// GeoIP lookups in the full real-data ASN database (issue 5; target ≤ 300 ns per lookup) and the
// time to open it (what a hot reload costs off the loop: private copy, open, validation).
//
// The database: $HANDOFF_GEO_BENCH_DB, else geo-data/full/asn.mmdb relative to the working
// directory (build it with tools/fetch-asn-data). Without it every benchmark is skipped with a
// message. Addresses: a fixed pseudo-random set of 64 Ki per benchmark (seeded, the same on every
// run): hits_only:0 draws IPv4 over the whole space and IPv6 in 2000::/4 (hits and misses as they
// come; the hit rate is a counter), hits_only:1 keeps only addresses the database knows (IPv6
// from the registries' blocks), as real clients are.
//
//   BM_AsnLookup           Database::asn(): the tree walk and the ASN and organization fields
//   BM_SnapshotLookup      geo::lookup(): what a request without a memo pays (the ASN only: the
//                          organization is not read on the request path)
//   BM_ParseAndLookup      IpBytes::parse of the client IP text, then geo::lookup (Provider::geoOf)
//   BM_Open                Database::open of the full file (copy into a sealed memfd, validate)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "handoff/geo/geo_db.h"
#include "handoff/geo/geo_service.h"

namespace {

using handoff::geo::Database;
using handoff::geo::Kind;
using handoff::net::IpBytes;

std::string dbPath() {
  const char* p = std::getenv("HANDOFF_GEO_BENCH_DB");
  return p != nullptr && *p != '\0' ? p : "geo-data/full/asn.mmdb";
}

// The database, opened once; null (with the reason in `why`) when it cannot be.
const std::shared_ptr<const Database>& database(std::string* why) {
  static std::string error;
  static std::shared_ptr<const Database> db = [] {
    auto r = Database::open(dbPath(), Kind::kAsn);
    if (!r) {
      error = "no full ASN database (" + r.error().message() + "): run tools/fetch-asn-data or set HANDOFF_GEO_BENCH_DB";
      return std::shared_ptr<const Database>();
    }
    return std::move(r).value();
  }();
  *why = error;
  return db;
}

constexpr size_t kAddresses = 1 << 16;

// One pseudo-random address: IPv4 anywhere, IPv6 in 2000::/4 or, when `rir`, in one of the
// regional registries' blocks (2001::/16, 2400::/12, 2600::/12, 2800::/12, 2a00::/12, 2c00::/12).
IpBytes randomAddress(std::mt19937_64& rng, bool v4, bool rir) {
  IpBytes ip;
  uint64_t hi = rng(), lo = rng();
  if (v4) {
    ip.v4 = true;
    ip.b[10] = ip.b[11] = 0xff;  // ::ffff:a.b.c.d
    for (int i = 0; i < 4; ++i) ip.b[12 + i] = static_cast<uint8_t>(lo >> (8 * i));
    return ip;
  }
  if (rir) {
    static constexpr uint64_t kBlocks[][2] = {{0x2001, 16}, {0x240, 12}, {0x260, 12}, {0x280, 12}, {0x2a0, 12}, {0x2c0, 12}};
    const auto& blk = kBlocks[lo % 6];
    unsigned bits = static_cast<unsigned>(blk[1]);
    hi = (blk[0] << (64 - bits)) | (hi & ((uint64_t{1} << (64 - bits)) - 1));
  } else {
    hi = (hi & 0x0fffffffffffffffULL) | 0x2000000000000000ULL;  // 2000::/4
  }
  for (int i = 0; i < 8; ++i) ip.b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) ip.b[8 + i] = static_cast<uint8_t>(rng() >> (56 - 8 * i));
  return ip;
}

// The fixed address set of a benchmark (seeded by its arguments). `hitsOnly`: only addresses the
// database knows (rejection-sampled: real clients are on announced networks), IPv6 drawn from
// the registries' blocks; otherwise everything drawn, hits and misses alike.
std::vector<IpBytes> addresses(const Database& db, bool v4, bool hitsOnly) {
  std::mt19937_64 rng((v4 ? 4 : 6) * 2 + (hitsOnly ? 1 : 0));
  std::vector<IpBytes> out;
  out.reserve(kAddresses);
  for (uint64_t tries = 0; out.size() < kAddresses && tries < (uint64_t{1} << 26); ++tries) {
    IpBytes ip = randomAddress(rng, v4, hitsOnly);
    if (!hitsOnly || db.asn(ip).asn != 0) out.push_back(ip);
  }
  while (out.size() < kAddresses) out.push_back(out[out.size() % (out.empty() ? 1 : out.size())]);
  return out;
}

void BM_AsnLookup(benchmark::State& state) {
  std::string why;
  const auto& db = database(&why);
  if (!db) return state.SkipWithError(why.c_str());
  auto ips = addresses(*db, state.range(0) == 4, state.range(1) != 0);
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    auto a = db->asn(ips[i++ & (kAddresses - 1)]);
    hits += a.asn != 0;
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_AsnLookup)->ArgNames({"v", "hits_only"})->Args({4, 0})->Args({4, 1})->Args({6, 0})->Args({6, 1});

void BM_SnapshotLookup(benchmark::State& state) {
  std::string why;
  const auto& db = database(&why);
  if (!db) return state.SkipWithError(why.c_str());
  handoff::geo::Snapshot snap;
  snap.asn = db;
  snap.generation = 1;
  auto ips = addresses(*db, state.range(0) == 4, state.range(1) != 0);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(handoff::geo::lookup(&snap, ips[i++ & (kAddresses - 1)]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SnapshotLookup)->ArgNames({"v", "hits_only"})->Args({4, 1})->Args({6, 1});

void BM_ParseAndLookup(benchmark::State& state) {
  std::string why;
  const auto& db = database(&why);
  if (!db) return state.SkipWithError(why.c_str());
  handoff::geo::Snapshot snap;
  snap.asn = db;
  snap.generation = 1;
  std::vector<std::string> texts;
  for (const IpBytes& ip : addresses(*db, true, true)) texts.push_back(ip.toString());
  size_t i = 0;
  for (auto _ : state) {
    auto ip = IpBytes::parse(texts[i++ & (kAddresses - 1)]);
    benchmark::DoNotOptimize(handoff::geo::lookup(&snap, *ip));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndLookup)->ArgNames({"v", "hits_only"})->Args({4, 1});

void BM_Open(benchmark::State& state) {
  std::string why;
  if (!database(&why)) return state.SkipWithError(why.c_str());
  size_t bytes = 0;
  for (auto _ : state) {
    auto r = Database::open(dbPath(), Kind::kAsn);
    if (!r) return state.SkipWithError(r.error().message().c_str());
    bytes = (*r)->bytes();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["MiB"] = static_cast<double>(bytes) / (1 << 20);
}
BENCHMARK(BM_Open)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
