// Shard messaging: post, call and broadcast across real shard threads. Waits are on futures
// (the result arrives or the test fails at its deadline), never on sleeps.
#include "handoff/core/shard_set.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

namespace handoff::core {
namespace {

using namespace std::chrono_literals;

class ShardSetTest : public ::testing::Test {
 protected:
  void startShards(unsigned n) {
    set_ = std::make_unique<ShardSet>(n);
    set_->start([](Shard&) {}, false);
  }
  void TearDown() override {
    if (!set_) return;
    for (unsigned i = 0; i < set_->size(); ++i) set_->shard(i).stop();
    ASSERT_TRUE(set_->joinUntil(std::chrono::steady_clock::now() + 5s));
  }
  std::unique_ptr<ShardSet> set_;
};

TEST_F(ShardSetTest, PostRunsOnTheTargetShardThread) {
  startShards(3);
  for (unsigned i = 0; i < 3; ++i) {
    std::promise<unsigned> seen;
    set_->post(i, [&seen] { seen.set_value(Shard::current()->id()); });
    auto f = seen.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(f.get(), i);
  }
}

TEST_F(ShardSetTest, TasksFromOneSenderRunInOrder) {
  startShards(2);
  std::vector<int> order;
  std::promise<void> done;
  for (int i = 0; i < 1000; ++i) set_->post(1, [&order, i] { order.push_back(i); });
  set_->post(1, [&done] { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[i], i);
}

TEST_F(ShardSetTest, CallRunsThereAndAnswersBackOnTheCaller) {
  startShards(2);
  std::promise<std::pair<unsigned, unsigned>> result;  // (where fn ran, where done ran)
  set_->post(0, [this, &result] {
    set_->call(
        1, [] { return Shard::current()->id(); },
        [&result](unsigned ranOn) { result.set_value({ranOn, Shard::current()->id()}); });
  });
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto [ranOn, answeredOn] = f.get();
  EXPECT_EQ(ranOn, 1u);
  EXPECT_EQ(answeredOn, 0u);
}

TEST_F(ShardSetTest, CallToSelfRunsInlineWithoutAHop) {
  startShards(1);
  std::promise<bool> inlineRun;
  set_->post(0, [this, &inlineRun] {
    bool ran = false;
    set_->call(0, [] { return 7; }, [&ran](int v) { ran = v == 7; });
    inlineRun.set_value(ran);
  });
  auto f = inlineRun.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

TEST_F(ShardSetTest, CallCarriesMoveOnlyValues) {
  startShards(2);
  std::promise<int> got;
  set_->post(0, [this, &got] {
    auto p = std::make_unique<int>(42);
    set_->call(
        1, [p = std::move(p)]() mutable { return std::move(p); },
        [&got](std::unique_ptr<int> v) { got.set_value(*v); });
  });
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), 42);
}

TEST_F(ShardSetTest, BroadcastReachesEveryShard) {
  startShards(4);
  std::atomic<unsigned> mask{0};
  std::atomic<int> count{0};
  std::promise<void> all;
  set_->broadcast([&] {
    mask.fetch_or(1u << Shard::current()->id());
    if (count.fetch_add(1) + 1 == 4) all.set_value();
  });
  ASSERT_EQ(all.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(mask.load(), 0xFu);
}

TEST_F(ShardSetTest, ManyProducersLoseNothing) {
  startShards(1);
  constexpr int kThreads = 4, kEach = 20000;
  std::atomic<int> ran{0};
  std::promise<void> done;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        set_->post(0, [&] {
          if (ran.fetch_add(1) + 1 == kThreads * kEach) done.set_value();
        });
      }
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_EQ(done.get_future().wait_for(20s), std::future_status::ready);
  EXPECT_EQ(ran.load(), kThreads * kEach);
}

TEST_F(ShardSetTest, OffloadRunsOffTheShardAndAnswersOnIt) {
  startShards(1);
  std::promise<std::pair<bool, bool>> result;  // (work ran off-shard, done ran on the shard)
  set_->post(0, [&result] {
    Shard* self = Shard::current();
    self->offload([] { return Shard::current() == nullptr; },
                  [&result, self](bool offShard) { result.set_value({offShard, Shard::current() == self}); });
  });
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto [offShard, onShard] = f.get();
  EXPECT_TRUE(offShard);
  EXPECT_TRUE(onShard);
}

TEST_F(ShardSetTest, PeriodicTimerFiresRepeatedlyAndDoesNotHoldTheShard) {
  startShards(1);
  // Shared state: the timer may fire again after the test body returned, until TearDown stops it.
  auto thrice = std::make_shared<std::promise<void>>();
  auto count = std::make_shared<int>(0);
  auto done = thrice->get_future();
  set_->post(0, [thrice, count] {
    Shard::current()->every(5, [thrice, count] {
      if (++*count == 3) thrice->set_value();
    });
  });
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  // TearDown stops the shard: it must end although the timer is still armed.
}

TEST(MpscQueue, PopsInPushOrderOnOneThread) {
  MpscQueue q;
  MpscNode nodes[5];
  EXPECT_EQ(q.pop(), nullptr);
  for (auto& n : nodes) q.push(&n);
  for (auto& n : nodes) EXPECT_EQ(q.pop(), &n);
  EXPECT_EQ(q.pop(), nullptr);
  q.push(&nodes[0]);
  EXPECT_EQ(q.pop(), &nodes[0]);
  EXPECT_EQ(q.pop(), nullptr);
}

}  // namespace
}  // namespace handoff::core
