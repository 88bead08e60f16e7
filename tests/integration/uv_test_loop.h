// A libuv loop for one test, run from the test's own thread in slices until a condition holds
// (the Redis tests: redis_cluster_test.cc, redis_store_test.cc). Needs GoogleTest.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <functional>

namespace handoff::it {

// One loop for one test, run from the test's thread in slices until a condition holds.
class TestLoop {
 public:
  TestLoop() {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &tick_);
  }
  ~TestLoop() { finish(); }
  uv_loop_t* loop() { return &loop_; }

  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    uv_timer_start(&tick_, [](uv_timer_t*) {}, 2, 2);  // wakes the loop to look at the clock
    bool ok = done();
    while (!ok && std::chrono::steady_clock::now() < deadline) {
      uv_run(&loop_, UV_RUN_ONCE);
      ok = done();
    }
    uv_timer_stop(&tick_);
    return ok;
  }
  void runFor(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    runUntil([&] { return std::chrono::steady_clock::now() >= until; }, d + std::chrono::milliseconds(100));
  }

  // Closes the test's own handle and runs the loop until nothing is left; the loop must then
  // close cleanly (every handle of the client closed).
  void finish() {
    if (finished_) return;
    finished_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
  }

 private:
  uv_loop_t loop_;
  uv_timer_t tick_;
  bool finished_ = false;
};

}  // namespace handoff::it
