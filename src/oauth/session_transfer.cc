// Native to Web SSO: the STT mint (SPEC.md §2) and its redemption at /authorize (§3, §4).
#include "handoff/oauth/session_transfer.h"

#include "handoff/core/log.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/pages.h"
#include "handoff/oauth/tenant_events.h"
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
constexpr OAuthError kDeniedNetwork{403, "access_denied", "session transfer is not allowed from this network"};
constexpr OAuthError kNoAsn{503, "temporarily_unavailable",
                            "the caller's network (ASN) cannot be determined, and device binding needs it"};
constexpr int64_t kSttLifetimeS = 60;
constexpr size_t kMaxUserAgent = 512;

// The client IP of a token request: the peer (or what a trusted proxy forwarded), unless the
// client is trusted to name its user's IP in `auth0-forwarded-for`
// (is_token_endpoint_ip_header_trusted: a backend calling on a user's behalf).
std::string tokenRequestIp(const Provider& p, const http::Request& req, const Client& client) {
  std::string_view forwarded = req.header("auth0-forwarded-for");
  if (client.config.isTokenEndpointIpHeaderTrusted && !forwarded.empty()) {
    if (auto ip = net::IpBytes::parse(forwarded)) return ip->toString();
  }
  return p.clientIp(req);
}

bool asnDenied(const Provider& p, uint32_t asn) {
  for (uint32_t denied : p.shared().policy.denyAsns) {
    if (asn != 0 && asn == denied) return true;
  }
  return false;
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

// The tenant log's record of a mint: sertft or fertft, with the audience asked for.
void logMint(Provider& p, const Client& client, const std::string& ip, const std::string& userAgent,
             std::string_view audience, const OAuthError* error, const std::string& userId, const std::string& stt,
             uint32_t asn, std::string_view country) {
  events::Event e = clientEvent(error == nullptr ? "sertft" : "fertft", &client, ip, userAgent);
  Details d;
  d.str("requested_audience", audience).str("ip_family", ipFamily(ip)).num("asn", asn);
  if (!country.empty()) d.str("country", country);
  if (error == nullptr) {
    e.description = "Successful exchange of a refresh token for a session transfer token";
    d.str("session_transfer_token_hash", tokenHash(stt));
    p.sttStats().minted.add();
  } else {
    e.description = std::string(error->description);
    d.str("error", error->error);
    p.sttStats().mintRefused.add();
  }
  e.userId = userId;
  if (const User* u = userId.empty() ? nullptr : p.tenant().userById(userId)) e.userName = u->email;
  e.detailsJson = d.take();
  p.emit(std::move(e));
}

}  // namespace

bool isSessionTransferAudience(std::string_view audience) {
  constexpr std::string_view kSuffix = ":session_transfer";
  return audience.size() > 4 + kSuffix.size() && audience.substr(0, 4) == "urn:" &&
         audience.substr(audience.size() - kSuffix.size()) == kSuffix;
}

void mintSessionTransfer(Provider& p, http::Exchange& ex, const Client& client, std::string_view refreshToken,
                         std::string_view audience) {
  std::string ip = tokenRequestIp(p, ex.request, client);
  std::string userAgent(ex.request.header("user-agent").substr(0, kMaxUserAgent));
  geo::Answer where;
  auto refuse = [&](const OAuthError& error) {
    logMint(p, client, ip, userAgent, audience, &error, {}, {}, where.asn, where.country);
    sendOAuthError(ex.response, error);
  };
  // The audience names the host the request was sent to, which must be one of the tenant's.
  // Auth0.swift sends the URL's host without its port ("urn:127.0.0.1:session_transfer" for
  // Host 127.0.0.1:8080), so the host with its port dropped names it too.
  std::string_view host = ex.request.header("host");
  std::string_view audienceHost = audience.substr(4, audience.size() - 4 - std::string_view(":session_transfer").size());
  size_t colon = host.rfind(':');
  std::string_view hostName = colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos
                                  ? host.substr(0, colon) : host;
  bool named = http::equalsIgnoreCase(audienceHost, host) || http::equalsIgnoreCase(audienceHost, hostName);
  if (!named || !servesDomain(p.shared(), host)) return refuse(kUnknownService);
  if (!client.config.sessionTransfer.canCreateSessionTransferToken) return refuse(kCannotMint);
  store::TokenId rt;
  if (refreshToken.empty() ||
      !store::decodeToken(refreshToken, TokenKind::kRefreshToken, p.tokenShards(), &rt)) {
    return refuse(kInvalidRefresh);
  }
  store::SttRecord rec;
  rec.ip = ip;
  rec.userAgent = userAgent;
  rec.clientId = client.id();
  rec.cascade = client.config.sessionTransfer.enforceCascadeRevocation;
  rec.mintedAt = Provider::unixNow();
  where = p.geoOf(ex.request, ip);
  rec.asn = where.asn;
  rec.country = where.country;
  if (rec.asn == 0 && p.shared().sttNeedsAsn) return refuse(kNoAsn);
  if (asnDenied(p, rec.asn)) return refuse(kDeniedNetwork);

  http::Deferred d = ex.defer();
  auto finish = [&p, client = &client, snap = p.tenantPtr(), ip = std::move(ip), userAgent = std::move(userAgent),
       audience = std::string(audience), asn = where.asn, country = where.country](http::Deferred& done, Minted m) {
        logMint(p, *client, ip, userAgent, audience, m.ok ? nullptr : &m.error, m.userId, m.stt, asn, country);
        done.complete([&](http::Response& res) {
          if (!m.ok) return sendOAuthError(res, m.error);
          std::string idToken;
          if (hasScope(m.scope, "openid")) {
            const User* user = p.tenant().userById(m.userId);
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
  };
  if (p.redis()) {  // no nesting, the refresh token used, the STT stored: one script on the user's slot
    return p.redis()->mintStt(rt, client.id(), p.random16(), static_cast<uint64_t>(client.config.refreshToken.leeway) * 1000,
                              rec, p.random16(), static_cast<uint64_t>(Provider::unixNowMs()),
                              [d = std::make_shared<http::Deferred>(std::move(d)), finish](
                                  store::redis::Answer<store::redis::RedisStore::Minted> a) mutable {
      if (!a.ok()) {
        return d->complete([](http::Response& res) { sendOAuthError(res, kStoreUnreachable, 1); });
      }
      using Mint = store::redis::RedisStore::Mint;
      Minted m;
      if (a.value.outcome == Mint::kNested) m.error = kNested;
      else if (a.value.outcome == Mint::kRefused) m.error = kInvalidRefresh;
      else {
        m.ok = true;
        m.stt = store::encodeToken(a.value.stt);
        if (a.value.rotated) m.rotated = store::encodeToken(*a.value.rotated);
        m.userId = a.value.userId;
        m.scope = a.value.scope;
        m.sid = a.value.sid;
        m.authTime = a.value.authTime;
      }
      finish(*d, std::move(m));
    });
  }
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
        rec.home = use.family.home;  // the STT, and all it leads to, lives with its parent family
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
      [d = std::move(d), finish](Minted m) mutable { finish(d, std::move(m)); });
}

}  // namespace handoff::oauth
