// An intrusive multi-producer single-consumer queue (Vyukov's algorithm): push is one atomic
// exchange and one store, wait-free; pop is called by the single consumer only.
//
// Thread-safe for push from any thread; pop from the owning thread only. A pop may transiently
// miss an element whose producer is between its two steps: producers must therefore wake the
// consumer *after* push returns (the shard inbox does: push, then uv_async_send), so the
// consumer always looks again.
#pragma once

#include <atomic>

namespace handoff::core {

struct MpscNode {
  std::atomic<MpscNode*> next{nullptr};
};

class MpscQueue {
 public:
  MpscQueue() : head_(&stub_), tail_(&stub_) {}
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  void push(MpscNode* n) {
    n->next.store(nullptr, std::memory_order_relaxed);
    MpscNode* prev = head_.exchange(n, std::memory_order_acq_rel);
    prev->next.store(n, std::memory_order_release);
  }

  // Returns the oldest element, or nullptr when the queue is (or looks) empty.
  MpscNode* pop() {
    MpscNode* tail = tail_;
    MpscNode* next = tail->next.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) return nullptr;
      tail_ = next;
      tail = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    if (tail != head_.load(std::memory_order_acquire)) return nullptr;  // a push is in flight
    push(&stub_);
    next = tail->next.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    return nullptr;
  }

 private:
  alignas(64) std::atomic<MpscNode*> head_;  // producers
  alignas(64) MpscNode* tail_;               // consumer
  MpscNode stub_;
};

// A unit of work sent to a shard: the queue node and the callable in one allocation.
struct Task : MpscNode {
  virtual ~Task() = default;
  virtual void run() = 0;
};

template <class F>
struct TaskOf final : Task {
  explicit TaskOf(F&& f) : fn(std::move(f)) {}
  void run() override { fn(); }
  F fn;
};

}  // namespace handoff::core
