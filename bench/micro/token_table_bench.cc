// The per-shard token table: insert, lookup and single-use take with random 128-bit keys, at a
// million live records (the working set a busy shard holds in 60 s of STTs).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "handoff/store/token_table.h"

namespace {

using handoff::store::TokenKey;
using handoff::store::TokenTable;

struct Record {  // the size class of an STT record
  uint64_t words[24];
};

std::vector<TokenKey> randomKeys(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TokenKey> keys(n);
  for (auto& k : keys) k = {rng(), rng()};
  return keys;
}

void BM_InsertTake(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  TokenTable<Record> t(live * 2);
  auto keys = randomKeys(live, 1);
  for (const auto& k : keys) t.insert(k, Record{});
  auto fresh = randomKeys(1 << 16, 2);
  size_t i = 0;
  for (auto _ : state) {
    const TokenKey& k = fresh[i++ & 0xFFFF];
    t.insert(k, Record{});
    benchmark::DoNotOptimize(t.take(k));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InsertTake)->Arg(1 << 10)->Arg(1 << 20);

void BM_FindMiss(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  TokenTable<Record> t(live * 2);
  for (const auto& k : randomKeys(live, 3)) t.insert(k, Record{});
  auto probes = randomKeys(1 << 16, 4);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(t.find(probes[i++ & 0xFFFF]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FindMiss)->Arg(1 << 10)->Arg(1 << 20);

}  // namespace
