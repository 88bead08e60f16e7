// The OpenID provider on one shard: its routes, its store, and the way it reaches the records
// other shards own.
//
// ProviderShared is immutable and shared by every shard (tenant, issuer, discovery document).
// A Provider is thread-bound to its shard: it owns that shard's ShardStore, and touches another
// shard's store only inside onOwner(), which runs on that shard. Providers are created by the
// control thread before the shards start and handed their peers, so any shard can address any
// owner.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "handoff/config/config.h"
#include "handoff/core/shard_set.h"
#include "handoff/events/event_log.h"
#include "handoff/geo/geo_service.h"
#include "handoff/http/params.h"
#include "handoff/http/router.h"
#include "handoff/net/cidr.h"
#include "handoff/oauth/jwt.h"
#include "handoff/oauth/n2w_stats.h"
#include "handoff/oauth/oauth_error.h"
#include "handoff/oauth/rate_limit.h"
#include "handoff/oauth/tenant.h"
#include "handoff/store/shard_store.h"
#include "handoff/store/redis/redis_store.h"
#include "handoff/store/wal.h"

namespace handoff::oauth {

struct ProviderOptions {
  int64_t idTokenTtlS = 36000;       // Auth0's default: 10 h
  int64_t accessTokenTtlS = 86400;   // Auth0's default: 24 h
};

class TenantAdmin;

struct ProviderShared {
  std::shared_ptr<const Tenant> tenant;  // the tenant at start; each Provider holds the current one
  TenantAdmin* tenantAdmin = nullptr;    // the management API's changes (shard 0); null: read-only
  std::string issuer;                // "http://127.0.0.1:8080/"
  std::string managementAudience;    // issuer + "api/v2/"
  std::string issuerEncoded;         // the issuer percent-encoded: the `iss` of every redirect
  std::vector<std::string> domains;  // hosts that name this tenant (the STT audience's host)
  std::string discovery;             // built once the routes are known
  ProviderOptions options;
  config::PolicyConfig policy;       // [policy]: STT-born sessions
  net::TrustedProxies proxies;       // [proxy]: whose X-Forwarded-For names the client
  events::EventLog* events = nullptr;  // the tenant log; null: events are not kept
  bool testClock = false;            // --test-clock: POST /test/clock is served
  // Every web client that accepts STTs binds them by ASN: a mint whose caller has no ASN could
  // never be redeemed, so it fails at once with 503 (SPEC.md §2).
  bool sttNeedsAsn = false;
  const std::atomic<int>* walsDown = nullptr;  // shards whose log cannot write now (durable store)
  // Overload ([rate_limits], [limits] max_password_checks), shared by every shard; null limiter:
  // that limit is off.
  SharedRateLimiter* loginLimiter = nullptr;
  SharedRateLimiter* tokenLimiter = nullptr;
  std::atomic<size_t>* passwordChecks = nullptr;  // queued or running, all shards
  size_t maxPasswordChecks = 0;                   // 0: no cap
  core::ShardSet* shards = nullptr;
};

// Requests refused for overload, by this shard (relaxed load+store; summed by /metrics).
struct OverloadStats {
  Counter loginLimited;   // POST /u/login over its rate limit: 429
  Counter tokenLimited;   // POST /oauth/token over its rate limit: 429
  Counter passwordShed;   // a password check refused at max_password_checks: 503
};

// True if `host` (a Host header value, "name:port") is one of the tenant's domains.
bool servesDomain(const ProviderShared& shared, std::string_view host);

class Provider {
 public:
  Provider(const ProviderShared& shared, unsigned shard, std::vector<Provider*>& peers,
           std::shared_ptr<const KeySet> keys);

  // Adds every OAuth/OIDC route. Called once per shard, on that shard (and once on the control
  // thread for the route names).
  void addRoutes(http::Router& router);

