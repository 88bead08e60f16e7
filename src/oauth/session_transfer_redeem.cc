// Redeeming a session transfer token at /authorize (SPEC.md §3): consume it on its owner shard
// (whatever the outcome), check transport, device binding, organization and policy there, weigh
// it against the browser's existing session, and either issue a code — in a new session born
// from the STT on the STT's shard, or in the existing session of the same user — or fall back to
// the login page with a `w` event that says why.
#include "handoff/core/log.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/pages.h"
#include "handoff/oauth/session_transfer.h"
#include "handoff/oauth/tenant_events.h"
#include "handoff/oauth/token_response.h"

namespace handoff::oauth {
namespace {

using store::SttOutcome;
using store::TokenKind;

// What the owner of the STT found.
struct Checked {
  bool ok = false;
  RedeemFailure failure = RedeemFailure::kNotFound;
  bool known = false;  // the STT was found (its record below is real)
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
  std::shared_ptr<const Tenant> tenant;  // keeps `web` alive across the hops
  unsigned sttShard = 0;
  std::string sttHash;
  Checked checked;
  std::vector<http::Header> headers;  // Set-Cookie values to send with the answer
  std::vector<std::string> cookieStore;
  bool https = false;  // cookies carry Secure (pages.h secureCookies)
};

void addCookie(Flow& f, std::string value) {
  f.cookieStore.push_back(std::move(value));
  f.headers.clear();
  for (const std::string& c : f.cookieStore) f.headers.push_back({"Set-Cookie", c});
}

// The policy and binding checks, in the order their failures are reported.
std::optional<RedeemFailure> checkPresentation(const Provider& owner, const Flow& f, const store::SttRecord& rec) {
  const config::PolicyConfig& policy = owner.shared().policy;
  const std::string& binding = f.web->config.sessionTransfer.enforceDeviceBinding;
  if (!f.rq.stt.allowed) return RedeemFailure::kTransport;
  if (binding == "ip" && rec.ip != f.rq.ip) return RedeemFailure::kIpMismatch;
  // ASN binding needs both ASNs: a missing one fails closed (SPEC.md §3).
  if (binding == "asn" && (rec.asn == 0 || f.rq.asn == 0 || rec.asn != f.rq.asn)) return RedeemFailure::kAsnMismatch;
  if (rec.organization != f.rq.organization) return RedeemFailure::kOrganization;
  for (uint32_t denied : policy.denyAsns) {
    if (f.rq.asn != 0 && f.rq.asn == denied) return RedeemFailure::kAsnDenied;
  }
  // Only when both countries are known (a country database is configured).
  if (policy.denyCountryChange && !rec.country.empty() && !f.rq.country.empty() && rec.country != f.rq.country) {
    return RedeemFailure::kCountryChanged;
  }
  return std::nullopt;
}

// Every failure: a warning event, then the login page (login_required with prompt=none) that
// shows the event's id; an existing session is kept unless the caller already ended it.
void fail(Provider& p, http::Deferred& d, Flow& f, RedeemFailure failure) {
  const store::SttRecord& rec = f.checked.rec;
  p.sttStats().rejected[static_cast<size_t>(failure)].add();
  events::Event e = clientEvent("w", f.web, f.rq.ip, f.rq.userAgent);
  e.description = std::string(redeemFailureDescription(failure));
  Details details;
  details.str("reason", redeemFailureCode(failure)).str("session_transfer_token_hash", f.sttHash);
  details.str("redeem_ip", f.rq.ip).str("redeem_ip_family", ipFamily(f.rq.ip)).num("redeem_asn", f.rq.asn);
  details.str("device_binding", f.web->config.sessionTransfer.enforceDeviceBinding);
  if (f.checked.known) {
    e.userId = rec.userId;
    details.str("minting_client_id", rec.clientId).str("mint_ip", rec.ip).str("mint_ip_family", ipFamily(rec.ip));
    details.num("mint_asn", rec.asn).num("age_ms", static_cast<int64_t>(f.checked.ageMs));
  }
  e.detailsJson = details.take();
  events::LogId id = p.emit(std::move(e));
  std::string query = loginQuery(f.rq.query);
  if (id.ms != 0) query.append(query.empty() ? "" : "&").append(kSsoRefParam).append("=").append(events::formatLogId(id));
  d.complete([&](http::Response& res) {
    if (f.rq.promptNone) return respondError(p, res, f.rq.reply, kLoginRequired, f.headers);
    toLoginPage(res, query, f.headers);
  });
}

void succeed(Provider& p, http::Deferred& d, Flow& f, const std::string& code, bool bornSession) {
  p.sttStats().redeemed.add();
  p.sttStats().observeAge(f.checked.ageMs);
  events::Event e = clientEvent("s", f.web, f.rq.ip, f.rq.userAgent);
  e.description = "Successful login";
  e.userId = f.checked.rec.userId;
  if (const User* u = p.tenant().userById(e.userId)) e.userName = u->email;
  e.detailsJson = Details()
                      .flag("triggered_by_session_transfer_token", true)
                      .str("session_transfer_token_hash", f.sttHash)
                      .str("minting_client_id", f.checked.rec.clientId)
                      .flag("new_session", bornSession)
                      .num("age_ms", static_cast<int64_t>(f.checked.ageMs))
                      .take();
  p.emit(std::move(e));
  d.complete([&](http::Response& res) { respond(p, res, f.rq.reply, {{"code", code}}, f.headers); });
}

// The session an STT gives birth to, and its code (SPEC.md §3, §4).
store::SessionRecord bornSession(Provider& p, const store::SttRecord& rec) {
  const config::PolicyConfig& policy = p.shared().policy;
  store::SessionRecord s;
  s.userId = rec.userId;
  s.sid = p.randomSid();
  s.authTime = rec.authTime;  // SPEC.md §3: auth_time of the parent grant
  s.bornFromSessionTransfer = true;
  s.parentFamily = rec.parentFamily;
  s.cascade = rec.cascade;
  s.home = rec.home;
  s.absoluteCapMs = static_cast<uint64_t>(policy.sessionTransferMaxLifetimeS) * 1000;
  s.idleCapMs = static_cast<uint64_t>(policy.sessionTransferIdleTimeoutS) * 1000;
  return s;
}

store::CodeRecord bornCode(const Flow& f, const store::SttRecord& rec, const std::string& sid) {
  store::CodeRecord code = f.rq.code;
  code.userId = rec.userId;
  code.sessionId = sid;
  code.authTime = rec.authTime;
  code.bornFromSessionTransfer = true;
  code.home = rec.home;
  code.onlineRefreshTokens = f.web->config.sessionTransfer.enforceOnlineRefreshTokens;
  // SPEC.md §4: no refresh token unless the web client allows it; the login still succeeds.
  if (!f.web->config.sessionTransfer.allowRefreshToken) code.scope = withoutOfflineAccess(code.scope);
  return code;
}

void bornSucceeded(Provider& p, http::Deferred& d, Flow& f, const std::string& session, const std::string& code) {
  // The cookie lives as long as the session may: the policy's absolute cap when shorter.
  int64_t maxAgeS = static_cast<int64_t>(store::StoreLimits{}.sessionAbsoluteMs / 1000);
  int64_t cap = p.shared().policy.sessionTransferMaxLifetimeS;
  if (cap != 0 && cap < maxAgeS) maxAgeS = cap;
  addCookie(f, sessionCookie(session, f.https, maxAgeS));
  succeed(p, d, f, code, true);
}

// What taking the STT found, with the presentation checked when it was good.
Checked checkedUse(const Provider& p, const Flow& f, store::ShardStore::SttUse use, uint64_t now) {
  Checked c;
  c.known = use.outcome != SttOutcome::kNotFound;
  c.rec = std::move(use.record);
  c.ageMs = c.known && now > c.rec.mintedAtMs ? now - c.rec.mintedAtMs : 0;
  switch (use.outcome) {
    case SttOutcome::kNotFound: c.failure = RedeemFailure::kNotFound; break;
    case SttOutcome::kExpired: c.failure = RedeemFailure::kExpired; break;
    case SttOutcome::kAlreadyUsed: c.failure = RedeemFailure::kAlreadyUsed; break;
    case SttOutcome::kParentRevoked: c.failure = RedeemFailure::kParentRevoked; break;
    case SttOutcome::kOk: {
      auto failure = checkPresentation(p, f, c.rec);
      c.ok = !failure;
      if (failure) c.failure = *failure;
      break;
    }
  }
  return c;
}

// ── On Redis (docs/REDIS-STORE.md): the same steps, each one script on the user's slot. A store
// that cannot answer fails the redemption closed (503); the STT may have been spent.

uint64_t unixMs() { return static_cast<uint64_t>(Provider::unixNowMs()); }

void unreachable(http::Deferred& d) {
  d.complete([](http::Response& res) { sendErrorPage(res, 503, "temporarily_unavailable", kStoreDownPage); });
}

void redisBornSession(Provider& p, std::shared_ptr<http::Deferred> d, std::shared_ptr<Flow> f) {
  const store::SttRecord& rec = f->checked.rec;
  store::SessionRecord s = bornSession(p, rec);
  store::CodeRecord code = bornCode(*f, rec, s.sid);
  p.redis()->bornSession(s, p.random16(), code, p.random16(), unixMs(),
                         [&p, d, f](store::redis::Answer<store::redis::RedisStore::Born> a) {
    if (!a.ok()) return unreachable(*d);
    if (!a.value.ok) return fail(p, *d, *f, RedeemFailure::kParentRevoked);
    p.sttStats().bornSessions.add();
    bornSucceeded(p, *d, *f, store::encodeToken(a.value.session), store::encodeToken(a.value.code));
  });
}

void redisRedeem(Provider& p, http::Deferred dd, std::shared_ptr<Flow> f, const store::TokenId& stt) {
  auto d = std::make_shared<http::Deferred>(std::move(dd));
  uint64_t now = unixMs();
  p.redis()->takeStt(stt, now, [&p, d, f, now](store::redis::Answer<store::ShardStore::SttUse> a) {
    if (!a.ok()) return unreachable(*d);
    f->checked = checkedUse(p, *f, std::move(a.value), now);
    if (!f->checked.ok) return fail(p, *d, *f, f->checked.failure);
    if (!f->rq.session) return redisBornSession(p, d, f);
    using Sso = store::redis::RedisStore::Sso;
    p.redis()->ssoCode(*f->rq.session, f->checked.rec.userId, f->rq.code, p.random16(), unixMs(),
                       [&p, d, f](store::redis::Answer<store::redis::RedisStore::SsoResult> r) {
      if (!r.ok()) return unreachable(*d);
      switch (r.value.outcome) {
        case Sso::kNone: return redisBornSession(p, d, f);
        case Sso::kOk: return succeed(p, *d, *f, store::encodeToken(r.value.code), false);
        case Sso::kOtherUser:
          addCookie(*f, clearSessionCookie(f->https));
          return fail(p, *d, *f, RedeemFailure::kUserMismatch);
      }
    });
  });
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
        store::SessionRecord s = bornSession(owner, rec);
        std::string sid = s.sid;
        out.first = store::encodeToken(owner.store().putSession(owner.random16(), std::move(s), now));
        out.second = store::encodeToken(owner.store().putCode(owner.random16(), bornCode(*f, rec, sid), now));
        owner.sttStats().bornSessions.add();
        return out;
      },
      [&p, d = std::move(d), f](std::pair<std::string, std::string> made) mutable {
        if (made.second.empty()) return fail(p, d, *f, RedeemFailure::kParentRevoked);
        bornSucceeded(p, d, *f, made.first, made.second);
      });
}

