// Redeeming a session transfer token at /authorize (SPEC.md §3): consume it on its owner shard
// (whatever the outcome), check transport, device binding and organization there, weigh it
// against the browser's existing session, and either issue a code — in a new session born from
// the STT on the STT's shard, or in the existing session of the same user — or fall back to the
// login page with a `w` event that says why.
#include "handoff/core/log.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/pages.h"
#include "handoff/oauth/session_transfer.h"
#include "handoff/oauth/token_response.h"

namespace handoff::oauth {
namespace {

using store::SttOutcome;
using store::TokenKind;

enum class Reason : uint8_t {
  kOk, kNotFound, kExpired, kAlreadyUsed, kParentRevoked, kTransport, kIpMismatch, kAsnMismatch,
  kOrganization, kUserMismatch,
};

std::string_view reasonCode(Reason r) {
  switch (r) {
    case Reason::kOk: return "ok";
    case Reason::kNotFound: return "not_found";
    case Reason::kExpired: return "expired";
    case Reason::kAlreadyUsed: return "already_used";
    case Reason::kParentRevoked: return "parent_revoked";
    case Reason::kTransport: return "transport_not_allowed";
    case Reason::kIpMismatch: return "ip_mismatch";
    case Reason::kAsnMismatch: return "asn_mismatch";
    case Reason::kOrganization: return "organization_mismatch";
    case Reason::kUserMismatch: return "user_mismatch";
  }
  return "not_found";
}

// Auth0's own warning texts (auth0-n2w-reference.md §7.2); the transport one is ours.
std::string_view auth0Description(Reason r) {
  switch (r) {
    case Reason::kIpMismatch:
    case Reason::kAsnMismatch:
      return "Single Sign-On failed: Session Transfer Token device binding validation failed due to IP/ASN mismatch.";
    case Reason::kOrganization: return "Single Sign-On failed: Session Transfer Token organization mismatch detected.";
    case Reason::kUserMismatch: return "Single Sign-On failed: Session Transfer Token user mismatch detected.";
    case Reason::kParentRevoked:
      return "Single Sign-On failed: Parent refresh token not found. Session Transfer Token won't be used for "
             "session establishment.";
    case Reason::kTransport:
      return "Single Sign-On failed: Session Transfer Token transport is not allowed for this application.";
    default:
      return "Single Sign-On failed: Session Transfer Token not found or expired. This may indicate token reuse or "
             "expiration.";
  }
}

// What the owner of the STT found.
struct Checked {
  Reason reason = Reason::kNotFound;
  store::SttRecord rec;
  uint64_t ageMs = 0;
};

std::string withoutOfflineAccess(std::string_view scope) {
  std::string out;
  while (!scope.empty()) {
    size_t sp = scope.find(' ');
    std::string_view item = scope.substr(0, sp);
    if (!item.empty() && item != "offline_access") {
      if (!out.empty()) out.push_back(' ');
      out.append(item);
    }
    if (sp == std::string_view::npos) break;
    scope.remove_prefix(sp + 1);
  }
  return out;
}

// State carried through the hops of one redemption.
struct Flow {
  RedeemRequest rq;
  const Client* web = nullptr;
  unsigned sttShard = 0;
  Checked checked;
  std::vector<http::Header> headers;  // Set-Cookie values to send with the answer
  std::vector<std::string> cookieStore;
};

void addCookie(Flow& f, std::string value) {
  f.cookieStore.push_back(std::move(value));
  f.headers.clear();
  for (const std::string& c : f.cookieStore) f.headers.push_back({"Set-Cookie", c});
}

// Every failure: a warning, then the login page (login_required with prompt=none); an existing
// session is kept unless the caller already ended it.
void fail(Provider& p, http::Deferred& d, Flow& f, Reason reason) {
  core::logInfo("w", {{"description", auth0Description(reason)},
                      {"reason", reasonCode(reason)},
                      {"client_id", f.web->id()},
                      {"minting_client_id", f.checked.rec.clientId},
                      {"mint_ip", f.checked.rec.ip},
                      {"redeem_ip", f.rq.ip},
                      {"age_ms", static_cast<unsigned long long>(f.checked.ageMs)}});
  d.complete([&](http::Response& res) {
    if (f.rq.promptNone) return respondError(p, res, f.rq.reply, kLoginRequired, f.headers);
    toLoginPage(res, f.rq.loginQuery, f.headers);
  });
}

void succeed(Provider& p, http::Deferred& d, Flow& f, const std::string& code) {
  core::logInfo("s", {{"client_id", f.web->id()}, {"user_id", f.checked.rec.userId},
                      {"triggered_by_session_transfer_token", true}});
  d.complete([&](http::Response& res) { respond(p, res, f.rq.reply, {{"code", code}}, f.headers); });
}

// No usable browser session: a new one, born from the STT, on the STT's shard, with the code.
void createBornSession(Provider& p, http::Deferred d, std::shared_ptr<Flow> f) {
  p.onOwner(
      f->sttShard,
      [f](Provider& owner) {
        std::pair<std::string, std::string> out;  // (session token, code)
        const store::SttRecord& rec = f->checked.rec;
        if (!owner.store().familyAlive(rec.parentFamily)) return out;  // revoked meanwhile
        uint64_t now = owner.nowMs();
        store::SessionRecord s;
        s.userId = rec.userId;
        s.sid = randomToken(16);
        s.authTime = rec.authTime;  // SPEC.md §3: auth_time of the parent grant
        s.bornFromSessionTransfer = true;
        s.parentFamily = rec.parentFamily;
        s.cascade = rec.cascade;
        std::string sid = s.sid;
        out.first = store::encodeToken(owner.store().putSession(owner.random16(), std::move(s), now));
        store::CodeRecord code = f->rq.code;
        code.userId = rec.userId;
        code.sessionId = sid;
        code.authTime = rec.authTime;
        code.bornFromSessionTransfer = true;
        code.onlineRefreshTokens = f->web->config.sessionTransfer.enforceOnlineRefreshTokens;
        // SPEC.md §4: no refresh token unless the web client allows it; the login still succeeds.
        if (!f->web->config.sessionTransfer.allowRefreshToken) code.scope = withoutOfflineAccess(code.scope);
        out.second = store::encodeToken(owner.store().putCode(owner.random16(), std::move(code), now));
        return out;
      },
      [&p, d = std::move(d), f](std::pair<std::string, std::string> made) mutable {
        if (made.second.empty()) return fail(p, d, *f, Reason::kParentRevoked);
        addCookie(*f, sessionCookie(made.first, isHttpsIssuer(p.shared().issuer), 7 * 24 * 3600));
        succeed(p, d, *f, made.second);
      });
}

enum class SessionCase : uint8_t { kNone, kSameUser, kOtherUser };

// SPEC.md §3 rows 2 and 3: the browser already has a session.
void weighExistingSession(Provider& p, http::Deferred d, std::shared_ptr<Flow> f) {
  store::TokenId session = *f->rq.session;
  p.onOwner(
      session.shard,
      [f, key = session.key](Provider& owner) {
        std::pair<SessionCase, std::string> out{SessionCase::kNone, {}};
        uint64_t now = owner.nowMs();
        const store::SessionRecord* s = owner.store().findSession(key, now);
        if (s == nullptr) return out;
        if (s->userId != f->checked.rec.userId) {
          owner.store().endSession(key);  // a valid STT of another user: the session is revoked
          out.first = SessionCase::kOtherUser;
          return out;
        }
        store::CodeRecord code = f->rq.code;  // same user: the session is reused as it is
        code.userId = s->userId;
        code.sessionId = s->sid;
        code.authTime = s->authTime;
        out.first = SessionCase::kSameUser;
        out.second = store::encodeToken(owner.store().putCode(owner.random16(), std::move(code), now));
        return out;
      },
      [&p, d = std::move(d), f](std::pair<SessionCase, std::string> r) mutable {
        switch (r.first) {
          case SessionCase::kNone: return createBornSession(p, std::move(d), f);
          case SessionCase::kSameUser: return succeed(p, d, *f, r.second);
          case SessionCase::kOtherUser:
            addCookie(*f, clearSessionCookie(isHttpsIssuer(p.shared().issuer)));
            return fail(p, d, *f, Reason::kUserMismatch);
        }
      });
}

}  // namespace

std::string withoutParam(std::string_view query, std::string_view name) {
  std::string out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::string_view key = pair.substr(0, pair.find('='));
    if (key == name) continue;
    if (!out.empty()) out.push_back('&');
    out.append(pair);
  }
  return out;
}

