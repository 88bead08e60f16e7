// A running handoffd node: the data directory, the listeners, the shards with their servers and
// routers, and the control loop (signals, reload, drain).
//
// The control thread (main) owns the Node. Per-shard state lives in ShardState objects created
// before the shards start and destroyed after they end; each is written only by its own shard,
// and read by /metrics on any shard through relaxed atomics.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "handoff/config/config.h"
#include "handoff/core/result.h"
#include "handoff/core/shard_set.h"
#include "handoff/http/router.h"
#include "handoff/http/stats.h"
#include "handoff/net/connection_limits.h"
#include "handoff/net/listener.h"
#include "handoff/net/proxy_handler.h"
#include "handoff/net/stream.h"
#include "handoff/oauth/jwt.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/tenant_admin.h"
#include "handoff/tls/service.h"
#include "handoff/tls/transport.h"

namespace handoff::admin {

struct ShardState {
  http::HttpStats http;
  net::ConnectionCounters connections;
  net::ProxyProtocolCounters proxyProtocol;             // rejections on PROXY protocol listeners
  std::unique_ptr<tls::ShardTls> tls;                   // snapshots and counters; null without TLS listeners
  http::Router router;                                  // built on the shard at start
  std::vector<std::unique_ptr<net::TcpServer>> servers;  // one per listener
  std::unique_ptr<oauth::Provider> provider;            // created before the shards start
  std::unique_ptr<store::SnapshotSource> snapshots;     // the store, as the log's snapshot source
  std::unique_ptr<store::Wal> wal;                      // the durable store's log; null: memory only
  std::unique_ptr<store::redis::ClusterClient> redis;   // the store on Redis Cluster; null: embedded
  std::atomic<bool> redisHealthy{true};                 // redis->healthy(), refreshed every 100 ms
  class Node* node = nullptr;
  unsigned id = 0;
};

class Node {
 public:
  explicit Node(config::Config config);
  ~Node();

  // Locks the data directory, binds every listener (printing "listening on HOST:PORT" for each),
  // then starts the shards. On error nothing is left running.
  core::Status start();

  // Serves until SIGTERM/SIGINT, reloading on SIGHUP; then drains (stop accepting, finish
  // in-flight requests) for at most drainTimeoutMs. Returns the process exit code.
  int run(int64_t drainTimeoutMs = 4500);

  // Signal-free parts of the same, for tests that run a Node in-process.
  void requestReload();
  bool drainAndStop(int64_t timeoutMs);

  const config::Config& config() const { return config_; }
  const std::string& issuer() const { return provider_.issuer; }
  const std::vector<net::ListenerGroup>& listeners() const { return listeners_; }
  unsigned shardCount() const { return shards_ ? shards_->size() : 0; }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  // On Redis: some shard's cluster client has a slot without a connected master.
  bool storeDegraded() const;

  // Prometheus text of every shard's counters, summed.
  std::string renderMetrics() const;

  // Functions run on SIGHUP (on the control thread). Other modules register their reloads here.
  void addReloadHook(std::function<void()> hook) { reloadHooks_.push_back(std::move(hook)); }

 private:
  void initShard(core::Shard& shard);
  void buildRoutes(http::Router& router, ShardState* st);
  void reloadKeys();
  // On Redis: the signing keys every node shares (the first node's, stored under kSharedKeysKey).
  core::Status shareKeys();
  static constexpr std::string_view kSharedKeysKey = "{handoff}:signing-keys";
  core::Status startTls();       // before the shards: the first certificates, or a refusal
  void initShardTls(core::Shard& shard);
  void renderTlsMetrics(std::string& out) const;
  void renderProxyProtocolMetrics(std::string& out) const;
  void renderOverloadMetrics(std::string& out) const;
  void setUpOverload(unsigned threads);
  void renderSessionTransferMetrics(std::string& out) const;
  void renderEventMetrics(std::string& out) const;
  void renderGeoMetrics(std::string& out) const;
  void renderStoreMetrics(std::string& out) const;
  core::Status recoverStore();

  config::Config config_;
  int lockFd_ = -1;
  std::vector<net::ListenerGroup> listeners_;
  std::vector<std::unique_ptr<ShardState>> states_;
  http::Router routeNames_;  // built on the control thread; read-only afterwards
  // Declared before the shards so that they outlive them (shards may still run callbacks into
  // them while they close).
  std::unique_ptr<events::EventLog> events_;    // the tenant log, shared by every shard
  std::unique_ptr<oauth::TenantAdmin> tenantAdmin_;  // the management API's tenant changes (shard 0)
  std::unique_ptr<geo::GeoService> geo_;        // the GeoIP databases and their reload
  std::unique_ptr<tls::TlsService> tls_;        // certificates and ticket keys; null without TLS listeners
  // Overload (README "Limits and overload"): shared by every shard.
  std::unique_ptr<net::ConnectionLimiter> connections_;
  std::unique_ptr<oauth::SharedRateLimiter> loginLimiter_;  // null: off
  std::unique_ptr<oauth::SharedRateLimiter> tokenLimiter_;  // null: off
  std::atomic<size_t> passwordChecks_{0};
  std::unique_ptr<core::ShardSet> shards_;
  std::vector<std::function<void()>> reloadHooks_;
  std::atomic<bool> draining_{false};
  std::atomic<unsigned> reloads_{0};
  std::atomic<int> walsDown_{0};
  std::shared_ptr<const oauth::KeySet> keys_;  // control thread's copy of the current snapshot
  oauth::ProviderShared provider_;              // immutable once the shards start
  std::vector<oauth::Provider*> providers_;     // by shard, for owner hops
};

}  // namespace handoff::admin
