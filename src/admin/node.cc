#include "handoff/admin/node.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "handoff/core/log.h"
#include "handoff/core/signals.h"
#include "handoff/http/params.h"
#include "handoff/http/session.h"
#include "handoff/oauth/discovery.h"
#include "handoff/store/recovery.h"
#include "handoff/store/redis/shared_value.h"

namespace handoff::admin {

using core::Errc;
using core::Error;

namespace {

core::Status makeDirs(const std::string& path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        return Error(Errc::kIo, "cannot create data directory " + partial + ": " + std::strerror(errno));
      }
    }
  }
  return {};
}

// 503 while draining. On Redis, a node whose store is unreachable still serves what needs no
// store (discovery, JWKS, the pages) and refuses the rest with 503: it says "degraded" with 200,
// so that a load balancer does not take every node out when the cluster is what failed.
void healthz(void* ctx, http::Exchange& ex) {
  auto* node = static_cast<Node*>(ctx);
  bool draining = node->draining();
  ex.response.start(draining ? 503 : 200);
  ex.response.header("Cache-Control", "no-store");
  ex.response.finish("application/json", draining                 ? R"({"status":"draining"})"
                                         : node->storeDegraded()   ? R"({"status":"degraded","store":"unreachable"})"
                                                                   : R"({"status":"ok"})");
}

void metrics(void* ctx, http::Exchange& ex) {
  std::string body = static_cast<Node*>(ctx)->renderMetrics();
  ex.response.start(200);
  ex.response.header("Cache-Control", "no-store");
  ex.response.finish("text/plain; version=0.0.4", body);
}

// True when STTs can only ever be redeemed with an ASN: every client that accepts them binds by
// ASN (and at least one does). Then a mint for a caller without an ASN fails at once (503).
bool sttNeedsAsn(const config::Config& c) {
  bool any = false;
  for (const config::ClientConfig& cl : c.clients) {
    if (cl.sessionTransfer.allowedAuthenticationMethods.empty()) continue;
    if (cl.sessionTransfer.enforceDeviceBinding != "asn") return false;
    any = true;
  }
  return any;
}

// Milliseconds as decimal seconds without trailing zeros: 250 → "0.25", 60000 → "60".
std::string secondsText(uint64_t ms) {
  std::string out = std::to_string(ms / 1000);
  if (uint64_t frac = ms % 1000; frac != 0) {
    std::string f = std::to_string(1000 + frac).substr(1);
    f.erase(f.find_last_not_of('0') + 1);
    out.append(".").append(f);
  }
  return out;
}

// The hosts that name this tenant: its domain and custom domains, or on the demo tenant
// 127.0.0.1:PORT and localhost:PORT of the first listener (SPEC.md §8).
std::vector<std::string> tenantDomains(const config::Config& c, const net::SocketAddress& first) {
  std::vector<std::string> out;
  if (!c.tenant.domain.empty()) {
    out.push_back(c.tenant.domain);
    out.insert(out.end(), c.tenant.customDomains.begin(), c.tenant.customDomains.end());
    return out;
  }
  std::string port = std::to_string(first.port());
  out.push_back(first.toString());
  out.push_back("127.0.0.1:" + port);
  out.push_back("localhost:" + port);
  return out;
}

// A shard's store as its log's snapshot source: steps of the store's state, framed.
class StoreSnapshots final : public store::SnapshotSource {
 public:
  explicit StoreSnapshots(oauth::Provider& provider) : provider_(provider) {}
  void begin() override { provider_.store().beginSnapshot(); }
  bool step(std::string& out, size_t budget) override {
    return provider_.store().snapshotStep(provider_.nowMs(), budget, [&](store::RecordType t, std::string_view p) {
      store::Wal::frame(out, t, p);
    });
  }
  void abandon() override { provider_.store().abandonSnapshot(); }

 private:
  oauth::Provider& provider_;
};

}  // namespace

Node::Node(config::Config config) : config_(std::move(config)) {}

Node::~Node() {
  for (auto& g : listeners_) net::closeListenerGroup(g);
  if (lockFd_ >= 0) ::close(lockFd_);
}

