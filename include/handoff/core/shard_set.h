// The set of shards and their threads, with the three messaging primitives of DESIGN.md:
//   post(shard, fn)          run fn on that shard
//   call(shard, fn, done)    run fn there, then done(result) back on the calling shard
//   broadcast(fn)            run a copy of fn on every shard
// Messages carry values or moved unique_ptrs, never pointers into another shard's state.
//
// Thread-safe, except start()/join() which the control thread calls once each.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "handoff/core/shard.h"

namespace handoff::core {

// libuv's thread pool (Shard::offload: the store's log writes and fdatasyncs, snapshot chunks,
// password hashing) is one per process. libuv creates it at the first uv_queue_work, and its
// threads inherit the CPU affinity of the thread that made that call: left to itself, the pool
// would be created by a pinned shard and every pool thread would share that one core, whatever
// the number of shards. startThreadPool creates it now, on the calling (control, unpinned)
// thread, so that its threads run on any CPU of the process, with `threads` threads unless the
// environment sets UV_THREADPOOL_SIZE (clamped to 4..1024). Call it before ShardSet::start and
// before anything else uses the pool; later calls do nothing.
void startThreadPool(unsigned threads);

class ShardSet {
 public:
  explicit ShardSet(unsigned count);
  ~ShardSet();

  unsigned size() const { return static_cast<unsigned>(shards_.size()); }
  Shard& shard(unsigned i) { return *shards_[i]; }

  template <class F>
  void post(unsigned target, F&& fn) {
    shards_[target]->post(std::forward<F>(fn));
  }

  template <class F>
  void broadcast(const F& fn) {
    for (auto& s : shards_) s->post(F(fn));
  }

  // Must be called on a shard. `fn()` runs on `target`; `done(result)` runs on the caller's
  // shard afterwards. When target is the calling shard both run inline, with no hop.
  template <class F, class D>
  void call(unsigned target, F&& fn, D&& done) {
    Shard* origin = Shard::current();
    if (origin != nullptr && origin->id() == target) {
      done(fn());
      return;
    }
    unsigned back = origin->id();
    shards_[target]->post([this, back, fn = std::forward<F>(fn), done = std::forward<D>(done)]() mutable {
      auto result = fn();
      shards_[back]->post([done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
    });
  }

  // Starts one thread per shard. Each runs `init(shard)` on its own loop, then the loop. When
  // `pin` is set, shard i is pinned to the i-th CPU of the process's affinity mask (wrapping).
  void start(std::function<void(Shard&)> init, bool pin);

  // Waits until every shard thread has ended or the deadline passes; true if all ended.
  bool joinUntil(std::chrono::steady_clock::time_point deadline);

 private:
  void threadMain(unsigned i, int cpu);

  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable ended_;
  unsigned running_ = 0;
};

}  // namespace handoff::core