  void setKeys(std::shared_ptr<const KeySet> keys) { keys_ = std::move(keys); }
  // This shard's tenant snapshot, swapped by the management API's broadcast (tenant_admin.h).
  // A Client or User pointer is valid while the snapshot is: an answer that crosses a hop or the
  // pool keeps tenantPtr() with it.
  const Tenant& tenant() const { return *tenant_; }
  const std::shared_ptr<const Tenant>& tenantPtr() const { return tenant_; }
  void setTenant(std::shared_ptr<const Tenant> tenant) { tenant_ = std::move(tenant); }
  const KeySet& keys() const { return *keys_; }
  store::ShardStore& store() { return store_; }
  const store::ShardStore& store() const { return store_; }
  const ProviderShared& shared() const { return shared_; }
  unsigned shard() const { return shard_; }

  // Runs fn(ownerProvider) on `owner`'s shard, then done(result) here — once this shard's log
  // is durable up to fn's records and every record before them, so that nothing is acknowledged
  // before it would survive a crash (a result may rest on a change another request logged and
  // that is not on disk yet: an idempotent revocation finding the family already revoked).
  template <class F, class D>
  void onOwner(unsigned owner, F&& fn, D&& done) {
    hop<false>(owner, std::forward<F>(fn), std::forward<D>(done));
  }

  // The same, except that done runs without waiting for the group commit in flight when fn
  // logged nothing. Only for steps whose result, when nothing was logged, can rest on no change
  // that is not yet durable except to refuse (a pending revocation or end, a consumed STT), or
  // leads to a step that logs and so waits: a token or cookie is handed out only once its record
  // is durable, so a step that merely finds one adds nothing to wait for. (The STT redemption and
  // SSO at /authorize: with waiting, each waited for a commit of other requests' records.)
  template <class F, class D>
  void onOwnerEager(unsigned owner, F&& fn, D&& done) {
    hop<true>(owner, std::forward<F>(fn), std::forward<D>(done));
  }

  // Records this shard has logged so far (0 without a log).
  uint64_t logged() const { return wal_ != nullptr ? wal_->appended() : 0; }

  // Runs fn() once this shard's logged records are durable (at once without a log).
  template <class F>
  void afterDurable(F&& fn) {
    if (wal_ != nullptr) wal_->whenDurable(std::forward<F>(fn));
    else fn();
  }
  void setWal(store::Wal* wal) {
    wal_ = wal;
    store_.setJournal(wal);
  }
  // True while some shard's log cannot write, or (Redis) while this shard's cluster client has
  // a slot without a connected master: durable operations answer 503 until it heals.
  bool storeDown() const {
    if (redisClient_ != nullptr) return !redisClient_->healthy();
    return shared_.walsDown != nullptr && shared_.walsDown->load(std::memory_order_relaxed) > 0;
  }

  // The store on Redis Cluster (docs/REDIS-STORE.md), when the node runs on one: every flow then
  // asks it instead of the shards' tables. Set on the shard before it serves.
  store::redis::RedisStore* redis() const { return redis_.get(); }
  void setRedis(store::redis::ClusterClient* client, store::StoreLimits limits = {}) {
    redisClient_ = client;
    redis_ = std::make_unique<store::redis::RedisStore>(*client, limits);
  }
  // The shard count tokens are decoded with: on Redis the number a token names is its home (the
  // user's slot) and is kept whole; embedded it names the owner shard, modulo the shard count.
  uint16_t tokenShards() const {
    return redis_ ? store::kMaxShards : static_cast<uint16_t>(shared_.shards->size());
  }

  // 16 fresh random bytes for a token key: taken from this shard's pool, which one call to the
  // CSPRNG refills 64 keys at a time (a call per token cost more than the key's whole record);
  // bytes handed out are wiped from the pool.
  std::array<uint8_t, 16> random16();
  // A session's public `sid`: 16 bytes of random16() in base64url (22 characters), as
  // randomToken(16) writes it, without a CSPRNG call of its own.
  std::string randomSid();

  // Monotonic milliseconds of this shard's loop, and wall-clock seconds for JWT claims. Both
  // include the test clock's offset (zero unless --test-clock moved it).
  uint64_t nowMs();
  static int64_t unixNow();
  static int64_t unixNowMs();  // the same in milliseconds

  // The request's client IP: the peer, or what a trusted proxy forwarded (SPEC.md §3).
  std::string clientIp(const http::Request& req) const;