core::Status Node::start() {
  if (auto st = makeDirs(config_.dataDir); !st) return st;
  std::string lockPath = config_.dataDir + "/LOCK";
  lockFd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lockFd_ < 0) return Error(Errc::kIo, "cannot open " + lockPath + ": " + std::strerror(errno));
  if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
    return Error(Errc::kUnavailable, "data directory " + config_.dataDir + " is in use by another handoffd");
  }

  auto alg = oauth::parseJwtAlg(config_.tenant.signingAlg);
  if (!alg) return Error(Errc::kInvalidArgument, "tenant.signing_alg: unsupported '" + config_.tenant.signingAlg + "'");
  auto keys = oauth::loadOrCreateKeys(config_.dataDir, *alg);
  if (!keys) return Error(keys.error().code(), "signing keys: " + keys.error().message());
  keys_ = std::move(keys).value();
  if (auto st = shareKeys(); !st) return st;
  auto tenant = oauth::Tenant::build(config_);
  if (!tenant) return Error(tenant.error().code(), "tenant: " + tenant.error().message());
  // The management API's changes, replayed over the file's tenant (memory only without a store).
  core::Result<std::unique_ptr<oauth::TenantAdmin>> admin = core::Error(core::Errc::kInternal, "");
  if (!config_.store.redisCluster.empty()) {
    // On Redis the tenant is the cluster's log: the first node seeds it with this file's clients
    // and users; every node replays it, whatever its own file says.
    auto log = store::redis::seedList(config_.store.redisCluster, oauth::TenantAdmin::kSharedLogKey,
                                      oauth::TenantAdmin::seedEntries(**tenant));
    if (!log) return Error(log.error().code(), "tenant: " + log.error().message());
    admin = oauth::TenantAdmin::openShared(std::move(tenant).value(), *log);
  } else {
    admin = oauth::TenantAdmin::open(std::move(tenant).value(),
                                     config_.store.durable ? config_.dataDir + "/tenant.journal" : std::string());
  }
  if (!admin) return Error(admin.error().code(), "tenant journal: " + admin.error().message());
  tenantAdmin_ = std::move(admin).value();

  unsigned threads = config_.threads != 0 ? config_.threads : std::max(1u, std::thread::hardware_concurrency());
  // TLS listeners first, then plain ones (the first listener names the demo tenant's issuer:
  // https when there is a TLS listener), then PROXY protocol ones.
  enum class Kind { kTls, kPlain, kProxy };
  for (Kind kind : {Kind::kTls, Kind::kPlain, Kind::kProxy}) {
    const std::vector<std::string>& specs =
        kind == Kind::kTls ? config_.listenTls : kind == Kind::kPlain ? config_.listen : config_.listenProxy;
    for (const std::string& spec : specs) {
      auto addr = net::SocketAddress::parse(spec);
      std::string flag = kind == Kind::kTls ? "--listen-tls " : kind == Kind::kPlain ? "--listen " : "--listen-proxy ";
      if (!addr) return Error(addr.error().code(), flag + spec + ": " + addr.error().message());
      auto group = net::openListenerGroup(*addr, threads);
      if (!group) return group.error();
      group->tls = kind == Kind::kTls;
      group->proxyProtocol = kind == Kind::kProxy;
      listeners_.push_back(std::move(group).value());
    }
  }
  if (auto st = startTls(); !st) return st;
  setUpOverload(threads);
  shards_ = std::make_unique<core::ShardSet>(threads);
  provider_.tenant = tenantAdmin_->current();
  provider_.tenantAdmin = tenantAdmin_.get();
  provider_.issuer =
      oauth::issuerFor(config_.tenant.domain, listeners_.front().bound.toString(), listeners_.front().tls);
  provider_.managementAudience = provider_.issuer + "api/v2/";
  provider_.issuerEncoded.clear();
  http::appendUrlEncoded(provider_.issuerEncoded, provider_.issuer);
  provider_.domains = tenantDomains(config_, listeners_.front().bound);
  provider_.policy = config_.policy;
  auto proxies = net::TrustedProxies::parse(config_.proxy.trusted);
  if (!proxies) return Error(Errc::kInvalidArgument, "proxy.trusted: not a list of IP addresses or CIDRs");
  provider_.proxies = std::move(*proxies);
  provider_.testClock = config_.testClock;
  events_ = std::make_unique<events::EventLog>(threads, config_.events.ringCapacity, config_.events.sink);
  if (!events_->sinkStatus()) return Error(Errc::kIo, "events.sink: " + events_->sinkStatus().error().message());
  provider_.events = events_.get();
  provider_.sttNeedsAsn = sttNeedsAsn(config_);
  provider_.walsDown = &walsDown_;
  geo_ = std::make_unique<geo::GeoService>(config_.geoAsn, config_.geoCountry);
  std::shared_ptr<const geo::Snapshot> geo = geo_->loadAtStart();
  provider_.shards = shards_.get();
  for (unsigned i = 0; i < threads; ++i) {
    auto st = std::make_unique<ShardState>();
    st->node = this;
    st->id = i;
    st->provider = std::make_unique<oauth::Provider>(provider_, i, providers_, keys_);
    st->redisHealthy.store(config_.store.redisCluster.empty());  // on Redis: degraded until connected
    st->provider->setGeo(geo);
    if (tls_) {
      st->tls = std::make_unique<tls::ShardTls>();
      st->tls->context = tls_->context();
      st->tls->tickets = tls_->tickets();
    }
    providers_.push_back(st->provider.get());
    states_.push_back(std::move(st));
  }
  tenantAdmin_->attach(shards_.get(), &providers_);
  if (auto st = recoverStore(); !st) return st;
  buildRoutes(routeNames_, states_[0].get());  // the same table every shard builds: names for /metrics
  oauth::DiscoveryInput din{provider_.issuer, oauth::jwtAlgName(keys_->current().alg()), {}};
  for (const http::Route& r : routeNames_.routes()) din.routes.push_back(r.path);
  provider_.discovery = oauth::buildDiscovery(din);
  addReloadHook([this] { reloadKeys(); });
  addReloadHook([this] { geo_->requestReload(); });
  if (tls_) {
    addReloadHook([this] {
      tls_->reload([this](std::shared_ptr<const tls::Context> ctx) {
        for (unsigned i = 0; i < shards_->size(); ++i) {
          shards_->post(i, [this, i, ctx] { states_[i]->tls->context = ctx; });
        }
      });
    });
  }
  // Announced only now: a start refused by anything above (a damaged store, a bad sink) never
  // said it was listening.
  for (const auto& g : listeners_) {
    std::printf("listening on %s\n", g.bound.toString().c_str());
  }
  std::fflush(stdout);
  // The pool writes and syncs every shard's log (at most a batch and a snapshot chunk each at a
  // time) and runs the password checks (at most max_password_checks): with that many threads no
  // log write waits for a pool thread behind a password hash (with no cap, 4 threads for them).
  size_t checks = config_.limits.maxPasswordChecks;
  core::startThreadPool(2 * threads + static_cast<unsigned>(checks == 0 ? 4 : std::min<size_t>(checks, 256)));
  shards_->start([this](core::Shard& s) { initShard(s); }, config_.pin);
  core::logInfo("handoffd started", {{"shards", threads},
                                     {"listeners", static_cast<unsigned>(listeners_.size())},
                                     {"tenant", config_.demo ? "demo" : config_.sourceFile},
                                     {"data_dir", config_.dataDir}});
  return {};
}

