// GET /v2/logout (Auth0: client_id, returnTo) and GET/POST /oidc/logout (OpenID Connect
// RP-Initiated Logout 1.0: id_token_hint, client_id, post_logout_redirect_uri, state).
//
// Both end the browser session the cookie names, on its owner shard, and revoke the refresh-token
// families issued in it (online refresh tokens: SPEC.md §5, kept simple — every family born in
// the session goes); then they expire the cookie. The browser is sent on only to an exact entry of
// the client's allowed_logout_urls; otherwise it gets a "logged out" page. A request that is
// itself invalid (malformed, or an id_token_hint we did not sign) gets an error page and changes
// nothing.
#include <string>

#include "handoff/http/json.h"
#include "handoff/oauth/pages.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/tenant_events.h"

namespace handoff::oauth {
namespace {

void answer(http::Response& res, bool https, const std::string& location) {
  if (location.empty()) {
    startPage(res, 200);
    res.header("Set-Cookie", clearSessionCookie(https));
    return finishPage(res, "Logged out", "<h1>You are logged out</h1><p>You can close this window.</p>");
  }
  res.start(302);
  res.header("Location", location);
  res.header("Set-Cookie", clearSessionCookie(https));
  res.header("Cache-Control", "no-store");
  res.header("Referrer-Policy", "no-referrer");
  res.finish("", "");
}

// Ends the cookie's session (if any) on its owner shard, then answers: a redirect to `location`,
// or the page when it is empty.
void endSessionAndAnswer(Provider& p, http::Exchange& ex, std::string location, const Client* client) {
  if (p.storeDown()) return sendErrorPage(ex.response, 503, "temporarily_unavailable", kStoreDownPage);
  bool https = secureCookies(p.shared().issuer, ex.request);
  store::TokenId session;
  if (!store::decodeToken(findCookie(ex.request, kSessionCookie), store::TokenKind::kSession,
                          p.tokenShards(), &session)) {
    return answer(ex.response, https, location);
  }
  http::Deferred d = ex.defer();
  auto finish = [&p, https, location = std::move(location), client, snap = p.tenantPtr(), ip = p.clientIp(ex.request),
                 userAgent = std::string(ex.request.header("user-agent"))](http::Deferred& done,
                                                                          std::optional<store::SessionRecord> ended) {
        if (ended) {
          // The tenant log: `slo`, saying whether the session came from an STT.
          events::Event e = clientEvent("slo", client, ip, userAgent);
          e.description = "Successful logout";
          e.userId = ended->userId;
          if (const User* u = p.tenant().userById(ended->userId)) e.userName = u->email;
          e.detailsJson = Details()
                              .flag("session_born_from_session_transfer_token", ended->bornFromSessionTransfer)
                              .flag("return_to_allowed", !location.empty())
                              .take();
          p.emit(std::move(e));
        }
        done.complete([&](http::Response& res) { answer(res, https, location); });
  };
  if (p.redis()) {  // the session and its online families, in one script on the user's slot
    return p.redis()->endSession(session, [d = std::make_shared<http::Deferred>(std::move(d)), finish](
                                               store::redis::Answer<std::optional<store::SessionRecord>> a) mutable {
      if (!a.ok()) {
        return d->complete([](http::Response& res) { sendErrorPage(res, 503, "temporarily_unavailable", kStoreDownPage); });
      }
      finish(*d, std::move(a.value));
    });
  }
  p.onOwner(
      session.shard,
      [key = session.key](Provider& owner) {
        // Families are issued on the shard of their session (ARCHITECTURE.md), so they are here.
        return owner.store().endSession(key);
      },
      [d = std::move(d), finish](std::optional<store::SessionRecord> ended) mutable { finish(d, std::move(ended)); });
}

// `uri` with `state` appended as a query parameter (when there is one).
std::string withState(std::string_view uri, std::string_view state) {
  std::string out(uri);
  if (state.empty()) return out;
  char last = out.back();
  if (last != '?' && last != '&') out.push_back(out.find('?') == std::string::npos ? '?' : '&');
  out.append("state=");
  http::appendUrlEncoded(out, state);
  return out;
}

// The client an id_token_hint was issued to: the hint must be a JWT we signed (any of the
// published keys; an expired one is fine, OIDC allows it) for this issuer. Empty when invalid.
std::string hintAudience(const Provider& p, std::string_view hint, core::Arena& arena) {
  std::string claims;
  if (!verifyJwt(p.keys(), hint, claims)) return {};
  const http::JsonValue* v = nullptr;
  if (http::parseJson(claims, arena, &v, 8) != http::JsonError::kNone || !v->isObject()) return {};
  const std::string_view* iss = v->findString("iss");
  if (iss == nullptr || *iss != p.shared().issuer) return {};
  if (const std::string_view* aud = v->findString("aud")) return std::string(*aud);
  const http::JsonValue* aud = v->find("aud");
  if (aud != nullptr && aud->isArray() && aud->size == 1 && aud->array()[0].isString()) {
    return std::string(aud->array()[0].text);
  }
  return {};
}

}  // namespace

void Provider::serveLogout(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  if (http::decodeForm(ex.request.query, *ex.request.arena, p.params_) != http::DecodeStatus::kOk) {
    return sendErrorPage(ex.response, 400, "invalid_request", "The logout request is malformed.");
  }
  // Auth0 also honours tenant-wide allowed logout URLs without a client_id; this tenant has none.
  std::string location;
  std::string_view returnTo = p.params_.get("returnTo");
  const Client* client = p.tenant().client(p.params_.get("client_id"));
  if (!returnTo.empty() && client != nullptr && client->allowsLogoutUrl(returnTo)) location = returnTo;
  endSessionAndAnswer(p, ex, std::move(location), client);
}

void Provider::serveOidcLogout(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  const http::Request& req = ex.request;
  std::string_view source = req.query;
  if (req.method == http::Method::kPost) {
    if (!http::equalsIgnoreCase(req.mediaType(), "application/x-www-form-urlencoded")) {
      return sendErrorPage(ex.response, 400, "invalid_request", "The logout request is malformed.");
    }
    source = req.body;
  }
  if (http::decodeForm(source, *req.arena, p.params_) != http::DecodeStatus::kOk) {
    return sendErrorPage(ex.response, 400, "invalid_request", "The logout request is malformed.");
  }
  const http::ParamList& in = p.params_;
  std::string clientId(in.get("client_id"));
  if (in.has("id_token_hint")) {
    std::string aud = hintAudience(p, in.get("id_token_hint"), *req.arena);
    if (aud.empty()) return sendErrorPage(ex.response, 400, "invalid_request", "The id_token_hint is not valid.");
    if (!clientId.empty() && clientId != aud) {
      return sendErrorPage(ex.response, 400, "invalid_request", "client_id does not match the id_token_hint.");
    }
    clientId = std::move(aud);
  }
  std::string location;
  std::string_view redirect = in.get("post_logout_redirect_uri");
  const Client* client = p.tenant().client(clientId);
  if (!redirect.empty() && client != nullptr && client->allowsLogoutUrl(redirect)) {
    location = withState(redirect, in.get("state"));
  }
  endSessionAndAnswer(p, ex, std::move(location), client);
}

}  // namespace handoff::oauth
