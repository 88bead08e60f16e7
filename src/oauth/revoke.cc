// POST /oauth/revoke (RFC 7009): a client revokes one of its own tokens. Refresh tokens revoke
// their whole family; opaque access tokens (at_) are revoked too. Client authentication is the
// token endpoint's. The answer is 200 with an empty body whether or not the token was known,
// valid or the client's (RFC 7009 §2.2): the endpoint tells nobody which tokens exist.
#include <string>

#include "handoff/oauth/client_auth.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/tenant_events.h"

namespace handoff::oauth {
namespace {

constexpr OAuthError kMissingToken{400, "invalid_request", "missing token"};

void revoked(http::Response& res) {
  res.start(200);
  res.header("Cache-Control", "no-store");
  res.header("Pragma", "no-cache");
  res.finish("", "");
}

}  // namespace

void Provider::serveRevoke(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  if (p.storeDown()) return sendOAuthError(ex.response, kStoreDown);
  if (auto ok = readBodyParams(ex.request, p.params_); !ok) return sendOAuthError(ex.response, ok.error());
  auto auth = authenticateClient(p.tenant(), ex.request.header("authorization"), p.params_);
  if (!auth) return sendOAuthError(ex.response, auth.error());
  std::string_view text = p.params_.get("token");
  if (text.empty()) return sendOAuthError(ex.response, kMissingToken);
  // token_type_hint is optional and only a hint (RFC 7009 §2.1): the prefix says what the token is.
  uint16_t shards = p.tokenShards();
  store::TokenId id;
  bool refresh = store::decodeToken(text, store::TokenKind::kRefreshToken, shards, &id);
  if (!refresh && !store::decodeToken(text, store::TokenKind::kAccessToken, shards, &id)) return revoked(ex.response);
  http::Deferred d = ex.defer();
  // What a refresh-token revocation set off, for the tenant log's `srrt`.
  struct Outcome {
    bool revoked = false;
    store::ShardStore::Cascade cascade;
  };
  auto logged = [&p, refresh, client = auth->client, snap = p.tenantPtr(), ip = p.clientIp(ex.request),
                 userAgent = std::string(ex.request.header("user-agent"))](const Outcome& o) {
    if (refresh && o.revoked) {
      events::Event e = clientEvent("srrt", client, ip, userAgent);
      e.description = "Successful refresh token revocation";
      e.detailsJson = Details()
                          .num("cascade_sessions", static_cast<int64_t>(o.cascade.sessions))
                          .num("cascade_refresh_token_families", static_cast<int64_t>(o.cascade.families))
                          .take();
      p.emit(std::move(e));
    }
  };
  if (p.redis()) {  // one script: the family and its whole cascade, on the user's slot
    auto dp = std::make_shared<http::Deferred>(std::move(d));
    auto fail = [dp] { dp->complete([](http::Response& res) { sendOAuthError(res, kStoreUnreachable, 1); }); };
    if (refresh) {
      return p.redis()->revokeRefresh(id, auth->client->id(), [dp, fail, logged](store::redis::Answer<store::redis::RedisStore::Revoked> a) {
        if (!a.ok()) return fail();
        logged(Outcome{a.value.revoked, a.value.cascade});
        dp->complete([](http::Response& res) { revoked(res); });
      });
    }
    return p.redis()->findAccess(id, static_cast<uint64_t>(Provider::unixNowMs()),
                                 [&p, dp, fail, id, clientId = auth->client->id()](store::redis::Answer<std::optional<store::AccessRecord>> a) {
      if (!a.ok()) return fail();
      if (!a.value || a.value->clientId != clientId) return dp->complete([](http::Response& res) { revoked(res); });
      p.redis()->revokeAccess(id, [dp, fail](store::redis::Answer<bool> r) {
        if (!r.ok()) return fail();
        dp->complete([](http::Response& res) { revoked(res); });
      });
    });
  }
  p.onOwner(
      id.shard,
      [key = id.key, refresh, clientId = auth->client->id()](Provider& owner) {
        Outcome out;
        if (refresh) {
          out.revoked = owner.store().revokeRefresh(key, clientId);
          if (out.revoked) out.cascade = owner.store().lastCascade();
          return out;
        }
        const store::AccessRecord* a = owner.store().findAccess(key, owner.nowMs());
        out.revoked = a != nullptr && a->clientId == clientId && owner.store().revokeAccess(key);
        return out;
      },
      [d = std::move(d), logged](Outcome o) mutable {
        logged(o);
        d.complete([](http::Response& res) { revoked(res); });
      });
}

}  // namespace handoff::oauth
