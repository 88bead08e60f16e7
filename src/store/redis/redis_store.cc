// RedisStore: records to and from hash fields, and each operation as one script call.
#include "handoff/store/redis/redis_store.h"

#include <charconv>
#include <cstring>
#include <unordered_map>

#include "handoff/core/base64.h"
#include "handoff/core/log.h"
#include "handoff/store/redis/scripts.h"
#include "handoff/store/wire.h"

namespace handoff::store::redis {
namespace {

using Fields = std::vector<std::string>;
using Map = std::unordered_map<std::string, std::string>;

std::string num(uint64_t v) { return std::to_string(v); }
std::string snum(int64_t v) { return std::to_string(v); }
std::string flag(bool v) { return v ? "1" : "0"; }

uint64_t toU64(const std::string& s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}
int64_t toI64(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

void add(Fields& f, std::string_view name, std::string value) {
  f.emplace_back(name);
  f.push_back(std::move(value));
}

// Field/value pairs from `elements[from…]` of a reply.
Map toMap(const Reply& r, size_t from = 0) {
  Map m;
  for (size_t i = from; i + 1 < r.elements.size(); i += 2) m[r.elements[i].str] = r.elements[i + 1].str;
  return m;
}
const std::string& get(const Map& m, const char* name) {
  static const std::string kEmpty;
  auto it = m.find(name);
  return it == m.end() ? kEmpty : it->second;
}

bool keyFromId(const std::string& id, TokenKey& key) {
  uint8_t raw[16];
  if (id.size() != 22 || !core::decodeBase64Url(id, raw)) return false;
  std::memcpy(&key.lo, raw, 8);
  std::memcpy(&key.hi, raw + 8, 8);
  return true;
}

TokenId idOf(TokenKind kind, uint16_t home, Random16 random) { return makeTokenId(kind, home, random); }

// The code's fields (exp, used included), as the scripts read them.
Fields codeFields(const CodeRecord& c, uint64_t expiresAtMs, bool withSessionFields) {
  Fields f;
  add(f, "c", c.clientId);
  add(f, "ru", c.redirectUri);
  add(f, "sc", c.scope);
  add(f, "aud", c.audience);
  add(f, "n", c.nonce);
  add(f, "cc", c.codeChallenge);
  add(f, "bst", flag(c.bornFromSessionTransfer));
  add(f, "on", flag(c.onlineRefreshTokens));
  add(f, "exp", num(expiresAtMs));
  if (withSessionFields) {
    add(f, "u", c.userId);
    add(f, "sid", c.sessionId);
    add(f, "at", snum(c.authTime));
    add(f, "used", "0");
  }
  return f;
}

Fields sessionFields(const SessionRecord& s) {
  Fields f;
  add(f, "u", s.userId);
  add(f, "sid", s.sid);
  add(f, "at", snum(s.authTime));
  add(f, "bst", flag(s.bornFromSessionTransfer));
  add(f, "pf", s.bornFromSessionTransfer ? RedisStore::keyId(s.parentFamily) : std::string());
  add(f, "cas", flag(s.cascade));
  add(f, "acap", num(s.absoluteCapMs));
  add(f, "icap", num(s.idleCapMs));
  return f;
}

SessionRecord sessionOf(const Map& m, uint16_t home) {
  SessionRecord s;
  s.home = home;
  s.userId = get(m, "u");
  s.sid = get(m, "sid");
  s.authTime = toI64(get(m, "at"));
  s.createdAtMs = toU64(get(m, "cr"));
  s.lastSeenAtMs = toU64(get(m, "seen"));
  s.expiresAtMs = toU64(get(m, "exp"));
  s.bornFromSessionTransfer = get(m, "bst") == "1";
  keyFromId(get(m, "pf"), s.parentFamily);
  s.cascade = get(m, "cas") == "1";
  s.absoluteCapMs = toU64(get(m, "acap"));
  s.idleCapMs = toU64(get(m, "icap"));
  s.loggedSeenAtMs = s.lastSeenAtMs;
  return s;
}

SttRecord sttOf(const Map& m, uint16_t home) {
  SttRecord r;
  r.home = home;
  r.userId = get(m, "u");
  r.clientId = get(m, "c");
  r.scope = get(m, "sc");
  r.organization = get(m, "org");
  r.ip = get(m, "ip");
  r.asn = static_cast<uint32_t>(toU64(get(m, "asn")));
  r.country = get(m, "cty");
  r.userAgent = get(m, "ua");
  keyFromId(get(m, "pf"), r.parentFamily);
  r.authTime = toI64(get(m, "at"));
  r.mintedAt = toI64(get(m, "ma"));
  r.mintedAtMs = toU64(get(m, "mms"));
  r.expiresAtMs = toU64(get(m, "exp"));
  r.cascade = get(m, "cas") == "1";
  r.used = get(m, "used") == "1";
  return r;
}

RefreshOutcome refreshOutcome(const std::string& s) {
  if (s == "ok") return RefreshOutcome::kOk;
  if (s == "revoked") return RefreshOutcome::kRevoked;
  if (s == "reuse") return RefreshOutcome::kReuse;
  if (s == "wrong_client") return RefreshOutcome::kWrongClient;
  return RefreshOutcome::kUnknown;
}

// The first element of an array reply, or "".
const std::string& head(const Reply& r) {
  static const std::string kEmpty;
  return r.isArray() && !r.elements.empty() ? r.elements[0].str : kEmpty;
}
const std::string& at(const Reply& r, size_t i) {
  static const std::string kEmpty;
  return r.isArray() && i < r.elements.size() ? r.elements[i].str : kEmpty;
}

// A reply that is not what a script returns: a script error (logged) — its outcome is not known
// to be nothing, but the request fails closed all the same.
template <class T>
bool failed(CommandResult& r, const Done<T>& done) {
  if (!r.ok()) {
    done(Answer<T>{r.failure(), {}});
    return true;
  }
  if (r.reply().isError()) {
    core::logError("redis store: script error", {{"error", r.reply().str}});
    done(Answer<T>{Failure::kUnavailable, {}});
    return true;
  }
  return false;
}

}  // namespace

uint16_t RedisStore::homeOfUser(std::string_view userId) {
  return static_cast<uint16_t>(crc32c(userId.data(), userId.size()) % kHomes);
}

std::string RedisStore::tag(uint16_t home) { return "{h" + std::to_string(home) + "}"; }

std::string RedisStore::keyId(const TokenKey& key) {
  uint8_t raw[16];
  std::memcpy(raw, &key.lo, 8);
  std::memcpy(raw + 8, &key.hi, 8);
  char enc[24];
  size_t n = core::encodeBase64Url(raw, sizeof raw, enc);
  return std::string(enc, n);
}

namespace {
std::string keyName(uint16_t home, std::string_view kind, const std::string& id) {
  std::string k = RedisStore::tag(home);
  k.push_back(':');
  k.append(kind);
  k.push_back(':');
  k.append(id);
  return k;
}
}  // namespace

void RedisStore::run(const Script& script, const std::string& routeKey, std::vector<std::string> args,
                     std::function<void(CommandResult&)> then) {
  std::string_view keys[1] = {routeKey};
  std::vector<std::string_view> argv(args.begin(), args.end());
  // The views point into `args` and `routeKey`, which live until eval() has copied them out.
  client_.eval(script, keys, argv, std::move(then));
}

void RedisStore::ssoCode(const TokenId& session, std::string_view mustBeUser, const CodeRecord& code,
                         Random16 codeRandom, uint64_t nowMs, Done<SsoResult> done) {
  uint16_t home = session.shard;
  TokenId codeId = idOf(TokenKind::kCode, home, codeRandom);
  std::string sid = keyId(session.key);
  Fields args{tag(home), sid, num(nowMs), num(limits_.sessionIdleMs), std::string(mustBeUser), keyId(codeId.key),
              num(limits_.codeTtlMs)};
  Fields f = codeFields(code, nowMs + limits_.codeTtlMs, false);
  args.insert(args.end(), f.begin(), f.end());
  run(scripts::ssoCode(), keyName(home, "ss", sid), std::move(args), [done = std::move(done), codeId](CommandResult& r) {
    if (failed(r, done)) return;
    SsoResult out;
    const std::string& h = head(r.reply());
    if (h == "ok") {
      out.outcome = Sso::kOk;
      out.code = codeId;
      out.userId = at(r.reply(), 1);
      out.sid = at(r.reply(), 2);
      out.authTime = toI64(at(r.reply(), 3));
    } else if (h == "other_user") {
      out.outcome = Sso::kOtherUser;
    }
    done(Answer<SsoResult>{std::nullopt, std::move(out)});
  });
}

void RedisStore::exchangeCode(const TokenId& code, const ExchangeCheck& check, Random16 accessRandom,
                              Random16 familyRandom, uint64_t nowMs, Done<Exchanged> done) {
  uint16_t home = code.shard;
  TokenId access = idOf(TokenKind::kAccessToken, home, accessRandom);
  TokenId family = idOf(TokenKind::kRefreshToken, home, familyRandom);
  std::string cid = keyId(code.key);
  Fields args{tag(home), num(nowMs), check.clientId, check.redirectUri, check.verifierHash,
              flag(check.refreshAllowed), flag(check.rotating), keyId(access.key), num(limits_.accessTtlMs),
              keyId(family.key)};
  run(scripts::exchangeCode(), keyName(home, "cd", cid), std::move(args),
      [done = std::move(done), home, access, family](CommandResult& r) {
        if (failed(r, done)) return;
        Exchanged out;
        const Reply& rep = r.reply();
        const std::string& h = head(rep);
        if (h == "ok") {
          out.outcome = Exchange::kOk;
          CodeRecord& c = out.code;
          c.home = home;
          c.userId = at(rep, 1);
          c.clientId = at(rep, 2);
          c.scope = at(rep, 3);
          c.sessionId = at(rep, 4);
          c.nonce = at(rep, 5);
          c.audience = at(rep, 6);
          c.authTime = toI64(at(rep, 7));
          c.bornFromSessionTransfer = at(rep, 8) == "1";
          out.online = at(rep, 9) == "1";
          c.onlineRefreshTokens = out.online;
          if (!at(rep, 10).empty()) out.access = access;
          if (!at(rep, 11).empty()) out.family = family;
        } else if (h == "replayed") {
          out.outcome = Exchange::kReplayed;
        } else if (h == "redirect_mismatch") {
          out.outcome = Exchange::kRedirectMismatch;
        } else if (h == "pkce_failed") {
          out.outcome = Exchange::kPkceFailed;
        } else if (h == "pkce_downgrade") {
          out.outcome = Exchange::kPkceDowngrade;
        }
        done(Answer<Exchanged>{std::nullopt, std::move(out)});
      });
}

void RedisStore::refreshGrant(const TokenId& token, std::string_view clientId, Random16 next, uint64_t leewayMs,
                              Random16 accessRandom, uint64_t nowMs, Done<Refreshed> done) {
  uint16_t home = token.shard;
  TokenId rotated = idOf(TokenKind::kRefreshToken, home, next);
  TokenId access = idOf(TokenKind::kAccessToken, home, accessRandom);
  std::string tid = keyId(token.key);
  Fields args{tag(home), tid, std::string(clientId), keyId(rotated.key), num(leewayMs), num(nowMs),
              keyId(access.key), num(limits_.accessTtlMs)};
  run(scripts::refreshGrant(), keyName(home, "rt", tid), std::move(args),
      [done = std::move(done), home, rotated, access](CommandResult& r) {
        if (failed(r, done)) return;
        Refreshed out;
        const Reply& rep = r.reply();
        out.outcome = refreshOutcome(head(rep));
        if (out.outcome == RefreshOutcome::kOk) {
          RefreshFamily& f = out.family;
          f.home = home;
          f.userId = at(rep, 1);
          f.clientId = at(rep, 2);
          f.scope = at(rep, 3);
          f.sessionId = at(rep, 4);
          f.audience = at(rep, 5);
          f.authTime = toI64(at(rep, 6));
          if (!at(rep, 7).empty()) out.rotated = rotated;
          if (!at(rep, 8).empty()) out.access = access;
        }
        done(Answer<Refreshed>{std::nullopt, std::move(out)});
      });
}

void RedisStore::issue(bool withAccess, const std::string& clientId, const std::string& userId,
                       const std::string& scope, const std::optional<RefreshFamily>& family, Random16 accessRandom,
                       Random16 familyRandom, uint64_t nowMs, Done<Issued> done) {
  uint16_t home = homeOfUser(userId);
  TokenId access = idOf(TokenKind::kAccessToken, home, accessRandom);
  TokenId fam = idOf(TokenKind::kRefreshToken, home, familyRandom);
  Fields args{tag(home), num(nowMs), withAccess ? keyId(access.key) : std::string(), num(limits_.accessTtlMs),
              family ? keyId(fam.key) : std::string()};
  add(args, "c", clientId);
  add(args, "u", userId);
  add(args, "sc", scope);
  if (family) {
    add(args, "aud", family->audience);
    add(args, "sid", family->sessionId);
    add(args, "at", snum(family->authTime));
    add(args, "rtg", flag(family->rotating));
    add(args, "bst", flag(family->bornFromSessionTransfer));
    add(args, "on", flag(family->online));
  }
  run(scripts::issue(), keyName(home, "at", keyId(access.key)), std::move(args),
      [done = std::move(done), withAccess, hasFamily = family.has_value(), access, fam](CommandResult& r) {
        if (failed(r, done)) return;
        Issued out;
        if (withAccess) out.access = access;
        if (hasFamily) out.family = fam;
        done(Answer<Issued>{std::nullopt, out});
      });
}

void RedisStore::revokeRefresh(const TokenId& token, std::string_view clientId, Done<Revoked> done) {
  uint16_t home = token.shard;
  std::string tid = keyId(token.key);
  run(scripts::revokeRefresh(), keyName(home, "rt", tid), {tag(home), tid, std::string(clientId)},
      [done = std::move(done)](CommandResult& r) {
        if (failed(r, done)) return;
        const Reply& rep = r.reply();
        Revoked out;
        if (rep.isArray() && rep.elements.size() == 3) {
          out.revoked = rep.elements[0].integer == 1;
          out.cascade.sessions = static_cast<size_t>(rep.elements[1].integer);
          out.cascade.families = static_cast<size_t>(rep.elements[2].integer);
        }
        done(Answer<Revoked>{std::nullopt, out});
      });
}

void RedisStore::mintStt(const TokenId& refresh, std::string_view clientId, Random16 next, uint64_t leewayMs,
                         const SttRecord& rec, Random16 sttRandom, uint64_t nowMs, Done<Minted> done) {
  uint16_t home = refresh.shard;
  TokenId rotated = idOf(TokenKind::kRefreshToken, home, next);
  TokenId stt = idOf(TokenKind::kSessionTransfer, home, sttRandom);
  std::string tid = keyId(refresh.key);
  Fields args{tag(home), tid, std::string(clientId), keyId(rotated.key), num(leewayMs), num(nowMs), keyId(stt.key),
              num(limits_.sttTtlMs + limits_.sttTombstoneMs), num(limits_.sttTtlMs)};
  add(args, "c", rec.clientId);
  add(args, "org", rec.organization);
  add(args, "ip", rec.ip);
  add(args, "asn", num(rec.asn));
  add(args, "cty", rec.country);
  add(args, "ua", rec.userAgent);
  add(args, "ma", snum(rec.mintedAt));
  add(args, "cas", flag(rec.cascade));
  run(scripts::mintStt(), keyName(home, "rt", tid), std::move(args),
      [done = std::move(done), rotated, stt](CommandResult& r) {
        if (failed(r, done)) return;
        const Reply& rep = r.reply();
        Minted out;
        const std::string& h = head(rep);
        if (h == "ok") {
          out.outcome = Mint::kOk;
          out.stt = stt;
          if (!at(rep, 1).empty()) out.rotated = rotated;
          out.userId = at(rep, 2);
          out.scope = at(rep, 3);
          out.sid = at(rep, 4);
          out.authTime = toI64(at(rep, 5));
        } else if (h == "nested") {
          out.outcome = Mint::kNested;
        } else {
          out.refresh = refreshOutcome(h);
        }
        done(Answer<Minted>{std::nullopt, std::move(out)});
      });
}

void RedisStore::takeStt(const TokenId& stt, uint64_t nowMs, Done<ShardStore::SttUse> done) {
  uint16_t home = stt.shard;
  std::string id = keyId(stt.key);
  run(scripts::takeStt(), keyName(home, "stt", id), {tag(home), num(nowMs)},
      [done = std::move(done), home](CommandResult& r) {
        if (failed(r, done)) return;
        const Reply& rep = r.reply();
        const std::string& h = head(rep);
        ShardStore::SttUse out;
        if (h == "ok") out.outcome = SttOutcome::kOk;
        else if (h == "expired") out.outcome = SttOutcome::kExpired;
        else if (h == "already_used") out.outcome = SttOutcome::kAlreadyUsed;
        else if (h == "parent_revoked") out.outcome = SttOutcome::kParentRevoked;
        if (out.outcome != SttOutcome::kNotFound) out.record = sttOf(toMap(rep, 1), home);
        done(Answer<ShardStore::SttUse>{std::nullopt, std::move(out)});
      });
}

void RedisStore::bornSession(const SessionRecord& session, Random16 sessionRandom, const CodeRecord& code,
                             Random16 codeRandom, uint64_t nowMs, Done<Born> done) {
  uint16_t home = session.home;
  TokenId sid = idOf(TokenKind::kSession, home, sessionRandom);
  TokenId cid = idOf(TokenKind::kCode, home, codeRandom);
  std::string s = keyId(sid.key);
  Fields sf = sessionFields(session);
  Fields args{tag(home), s, keyId(session.parentFamily), num(nowMs), num(limits_.sessionIdleMs),
              num(limits_.sessionAbsoluteMs), num(sf.size())};
  args.insert(args.end(), sf.begin(), sf.end());
  args.push_back(keyId(cid.key));
  args.push_back(num(limits_.codeTtlMs));
  Fields cf = codeFields(code, nowMs + limits_.codeTtlMs, true);
  args.insert(args.end(), cf.begin(), cf.end());
  run(scripts::bornSession(), keyName(home, "ss", s), std::move(args), [done = std::move(done), sid, cid](CommandResult& r) {
    if (failed(r, done)) return;
    Born out;
    out.ok = head(r.reply()) == "ok";
    if (out.ok) out.session = sid, out.code = cid;
    done(Answer<Born>{std::nullopt, out});
  });
}

void RedisStore::putSession(const SessionRecord& session, Random16 random, uint64_t nowMs, Done<TokenId> done) {
  uint16_t home = session.home == kNoHome ? homeOfUser(session.userId) : session.home;
  TokenId id = idOf(TokenKind::kSession, home, random);
  std::string s = keyId(id.key);
  Fields args{tag(home), s, num(nowMs), num(limits_.sessionIdleMs), num(limits_.sessionAbsoluteMs)};
  Fields sf = sessionFields(session);
  args.insert(args.end(), sf.begin(), sf.end());
  run(scripts::putSession(), keyName(home, "ss", s), std::move(args), [done = std::move(done), id](CommandResult& r) {
    if (failed(r, done)) return;
    done(Answer<TokenId>{std::nullopt, id});
  });
}

void RedisStore::findSession(const TokenId& session, uint64_t nowMs, Done<std::optional<SessionRecord>> done) {
  uint16_t home = session.shard;
  std::string s = keyId(session.key);
  run(scripts::findSession(), keyName(home, "ss", s), {tag(home), s, num(nowMs), num(limits_.sessionIdleMs)},
      [done = std::move(done), home](CommandResult& r) {
        if (failed(r, done)) return;
        std::optional<SessionRecord> out;
        if (r.reply().isArray() && !r.reply().elements.empty()) out = sessionOf(toMap(r.reply()), home);
        done(Answer<std::optional<SessionRecord>>{std::nullopt, std::move(out)});
      });
}

void RedisStore::endSession(const TokenId& session, Done<std::optional<SessionRecord>> done) {
  uint16_t home = session.shard;
  std::string s = keyId(session.key);
  run(scripts::endSession(), keyName(home, "ss", s), {tag(home), s}, [done = std::move(done), home](CommandResult& r) {
    if (failed(r, done)) return;
    std::optional<SessionRecord> out;
    if (r.reply().isArray() && !r.reply().elements.empty()) out = sessionOf(toMap(r.reply()), home);
    done(Answer<std::optional<SessionRecord>>{std::nullopt, std::move(out)});
  });
}

void RedisStore::endUser(const std::string& userId, Done<ShardStore::Cascade> done, std::string_view what) {
  uint16_t home = homeOfUser(userId);
  run(scripts::endUser(), keyName(home, "uss", userId), {tag(home), userId, std::string(what)},
      [done = std::move(done)](CommandResult& r) {
    if (failed(r, done)) return;
    ShardStore::Cascade out;
    const Reply& rep = r.reply();
    if (rep.isArray() && rep.elements.size() == 2) {
      out.sessions = static_cast<size_t>(rep.elements[0].integer);
      out.families = static_cast<size_t>(rep.elements[1].integer);
    }
    done(Answer<ShardStore::Cascade>{std::nullopt, out});
  });
}

namespace {
// The items of userTokens: {id, field, value, …} each.
template <class Record, class Of>
std::vector<std::pair<TokenKey, Record>> itemsOf(const Reply& rep, Of of) {
  std::vector<std::pair<TokenKey, Record>> out;
  if (!rep.isArray()) return out;
  for (const Reply& item : rep.elements) {
    TokenKey k;
    if (!item.isArray() || item.elements.empty() || !keyFromId(item.elements[0].str, k)) continue;
    out.emplace_back(k, of(toMap(item, 1)));
  }
  return out;
}

RefreshFamily familyOf(const Map& m, uint16_t home) {
  RefreshFamily f;
  f.home = home;
  f.clientId = get(m, "c");
  f.userId = get(m, "u");
  f.scope = get(m, "sc");
  f.audience = get(m, "aud");
  f.sessionId = get(m, "sid");
  f.authTime = toI64(get(m, "at"));
  f.createdAtMs = toU64(get(m, "cr"));
  keyFromId(get(m, "cur"), f.current);
  keyFromId(get(m, "prev"), f.previous);
  f.rotatedAtMs = toU64(get(m, "rot"));
  f.rotating = get(m, "rtg") == "1";
  f.revoked = get(m, "rv") == "1";
  f.bornFromSessionTransfer = get(m, "bst") == "1";
  f.online = get(m, "on") == "1";
  return f;
}
}  // namespace

void RedisStore::sessionsOfUser(const std::string& userId, uint64_t nowMs,
                                Done<std::vector<std::pair<TokenKey, SessionRecord>>> done) {
  uint16_t home = homeOfUser(userId);
  run(scripts::userTokens(), keyName(home, "uss", userId),
      {tag(home), userId, "sessions", num(nowMs), num(limits_.sessionIdleMs)}, [done = std::move(done), home](CommandResult& r) {
        if (failed(r, done)) return;
        auto items = itemsOf<SessionRecord>(r.reply(), [home](const Map& m) { return sessionOf(m, home); });
        done(Answer<std::vector<std::pair<TokenKey, SessionRecord>>>{std::nullopt, std::move(items)});
      });
}

void RedisStore::familiesOfUser(const std::string& userId, Done<std::vector<std::pair<TokenKey, RefreshFamily>>> done) {
  uint16_t home = homeOfUser(userId);
  run(scripts::userTokens(), keyName(home, "urf", userId), {tag(home), userId, "families", "0", "0"},
      [done = std::move(done), home](CommandResult& r) {
        if (failed(r, done)) return;
        auto items = itemsOf<RefreshFamily>(r.reply(), [home](const Map& m) { return familyOf(m, home); });
        done(Answer<std::vector<std::pair<TokenKey, RefreshFamily>>>{std::nullopt, std::move(items)});
      });
}

void RedisStore::revokeFamily(const std::string& userId, const TokenKey& family, Done<bool> done) {
  uint16_t home = homeOfUser(userId);
  std::string id = keyId(family);
  run(scripts::revokeFamily(), keyName(home, "rf", id), {tag(home), id}, [done = std::move(done)](CommandResult& r) {
    if (failed(r, done)) return;
    done(Answer<bool>{std::nullopt, r.reply().integer == 1});
  });
}

void RedisStore::findAccess(const TokenId& access, uint64_t nowMs, Done<std::optional<AccessRecord>> done) {
  std::string k = keyName(access.shard, "at", keyId(access.key));
  client_.command(k, {"HGETALL", k}, [done = std::move(done), nowMs, home = access.shard](CommandResult& r) {
    if (failed(r, done)) return;
    std::optional<AccessRecord> out;
    Map m = toMap(r.reply());
    if (!m.empty() && toU64(get(m, "exp")) > nowMs) {
      out = AccessRecord{.clientId = get(m, "c"), .userId = get(m, "u"), .scope = get(m, "sc"),
                         .expiresAtMs = toU64(get(m, "exp")), .home = home};
    }
    done(Answer<std::optional<AccessRecord>>{std::nullopt, std::move(out)});
  });
}

void RedisStore::revokeAccess(const TokenId& access, Done<bool> done) {
  std::string k = keyName(access.shard, "at", keyId(access.key));
  client_.command(k, {"DEL", k}, [done = std::move(done)](CommandResult& r) {
    if (failed(r, done)) return;
    done(Answer<bool>{std::nullopt, r.reply().integer == 1});
  });
}

}  // namespace handoff::store::redis
