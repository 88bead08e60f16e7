#include "handoff/oauth/provider.h"

#include <atomic>
#include <cstring>
#include <ctime>

#include "handoff/core/base64.h"
#include "handoff/http/json.h"
#include "handoff/oauth/crypto.h"
#include "mgmt_sessions.h"

namespace handoff::oauth {

Provider::Provider(const ProviderShared& shared, unsigned shard, std::vector<Provider*>& peers,
                   std::shared_ptr<const KeySet> keys)
    : shared_(shared), shard_(shard), peers_(peers), keys_(std::move(keys)), tenant_(shared.tenant), store_(static_cast<uint16_t>(shard)) {}

bool servesDomain(const ProviderShared& shared, std::string_view host) {
  for (const std::string& d : shared.domains) {
    if (http::equalsIgnoreCase(d, host)) return true;
  }
  return false;
}

std::array<uint8_t, 16> Provider::random16() {
  if (randomUsed_ + 16 > randomPool_.size()) {
    randomBytes(randomPool_);
    randomUsed_ = 0;
  }
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), randomPool_.data() + randomUsed_, 16);
  std::memset(randomPool_.data() + randomUsed_, 0, 16);
  randomUsed_ += 16;
  return b;
}

std::string Provider::randomSid() {
  std::array<uint8_t, 16> b = random16();
  std::string out(core::base64UrlEncodedLength(b.size()), '\0');
  core::encodeBase64Url(b.data(), b.size(), out.data());
  return out;
}

namespace {
// How far --test-clock has moved the OAuth clock (milliseconds; only ever grows). Process-wide,
// so that every shard, and the static unixNow(), see the same time.
std::atomic<int64_t> g_clockOffsetMs{0};

// The loop's monotonic milliseconds turned into milliseconds since the epoch, once per process:
// records keep wall-clock times, so that they mean the same after a restart (the durable
// store), while the clock still never steps within a run.
uint64_t wallOffsetMs() {
  static const uint64_t offset = [] {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t wall = static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
    return wall - uv_hrtime() / 1'000'000;
  }();
  return offset;
}
}  // namespace

uint64_t Provider::nowMs() {
  return shared_.shards->shard(shard_).nowMs() + wallOffsetMs() +
         static_cast<uint64_t>(g_clockOffsetMs.load(std::memory_order_relaxed));
}

int64_t Provider::unixNow() {
  return static_cast<int64_t>(::time(nullptr)) + g_clockOffsetMs.load(std::memory_order_relaxed) / 1000;
}

int64_t Provider::unixNowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000 + g_clockOffsetMs.load(std::memory_order_relaxed);
}

std::string Provider::clientIp(const http::Request& req) const {
  std::string peer = req.peer != nullptr ? req.peer->normalized().ip() : std::string();
  if (shared_.proxies.empty()) return peer;
  return shared_.proxies.clientIp(peer, req.header("x-forwarded-for"));
}

geo::Answer Provider::geoOf(const http::Request& req, const std::string& ip) {
  uint64_t generation = geo_ ? geo_->generation : 0;
  http::ConnectionMemo* memo = req.memo;
  if (memo != nullptr && generation != 0 && memo->geoGeneration == generation && memo->geoIp == ip) {
    return {memo->asn, memo->country};
  }
  geo::Answer a;
  if (auto bytes = net::IpBytes::parse(ip)) a = geo::lookup(geo_.get(), *bytes);
  if (memo != nullptr && generation != 0) {
    memo->geoIp = ip;
    memo->geoGeneration = generation;
    memo->asn = a.asn;
    memo->country = a.country;
  }
  return a;
}

events::LogId Provider::emit(events::Event e) {
  if (shared_.events == nullptr) return {};
  return shared_.events->emit(shard_, std::move(e));
}

// POST /test/clock?advance_s=N (with --test-clock only, from loopback only): moves the clock of
// tokens, codes, sessions and JWT claims forward, so that expiry can be tested without waiting.
void Provider::serveTestClock(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  std::string ip = ex.request.peer != nullptr ? ex.request.peer->normalized().ip() : std::string();
  auto bytes = net::IpBytes::parse(ip);
  bool loopback = bytes && (bytes->v4 ? bytes->b[12] == 127 : ip == "::1");
  if (!loopback) return sendOAuthError(ex.response, {403, "access_denied", "the test clock is served to loopback only"});
  if (http::decodeForm(ex.request.query, *ex.request.arena, p.params_) != http::DecodeStatus::kOk) {
    return sendOAuthError(ex.response, {400, "invalid_request", "malformed query"});
  }
  std::string_view text = p.params_.get("advance_s");
  int64_t seconds = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || seconds > 10'000'000) {
      return sendOAuthError(ex.response, {400, "invalid_request", "advance_s must be a number of seconds"});
    }
    seconds = seconds * 10 + (c - '0');
  }
  if (text.empty()) return sendOAuthError(ex.response, {400, "invalid_request", "advance_s must be a number of seconds"});
  int64_t offset = g_clockOffsetMs.fetch_add(seconds * 1000, std::memory_order_relaxed) + seconds * 1000;
  ex.response.start(200);
  ex.response.header("Cache-Control", "no-store");
  ex.response.finish("application/json", "{\"offset_ms\":" + std::to_string(offset) + "}");
}

