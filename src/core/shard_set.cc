#include "handoff/core/shard_set.h"

#include <pthread.h>
#include <sched.h>
#include <uv.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "handoff/core/log.h"

namespace handoff::core {

ShardSet::ShardSet(unsigned count) {
  shards_.reserve(count);
  for (unsigned i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>(*this, i));
}

void startThreadPool(unsigned threads) {
  static std::once_flag once;
  std::call_once(once, [threads] {
    unsigned n = std::clamp(threads, 4u, 1024u);
    // libuv reads UV_THREADPOOL_SIZE once, when it creates the pool; a value the operator set wins.
    ::setenv("UV_THREADPOOL_SIZE", std::to_string(n).c_str(), /*overwrite=*/0);
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) return;
    uv_work_t req;
    uv_queue_work(&loop, &req, [](uv_work_t*) {}, [](uv_work_t*, int) {});
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  });
}

ShardSet::~ShardSet() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void ShardSet::start(std::function<void(Shard&)> init, bool pin) {
  std::vector<int> cpus;
  if (pin) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    running_ = size();
  }
  auto shared = std::make_shared<std::function<void(Shard&)>>(std::move(init));
  // Queued before the thread exists, so init runs before any task another thread posts later.
  for (auto& s : shards_) {
    Shard* sp = s.get();
    sp->post([sp, shared] { (*shared)(*sp); });
  }
  for (unsigned i = 0; i < size(); ++i) {
    int cpu = cpus.empty() ? -1 : cpus[i % cpus.size()];
    threads_.emplace_back([this, i, cpu] { threadMain(i, cpu); });
  }
}

void ShardSet::threadMain(unsigned i, int cpu) {
  char name[16];
  snprintf(name, sizeof name, "shard-%u", i);
  pthread_setname_np(pthread_self(), name);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
      logWarn("shard: cannot pin to cpu", {{"shard", i}, {"cpu", cpu}});
    }
  }
  shards_[i]->run();
  std::lock_guard lock(mu_);
  --running_;
  ended_.notify_all();
}

bool ShardSet::joinUntil(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!ended_.wait_until(lock, deadline, [this] { return running_ == 0; })) return false;
  lock.unlock();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  return true;
}

}  // namespace handoff::core