void Node::buildRoutes(http::Router& router, ShardState* st) {
  router.add({.path = "/healthz", .name = "healthz", .methods = http::kGet, .fn = healthz, .ctx = this});
  router.add({.path = "/metrics", .name = "metrics", .methods = http::kGet, .fn = metrics, .ctx = this});
  st->provider->addRoutes(router);
}

core::Status Node::shareKeys() {
  // On Redis every node signs with the same keys: the first node to start stores its set, the
  // others adopt it (and keep it in their keys.json too).
  if (config_.store.redisCluster.empty()) return {};
  std::string mine = oauth::formatKeys(*keys_);
  auto shared = store::redis::shareValue(config_.store.redisCluster, kSharedKeysKey, mine);
  if (!shared) return Error(shared.error().code(), "signing keys: " + shared.error().message());
  if (*shared == mine) return {};
  auto adopted = oauth::adoptKeys(config_.dataDir, *shared);
  if (!adopted) return Error(adopted.error().code(), "signing keys from Redis: " + adopted.error().message());
  keys_ = std::move(adopted).value();
  core::logInfo("signing keys: adopted the cluster's", {{"kid", keys_->current().kid()}});
  return {};
}

void Node::reloadKeys() {
  // keys.json may have been rotated by another process holding no lock of ours: re-read it and
  // hand every shard the new immutable snapshot; the old one dies with its last reader.
  auto alg = oauth::parseJwtAlg(config_.tenant.signingAlg);
  auto keys = oauth::loadOrCreateKeys(config_.dataDir, *alg);
  if (!keys) {
    core::logError("reload: signing keys kept as they were", {{"error", keys.error().message()}});
    return;
  }
  keys_ = std::move(keys).value();
  if (auto st = shareKeys(); !st) core::logError("reload: the cluster's signing keys", {{"error", st.error().message()}});
  core::logInfo("reload: signing keys", {{"kid", keys_->current().kid()},
                                         {"published", static_cast<unsigned>(keys_->entries().size())}});
  for (unsigned i = 0; i < shards_->size(); ++i) {
    shards_->post(i, [this, i, snapshot = keys_] { states_[i]->provider->setKeys(snapshot); });
  }
}

