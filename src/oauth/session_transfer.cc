// Native to Web SSO: the STT mint (SPEC.md §2) and its redemption at /authorize (§3, §4).
#include "handoff/oauth/session_transfer.h"

#include <arpa/inet.h>

#include "handoff/core/log.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/pages.h"
#include "handoff/oauth/token_response.h"

namespace handoff::oauth {
namespace {

using store::SttOutcome;
using store::TokenKind;

constexpr OAuthError kUnknownService{403, "access_denied", "service not found"};
constexpr OAuthError kCannotMint{403, "unauthorized_client", "the client may not create session transfer tokens"};
constexpr OAuthError kInvalidRefresh{403, "invalid_grant", "unknown or invalid refresh token"};
constexpr OAuthError kNested{403, "invalid_grant",
                             "refresh tokens from a session transfer cannot create session transfer tokens"};
constexpr int64_t kSttLifetimeS = 60;
constexpr size_t kMaxUserAgent = 512;

// The client IP of a token request: the TCP peer, or `auth0-forwarded-for` for a client trusted
// to send it (is_token_endpoint_ip_header_trusted). Normalised: ::ffff:a.b.c.d → a.b.c.d.
std::string tokenRequestIp(const http::Request& req, const Client& client) {
  std::string_view forwarded = req.header("auth0-forwarded-for");
  if (client.config.isTokenEndpointIpHeaderTrusted && !forwarded.empty()) {
    std::string ip(forwarded);
    in6_addr a6;
    in_addr a4;
    if (inet_pton(AF_INET, ip.c_str(), &a4) == 1) return ip;
    if (inet_pton(AF_INET6, ip.c_str(), &a6) == 1) {
      if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        char buf[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, a6.s6_addr + 12, buf, sizeof buf);
        return buf;
      }
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, &a6, buf, sizeof buf);
      return buf;
    }
  }
  return req.peer != nullptr ? req.peer->normalized().ip() : std::string();
}

struct Minted {
  bool ok = false;
  OAuthError error;
  std::string stt;
  std::string rotated;
  std::string userId;
  std::string scope;
  std::string sid;
  int64_t authTime = 0;
};

}  // namespace

bool isSessionTransferAudience(std::string_view audience) {
  constexpr std::string_view kSuffix = ":session_transfer";
  return audience.size() > 4 + kSuffix.size() && audience.substr(0, 4) == "urn:" &&
         audience.substr(audience.size() - kSuffix.size()) == kSuffix;
}

void mintSessionTransfer(Provider& p, http::Exchange& ex, const Client& client, std::string_view refreshToken,
                         std::string_view audience) {
  // The audience names the host the request was sent to, which must be one of the tenant's.
  // Auth0.swift sends the URL's host without its port ("urn:127.0.0.1:session_transfer" for
  // Host 127.0.0.1:8080), so the host with its port dropped names it too.
  std::string_view host = ex.request.header("host");
  std::string_view audienceHost = audience.substr(4, audience.size() - 4 - std::string_view(":session_transfer").size());
  size_t colon = host.rfind(':');
  std::string_view hostName = colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos
                                  ? host.substr(0, colon) : host;
  bool named = http::equalsIgnoreCase(audienceHost, host) || http::equalsIgnoreCase(audienceHost, hostName);
  if (!named || !servesDomain(p.shared(), host)) {
    return sendOAuthError(ex.response, kUnknownService);
  }
  if (!client.config.sessionTransfer.canCreateSessionTransferToken) return sendOAuthError(ex.response, kCannotMint);
  store::TokenId rt;
  if (refreshToken.empty() ||
      !store::decodeToken(refreshToken, TokenKind::kRefreshToken, static_cast<uint16_t>(p.shared().shards->size()), &rt)) {
    return sendOAuthError(ex.response, kInvalidRefresh);
  }
  store::SttRecord rec;
  rec.ip = tokenRequestIp(ex.request, client);
  rec.userAgent = std::string(ex.request.header("user-agent").substr(0, kMaxUserAgent));
  rec.clientId = client.id();
  rec.cascade = client.config.sessionTransfer.enforceCascadeRevocation;
  rec.mintedAt = Provider::unixNow();

  http::Deferred d = ex.defer();
  p.onOwner(
      rt.shard,
      [rt, client = &client, rec = std::move(rec)](Provider& owner) mutable {
        Minted out;
        uint64_t now = owner.nowMs();
        const store::RefreshFamily* fam = owner.store().familyOf(rt.key);
        if (fam != nullptr && fam->clientId == client->id() && !fam->revoked && fam->bornFromSessionTransfer) {
          out.error = kNested;  // checked before the token is used: a refused mint rotates nothing
          return out;
        }
        auto rnd = owner.random16();
        uint64_t leewayMs = static_cast<uint64_t>(client->config.refreshToken.leeway) * 1000;
        auto use = owner.store().useRefresh(rt.key, client->id(), rnd, leewayMs, now);
        if (use.outcome != store::RefreshOutcome::kOk) {
          out.error = kInvalidRefresh;
          return out;
        }
        rec.userId = use.family.userId;
        rec.scope = use.family.scope;
        rec.authTime = use.family.authTime;
        rec.parentFamily = use.familyKey;
        auto sb = owner.random16();
        out.stt = store::encodeToken(owner.store().putStt(sb, std::move(rec), now));
        if (use.rotatedTo) out.rotated = store::encodeToken(*use.rotatedTo);
        out.ok = true;
        out.userId = use.family.userId;
        out.scope = use.family.scope;
        out.sid = use.family.sessionId;
        out.authTime = use.family.authTime;
        return out;
      },
      [&p, client = &client, d = std::move(d)](Minted m) mutable {
        d.complete([&](http::Response& res) {
          if (!m.ok) return sendOAuthError(res, m.error);
          std::string idToken;
          if (hasScope(m.scope, "openid")) {
            const User* user = p.shared().tenant->userById(m.userId);
            if (user == nullptr) return sendOAuthError(res, kInvalidRefresh);
            std::string claims;
            appendIdTokenClaims(claims, {.issuer = p.shared().issuer, .user = user, .clientId = client->id(),
                                         .scope = m.scope, .sid = m.sid, .authTime = m.authTime,
                                         .now = Provider::unixNow(), .ttl = p.shared().options.idTokenTtlS});
            if (auto st = signJwt(p.keys().current(), claims, idToken); !st) {
              return sendOAuthError(res, {500, "server_error", "cannot sign the ID token"});
            }
          }
          // SPEC.md §2: Auth0's response shape; Auth0.swift decodes id_token as required.
          std::string body = "{\"access_token\":";
          core::appendJsonString(body, m.stt);
          body.append(",\"issued_token_type\":");
          core::appendJsonString(body, kSttTokenType);
          body.append(",\"token_type\":\"N_A\",\"expires_in\":").append(std::to_string(kSttLifetimeS));
          if (!idToken.empty()) {
            body.append(",\"id_token\":");
            core::appendJsonString(body, idToken);
          }
          if (!m.rotated.empty()) {
            body.append(",\"refresh_token\":");
            core::appendJsonString(body, m.rotated);
          }
          body.push_back('}');
          res.start(200);
          res.header("Cache-Control", "no-store");
          res.header("Pragma", "no-cache");
          res.finish("application/json", body);
        });
      });
}

}  // namespace handoff::oauth