enum class SessionCase : uint8_t { kNone, kSameUser, kOtherUser };

// SPEC.md §3 rows 2 and 3: the browser already has a session.
void weighExistingSession(Provider& p, http::Deferred d, std::shared_ptr<Flow> f) {
  store::TokenId session = *f->rq.session;
  p.onOwnerEager(
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
        code.home = s->home;
        out.first = SessionCase::kSameUser;
        out.second = store::encodeToken(owner.store().putCode(owner.random16(), std::move(code), now));
        return out;
      },
      [&p, d = std::move(d), f](std::pair<SessionCase, std::string> r) mutable {
        switch (r.first) {
          case SessionCase::kNone: return createBornSession(p, std::move(d), f);
          case SessionCase::kSameUser: return succeed(p, d, *f, r.second, false);
          case SessionCase::kOtherUser:
            addCookie(*f, clearSessionCookie(f->https));
            return fail(p, d, *f, RedeemFailure::kUserMismatch);
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
    out = {std::string(cookie), std::string(q), true, true, true};
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
  f->tenant = p.tenantPtr();
  f->sttHash = tokenHash(f->rq.stt.text);
  f->https = secureCookies(p.shared().issuer, ex.request);
  if (f->rq.stt.cookieSent) {  // whichever name it came under, the browser drops it
    addCookie(*f, clearCookie(kSttCookie, f->https));
    addCookie(*f, clearCookie(kSttCookieAlt, f->https));
  }
  uint16_t shards = p.tokenShards();
  store::TokenId other;
  if (!f->rq.stt.other.empty() && f->rq.stt.other != f->rq.stt.text &&
      store::decodeToken(f->rq.stt.other, TokenKind::kSessionTransfer, shards, &other)) {
    if (p.redis()) {
      p.redis()->takeStt(other, unixMs(), [](store::redis::Answer<store::ShardStore::SttUse>) {});
    } else {
      p.onOwnerEager(other.shard,
                     [key = other.key](Provider& owner) { return owner.store().takeStt(key, owner.nowMs()).outcome; },
                     [](SttOutcome) {});
    }
  }
  http::Deferred d = ex.defer();
  store::TokenId id;
  if (!store::decodeToken(f->rq.stt.text, TokenKind::kSessionTransfer, shards, &id)) {
    return fail(p, d, *f, RedeemFailure::kNotFound);
  }
  f->sttShard = id.shard;
  if (p.redis()) return redisRedeem(p, std::move(d), f, id);
  // Taking the STT logs nothing (STTs are memory-only): the answer waits only for the session
  // it creates, not also for the commit in flight when it was taken.
  p.onOwnerEager(
      id.shard,
      [f, key = id.key](Provider& owner) {
        uint64_t now = owner.nowMs();
        return checkedUse(owner, *f, owner.store().takeStt(key, now), now);
      },
      [&p, d = std::move(d), f](Checked c) mutable {
        f->checked = std::move(c);
        if (!f->checked.ok) return fail(p, d, *f, f->checked.failure);
        if (f->rq.session) return weighExistingSession(p, std::move(d), f);
        createBornSession(p, std::move(d), f);
      });
}

}  // namespace handoff::oauth
