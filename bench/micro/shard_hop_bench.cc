// Cross-shard messaging: the cost of one call() round trip (shard 0 → shard 1 → shard 0), and of
// a batch of posts drained on one wake-up. Both shards run on their own threads, as in handoffd.
#include <benchmark/benchmark.h>

#include <atomic>
#include <future>

#include "handoff/core/shard_set.h"

namespace {

using handoff::core::Shard;
using handoff::core::ShardSet;

// Runs `rounds` sequential call() round trips from shard 0 to shard 1 and waits for the last.
void roundTrips(ShardSet& set, int64_t rounds) {
  std::promise<void> done;
  struct Loop {
    ShardSet& set;
    int64_t left;
    std::promise<void>& done;
    void next() {
      if (left-- == 0) {
        done.set_value();
        return;
      }
      set.call(1, [] { return 1; }, [this](int) { next(); });
    }
  } loop{set, rounds, done};
  set.post(0, [&loop] { loop.next(); });
  done.get_future().wait();
}

void BM_CallRoundTrip(benchmark::State& state) {
  ShardSet set(2);
  set.start([](Shard&) {}, true);
  for (auto _ : state) roundTrips(set, 1000);
  state.SetItemsProcessed(state.iterations() * 1000);
  for (unsigned i = 0; i < 2; ++i) set.shard(i).stop();
  set.joinUntil(std::chrono::steady_clock::now() + std::chrono::seconds(5));
}
BENCHMARK(BM_CallRoundTrip)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_PostBatch(benchmark::State& state) {
  ShardSet set(1);
  set.start([](Shard&) {}, false);
  const int64_t batch = state.range(0);
  for (auto _ : state) {
    std::atomic<int64_t> ran{0};
    std::promise<void> done;
    for (int64_t i = 0; i < batch; ++i) {
      set.post(0, [&ran, &done, batch] {
        if (ran.fetch_add(1, std::memory_order_relaxed) + 1 == batch) done.set_value();
      });
    }
    done.get_future().wait();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  set.shard(0).stop();
  set.joinUntil(std::chrono::steady_clock::now() + std::chrono::seconds(5));
}
BENCHMARK(BM_PostBatch)->Arg(1)->Arg(64)->Arg(1024)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
