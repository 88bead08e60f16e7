// The token endpoint's grants on the Redis store (docs/REDIS-STORE.md): each grant is one script
// on the slot of the user it concerns, called from the connection's shard; the answer is built
// there as on the embedded path (token_endpoint.cc). A store that cannot answer fails the request
// closed with 503 and Retry-After; nothing is resent (a code may have been spent: the user
// retries the login).
#include <memory>

#include "handoff/core/log.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/provider.h"
#include "token_internal.h"

namespace handoff::oauth::grants {

using store::TokenKind;
using store::redis::RedisStore;

namespace {

uint64_t nowMs() { return static_cast<uint64_t>(Provider::unixNowMs()); }

// The answer to a grant whose store call failed: logged as a failure, 503.
void unreachable(Provider& p, http::Deferred& d, const GrantLog& log) {
  logGrant(p, log, &kStoreUnreachable, {});
  d.complete([](http::Response& res) { sendOAuthError(res, kStoreUnreachable, 1); });
}

void answer(Provider& p, http::Deferred& d, const GrantLog& log, Issued& g) {
  logGrant(p, log, g.ok ? nullptr : &g.error, g.userId);
  d.complete([&p, &g](http::Response& res) { writeTokens(p, res, g); });
}

}  // namespace

void redisAuthorizationCode(Provider& p, http::Exchange& ex, const GrantLog& log, const Client& client,
                            const http::ParamList& in) {
  std::string_view codeText = in.get("code");
  if (codeText.empty()) return refuse(p, ex, log, kMissingCode);
  store::TokenId code;
  if (!store::decodeToken(codeText, TokenKind::kCode, p.tokenShards(), &code)) return refuse(p, ex, log, kInvalidCode);
  std::string_view verifier = in.get("code_verifier");
  RedisStore::ExchangeCheck check{.clientId = client.id(),
                                  .redirectUri = std::string(in.get("redirect_uri")),
                                  .verifierHash = verifier.empty() ? std::string() : sha256Base64Url(verifier),
                                  .refreshAllowed = client.allowsGrant(Grant::kRefreshToken),
                                  .rotating = client.config.refreshToken.rotationType == "rotating"};
  http::Deferred d = ex.defer();
  p.redis()->exchangeCode(code, check, p.random16(), p.random16(), nowMs(),
                          [&p, d = std::make_shared<http::Deferred>(std::move(d)), log](store::redis::Answer<RedisStore::Exchanged> a) mutable {
    if (!a.ok()) return unreachable(p, *d, log);
    const RedisStore::Exchanged& x = a.value;
    Issued g;
    switch (x.outcome) {
      case RedisStore::Exchange::kOk: break;
      case RedisStore::Exchange::kRedirectMismatch: g.error = kRedirectMismatch; break;
      case RedisStore::Exchange::kPkceFailed: g.error = kPkceFailed; break;
      case RedisStore::Exchange::kPkceDowngrade: g.error = kPkceDowngrade; break;
      case RedisStore::Exchange::kInvalid:
      case RedisStore::Exchange::kReplayed: g.error = kInvalidCode; break;
    }
    if (x.outcome == RedisStore::Exchange::kOk) {
      g = fromCode(x.code, x.online);
      if (x.access) g.accessToken = store::encodeToken(*x.access);
      if (x.family) g.refreshToken = store::encodeToken(*x.family);
    }
    answer(p, *d, log, g);
  });
}

void redisRefresh(Provider& p, http::Exchange& ex, const GrantLog& log, const Client& client, std::string_view token) {
  store::TokenId rt;
  if (!store::decodeToken(token, TokenKind::kRefreshToken, p.tokenShards(), &rt)) {
    return refuse(p, ex, log, kInvalidRefresh);
  }
  http::Deferred d = ex.defer();
  uint64_t leewayMs = static_cast<uint64_t>(client.config.refreshToken.leeway) * 1000;
  p.redis()->refreshGrant(rt, client.id(), p.random16(), leewayMs, p.random16(), nowMs(),
                          [&p, d = std::make_shared<http::Deferred>(std::move(d)), log](store::redis::Answer<RedisStore::Refreshed> a) mutable {
    if (!a.ok()) return unreachable(p, *d, log);
    const RedisStore::Refreshed& r = a.value;
    Issued g;
    if (r.outcome != store::RefreshOutcome::kOk) {
      if (r.outcome == store::RefreshOutcome::kReuse) {
        core::logWarn("token: refresh token reuse, family revoked", {{"client_id", log.client->id()}});
      }
      g.error = kInvalidRefresh;
      return answer(p, *d, log, g);
    }
    g = fromFamily(r.family);
    if (r.access) g.accessToken = store::encodeToken(*r.access);
    if (r.rotated) g.refreshToken = store::encodeToken(*r.rotated);
    answer(p, *d, log, g);
  });
}

void redisIssue(Provider& p, http::Deferred d, const GrantLog& log, const Client& client, Issued out, bool refresh) {
  std::optional<store::RefreshFamily> family;
  if (refresh) {
    family.emplace();
    family->clientId = out.clientId;
    family->userId = out.userId;
    family->scope = out.scope;
    family->audience = out.audience;
    family->sessionId = out.sid;
    family->authTime = out.authTime;
    family->rotating = client.config.refreshToken.rotationType == "rotating";
  }
  std::string clientId = out.clientId, userId = out.userId, scope = out.scope;
  p.redis()->issue(out.audience.empty(), clientId, userId, scope, family, p.random16(), p.random16(), nowMs(),
                   [&p, d = std::make_shared<http::Deferred>(std::move(d)), log, out = std::move(out)](store::redis::Answer<RedisStore::Issued> a) mutable {
    if (!a.ok()) return unreachable(p, *d, log);
    if (a.value.access) out.accessToken = store::encodeToken(*a.value.access);
    if (a.value.family) out.refreshToken = store::encodeToken(*a.value.family);
    answer(p, *d, log, out);
  });
}

}  // namespace handoff::oauth::grants
