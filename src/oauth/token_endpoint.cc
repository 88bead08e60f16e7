// POST /oauth/token: client authentication, then one small function per grant (RFC 6749 §4,
// Auth0's password-realm). Grants whose records live on another shard hop there once with
// Provider::onOwner; the owner decides single use and rotation; the answer (ID token signature
// included) is built back on the connection's shard.
#include <string>

#include "handoff/core/log.h"
#include "handoff/oauth/client_auth.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/management_auth.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/session_transfer.h"
#include "handoff/oauth/tenant_events.h"
#include "handoff/oauth/token_response.h"
#include "token_internal.h"

namespace handoff::oauth {
namespace grants {

using store::TokenKind;

Issued fromFamily(const store::RefreshFamily& f) {
  Issued out;
  out.ok = true;
  out.userId = f.userId;
  out.clientId = f.clientId;
  out.scope = f.scope;
  out.sid = f.sessionId;
  out.audience = f.audience;
  out.authTime = f.authTime;
  out.home = f.home;
  return out;
}

Issued fromCode(const store::CodeRecord& c, bool online) {
  Issued out;
  out.ok = true;
  out.userId = c.userId;
  out.clientId = c.clientId;
  out.scope = c.scope;
  out.sid = c.sessionId;
  out.nonce = c.nonce;
  out.audience = c.audience;
  out.authTime = c.authTime;
  out.bornFromSessionTransfer = c.bornFromSessionTransfer;
  out.online = online;
  out.home = c.home;
  return out;
}

GrantLog grantLog(const Provider& p, const http::Request& req, const Client& client, Grant grant) {
  GrantLog g{"sertft", "fertft", &client, p.clientIp(req), std::string(req.header("user-agent")), p.tenantPtr()};
  switch (grant) {
    case Grant::kAuthorizationCode: g.ok = "seacft", g.fail = "feacft"; break;
    case Grant::kPassword:
    case Grant::kPasswordRealm: g.ok = "sepft", g.fail = "fepft"; break;
    case Grant::kClientCredentials: g.ok = "seccft", g.fail = "feccft"; break;
    case Grant::kRefreshToken:
    case Grant::kTokenExchange: break;
  }
  return g;
}

// Emits the request's event: success when `error` is null.
void logGrant(Provider& p, const GrantLog& g, const OAuthError* error, std::string_view userId) {
  events::Event e = clientEvent(error == nullptr ? g.ok : g.fail, g.client, g.ip, g.userAgent);
  e.userId = std::string(userId);
  if (const User* u = userId.empty() ? nullptr : p.tenant().userById(userId)) e.userName = u->email;
  if (error != nullptr) {
    e.description = std::string(error->description);
    e.detailsJson = Details().str("error", error->error).take();
  }
  p.emit(std::move(e));
}

// A refusal decided before any hop: logged, then answered.
void refuse(Provider& p, http::Exchange& ex, const GrantLog& g, const OAuthError& error) {
  logGrant(p, g, &error, {});
  sendOAuthError(ex.response, error);
}

// Issues the opaque access token (unless an API audience makes it a JWT, signed later) and, for offline_access, a refresh-token family on `owner`.
void issueOnOwner(Provider& owner, const Client& client, Issued& out, bool withRefresh, uint64_t nowMs,
                  store::TokenKey* accessKey, store::TokenKey* familyKey) {
  if (out.audience.empty()) {
    auto ra = owner.random16();
    store::AccessRecord rec{.clientId = out.clientId, .userId = out.userId, .scope = out.scope, .home = out.home};
    store::TokenId at = owner.store().putAccess(ra, std::move(rec), nowMs);
    out.accessToken = store::encodeToken(at);
    if (accessKey) *accessKey = at.key;
  }
  if (withRefresh) {
    store::RefreshFamily fam;
    fam.clientId = out.clientId;
    fam.userId = out.userId;
    fam.scope = out.scope;
    fam.audience = out.audience;
    fam.sessionId = out.sid;
    fam.authTime = out.authTime;
    fam.rotating = client.config.refreshToken.rotationType == "rotating";
    fam.bornFromSessionTransfer = out.bornFromSessionTransfer;
    fam.online = out.online;
    fam.home = out.home;
    auto rf = owner.random16();
    store::TokenId rt = owner.store().issueRefresh(rf, std::move(fam), nowMs);
    out.refreshToken = store::encodeToken(rt);
    if (familyKey) *familyKey = rt.key;
  }
}

// Writes the token response for `g` (signing the ID token when openid was granted).
void writeTokens(Provider& p, http::Response& res, const Issued& g) {
  if (!g.ok) return sendOAuthError(res, g.error);
  std::string idToken;
  if (hasScope(g.scope, "openid")) {
    const User* user = p.tenant().userById(g.userId);
    if (user == nullptr) return sendOAuthError(res, kInvalidRefresh);  // the user was removed
    std::string claims;
    appendIdTokenClaims(claims, {.issuer = p.shared().issuer, .user = user, .clientId = g.clientId, .scope = g.scope,
                                 .nonce = g.nonce, .sid = g.sid, .authTime = g.authTime, .now = Provider::unixNow(),
                                 .ttl = p.shared().options.idTokenTtlS});
    if (auto st = signJwt(p.keys().current(), claims, idToken); !st) {
      core::logError("token: cannot sign the ID token", {{"error", st.error().message()}});
      return sendOAuthError(res, {500, "server_error", "cannot sign the ID token"});
    }
  }
  std::string accessJwt;
  if (!g.audience.empty()) {
    // Auth0: a JWT for the API, also valid at /userinfo when openid was granted.
    int64_t now = Provider::unixNow();
    std::string claims = "{\"iss\":";
    core::appendJsonString(claims, p.shared().issuer);
    claims.append(",\"sub\":");
    core::appendJsonString(claims, g.userId);
    claims.append(",\"aud\":[");
    core::appendJsonString(claims, g.audience);
    claims.push_back(',');
    core::appendJsonString(claims, p.shared().issuer + "userinfo");
    claims.append("],\"iat\":").append(std::to_string(now));
    claims.append(",\"exp\":").append(std::to_string(now + p.shared().options.accessTokenTtlS));
    claims.append(",\"scope\":");
    core::appendJsonString(claims, g.scope);
    claims.append(",\"azp\":");
    core::appendJsonString(claims, g.clientId);
    claims.push_back('}');
    if (auto st = signJwt(p.keys().current(), claims, accessJwt); !st) {
      return sendOAuthError(res, {500, "server_error", "cannot sign the access token"});
    }
  }
  std::string body;
  appendTokenResponse(body, {.accessToken = g.audience.empty() ? std::string_view(g.accessToken) : std::string_view(accessJwt),
                             .idToken = idToken, .refreshToken = g.refreshToken,
                             .scope = g.scope, .expiresIn = p.shared().options.accessTokenTtlS});
  res.start(200);
  res.header("Cache-Control", "no-store");
  res.header("Pragma", "no-cache");
  res.finish("application/json", body);
}

}  // namespace grants

namespace {

using namespace grants;
using store::TokenKind;

// Hops to `owner`, runs `op(ownerProvider) -> Issued` there, answers here.
template <class Op>
void issueVia(Provider& p, http::Exchange& ex, const GrantLog& log, unsigned owner, Op&& op) {
  http::Deferred d = ex.defer();
  p.onOwner(owner, std::forward<Op>(op), [&p, d = std::move(d), log](Issued g) mutable {
    logGrant(p, log, g.ok ? nullptr : &g.error, g.userId);
    d.complete([&p, &g](http::Response& res) { writeTokens(p, res, g); });
  });
}

void authorizationCodeGrant(Provider& p, http::Exchange& ex, const GrantLog& log, const Client& client,
                            const http::ParamList& in) {
  if (p.redis()) return redisAuthorizationCode(p, ex, log, client, in);
  std::string_view codeText = in.get("code");
  if (codeText.empty()) return refuse(p, ex, log, kMissingCode);
  store::TokenId code;
  if (!store::decodeToken(codeText, TokenKind::kCode, p.tokenShards(), &code)) {
    return refuse(p, ex, log, kInvalidCode);
  }
  issueVia(p, ex, log, code.shard,
           [code, client = &client, redirect = std::string(in.get("redirect_uri")),
            verifier = std::string(in.get("code_verifier"))](Provider& owner) {
             Issued out;
             uint64_t now = owner.nowMs();
             auto use = owner.store().redeemCode(code.key, now);
             const store::CodeRecord& c = use.record;
             if (use.outcome != store::CodeOutcome::kOk || c.clientId != client->id()) {
               out.error = kInvalidCode;
               return out;
             }
             if (c.redirectUri != redirect) {
               out.error = kRedirectMismatch;
               return out;
             }
             if (c.codeChallenge.empty() ? !verifier.empty()
                                         : verifier.empty() || !constantTimeEquals(sha256Base64Url(verifier), c.codeChallenge)) {
               out.error = c.codeChallenge.empty() ? kPkceDowngrade : kPkceFailed;
               return out;
             }
             out = fromCode(c, c.bornFromSessionTransfer && c.onlineRefreshTokens);
             bool refresh = hasScope(c.scope, "offline_access") && client->allowsGrant(Grant::kRefreshToken);
             store::TokenKey accessKey, familyKey;
             issueOnOwner(owner, *client, out, refresh, now, &accessKey, refresh ? &familyKey : nullptr);
             owner.store().attachIssued(code.key, &accessKey, refresh ? &familyKey : nullptr);
             return out;
           });
}

void refreshTokenGrant(Provider& p, http::Exchange& ex, const GrantLog& log, const Client& client,
                       const http::ParamList& in) {
  std::string_view text = in.get("refresh_token");
  if (text.empty()) return refuse(p, ex, log, kMissingRefresh);
  if (isSessionTransferAudience(in.get("audience"))) {
    return mintSessionTransfer(p, ex, client, text, in.get("audience"));
  }
  if (p.redis()) return redisRefresh(p, ex, log, client, text);
  store::TokenId rt;
  if (!store::decodeToken(text, TokenKind::kRefreshToken, p.tokenShards(), &rt)) {
    return refuse(p, ex, log, kInvalidRefresh);
  }
  issueVia(p, ex, log, rt.shard, [rt, client = &client](Provider& owner) {
    Issued out;
    uint64_t now = owner.nowMs();
    auto rnd = owner.random16();
    uint64_t leewayMs = static_cast<uint64_t>(client->config.refreshToken.leeway) * 1000;
    auto use = owner.store().useRefresh(rt.key, client->id(), rnd, leewayMs, now);
    if (use.outcome != store::RefreshOutcome::kOk) {
      if (use.outcome == store::RefreshOutcome::kReuse) {
        core::logWarn("token: refresh token reuse, family revoked", {{"client_id", client->id()}});
      }
      out.error = kInvalidRefresh;
      return out;
    }
    out = fromFamily(use.family);
    issueOnOwner(owner, *client, out, false, now, nullptr, nullptr);
    if (use.rotatedTo) out.refreshToken = store::encodeToken(*use.rotatedTo);
    return out;
  });
}

void passwordGrant(Provider& p, http::Exchange& ex, const GrantLog& log, const Client& client,
                   const http::ParamList& in) {
  std::string username(in.get("username")), password(in.get("password"));
  if (username.empty() || password.empty()) return refuse(p, ex, log, kMissingCredentials);
  std::string scope(in.get("scope"));
  if (!p.startPasswordCheck()) {
    logGrant(p, log, &kPasswordChecksBusy, {});
    return sendOAuthError(ex.response, kPasswordChecksBusy, 1);
  }
  http::Deferred d = ex.defer();
  std::shared_ptr<const Tenant> tenant = p.tenantPtr();
  core::Shard& shard = p.shared().shards->shard(p.shard());
  // ~40 ms of PBKDF2: on libuv's pool, never on the loop.
  shard.offload(
      [tenant, username = std::move(username), password = std::move(password)]() -> const User* {
        const User* u = tenant->userByEmail(username);
        return tenant->checkPassword(u, password) ? u : nullptr;
      },
      [&p, client = &client, scope = std::move(scope), d = std::move(d), log](const User* user) mutable {
        p.endPasswordCheck();
        Issued out;
        if (user == nullptr) {
          out.error = kWrongCredentials;
        } else if (user->blocked) {
          out.error = kBlocked;
        } else {
          out.ok = true;
          out.userId = user->userId;
          out.clientId = client->id();
          out.scope = scope.empty() ? "openid" : scope;
          out.authTime = Provider::unixNow();
          bool refresh = hasScope(out.scope, "offline_access") && client->allowsGrant(Grant::kRefreshToken);
          if (p.redis()) return redisIssue(p, std::move(d), log, *client, std::move(out), refresh);
          issueOnOwner(p, *client, out, refresh, p.nowMs(), nullptr, nullptr);
        }
        logGrant(p, log, out.ok ? nullptr : &out.error, out.userId);
        p.afterDurable([&p, d = std::move(d), out = std::move(out)]() mutable {
          d.complete([&p, &out](http::Response& res) { writeTokens(p, res, out); });
        });
      });
}

void clientCredentialsGrant(Provider& p, http::Exchange& ex, const GrantLog& log, const Client& client,
                            const http::ParamList& in) {
  std::string_view audience = in.get("audience");
  if (audience.empty()) return refuse(p, ex, log, kNoAudience);
  if (audience != p.shared().managementAudience) return refuse(p, ex, log, kUnknownAudience);
  int64_t now = Provider::unixNow();
  std::string claims = "{";
  claims.append("\"iss\":");
  core::appendJsonString(claims, p.shared().issuer);
  claims.append(",\"sub\":");
  core::appendJsonString(claims, client.id() + "@clients");
  claims.append(",\"aud\":");
  core::appendJsonString(claims, audience);
  claims.append(",\"iat\":").append(std::to_string(now));
  claims.append(",\"exp\":").append(std::to_string(now + p.shared().options.accessTokenTtlS));
  // No scope asked: every management API scope, as Auth0 grants an m2m client what its client
  // grant lists (its SDK's ManagementClient asks for none). Asking for fewer narrows the token.
  std::string_view scope = in.get("scope").empty() ? kManagementScopes : in.get("scope");
  claims.append(",\"scope\":");
  core::appendJsonString(claims, scope);
  claims.append(",\"gty\":\"client-credentials\",\"azp\":");
  core::appendJsonString(claims, client.id());
  claims.push_back('}');
  std::string jwt;
  if (auto st = signJwt(p.keys().current(), claims, jwt); !st) {
    return refuse(p, ex, log, {500, "server_error", "cannot sign the access token"});
  }
  logGrant(p, log, nullptr, {});
  std::string body;
  appendTokenResponse(body, {.accessToken = jwt, .scope = scope, .expiresIn = p.shared().options.accessTokenTtlS});
  ex.response.start(200);
  ex.response.header("Cache-Control", "no-store");
  ex.response.header("Pragma", "no-cache");
  ex.response.finish("application/json", body);
}

// RFC 8693's form of the mint (SPEC.md §2): a refresh token exchanged for a session transfer
// token. The only exchange we do; the client needs the refresh_token grant, as for the mint.
void tokenExchangeGrant(Provider& p, http::Exchange& ex, const Client& client, const http::ParamList& in) {
  constexpr OAuthError kMissing{400, "invalid_request", "missing subject_token or subject_token_type"};
  constexpr OAuthError kSubjectType{400, "invalid_request", "subject_token_type must be a refresh token"};
  constexpr OAuthError kRequestedType{400, "invalid_request",
                                      "requested_token_type must be the session transfer token type"};
  std::string_view subject = in.get("subject_token"), subjectType = in.get("subject_token_type");
  if (subject.empty() || subjectType.empty()) return sendOAuthError(ex.response, kMissing);
  if (subjectType != kRefreshTokenType) return sendOAuthError(ex.response, kSubjectType);
  if (in.get("requested_token_type") != kSttTokenType) return sendOAuthError(ex.response, kRequestedType);
  if (!client.allowsGrant(Grant::kRefreshToken)) return sendOAuthError(ex.response, kUnauthorizedGrant);
  std::string audience = "urn:" + std::string(ex.request.header("host")) + ":session_transfer";
  std::string_view asked = in.get("audience");
  mintSessionTransfer(p, ex, client, subject, asked.empty() ? std::string_view(audience) : asked);
}

// CORS, for code exchanges and refreshes made by JavaScript in a browser (auth0-spa-js): an
// Origin that a client of the tenant lists in web_origins or allowed_origins may read every
// answer (errors too), and its preflight is answered. Any other Origin gets no CORS header, so
// the browser keeps the answer from the page. Client authentication, PKCE and the rest are
// unchanged: CORS only decides what a page may read.
bool corsForToken(Provider& p, http::Exchange& ex) {
  std::string_view origin = ex.request.header("origin");
  bool allowed = p.tenant().allowsOrigin(origin);
  if (ex.request.method == http::Method::kOptions) {
    ex.response.start(200);  // not 204: the answer carries Content-Length: 0
    if (allowed) {
      ex.response.header("Access-Control-Allow-Origin", origin);
      ex.response.header("Access-Control-Allow-Methods", "POST");
      ex.response.header("Access-Control-Allow-Headers", "Content-Type, Auth0-Client, DPoP");
      ex.response.header("Access-Control-Max-Age", "600");
    }
    ex.response.header("Vary", "Origin");
    ex.response.finish({}, {});
    return true;
  }
  if (allowed) {
    ex.response.addStartHeader("Access-Control-Allow-Origin", origin);
    ex.response.addStartHeader("Vary", "Origin");
  }
  return false;
}

}  // namespace

void Provider::serveToken(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  if (corsForToken(p, ex)) return;  // a preflight
  // The rate limit first: a flood costs one table lookup per request, not a parse or a hop.
  if (!p.admitTokenRequest(ex)) return;
  if (p.storeDown()) return sendOAuthError(ex.response, kStoreDown);
  if (auto ok = readBodyParams(ex.request, p.params_); !ok) return sendOAuthError(ex.response, ok.error());
  auto auth = authenticateClient(p.tenant(), ex.request.header("authorization"), p.params_);
  if (!auth) return sendOAuthError(ex.response, auth.error());
  const Client& client = *auth->client;
  std::string_view grantType = p.params_.get("grant_type");
  if (grantType.empty()) return sendOAuthError(ex.response, kNoGrantType);
  std::optional<Grant> grant = parseGrant(grantType);
  if (!grant) return sendOAuthError(ex.response, kUnsupportedGrant);
  if (*grant == Grant::kTokenExchange) return tokenExchangeGrant(p, ex, client, p.params_);
  GrantLog log = grantLog(p, ex.request, client, *grant);
  if (!client.allowsGrant(*grant)) return refuse(p, ex, log, kUnauthorizedGrant);
  switch (*grant) {
    case Grant::kAuthorizationCode: return authorizationCodeGrant(p, ex, log, client, p.params_);
    case Grant::kRefreshToken: return refreshTokenGrant(p, ex, log, client, p.params_);
    case Grant::kPassword:
    case Grant::kPasswordRealm: return passwordGrant(p, ex, log, client, p.params_);
    case Grant::kClientCredentials: return clientCredentialsGrant(p, ex, log, client, p.params_);
    case Grant::kTokenExchange: break;
  }
  sendOAuthError(ex.response, kUnsupportedGrant);
}

}  // namespace handoff::oauth