SttPresentation findSessionTransferToken(const http::Request& req, const http::ParamList& query, const Client& web) {
  SttPresentation out;
  std::string_view q = query.get(kSttParam);
  std::string_view cookie = findCookie(req, kSttCookie);
  if (cookie.empty()) cookie = findCookie(req, kSttCookieAlt);
  out.cookieSent = !cookie.empty();
  bool queryAllowed = false, cookieAllowed = false;
  for (const std::string& m : web.config.sessionTransfer.allowedAuthenticationMethods) {
    queryAllowed = queryAllowed || m == "query";
    cookieAllowed = cookieAllowed || m == "cookie";
  }
  if (!q.empty() && queryAllowed) {
    out = {std::string(q), std::string(cookie), true, true, out.cookieSent};
  } else if (!cookie.empty() && cookieAllowed) {
    out = {std::string(cookie), {}, true, true, true};
  } else if (!q.empty() || !cookie.empty()) {
    // Ignored for the session, but consumed all the same (SPEC.md §3) and logged.
    out = {std::string(q.empty() ? cookie : q), q.empty() ? std::string() : std::string(cookie), true, false,
           out.cookieSent};
  }
  return out;
}

void redeemSessionTransfer(Provider& p, http::Exchange& ex, const Client& web, RedeemRequest rq) {
  auto f = std::make_shared<Flow>();
  f->rq = std::move(rq);
  f->web = &web;
  if (f->rq.stt.cookieSent) {  // whichever name it came under, the browser drops it
    addCookie(*f, clearCookie(kSttCookie, isHttpsIssuer(p.shared().issuer)));
    addCookie(*f, clearCookie(kSttCookieAlt, isHttpsIssuer(p.shared().issuer)));
  }
  uint16_t shards = static_cast<uint16_t>(p.shared().shards->size());
  store::TokenId other;
  if (!f->rq.stt.otherCookie.empty() &&
      store::decodeToken(f->rq.stt.otherCookie, TokenKind::kSessionTransfer, shards, &other)) {
    p.onOwner(other.shard, [key = other.key](Provider& owner) { return owner.store().takeStt(key, owner.nowMs()).outcome; },
              [](SttOutcome) {});
  }
  http::Deferred d = ex.defer();
  store::TokenId id;
  if (!store::decodeToken(f->rq.stt.text, TokenKind::kSessionTransfer, shards, &id)) {
    return fail(p, d, *f, Reason::kNotFound);
  }
  f->sttShard = id.shard;
  p.onOwner(
      id.shard,
      [f, key = id.key](Provider& owner) {
        Checked c;
        uint64_t now = owner.nowMs();
        auto use = owner.store().takeStt(key, now);
        c.rec = std::move(use.record);
        c.ageMs = use.outcome == SttOutcome::kNotFound ? 0 : now - c.rec.mintedAtMs;
        const std::string& binding = f->web->config.sessionTransfer.enforceDeviceBinding;
        switch (use.outcome) {
          case SttOutcome::kNotFound: c.reason = Reason::kNotFound; break;
          case SttOutcome::kExpired: c.reason = Reason::kExpired; break;
          case SttOutcome::kAlreadyUsed: c.reason = Reason::kAlreadyUsed; break;
          case SttOutcome::kParentRevoked: c.reason = Reason::kParentRevoked; break;
          case SttOutcome::kOk:
            if (!f->rq.stt.allowed) c.reason = Reason::kTransport;
            else if (binding == "ip" && c.rec.ip != f->rq.ip) c.reason = Reason::kIpMismatch;
            // ASN binding needs both ASNs: a missing one fails closed (SPEC.md §3).
            else if (binding == "asn" && (c.rec.asn == 0 || f->rq.asn == 0 || c.rec.asn != f->rq.asn)) {
              c.reason = Reason::kAsnMismatch;
            }
            else if (c.rec.organization != f->rq.organization) c.reason = Reason::kOrganization;
            else c.reason = Reason::kOk;
            break;
        }
        return c;
      },
      [&p, d = std::move(d), f](Checked c) mutable {
        f->checked = std::move(c);
        if (f->checked.reason != Reason::kOk) return fail(p, d, *f, f->checked.reason);
        if (f->rq.session) return weighExistingSession(p, std::move(d), f);
        createBornSession(p, std::move(d), f);
      });
}

}  // namespace handoff::oauth
