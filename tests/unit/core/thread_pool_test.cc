// startThreadPool (shard_set.h): libuv's pool is created by the control thread before the shards
// pin themselves, so that its threads run on every CPU of the process and not on the core of the
// shard that happened to offload first; and it has the number of threads asked for. Its own test
// binary: the pool is one per process and made once, so no other test may touch it first.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "handoff/core/shard_set.h"

namespace handoff::core {
namespace {

using namespace std::chrono_literals;

int cpusOf(pthread_t thread) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(thread, sizeof set, &set) != 0) return -1;
  return CPU_COUNT(&set);
}

constexpr unsigned kJobs = 7;  // more than libuv's default of 4

struct Seen {
  int cpus = 0;           // CPUs the pool thread that ran the job may use
  bool together = false;  // every job was running at the same time
};

TEST(ThreadPool, RunsOnEveryCpuOfTheProcessWithTheThreadsAskedForWhileShardsArePinned) {
  int processCpus = cpusOf(pthread_self());
  if (processCpus < 2) GTEST_SKIP() << "one CPU available: pinned and unpinned look the same";
  startThreadPool(kJobs);

  ShardSet set(1);
  set.start([](Shard&) {}, /*pin=*/true);
  std::promise<std::vector<Seen>> result;
  set.post(0, [&] {
    Shard& shard = set.shard(0);
    EXPECT_EQ(cpusOf(pthread_self()), 1) << "the shard itself is pinned";
    auto arrived = std::make_shared<std::atomic<unsigned>>(0);
    auto seen = std::make_shared<std::vector<Seen>>();
    for (unsigned i = 0; i < kJobs; ++i) {
      shard.offload(
          [arrived] {
            Seen s{cpusOf(pthread_self()), false};
            arrived->fetch_add(1);
            // Wait (bounded) until every job runs: only a pool of kJobs threads gets there.
            auto deadline = std::chrono::steady_clock::now() + 5s;
            while (arrived->load() < kJobs && std::chrono::steady_clock::now() < deadline) {
              std::this_thread::sleep_for(1ms);
            }
            s.together = arrived->load() >= kJobs;
            return s;
          },
          [seen, &result](Seen s) {
            seen->push_back(s);
            if (seen->size() == kJobs) result.set_value(*seen);
          });
    }
  });
  auto done = result.get_future();
  ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
  for (const Seen& s : done.get()) {
    EXPECT_EQ(s.cpus, processCpus) << "a pool thread was confined to fewer CPUs than the process has";
    EXPECT_TRUE(s.together) << "the pool ran fewer than " << kJobs << " jobs at once";
  }
  set.shard(0).stop();
  ASSERT_TRUE(set.joinUntil(std::chrono::steady_clock::now() + 5s));
}

}  // namespace
}  // namespace handoff::core