  // The GeoIP answer for `ip` (a client IP of this request), remembered by the connection until
  // the database changes.
  geo::Answer geoOf(const http::Request& req, const std::string& ip);
  void setGeo(std::shared_ptr<const geo::Snapshot> snap) { geo_ = std::move(snap); }
  bool hasAsnDatabase() const { return geo_ && geo_->asn; }

  // Appends an event to the tenant log from this shard; the zero id when no log is kept.
  events::LogId emit(events::Event e);
  // Overload (overload.cc). Takes one of the process's password-check slots: false (counted)
  // when max_password_checks are already queued or running, and the caller answers 503. Every
  // true is paired with one endPasswordCheck() once the check has run.
  bool startPasswordCheck();
  void endPasswordCheck();
  // Spends one of the client IP's token-endpoint requests; false after answering 429.
  bool admitTokenRequest(http::Exchange& ex);
  const OverloadStats& overloadStats() const { return overload_; }

  SessionTransferStats& sttStats() { return sttStats_; }
  const SessionTransferStats& sttStats() const { return sttStats_; }

 private:
  static void serveDiscovery(void* self, http::Exchange& ex);
  static void serveJwks(void* self, http::Exchange& ex);
  static void serveToken(void* self, http::Exchange& ex);
  // Browser endpoints (authorize.cc, login.cc, logout.cc) and bearer / revocation endpoints
  // (userinfo.cc, revoke.cc).
  static void serveAuthorize(void* self, http::Exchange& ex);
  static void serveLogin(void* self, http::Exchange& ex);
  static void serveLogout(void* self, http::Exchange& ex);      // Auth0's /v2/logout
  static void serveOidcLogout(void* self, http::Exchange& ex);  // OIDC RP-initiated logout
  static void serveUserinfo(void* self, http::Exchange& ex);
  static void serveRevoke(void* self, http::Exchange& ex);
  static void serveLogs(void* self, http::Exchange& ex);       // GET /api/v2/logs
  static void serveTestClock(void* self, http::Exchange& ex);  // POST /test/clock (--test-clock)

  const ProviderShared& shared_;
  unsigned shard_;
  std::vector<Provider*>& peers_;
  std::shared_ptr<const KeySet> keys_;
  std::shared_ptr<const Tenant> tenant_;
  store::ShardStore store_;
  http::ParamList params_;  // reused per request
  OverloadStats overload_;
  SessionTransferStats sttStats_;
  std::shared_ptr<const geo::Snapshot> geo_;  // this shard's copy of the databases in service

  template <bool kEager, class F, class D>
  void hop(unsigned owner, F&& fn, D&& done) {
    assert(redis_ == nullptr && "on Redis every flow asks the RedisStore, never a shard's tables");
    if (owner == shard_) {
      uint64_t before = logged();
      auto result = fn(*this);
      if (kEager && logged() == before) return done(std::move(result));
      afterDurable([done = std::forward<D>(done), result = std::move(result)]() mutable { done(std::move(result)); });
      return;
    }
    std::vector<Provider*>* peers = &peers_;
    core::ShardSet* shards = shared_.shards;
    unsigned back = shard_;
    shards->post(owner, [peers, shards, owner, back, fn = std::forward<F>(fn), done = std::forward<D>(done)]() mutable {
      Provider& o = *(*peers)[owner];
      uint64_t before = o.logged();
      auto result = fn(o);
      auto reply = [shards, back, done = std::move(done), result = std::move(result)]() mutable {
        shards->post(back, [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
      };
      if (kEager && o.logged() == before) return reply();
      o.afterDurable(std::move(reply));
    });
  }

  store::Wal* wal_ = nullptr;                  // this shard's write-ahead log; null: memory only
  store::redis::ClusterClient* redisClient_ = nullptr;  // this shard's, on Redis; owned by the node
  std::unique_ptr<store::redis::RedisStore> redis_;
  std::array<uint8_t, 1024> randomPool_{};
  size_t randomUsed_ = sizeof randomPool_;     // all used: the first random16() fills the pool
};

// Reads the parameters of a token-endpoint style request: form (RFC 6749) or JSON (Auth0's SDKs)
// body. A duplicated or malformed parameter is invalid_request.
OAuthResult<bool> readBodyParams(const http::Request& req, http::ParamList& out);

}  // namespace handoff::oauth
