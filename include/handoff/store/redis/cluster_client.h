// ClusterClient: a Redis Cluster client on one libuv loop (one per shard), speaking the cluster
// protocol (slot map from CLUSTER SLOTS, MOVED/ASK redirects) over hiredis' async API. hiredis
// stays behind this interface; replies come back as our own Reply.
//
// Thread-bound: construct, call and destroy on the loop's thread; callbacks run there too. The
// counters in stats() may be read from any thread (relaxed atomics). The process must ignore
// SIGPIPE (handoffd does, core/signals.cc): hiredis writes to sockets with write(2).
//
// Outcomes (docs/REDIS-CLIENT.md). Every command's callback runs exactly once, with either a
// Reply (an error reply from Redis is a Reply of type kError) or a Failure:
//   kUnavailable     the command was certainly NOT executed: no connection to the slot's owner
//                    (or it is backing off), slot not covered, cluster down past the deadline,
//                    too many redirects, or the client is closed. Safe to retry or to answer 503.
//   kTimeout         the deadline passed after the command may have been written: the outcome
//                    is UNKNOWN. The connection is considered sick and is dropped.
//   kConnectionLost  the command was written and the connection ended before its reply: the
//                    outcome is UNKNOWN.
// The client never resends a command whose outcome is unknown; it resends only after answers
// that prove the command did not run (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, NOSCRIPT for eval()).
// So a single-use consumption (GETDEL, a Lua check-and-delete) happens at most once.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/core/result.h"
#include "handoff/store/redis/reply.h"

namespace handoff::store::redis {

struct ClusterOptions {
  std::vector<std::string> seeds;    // "ip:port" or "[ipv6]:port"; numeric only (no DNS on the loop)
  uint32_t deadlineMs = 1000;        // per command, from command() to its callback
  uint32_t connectTimeoutMs = 500;   // TCP connect plus the handshake PING
  uint32_t backoffMinMs = 50;        // reconnect delay after a failure, doubled per failure
  uint32_t backoffMaxMs = 2000;      // with jitter, up to this
  uint32_t maxRedirects = 5;         // MOVED + ASK per command
  uint32_t retryDelayMs = 25;        // wait before resending after TRYAGAIN / CLUSTERDOWN
  uint32_t refreshMinIntervalMs = 100;  // at most one CLUSTER SLOTS per this interval
  uint32_t refreshIntervalMs = 10000;   // periodic CLUSTER SLOTS even without a reason
  uint32_t maxQueuedPerNode = 4096;  // commands waiting for a node's connection; beyond: kUnavailable
};

enum class Failure : uint8_t { kUnavailable, kTimeout, kConnectionLost };

std::string_view failureName(Failure f);
// True when a command that failed this way certainly did not run.
constexpr bool notExecuted(Failure f) { return f == Failure::kUnavailable; }

class CommandResult {
 public:
  CommandResult(Reply reply) : reply_(std::move(reply)) {}  // NOLINT: implicit by design
  CommandResult(Failure failure) : failure_(failure), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }  // a reply came (possibly an error reply)
  Reply& reply() { return reply_; }
  const Reply& reply() const { return reply_; }
  Failure failure() const { return failure_; }

 private:
  Reply reply_;
  Failure failure_ = Failure::kUnavailable;
  bool ok_ = true;
};

using Callback = std::function<void(CommandResult&)>;

// A Lua script with its SHA-1 computed once, for eval() on a hot path.
//
// `planned`: the script touches every key it will write or read before it writes any (the
// store's scripts run a read-only planning pass first: scripts.cc). Such a script is safe to send
// again after "non local key" — a key of its slot had left for another node during a migration,
// so it stopped before writing — and after ASK it waits for the migration's end instead of
// following to the target, where some of its keys may not have arrived. The client retries both
// within the deadline (kUnavailable after it: not executed).
struct Script {
  explicit Script(std::string source, bool plansFirst = false);
  std::string text;
  std::string sha;  // hex, as EVALSHA takes it
  bool planned = false;
};

struct ClusterStats {
  uint64_t commands = 0;        // command() and eval() calls
  uint64_t moved = 0;           // MOVED redirects followed
  uint64_t ask = 0;             // ASK redirects followed
  uint64_t retries = 0;         // resends after TRYAGAIN / CLUSTERDOWN / NOSCRIPT
  uint64_t timeouts = 0;        // kTimeout outcomes
  uint64_t connectionLost = 0;  // kConnectionLost outcomes
  uint64_t unavailable = 0;     // kUnavailable outcomes
  uint64_t connects = 0;        // connection attempts
  uint64_t reconnects = 0;      // connection attempts to a node that had been connected before
  uint64_t refreshes = 0;       // CLUSTER SLOTS requests sent
};

class ClusterClient {
 public:
  // Checks the options (at least one seed, numeric addresses, sane numbers). Connects nothing.
  static core::Result<std::unique_ptr<ClusterClient>> create(uv_loop_t* loop, ClusterOptions options);
  // Requires closed(): close() and then let the loop run until its handles are closed (for
  // instance until uv_run returns). Destroying an open client is a broken invariant (aborts).
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Connects to a seed and loads the slot map. Commands before the map is loaded fail with
  // kUnavailable (fail closed); healthy() tells when it is.
  void start();

  // Sends argv (binary-safe) to the master owning slotOf(routingKey). Multi-key commands pass
  // one of their keys: all keys must share a hash tag. The callback never runs inside this call
  // while the client is open (a fast failure is delivered on a later loop turn); after close()
  // it runs at once with kUnavailable.
  void command(std::string_view routingKey, std::span<const std::string_view> argv, Callback cb);
  void command(std::string_view routingKey, std::initializer_list<std::string_view> argv, Callback cb) {
    command(routingKey, std::span<const std::string_view>(argv.begin(), argv.size()), std::move(cb));
  }

  // EVALSHA sha1(script) numkeys keys... args..., routed by keys[0] (or "" without keys); on
  // NOSCRIPT (not executed) it is resent once as EVAL with the script text.
  void eval(std::string_view script, std::span<const std::string_view> keys,
            std::span<const std::string_view> args, Callback cb);

  // The same for a Script, which must outlive the command (a static, say): no hashing or copy
  // of the text per call.
  void eval(const Script& script, std::span<const std::string_view> keys, std::span<const std::string_view> args,
            Callback cb);

  // Every slot owned by a master with a ready connection, per a slot map loaded recently
  // (within three refresh intervals).
  bool healthy() const;

  ClusterStats stats() const;

  // Stops the timers, drops every connection and completes every pending command once (written
  // ones with kConnectionLost, the others with kUnavailable). Handles close on later loop turns;
  // closed() is true once they have. Idempotent. May be called from a callback.
  void close();
  bool closed() const;

  class Impl;  // src/store/redis/cluster_impl.h

 private:
  explicit ClusterClient(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace handoff::store::redis
