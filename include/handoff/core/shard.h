// A shard: one thread, one libuv loop, one inbox. Everything a shard owns (connections, buffers,
// token tables) is touched only by its own thread; other threads reach it by posting tasks.
//
// The inbox is an MPSC queue plus one uv_async_t. uv_async_send coalesces wake-ups, so the
// wake-up is not the message: on each wake the inbox is drained until empty.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "handoff/core/mpsc_queue.h"

namespace handoff::core {

class ShardSet;

class Shard {
 public:
  Shard(ShardSet& set, unsigned id);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  unsigned id() const { return id_; }
  ShardSet& set() { return set_; }
  uv_loop_t* loop() { return &loop_; }

  // The shard whose thread is running, or nullptr off-shard.
  static Shard* current();

  // Thread-safe. Queues `fn` to run on this shard's thread. Tasks from one sender run in order.
  template <class F>
  void post(F&& fn) {
    using Fn = std::decay_t<F>;
    enqueue(new TaskOf<Fn>(Fn(std::forward<F>(fn))));
  }

  // Runs the loop on the calling thread until stop() and all handles are closed. Tasks posted
  // before run() are executed once it starts.
  void run();

  // Thread-safe. Closes the inbox after the tasks already queued have run; the loop then ends
  // once the handles owned by upper layers are closed too.
  void stop();

  // Runs `work()` on libuv's thread pool — for CPU-heavy steps such as password hashing that
  // must not stall the loop — then `done(result)` back on this shard. On-shard only. `work`
  // touches no shard state; it gets copies or moved values.
  template <class W, class D>
  void offload(W&& work, D&& done) {
    using R = decltype(work());
    struct Job {
      uv_work_t req;
      std::decay_t<W> work;
      std::decay_t<D> done;
      std::optional<R> result;
    };
    auto* job = new Job{{}, std::forward<W>(work), std::forward<D>(done), std::nullopt};
    job->req.data = job;
    int rc = uv_queue_work(
        &loop_, &job->req, [](uv_work_t* r) { auto* j = static_cast<Job*>(r->data); j->result.emplace(j->work()); },
        [](uv_work_t* r, int) {
          std::unique_ptr<Job> j(static_cast<Job*>(r->data));
          j->done(std::move(*j->result));
        });
    if (rc != 0) {  // the pool refused (the loop is closing): do the work here rather than drop it
      std::unique_ptr<Job> j(job);
      j->done(j->work());
    }
  }

  // Calls fn() on this shard every periodMs (housekeeping: reaping expired records). The timer
  // does not keep the loop alive: a stopping shard ends without waiting for it. On-shard only.
  void every(uint64_t periodMs, std::function<void()> fn);

  // Watches directory `dir` (not a file: a watch on a file goes silent once the file is replaced
  // by a rename). Changes are collected and, once `debounceMs` pass without another, fn(names)
  // runs with the file names that changed (a name may be empty when the kernel gave none). Does
  // not keep the loop alive. On-shard only. Fails when the directory cannot be watched.
  bool watchDirectory(const std::string& dir, uint64_t debounceMs, std::function<void(std::vector<std::string>)> fn);

  // Loop time in milliseconds (monotonic, cached once per loop turn). On-shard only.
  uint64_t nowMs() { return uv_now(&loop_); }

  // Counters for tests and /metrics: tasks run on this shard. Written by the owner only.
  uint64_t tasksRun() const { return tasksRun_.load(std::memory_order_relaxed); }

 private:
  void enqueue(Task* t);
  void drain();

  ShardSet& set_;
  unsigned id_;
  uv_loop_t loop_;
  uv_async_t wake_;
  MpscQueue inbox_;
  bool stopping_ = false;
  std::atomic<uint64_t> tasksRun_{0};
  struct Periodic {
    uv_timer_t timer;
    std::function<void()> fn;
  };
  std::vector<std::unique_ptr<Periodic>> periodic_;
  struct Watch {
    uv_fs_event_t event;
    uv_timer_t quiet;
    uint64_t debounceMs = 0;
    std::vector<std::string> names;
    std::function<void(std::vector<std::string>)> fn;
  };
  std::vector<std::unique_ptr<Watch>> watches_;
};

}  // namespace handoff::core