void Node::initShard(core::Shard& shard) {
  ShardState& st = *states_[shard.id()];
  buildRoutes(st.router, &st);
  oauth::Provider* provider = st.provider.get();
  shard.every(1000, [provider] { provider->store().reap(provider->nowMs()); });
  if (!config_.store.redisCluster.empty()) {
    store::redis::ClusterOptions co;
    co.seeds = config_.store.redisCluster;
    co.deadlineMs = config_.store.redisDeadlineMs;
    auto client = store::redis::ClusterClient::create(shard.loop(), co);
    if (!client) {  // the seeds were checked at start
      core::logError("store: cannot create the Redis Cluster client", {{"error", client.error().message()}});
      std::abort();
    }
    st.redis = std::move(client).value();
    st.redis->start();
    provider->setRedis(st.redis.get());
    if (shard.id() == 0) tenantAdmin_->shareThrough(st.redis.get(), shard);
    shard.every(100, [&st] { st.redisHealthy.store(st.redis->healthy(), std::memory_order_relaxed); });
  } else if (config_.store.durable) {
    store::WalOptions wo;
    wo.dir = store::shardDir(config_.dataDir + "/store", shard.id());
    wo.snapshotAfterBytes = config_.store.snapshotAfterMb << 20;
    wo.sync = config_.store.sync;
    wo.downCount = &walsDown_;
    st.snapshots = std::make_unique<StoreSnapshots>(*provider);
    auto wal = store::Wal::open(shard, wo, st.snapshots.get());
    if (!wal) {
      core::logError("store: cannot open the write-ahead log", {{"error", wal.error().message()}});
      std::abort();  // recovery has just written this directory: the disk is gone
    }
    st.wal = std::move(wal).value();
    provider->setWal(st.wal.get());
  }
  if (shard.id() == 0 && geo_->configured()) {
    // The GeoIP databases are watched from shard 0; a new snapshot is handed to every shard.
    geo_->watch(shard, [this](std::shared_ptr<const geo::Snapshot> snap) {
      for (unsigned i = 0; i < shards_->size(); ++i) {
        shards_->post(i, [this, i, snap] { states_[i]->provider->setGeo(snap); });
      }
    });
  }
  initShardTls(shard);
  for (auto& g : listeners_) {
    int fd = g.fds[shard.id()];
    g.fds[shard.id()] = -1;  // the loop owns it now
    net::HandlerFactory factory = http::sessionFactory(st.router, config_.limits, st.http);
    if (g.tls) factory = tls::transportFactory(std::move(factory), *st.tls);
    if (g.proxyProtocol) {
      factory = net::proxyProtocolFactory(std::move(factory), provider_.proxies, config_.limits.headerTimeoutMs,
                                          st.proxyProtocol);
    }
    // Connection caps: a PROXY listener counts the client the header names, not the proxy; a
    // TLS listener cannot answer in plain text and closes refused connections at once.
    net::Admission admission{.limiter = connections_.get(), .perIpAtAccept = !g.proxyProtocol, .answerRefusals = !g.tls};
    st.servers.push_back(
        std::make_unique<net::TcpServer>(shard.loop(), fd, std::move(factory), st.connections, admission));
  }
}

bool Node::storeDegraded() const {
  // Only the atomic flags are read: another shard may still be creating its client.
  if (config_.store.redisCluster.empty()) return false;
  for (const auto& st : states_) {
    if (!st->redisHealthy.load(std::memory_order_relaxed)) return true;
  }
  return false;
}

