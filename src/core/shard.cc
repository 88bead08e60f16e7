#include "handoff/core/shard.h"

#include <cstdlib>

#include "handoff/core/log.h"

namespace handoff::core {
namespace {
thread_local Shard* tCurrent = nullptr;
}

Shard::Shard(ShardSet& set, unsigned id) : set_(set), id_(id) {
  if (uv_loop_init(&loop_) != 0 || uv_async_init(&loop_, &wake_, [](uv_async_t* a) {
        static_cast<Shard*>(a->data)->drain();
      }) != 0) {
    logError("shard: cannot create its event loop", {{"shard", id}});
    std::abort();
  }
  wake_.data = this;
}

Shard::~Shard() {
  // Tasks still queued (the shard stopped before running them) are freed without running.
  for (MpscNode* n = inbox_.pop(); n != nullptr; n = inbox_.pop()) delete static_cast<Task*>(n);
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&wake_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  }
  for (auto& p : periodic_) uv_close(reinterpret_cast<uv_handle_t*>(&p->timer), nullptr);
  for (auto& w : watches_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&w->event), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->quiet), nullptr);
  }
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_loop_close(&loop_);
}

Shard* Shard::current() { return tCurrent; }

void Shard::enqueue(Task* t) {
  inbox_.push(t);
  uv_async_send(&wake_);  // after the push: see MpscQueue's contract
}

void Shard::drain() {
  uint64_t n = 0;
  for (MpscNode* node = inbox_.pop(); node != nullptr; node = inbox_.pop()) {
    std::unique_ptr<Task> t(static_cast<Task*>(node));
    t->run();
    ++n;
  }
  tasksRun_.store(tasksRun_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  if (stopping_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&wake_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  }
}

void Shard::every(uint64_t periodMs, std::function<void()> fn) {
  auto p = std::make_unique<Periodic>();
  p->fn = std::move(fn);
  uv_timer_init(&loop_, &p->timer);
  p->timer.data = p.get();
  uv_timer_start(&p->timer, [](uv_timer_t* t) { static_cast<Periodic*>(t->data)->fn(); }, periodMs, periodMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(&p->timer));
  periodic_.push_back(std::move(p));
}

bool Shard::watchDirectory(const std::string& dir, uint64_t debounceMs,
                           std::function<void(std::vector<std::string>)> fn) {
  auto w = std::make_unique<Watch>();
  w->debounceMs = debounceMs;
  w->fn = std::move(fn);
  uv_fs_event_init(&loop_, &w->event);
  uv_timer_init(&loop_, &w->quiet);
  w->event.data = w->quiet.data = w.get();
  int rc = uv_fs_event_start(
      &w->event,
      [](uv_fs_event_t* h, const char* name, int, int status) {
        auto* self = static_cast<Watch*>(h->data);
        if (status < 0) return;
        std::string n = name != nullptr ? name : "";
        bool seen = false;
        for (const std::string& x : self->names) seen = seen || x == n;
        if (!seen && self->names.size() < 64) self->names.push_back(std::move(n));
        uv_timer_start(
            &self->quiet,
            [](uv_timer_t* t) {
              auto* s = static_cast<Watch*>(t->data);
              std::vector<std::string> names;
              names.swap(s->names);
              s->fn(std::move(names));
            },
            self->debounceMs, 0);
      },
      dir.c_str(), 0);
  uv_unref(reinterpret_cast<uv_handle_t*>(&w->event));
  uv_unref(reinterpret_cast<uv_handle_t*>(&w->quiet));
  watches_.push_back(std::move(w));
  return rc == 0;
}

void Shard::stop() {
  post([this] { stopping_ = true; });
}

void Shard::run() {
  tCurrent = this;
  drain();  // tasks posted before the thread started
  uv_run(&loop_, UV_RUN_DEFAULT);
  tCurrent = nullptr;
}

}  // namespace handoff::core
