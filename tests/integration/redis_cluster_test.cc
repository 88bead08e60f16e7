// ClusterClient against a real 3-master Redis Cluster on loopback (redis_cluster_fixture.h):
// routing, MOVED/ASK during a hand-made slot migration, single use under concurrency, EVALSHA
// fallback, close(), and faults (a stopped master, a killed and restarted one). Nothing mocked.
#include <gtest/gtest.h>
#include <signal.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "handoff/store/redis/cluster_client.h"
#include "handoff/store/redis/sha1.h"
#include "handoff/store/redis/slot.h"
#include "redis_cluster_fixture.h"
#include "uv_test_loop.h"

namespace handoff::store::redis {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using it::RedisCluster;
using it::TestLoop;

long long msSince(Clock::time_point t0) {
  return std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
}

class ClientUnderTest {
 public:
  ClientUnderTest(TestLoop& loop, ClusterOptions options) : loop_(loop) {
    auto made = ClusterClient::create(loop.loop(), std::move(options));
    if (!made.ok()) {
      ADD_FAILURE() << made.error().message();
      return;
    }
    client_ = std::move(made.value());
    client_->start();
  }
  ~ClientUnderTest() { shutdown(); }

  ClusterClient& operator*() { return *client_; }
  ClusterClient* operator->() { return client_.get(); }
  bool waitHealthy(Millis timeout = Millis(10000)) {
    return client_ && loop_.runUntil([&] { return client_->healthy(); }, timeout);
  }
  void shutdown() {
    if (!client_) return;
    client_->close();
    EXPECT_TRUE(loop_.runUntil([&] { return client_->closed(); }, Millis(5000)));
    client_.reset();
  }

  // One command, waited for.
  CommandResult exec(std::string_view key, std::vector<std::string_view> argv, Millis timeout = Millis(5000)) {
    std::optional<CommandResult> out;
    int calls = 0;
    client_->command(key, argv, [&](CommandResult& r) {
      ++calls;
      out.emplace(std::move(r));
    });
    if (!loop_.runUntil([&] { return out.has_value(); }, timeout)) {
      ADD_FAILURE() << "no callback within " << timeout.count() << " ms";
      return CommandResult(Failure::kUnavailable);
    }
    EXPECT_EQ(calls, 1);
    return std::move(*out);
  }

 private:
  TestLoop& loop_;
  std::unique_ptr<ClusterClient> client_;
};

std::string describe(const CommandResult& r) {
  if (!r.ok()) return std::string("failure ") + std::string(failureName(r.failure()));
  const Reply& rep = r.reply();
  switch (rep.type) {
    case Reply::Type::kNil: return "nil";
    case Reply::Type::kInteger: return "integer " + std::to_string(rep.integer);
    case Reply::Type::kArray: return "array of " + std::to_string(rep.elements.size());
    default: return "'" + rep.str + "'";
  }
}

ClusterOptions optionsFor(const RedisCluster& c) {
  ClusterOptions o;
  o.seeds = c.seeds();
  o.deadlineMs = 2000;
  o.refreshIntervalMs = 60000;  // no periodic refresh hides a MOVED in these tests
  return o;
}

// A key (with a hash tag) whose slot node `node` owns, per `owners`.
std::string keyOn(const std::vector<int>& owners, int node, const std::string& prefix) {
  for (int i = 0; i < 100000; ++i) {
    std::string key = "{" + prefix + std::to_string(i) + "}";
    if (owners[slotOf(key)] == node) return key;
  }
  return {};
}

// ── One cluster shared by the tests that leave it whole ────────────────────────────────────

class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // As in handoffd (core/signals.cc): a write to a connection the peer closed is an error
    // value, not a signal. hiredis writes with write(2).
    signal(SIGPIPE, SIG_IGN);
    cluster_ = new RedisCluster(3);
    started_ = cluster_->start();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(started_) << "Redis Cluster did not start: " << cluster_->failure(); }

  static RedisCluster* cluster_;
  static bool started_;
};
RedisCluster* RedisClusterTest::cluster_ = nullptr;
bool RedisClusterTest::started_ = false;