std::string Node::renderMetrics() const {
  std::string out;
  out.reserve(4096);
  const http::Router& routes = routeNames_;
  auto routeName = [&](size_t id) -> std::string_view {
    return id == 0 || id > routes.routes().size() ? std::string_view("none") : std::string_view(routes.routes()[id - 1].name);
  };
  out.append("# HELP handoff_http_requests_total HTTP requests answered, by route and status.\n"
             "# TYPE handoff_http_requests_total counter\n");
  for (size_t r = 0; r < http::HttpStats::kRouteSlots; ++r) {
    for (size_t s = 0; s < http::HttpStats::kStatuses.size(); ++s) {
      uint64_t sum = 0;
      for (const auto& st : states_) sum += st->http.requests(r, s);
      if (sum == 0) continue;
      int code = http::HttpStats::kStatuses[s];
      out.append("handoff_http_requests_total{route=\"").append(routeName(r)).append("\",status=\"");
      out.append(code == 0 ? "other" : std::to_string(code)).append("\"} ").append(std::to_string(sum)).append("\n");
    }
  }
  uint64_t parseErrors = 0, open = 0, accepted = 0;
  for (const auto& st : states_) {
    parseErrors += st->http.parseErrors();
    open += st->connections.open.load(std::memory_order_relaxed);
    accepted += st->connections.accepted.load(std::memory_order_relaxed);
  }
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t v) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
    out.append(name).append(" ").append(std::to_string(v)).append("\n");
  };
  metric("handoff_http_parse_errors_total", "counter", "Requests refused for malformed framing or limits.", parseErrors);
  metric("handoff_connections_open", "gauge", "Client connections open now.", open);
  metric("handoff_connections_accepted_total", "counter", "Client connections accepted.", accepted);
  metric("handoff_shards", "gauge", "Event-loop shards.", states_.size());
  metric("handoff_reloads_total", "counter", "Reloads requested (SIGHUP).", reloads_.load(std::memory_order_relaxed));
  renderOverloadMetrics(out);
  renderProxyProtocolMetrics(out);
  renderSessionTransferMetrics(out);
  renderEventMetrics(out);
  renderGeoMetrics(out);
  renderStoreMetrics(out);
  renderTlsMetrics(out);
  return out;
}

void Node::renderProxyProtocolMetrics(std::string& out) const {
  using Field = std::atomic<uint64_t> net::ProxyProtocolCounters::*;
  static constexpr std::pair<std::string_view, Field> kReasons[] = {
      {"untrusted_peer", &net::ProxyProtocolCounters::untrustedPeer},
      {"malformed", &net::ProxyProtocolCounters::malformed},
      {"timeout", &net::ProxyProtocolCounters::timeout},
  };
  out.append("# HELP handoff_proxy_protocol_rejected_total Connections on PROXY protocol listeners closed before "
             "their header was accepted, by reason.\n# TYPE handoff_proxy_protocol_rejected_total counter\n");
  for (const auto& [reason, field] : kReasons) {
    uint64_t v = 0;
    for (const auto& st : states_) v += (st->proxyProtocol.*field).load(std::memory_order_relaxed);
    out.append("handoff_proxy_protocol_rejected_total{reason=\"").append(reason).append("\"} ");
    out.append(std::to_string(v)).append("\n");
  }
}

