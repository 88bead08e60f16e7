// GET/POST /userinfo (OIDC Core §5.3): the claims of the user an opaque access token was issued
// for, as its scope allows. The token comes in `Authorization: Bearer` (RFC 6750 §2.1); it is
// looked up on its owner shard. Every failure is 401 invalid_token with a WWW-Authenticate
// challenge (RFC 6750 §3), and never says more than that.
#include <algorithm>
#include <string>

#include "handoff/http/json.h"
#include "handoff/oauth/management_auth.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/token_response.h"

namespace handoff::oauth {
namespace {

void invalidToken(http::Response& res, bool tokenSent) {
  res.start(401);
  // Without any token RFC 6750 §3.1 wants a bare challenge; with a bad one, invalid_token.
  res.header("WWW-Authenticate",
             tokenSent ? "Bearer realm=\"handoff\", error=\"invalid_token\"" : "Bearer realm=\"handoff\"");
  res.header("Cache-Control", "no-store");
  res.header("Pragma", "no-cache");
  res.finish("application/json",
             tokenSent ? R"({"error":"invalid_token","error_description":"the access token is invalid or expired"})"
                       : R"({"error":"invalid_token","error_description":"an access token is required"})");
}

struct Found {
  bool ok = false;
  std::string userId;
  std::string scope;
};

// A JWT access token (issued for an API audience) is valid here when this issuer signed it, it
// has not expired, and its audience includes ISSUER/userinfo, as Auth0's are.
Found checkJwtAccessToken(const Provider& p, std::string_view token, core::Arena& arena) {
  Found f;
  std::string claimsText;
  if (!verifyJwt(p.keys(), token, claimsText)) return f;
  const http::JsonValue* claims = nullptr;
  if (http::parseJson(claimsText, arena, &claims) != http::JsonError::kNone || !claims->isObject()) return f;
  const std::string_view* iss = claims->findString("iss");
  const std::string_view* sub = claims->findString("sub");
  const http::JsonValue* exp = claims->find("exp");
  const http::JsonValue* aud = claims->find("aud");
  int64_t expires = 0;
  if (iss == nullptr || *iss != p.shared().issuer || sub == nullptr || exp == nullptr || !exp->asInt64(&expires) ||
      expires <= Provider::unixNow() || aud == nullptr) {
    return f;
  }
  std::string userinfoAudience = p.shared().issuer + "userinfo";
  bool audienceOk = aud->isString() && aud->text == userinfoAudience;
  for (const http::JsonValue& a : aud->array()) audienceOk = audienceOk || (a.isString() && a.text == userinfoAudience);
  if (!audienceOk) return f;
  const std::string_view* scope = claims->findString("scope");
  f = {true, std::string(*sub), scope ? std::string(*scope) : std::string()};
  return f;
}

void answerClaims(const Provider& p, http::Response& res, const Found& f);

}  // namespace

void Provider::serveUserinfo(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  std::string_view authorization = ex.request.header("authorization");
  std::string_view text = bearerToken(authorization);
  store::TokenId at;
  if (std::count(text.begin(), text.end(), '.') == 2) {
    return answerClaims(p, ex.response, checkJwtAccessToken(p, text, *ex.request.arena));
  }
  if (!store::decodeToken(text, store::TokenKind::kAccessToken, p.tokenShards(), &at)) {
    return invalidToken(ex.response, !authorization.empty());
  }
  http::Deferred d = ex.defer();
  if (p.redis()) {
    return p.redis()->findAccess(at, static_cast<uint64_t>(Provider::unixNowMs()),
                                 [&p, d = std::make_shared<http::Deferred>(std::move(d))](
                                     store::redis::Answer<std::optional<store::AccessRecord>> a) {
      if (!a.ok()) {
        return d->complete([](http::Response& res) { sendOAuthError(res, kStoreUnreachable, 1); });
      }
      Found f;
      if (a.value) f = {true, a.value->userId, a.value->scope};
      d->complete([&](http::Response& res) { answerClaims(p, res, f); });
    });
  }
  p.onOwner(
      at.shard,
      [key = at.key](Provider& owner) {
        Found f;
        if (const store::AccessRecord* a = owner.store().findAccess(key, owner.nowMs())) {
          f = {true, a->userId, a->scope};
        }
        return f;
      },
      [&p, d = std::move(d)](Found f) mutable { d.complete([&](http::Response& res) { answerClaims(p, res, f); }); });
}

namespace {

void answerClaims(const Provider& p, http::Response& res, const Found& f) {
  const User* user = f.ok ? p.tenant().userById(f.userId) : nullptr;
  if (user == nullptr || user->blocked) return invalidToken(res, true);
  std::string body;
  appendUserinfoClaims(body, *user, f.scope);
  res.start(200);
  res.header("Cache-Control", "no-store");
  res.header("Pragma", "no-cache");
  res.finish("application/json", body);
}

}  // namespace

}  // namespace handoff::oauth
