// One shard's store on the hot path, with records shaped like the endpoints' (see
// store_memory_bench.cc): an STT minted, redeemed and expired; a code minted, exchanged (with the
// tokens it produced attached) and expired. The clock moves 1 ms per iteration and the TTL is
// the live count in ms, so the store holds a steady `live` records of the kind; reap runs every
// 256 iterations, as the shard's once-a-second timer would on a busy shard. Each iteration copies
// a prepared record into the call (the endpoint builds one from the request the same way).
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "handoff/store/shard_store.h"

namespace {

using namespace handoff::store;

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::array<uint8_t, 16> bytes16() {
    std::array<uint8_t, 16> b;
    uint64_t a = next(), c = next();
    std::memcpy(b.data(), &a, 8);
    std::memcpy(b.data() + 8, &c, 8);
    return b;
  }
  std::string chars(size_t n, std::string_view alphabet) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out.push_back(alphabet[next() % alphabet.size()]);
    return out;
  }
};

constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kSpaJs = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_~.";
constexpr size_t kPool = 1024;

std::vector<SttRecord> stts(Rng& rng) {
  std::vector<SttRecord> out(kPool);
  for (size_t i = 0; i < kPool; ++i) {
    SttRecord& r = out[i];
    r.userId = "auth0|" + rng.chars(24, kHex);
    r.clientId = "Xk2vQ9pLmN4rT7wY1zA3bC5dE8fG0hJ" + std::to_string(i % 4);
    r.scope = "openid profile email offline_access";
    r.ip = i % 3 == 0 ? "2a01:e0a:1f3:4c50:8d2e:91ff:fe3b:7a21" : "203.0.113." + std::to_string(i % 250);
    r.asn = 3215;
    r.country = "FR";
    r.userAgent =
        "Acme%20Bank/4.12.3 (com.example.app; build:41203; iOS 17.4.1) iPhone15,2 CFNetwork/1494.0.7 Darwin/23.4.0";
    r.parentFamily = {rng.next(), rng.next()};
    r.authTime = 1'790'000'000;
    r.mintedAt = 1'790'000'100;
  }
  return out;
}

std::vector<CodeRecord> codes(Rng& rng) {
  std::vector<CodeRecord> out(kPool);
  for (size_t i = 0; i < kPool; ++i) {
    CodeRecord& c = out[i];
    c.clientId = "Wq8eR2tY4uI6oP0aS1dF3gH5jK7lZ9x" + std::to_string(i % 4);
    c.redirectUri = "https://app" + std::to_string(i % 4) + ".example.com/api/auth/callback";
    c.userId = "auth0|" + rng.chars(24, kHex);
    c.sessionId = rng.chars(22, kB64);
    c.scope = "openid profile email offline_access";
    c.nonce = rng.chars(43, kSpaJs);
    c.codeChallenge = rng.chars(42, kB64) + "A";  // a canonical S256 challenge ends in [AEIMQUYcgkosw048]
    c.authTime = 1'790'000'000;
  }
  return out;
}

void BM_SttMintRedeemExpire(benchmark::State& state) {
  const uint64_t live = static_cast<uint64_t>(state.range(0));
  ShardStore s(0, StoreLimits{.sttTtlMs = live, .sttTombstoneMs = 0});
  Rng rng{0x9E3779B97F4A7C15ull};
  std::vector<SttRecord> pool = stts(rng);
  uint64_t now = 1;
  for (uint64_t i = 0; i < live; ++i) s.putStt(rng.bytes16(), pool[i % kPool], now++);
  for (auto _ : state) {
    TokenId id = s.putStt(rng.bytes16(), pool[now % kPool], now);
    auto use = s.takeStt(id.key, now);
    benchmark::DoNotOptimize(use);
    if ((++now & 255) == 0) s.reap(now);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live"] = static_cast<double>(s.sessionTransferTokens());
}
BENCHMARK(BM_SttMintRedeemExpire)->Arg(1 << 10)->Arg(1 << 20);

void BM_CodeMintExchangeExpire(benchmark::State& state) {
  const uint64_t live = static_cast<uint64_t>(state.range(0));
  ShardStore s(0, StoreLimits{.codeTtlMs = live});
  Rng rng{0xD1B54A32D192ED03ull};
  std::vector<CodeRecord> pool = codes(rng);
  uint64_t now = 1;
  for (uint64_t i = 0; i < live; ++i) s.putCode(rng.bytes16(), pool[i % kPool], now++);
  const TokenKey access{rng.next(), rng.next()}, family{rng.next(), rng.next()};
  for (auto _ : state) {
    TokenId id = s.putCode(rng.bytes16(), pool[now % kPool], now);
    auto use = s.redeemCode(id.key, now);
    benchmark::DoNotOptimize(use);
    s.attachIssued(id.key, &access, &family);
    if ((++now & 255) == 0) s.reap(now);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live"] = static_cast<double>(s.codes());
}
BENCHMARK(BM_CodeMintExchangeExpire)->Arg(1 << 10)->Arg(1 << 20);

// A made-up or long-gone token presented: the lookup that finds nothing.
void BM_SttRedeemUnknown(benchmark::State& state) {
  const uint64_t live = static_cast<uint64_t>(state.range(0));
  ShardStore s(0);
  Rng rng{0x2545F4914F6CDD1Dull};
  std::vector<SttRecord> pool = stts(rng);
  for (uint64_t i = 0; i < live; ++i) s.putStt(rng.bytes16(), pool[i % kPool], 1);
  std::vector<TokenKey> probes(1 << 16);
  for (auto& k : probes) k = {rng.next(), rng.next()};
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(s.takeStt(probes[i++ & 0xFFFF], 2).outcome);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SttRedeemUnknown)->Arg(1 << 10)->Arg(1 << 20);

}  // namespace