void Provider::addRoutes(http::Router& router) {
  router.add({.path = "/.well-known/openid-configuration", .name = "discovery", .methods = http::kGet,
              .fn = serveDiscovery, .ctx = this});
  router.add({.path = "/.well-known/jwks.json", .name = "jwks", .methods = http::kGet, .fn = serveJwks, .ctx = this});
  router.add({.path = "/oauth/token", .name = "token", .methods = http::kPost | http::kOptions, .fn = serveToken, .ctx = this,
              .maxBody = 16384});
  router.add({.path = "/authorize", .name = "authorize", .methods = http::kGet, .fn = serveAuthorize, .ctx = this});
  router.add({.path = "/u/login", .name = "login", .methods = http::kGet | http::kPost, .fn = serveLogin, .ctx = this,
              .maxBody = 16384});
  router.add({.path = "/v2/logout", .name = "logout", .methods = http::kGet, .fn = serveLogout, .ctx = this});
  router.add({.path = "/oidc/logout", .name = "oidc_logout", .methods = http::kGet | http::kPost,
              .fn = serveOidcLogout, .ctx = this, .maxBody = 16384});
  router.add({.path = "/userinfo", .name = "userinfo", .methods = http::kGet | http::kPost, .fn = serveUserinfo,
              .ctx = this, .maxBody = 4096});
  router.add({.path = "/oauth/revoke", .name = "revoke", .methods = http::kPost, .fn = serveRevoke, .ctx = this,
              .maxBody = 16384});
  router.add({.path = "/api/v2/logs", .name = "api_logs", .methods = http::kGet, .fn = serveLogs, .ctx = this});
  // The management API (mgmt_*.cc).
  constexpr size_t kApiBody = 65536;
  router.add({.path = "/api/v2/clients", .name = "api_clients", .methods = http::kGet | http::kPost,
              .fn = mgmt::serveClients, .ctx = this, .maxBody = kApiBody});
  router.add({.path = "/api/v2/clients/", .name = "api_client",
              .methods = http::kGet | http::kPost | http::kPatch | http::kDelete, .fn = mgmt::serveClient, .ctx = this,
              .maxBody = kApiBody, .prefix = true});
  router.add({.path = "/api/v2/users", .name = "api_users", .methods = http::kPost, .fn = mgmt::serveUsers,
              .ctx = this, .maxBody = kApiBody});
  router.add({.path = "/api/v2/users/", .name = "api_user", .methods = http::kGet | http::kPatch | http::kDelete,
              .fn = mgmt::serveUser, .ctx = this, .maxBody = kApiBody, .prefix = true});
  router.add({.path = "/api/v2/sessions/", .name = "api_sessions", .methods = http::kGet | http::kDelete,
              .fn = mgmt::serveSession, .ctx = this, .prefix = true});
  router.add({.path = "/api/v2/refresh-tokens/", .name = "api_refresh_tokens", .methods = http::kGet | http::kDelete,
              .fn = mgmt::serveRefreshToken, .ctx = this, .prefix = true});
  if (shared_.testClock) {
    router.add({.path = "/test/clock", .name = "test_clock", .methods = http::kPost, .fn = serveTestClock,
                .ctx = this});
  }
}

void Provider::serveDiscovery(void* self, http::Exchange& ex) {
  ex.response.start(200);
  ex.response.header("Cache-Control", "public, max-age=15");
  ex.response.header("Access-Control-Allow-Origin", "*");
  ex.response.finish("application/json", static_cast<Provider*>(self)->shared_.discovery);
}

void Provider::serveJwks(void* self, http::Exchange& ex) {
  ex.response.start(200);
  ex.response.header("Cache-Control", "public, max-age=15");
  ex.response.header("Access-Control-Allow-Origin", "*");
  ex.response.finish("application/json", static_cast<Provider*>(self)->keys_->jwks());
}

namespace {

constexpr OAuthError kBadContentType{400, "invalid_request",
                                     "the body must be application/x-www-form-urlencoded or application/json"};
constexpr OAuthError kMalformedBody{400, "invalid_request", "the request body is malformed"};
constexpr OAuthError kDuplicate{400, "invalid_request", "a parameter is repeated"};
constexpr OAuthError kNonString{400, "invalid_request", "every parameter must be a string"};

}  // namespace

OAuthResult<bool> readBodyParams(const http::Request& req, http::ParamList& out) {
  out.clear();
  std::string_view type = req.mediaType();
  if (http::equalsIgnoreCase(type, "application/x-www-form-urlencoded")) {
    switch (http::decodeForm(req.body, *req.arena, out)) {
      case http::DecodeStatus::kOk: return true;
      case http::DecodeStatus::kDuplicate: return kDuplicate;
      default: return kMalformedBody;
    }
  }
  if (http::equalsIgnoreCase(type, "application/json")) {
    const http::JsonValue* v = nullptr;
    http::JsonError e = http::parseJson(req.body, *req.arena, &v, 8);
    if (e == http::JsonError::kDuplicateKey) return kDuplicate;
    if (e != http::JsonError::kNone || !v->isObject()) return kMalformedBody;
    for (const http::JsonMember& m : v->object()) {
      if (m.value.isNull()) continue;  // SDKs send null for absent optional fields
      if (!m.value.isString()) return kNonString;
      out.add({m.key, m.value.text});
    }
    return true;
  }
  return kBadContentType;
}

}  // namespace handoff::oauth