void Node::renderSessionTransferMetrics(std::string& out) const {
  auto sum = [&](auto get) {
    uint64_t v = 0;
    for (const auto& st : states_) v += get(st->provider->sttStats());
    return v;
  };
  using Stats = oauth::SessionTransferStats;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" counter\n");
    out.append(name).append(" ").append(std::to_string(v)).append("\n");
  };
  counter("handoff_stt_minted_total", "Session transfer tokens minted.", sum([](const Stats& s) { return s.minted.get(); }));
  counter("handoff_stt_mint_refused_total", "Session transfer token mints refused.",
          sum([](const Stats& s) { return s.mintRefused.get(); }));
  counter("handoff_stt_redeemed_total", "Session transfer tokens that logged a browser in.",
          sum([](const Stats& s) { return s.redeemed.get(); }));
  out.append("# HELP handoff_stt_rejected_total Session transfer tokens presented and refused, by reason.\n"
             "# TYPE handoff_stt_rejected_total counter\n");
  for (size_t r = 0; r < oauth::kRedeemFailureCount; ++r) {
    out.append("handoff_stt_rejected_total{reason=\"")
        .append(oauth::redeemFailureCode(static_cast<oauth::RedeemFailure>(r)))
        .append("\"} ")
        .append(std::to_string(sum([r](const Stats& s) { return s.rejected[r].get(); })))
        .append("\n");
  }
  out.append("# HELP handoff_stt_redemption_age_seconds Time from a token's mint to its redemption.\n"
             "# TYPE handoff_stt_redemption_age_seconds histogram\n");
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= Stats::kAgeBucketsMs.size(); ++b) {
    cumulative += sum([b](const Stats& s) { return s.age[b].get(); });
    std::string le = b < Stats::kAgeBucketsMs.size() ? secondsText(Stats::kAgeBucketsMs[b]) : "+Inf";
    out.append("handoff_stt_redemption_age_seconds_bucket{le=\"").append(le).append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  uint64_t sumMs = sum([](const Stats& s) { return s.ageSumMs.get(); });
  out.append("handoff_stt_redemption_age_seconds_sum ").append(secondsText(sumMs)).append("\n");
  out.append("handoff_stt_redemption_age_seconds_count ").append(std::to_string(cumulative)).append("\n");
  counter("handoff_stt_born_sessions_total", "Browser sessions created from a session transfer token.",
          sum([](const Stats& s) { return s.bornSessions.get(); }));
  counter("handoff_cascades_total", "Cascade revocations that ended sessions born from a revoked refresh token.",
          [&] {
            uint64_t v = 0;
            for (const auto& st : states_) v += st->provider->store().cascades();
            return v;
          }());
}

void Node::renderEventMetrics(std::string& out) const {
  out.append("# HELP handoff_events_total Tenant log events, by type.\n# TYPE handoff_events_total counter\n");
  for (std::string_view type : events::kCountedTypes) {
    out.append("handoff_events_total{type=\"").append(type).append("\"} ");
    out.append(std::to_string(events_->emitted(type))).append("\n");
  }
  out.append("handoff_events_total{type=\"other\"} ").append(std::to_string(events_->emitted("other"))).append("\n");
  out.append("# HELP handoff_event_sink_errors_total Events the sink file could not take.\n"
             "# TYPE handoff_event_sink_errors_total counter\n");
  out.append("handoff_event_sink_errors_total ").append(std::to_string(events_->sinkErrors())).append("\n");
}

void Node::renderGeoMetrics(std::string& out) const {
  const geo::GeoService::Stats& g = geo_->stats();
  auto line = [&](const char* name, const char* type, const char* help, uint64_t v) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type);
    out.append("\n").append(name).append(" ").append(std::to_string(v)).append("\n");
  };
  line("handoff_geo_reloads_total", "counter", "GeoIP databases swapped in while serving.",
       g.reloads.load(std::memory_order_relaxed));
  line("handoff_geo_reloads_refused_total", "counter", "GeoIP database candidates refused (bad, truncated, older).",
       g.refused.load(std::memory_order_relaxed));
  line("handoff_geo_last_load_microseconds", "gauge", "Copy, open and validation time of the last database loaded.",
       g.lastLoadUs.load(std::memory_order_relaxed));
  line("handoff_geo_asn_build_epoch", "gauge", "build_epoch of the ASN database in service (0: none).",
       g.asnEpoch.load(std::memory_order_relaxed));
  line("handoff_geo_country_build_epoch", "gauge", "build_epoch of the country database in service (0: none).",
       g.countryEpoch.load(std::memory_order_relaxed));
}