TEST_F(RedisClusterTest, BinaryKeysSpreadOverAllMastersRoundTrip) {
  TestLoop loop;
  ClientUnderTest client(loop, optionsFor(*cluster_));
  ASSERT_TRUE(client.waitHealthy());

  std::mt19937 rng(12345);
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) {
    std::string k = "rt:";
    int len = 1 + static_cast<int>(rng() % 24);
    for (int j = 0; j < len; ++j) k += static_cast<char>(rng() % 256);  // NUL and braces included
    if (i % 10 == 0) k = "{tag" + std::to_string(i % 7) + "}" + k;
    keys.push_back(k);
  }
  // The server's CLUSTER KEYSLOT, asked through our client (binary-safe arguments).
  std::vector<std::optional<CommandResult>> slots(keys.size()), sets(keys.size()), gets(keys.size());
  size_t done = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    client->command(keys[i], {"CLUSTER", "KEYSLOT", keys[i]}, [&, i](CommandResult& r) {
      slots[i].emplace(std::move(r));
      ++done;
    });
    std::string value = "v" + keys[i];
    client->command(keys[i], {"SET", keys[i], value}, [&, i](CommandResult& r) {
      sets[i].emplace(std::move(r));
      ++done;
    });
    client->command(keys[i], {"GET", keys[i]}, [&, i](CommandResult& r) {
      gets[i].emplace(std::move(r));
      ++done;
    });
  }
  ASSERT_TRUE(loop.runUntil([&] { return done == 3 * keys.size(); }, Millis(10000)));
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(slots[i]->ok() && slots[i]->reply().isInteger()) << describe(*slots[i]);
    EXPECT_EQ(slots[i]->reply().integer, slotOf(keys[i])) << "key #" << i;
    ASSERT_TRUE(sets[i]->ok()) << describe(*sets[i]);
    EXPECT_EQ(sets[i]->reply().str, "OK");
    ASSERT_TRUE(gets[i]->ok() && gets[i]->reply().isString()) << describe(*gets[i]);
    EXPECT_EQ(gets[i]->reply().str, "v" + keys[i]);
  }
  // Every master got some of them.
  for (size_t n = 0; n < cluster_->size(); ++n) {
    std::string dbsize = cluster_->cli(n, {"DBSIZE"});
    EXPECT_GT(std::atoi(dbsize.c_str()), 0) << "node " << n << ": " << dbsize;
  }
  EXPECT_EQ(client->stats().moved, 0u);
  EXPECT_EQ(client->stats().timeouts, 0u);
  EXPECT_GE(client->stats().commands, 900u);
}

TEST_F(RedisClusterTest, FollowsAskAndMovedWhileASlotMigrates) {
  TestLoop loop;
  ClientUnderTest client(loop, optionsFor(*cluster_));
  ASSERT_TRUE(client.waitHealthy());

  std::vector<int> owners = cluster_->slotOwners();
  std::string tag = keyOn(owners, 0, "mig");
  ASSERT_FALSE(tag.empty());
  std::string a = tag + "a", b = tag + "b";
  std::string slot = std::to_string(slotOf(a));
  size_t src = 0, dst = 1;
  std::string srcId = cluster_->nodeId(src), dstId = cluster_->nodeId(dst);

  ASSERT_EQ(client.exec(a, {"SET", a, "va"}).reply().str, "OK");
  ASSERT_EQ(cluster_->cli(dst, {"CLUSTER", "SETSLOT", slot, "IMPORTING", srcId}), "OK");
  ASSERT_EQ(cluster_->cli(src, {"CLUSTER", "SETSLOT", slot, "MIGRATING", dstId}), "OK");

  // A key the source does not hold: ASK to the target, which takes it under ASKING.
  CommandResult setB = client.exec(b, {"SET", b, "vb"});
  ASSERT_TRUE(setB.ok()) << describe(setB);
  EXPECT_EQ(setB.reply().str, "OK");
  EXPECT_GE(client->stats().ask, 1u);
  EXPECT_EQ(cluster_->cli(dst, {"CLUSTER", "COUNTKEYSINSLOT", slot}), "1");
  EXPECT_EQ(cluster_->cli(src, {"CLUSTER", "COUNTKEYSINSLOT", slot}), "1");

  // A multi-key command over both halves of a migrating slot: TRYAGAIN (not executed), retried
  // until the deadline, then kUnavailable.
  {
    ClusterOptions shortDeadline = optionsFor(*cluster_);
    shortDeadline.deadlineMs = 300;
    ClientUnderTest second(loop, shortDeadline);
    ASSERT_TRUE(second.waitHealthy());
    auto t0 = Clock::now();
    CommandResult mget = second.exec(a, {"MGET", a, b});
    EXPECT_FALSE(mget.ok()) << describe(mget);
    EXPECT_EQ(mget.failure(), Failure::kUnavailable);
    EXPECT_GE(msSince(t0), 250);
    EXPECT_GE(second->stats().retries, 2u);
  }

  // The existing key moves; the source now answers ASK for it too.
  ASSERT_EQ(cluster_->cli(src, {"MIGRATE", "127.0.0.1", std::to_string(cluster_->port(dst)), "", "0", "5000", "KEYS", a}),
            "OK");
  uint64_t askBefore = client->stats().ask;
  CommandResult getA = client.exec(a, {"GET", a});
  ASSERT_TRUE(getA.ok()) << describe(getA);
  EXPECT_EQ(getA.reply().str, "va");
  EXPECT_GT(client->stats().ask, askBefore);
  EXPECT_EQ(client->stats().moved, 0u) << "ASK must not change the map";

  // The slot now belongs to the target: the client's map is stale until a MOVED.
  for (size_t n : {dst, src, size_t{2}}) {
    ASSERT_EQ(cluster_->cli(n, {"CLUSTER", "SETSLOT", slot, "NODE", dstId}), "OK");
  }
  CommandResult getB = client.exec(b, {"GET", b});
  ASSERT_TRUE(getB.ok()) << describe(getB);
  EXPECT_EQ(getB.reply().str, "vb");
  uint64_t moved = client->stats().moved;
  EXPECT_GE(moved, 1u);
  // The map learnt it: no second MOVED for the same slot.
  EXPECT_EQ(client.exec(a, {"GET", a}).reply().str, "va");
  EXPECT_EQ(client->stats().moved, moved);
  EXPECT_EQ(client->stats().timeouts, 0u);
}