core::Status Node::recoverStore() {
  if (!config_.store.redisCluster.empty()) {
    std::string seeds;
    for (const std::string& s : config_.store.redisCluster) seeds += (seeds.empty() ? "" : ",") + s;
    core::logInfo("store: Redis Cluster (the data directory keeps no tokens or sessions)", {{"seeds", seeds}});
    return {};
  }
  if (!config_.store.durable) {
    core::logWarn("store: memory only (store.durable = false): a restart loses every session and token");
    return {};
  }
  std::vector<store::ShardStore*> stores;
  for (const auto& st : states_) stores.push_back(&st->provider->store());
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t nowMs = static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
  auto rep = store::recoverStore(config_.dataDir + "/store", stores, nowMs);
  if (!rep) return Error(rep.error().code(), "store: " + rep.error().message());
  size_t records = 0;
  for (const store::ShardStore* s : stores) records += s->durableRecords();
  core::logInfo("store: recovered", {{"previous_shards", rep->previousShards},
                                     {"shards", static_cast<unsigned>(stores.size())},
                                     {"records", static_cast<unsigned long long>(records)},
                                     {"snapshot_records", static_cast<unsigned long long>(rep->snapshotRecords)},
                                     {"log_records", static_cast<unsigned long long>(rep->logRecords)},
                                     {"torn_bytes", static_cast<unsigned long long>(rep->tornBytes)},
                                     {"compacted_bytes", static_cast<unsigned long long>(rep->compactedBytes)},
                                     {"ms", static_cast<long long>(rep->elapsedMs)}});
  return {};
}

void Node::renderStoreMetrics(std::string& out) const {
  auto sum = [&](auto get) {
    uint64_t v = 0;
    for (const auto& st : states_) {
      if (st->wal) v += get(st->wal->stats());
    }
    return v;
  };
  auto line = [&](const char* name, const char* type, const char* help, uint64_t v) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type);
    out.append("\n").append(name).append(" ").append(std::to_string(v)).append("\n");
  };
  using S = store::WalStats;
  line("handoff_store_records_total", "counter", "Durable records appended to the write-ahead logs.",
       sum([](const S& s) { return s.records.load(std::memory_order_relaxed); }));
  line("handoff_store_group_commits_total", "counter", "Batches written and synced (one per loop turn with records).",
       sum([](const S& s) { return s.batches.load(std::memory_order_relaxed); }));
  line("handoff_store_bytes_total", "counter", "Bytes written to the write-ahead logs.",
       sum([](const S& s) { return s.bytes.load(std::memory_order_relaxed); }));
  line("handoff_store_write_failures_total", "counter", "Log writes that failed (disk full, I/O error) and were retried.",
       sum([](const S& s) { return s.failures.load(std::memory_order_relaxed); }));
  line("handoff_store_snapshots_total", "counter", "Snapshots written (the log compacted).",
       sum([](const S& s) { return s.snapshots.load(std::memory_order_relaxed); }));
  line("handoff_store_down", "gauge", "Shards whose log cannot write now (durable operations answer 503).",
       static_cast<uint64_t>(std::max(0, walsDown_.load(std::memory_order_relaxed))));
}

void Node::requestReload() {
  reloads_.fetch_add(1, std::memory_order_relaxed);
  core::logInfo("reload requested", {{"hooks", static_cast<unsigned>(reloadHooks_.size())}});
  for (auto& hook : reloadHooks_) hook();
}

bool Node::drainAndStop(int64_t timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  draining_.store(true, std::memory_order_relaxed);
  for (unsigned i = 0; i < shards_->size(); ++i) {
    shards_->post(i, [this, i] {
      ShardState& st = *states_[i];
      auto remaining = std::make_shared<size_t>(st.servers.size());
      core::Shard* shard = core::Shard::current();
      auto done = [remaining, shard, &st] {
        if (--*remaining != 0) return;
        if (st.wal) st.wal->close();
        if (st.redis) st.redis->close();
        shard->stop();
      };
      if (st.servers.empty()) {
        if (st.wal) st.wal->close();
        if (st.redis) st.redis->close();
        shard->stop();
      }
      for (auto& s : st.servers) s->drain(done);
    });
  }
  if (shards_->joinUntil(deadline)) return true;
  core::logWarn("drain deadline passed: closing remaining connections");
  for (unsigned i = 0; i < shards_->size(); ++i) {
    shards_->post(i, [this, i] {
      for (auto& s : states_[i]->servers) s->closeAll();
    });
  }
  return shards_->joinUntil(std::chrono::steady_clock::now() + std::chrono::milliseconds(400));
}

int Node::run(int64_t drainTimeoutMs) {
  for (;;) {
    core::ControlSignal sig = core::waitControlSignal(1000);
    if (sig == core::ControlSignal::kReload) requestReload();
    if (sig == core::ControlSignal::kTerminate) break;
  }
  core::logInfo("shutting down: draining connections");
  bool clean = drainAndStop(drainTimeoutMs);
  core::logInfo("stopped", {{"clean", clean}});
  return 0;
}

}  // namespace handoff::admin