TEST_F(RedisClusterTest, ConcurrentGetdelConsumesAKeyOnce) {
  TestLoop loop;
  ClientUnderTest client(loop, optionsFor(*cluster_));
  ASSERT_TRUE(client.waitHealthy());
  for (int round = 0; round < 10; ++round) {
    std::string key = "code:{c" + std::to_string(round) + "}";
    ASSERT_EQ(client.exec(key, {"SET", key, "secret"}).reply().str, "OK");
    int values = 0, nils = 0, other = 0, calls = 0;
    for (int i = 0; i < 64; ++i) {
      client->command(key, {"GETDEL", key}, [&](CommandResult& r) {
        ++calls;
        if (r.ok() && r.reply().isString() && r.reply().str == "secret") {
          ++values;
        } else if (r.ok() && r.reply().isNil()) {
          ++nils;
        } else {
          ++other;
        }
      });
    }
    ASSERT_TRUE(loop.runUntil([&] { return calls == 64; }, Millis(5000)));
    EXPECT_EQ(values, 1) << "round " << round;
    EXPECT_EQ(nils, 63);
    EXPECT_EQ(other, 0);
  }
}

TEST_F(RedisClusterTest, EvalUsesEvalshaAndFallsBackOnNoscript) {
  TestLoop loop;
  ClientUnderTest client(loop, optionsFor(*cluster_));
  ASSERT_TRUE(client.waitHealthy());
  for (size_t n = 0; n < cluster_->size(); ++n) ASSERT_EQ(cluster_->cli(n, {"SCRIPT", "FLUSH"}), "OK");

  const std::string script = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
  std::string key = "{ev}counter";
  std::string_view keys[] = {key};
  std::string_view args[] = {"5"};
  auto runEval = [&] {
    std::optional<CommandResult> out;
    client->eval(script, keys, args, [&](CommandResult& r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(loop.runUntil([&] { return out.has_value(); }, Millis(5000)));
    return out ? std::move(*out) : CommandResult(Failure::kUnavailable);
  };
  client.exec(key, {"DEL", key});
  CommandResult first = runEval();  // NOSCRIPT, then EVAL
  ASSERT_TRUE(first.ok()) << describe(first);
  EXPECT_EQ(first.reply().integer, 5);
  uint64_t retries = client->stats().retries;
  EXPECT_GE(retries, 1u);
  CommandResult second = runEval();  // EVALSHA hits the cached script
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(second.reply().integer, 10) << "the script ran exactly once per call";
  EXPECT_EQ(client->stats().retries, retries);
  // Our SHA-1 names the script as the server does.
  EXPECT_EQ(cluster_->cli(0, {"SCRIPT", "LOAD", script}), sha1Hex(script));
}

TEST_F(RedisClusterTest, CloseRunsEveryPendingCallbackOnce) {
  TestLoop loop;
  ClientUnderTest client(loop, optionsFor(*cluster_));
  ASSERT_TRUE(client.waitHealthy());
  constexpr int kCount = 300;
  std::vector<int> calls(kCount, 0);
  int replies = 0, lost = 0, unavailable = 0, timeouts = 0;
  for (int i = 0; i < kCount; ++i) {
    std::string key = "close:" + std::to_string(i);
    client->command(key, {"INCR", key}, [&, i](CommandResult& r) {
      ++calls[i];
      if (r.ok()) {
        ++replies;
      } else if (r.failure() == Failure::kConnectionLost) {
        ++lost;
      } else if (r.failure() == Failure::kUnavailable) {
        ++unavailable;
      } else {
        ++timeouts;
      }
    });
  }
  client->close();  // before the loop wrote anything
  int after = 0;
  client->command("x", {"GET", "x"}, [&](CommandResult& r) {
    ++after;
    EXPECT_EQ(r.failure(), Failure::kUnavailable);
  });
  EXPECT_EQ(after, 1) << "after close() the callback runs at once";
  loop.runUntil([&] { return client->closed(); }, Millis(5000));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(calls[i], 1) << "request " << i;
  EXPECT_EQ(replies + lost + unavailable + timeouts, kCount);
  EXPECT_EQ(lost, kCount) << "written commands whose connection was dropped are unknown, not unavailable";
  client.shutdown();
  loop.finish();
}

TEST_F(RedisClusterTest, CloseFromACallbackCompletesTheRestOnce) {
  TestLoop loop;
  ClientUnderTest client(loop, optionsFor(*cluster_));
  ASSERT_TRUE(client.waitHealthy());
  constexpr int kCount = 200;
  std::vector<int> calls(kCount, 0);
  bool closedInside = false;
  for (int i = 0; i < kCount; ++i) {
    std::string key = "closecb:" + std::to_string(i);
    client->command(key, {"INCR", key}, [&, i](CommandResult&) {
      ++calls[i];
      if (!closedInside) {
        closedInside = true;
        client->close();
      }
    });
  }
  loop.runUntil([&] { return client->closed(); }, Millis(5000));
  EXPECT_TRUE(closedInside);
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(calls[i], 1) << "request " << i;
  client.shutdown();
  loop.finish();
}

TEST_F(RedisClusterTest, UnreachableSeedFailsClosed) {
  // A port nobody listens on (the cluster's bus ports are taken; this is a fresh one).
  TestLoop loop;
  ClusterOptions o;
  o.seeds = {"127.0.0.1:1"};
  o.deadlineMs = 500;
  ClientUnderTest client(loop, o);
  auto t0 = Clock::now();
  CommandResult r = client.exec("k", {"GET", "k"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failure(), Failure::kUnavailable);
  EXPECT_LT(msSince(t0), 400) << "fail fast, not at the deadline";
  EXPECT_FALSE(client->healthy());
}

// ── Faults: a cluster of their own ─────────────────────────────────────────────────────────

class RedisClusterFaultTest : public RedisClusterTest {};

ClusterOptions faultOptions(const RedisCluster& c) {
  ClusterOptions o = optionsFor(c);
  o.deadlineMs = 300;
  o.connectTimeoutMs = 200;
  o.backoffMinMs = 50;
  o.backoffMaxMs = 400;
  return o;
}

TEST_F(RedisClusterFaultTest, StoppedMasterTimesOutWithoutResending) {
  ASSERT_TRUE(cluster_->waitClusterOk());
  TestLoop loop;
  ClientUnderTest client(loop, faultOptions(*cluster_));
  ASSERT_TRUE(client.waitHealthy());
  std::vector<int> owners = cluster_->slotOwners();
  std::string counter = keyOn(owners, 2, "stop") + "n";
  std::string other = keyOn(owners, 0, "other") + "k";
  ASSERT_EQ(client.exec(counter, {"SET", counter, "0"}).reply().str, "OK");
  ASSERT_EQ(client.exec(other, {"SET", other, "v"}).reply().str, "OK");

  ASSERT_TRUE(cluster_->pause(2));
  auto t0 = Clock::now();
  CommandResult incr = client.exec(counter, {"INCR", counter});
  long long took = msSince(t0);
  EXPECT_FALSE(incr.ok()) << describe(incr);
  EXPECT_EQ(incr.failure(), Failure::kTimeout);
  EXPECT_GE(took, 250);
  EXPECT_LE(took, 700) << "the deadline bounds the wait";
  EXPECT_EQ(client->stats().timeouts, 1u);

  // Other masters keep serving.
  CommandResult get = client.exec(other, {"GET", other});
  ASSERT_TRUE(get.ok()) << describe(get);
  EXPECT_EQ(get.reply().str, "v");
  // The sick connection was dropped; reconnecting gets no answer to its handshake, so the
  // stopped master's commands are not even written: kUnavailable, within the deadline.
  for (int i = 0; i < 3; ++i) {
    t0 = Clock::now();
    CommandResult r = client.exec(counter, {"GET", counter});
    EXPECT_FALSE(r.ok()) << describe(r);
    if (!r.ok()) {
      EXPECT_EQ(r.failure(), Failure::kUnavailable) << failureName(r.failure());
    }
    EXPECT_LE(msSince(t0), 700);
  }
  EXPECT_EQ(client->stats().timeouts, 1u);
  ASSERT_TRUE(cluster_->resume(2));

  ASSERT_TRUE(client.waitHealthy(Millis(10000)));
  CommandResult value(Failure::kUnavailable);
  ASSERT_TRUE(loop.runUntil([&] {
    value = client.exec(counter, {"GET", counter});
    return value.ok();
  }, Millis(5000)));
  // The INCR whose outcome was unknown ran at most once: the client did not resend it.
  ASSERT_TRUE(value.reply().isString()) << describe(value);
  EXPECT_TRUE(value.reply().str == "0" || value.reply().str == "1") << value.reply().str;
}

TEST_F(RedisClusterFaultTest, KilledMasterFailsFastThenRecoversAfterRestart) {
  ASSERT_TRUE(cluster_->waitClusterOk());
  TestLoop loop;
  ClientUnderTest client(loop, faultOptions(*cluster_));
  ASSERT_TRUE(client.waitHealthy());
  std::vector<int> owners = cluster_->slotOwners();
  std::string victim = keyOn(owners, 1, "kill") + "n";
  std::string other = keyOn(owners, 0, "alive") + "k";
  ASSERT_EQ(client.exec(victim, {"SET", victim, "1"}).reply().str, "OK");

  ASSERT_TRUE(cluster_->kill(1));
  for (int i = 0; i < 10; ++i) {
    auto t0 = Clock::now();
    CommandResult r = client.exec(victim, {"GET", victim});
    EXPECT_FALSE(r.ok()) << describe(r);
    if (!r.ok()) {
      EXPECT_TRUE(r.failure() == Failure::kUnavailable || r.failure() == Failure::kConnectionLost)
          << failureName(r.failure());
    }
    EXPECT_LT(msSince(t0), 250) << "a dead master fails fast (closed), not at the deadline";
    CommandResult alive = client.exec(other, {"SET", other, "x"});
    EXPECT_TRUE(alive.ok() && alive.reply().str == "OK") << describe(alive);
    loop.runFor(Millis(20));
  }
  EXPECT_FALSE(client->healthy());

  ASSERT_TRUE(cluster_->restart(1)) << cluster_->failure();
  auto t0 = Clock::now();
  bool recovered = loop.runUntil([&] {
    CommandResult r = client.exec(victim, {"SET", victim, "2"});
    if (r.ok() && r.reply().str == "OK") return true;
    loop.runFor(Millis(50));
    return false;
  }, Millis(15000));
  EXPECT_TRUE(recovered) << "no recovery " << msSince(t0) << " ms after the restart";
  EXPECT_TRUE(client.waitHealthy(Millis(5000)));
  EXPECT_GE(client->stats().reconnects, 1u);
  ASSERT_TRUE(cluster_->waitClusterOk());
}

}  // namespace
}  // namespace handoff::store::redis
