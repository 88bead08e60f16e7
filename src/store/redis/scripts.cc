// The Lua scripts of the Redis store (docs/REDIS-STORE.md): one per decision, each touching only
// keys under the one hash tag it is given, so that Redis runs it atomically on one node.
//
// Every script takes ARGV[1] = the tag ("{h12}") and builds its key names from it; KEYS[1] is the
// key the cluster routes by (a key under that tag). Times are Unix milliseconds given by the
// caller. Records are hashes of short fields (redis_records.cc); "1"/"0" are the booleans.
#include "handoff/store/redis/scripts.h"

namespace handoff::store::redis::scripts {
namespace {

// Shared by every script: key names, reading a hash, and the cascades (SPEC.md §5).
constexpr std::string_view kPrelude = R"lua(
-- Each script runs its body twice (join() below): first planning, when every write only touches
-- its key (EXISTS), then for real. A key of a slot being migrated that is no longer here fails
-- the planning pass ("non local key") before anything was written, so the script has no effect
-- and the client tries it again once the migration is over (REDIS-CLIENT.md).
local planning = true
local function W(...)
  if planning then
    redis.call('EXISTS', (select(2, ...)))
    return 'OK'
  end
  return redis.call(...)
end
local T = ARGV[1]
local function key(kind, id) return T .. ':' .. kind .. ':' .. id end
local function hash(k)
  local a = redis.call('HGETALL', k)
  if #a == 0 then return nil end
  local t = {}
  for i = 1, #a, 2 do t[a[i]] = a[i + 1] end
  return t
end
local function num(s) return tonumber(s) or 0 end
local function pairsFrom(t, from, count)
  local out = {}
  for i = from, from + count - 1 do out[#out + 1] = t[i] end
  return out
end
local function flatten(t)
  local out = {}
  for k, v in pairs(t) do out[#out + 1] = k; out[#out + 1] = v end
  return out
end
local kRevokedKeepMs = 3600000
-- A revoked family answers "revoked" for an hour, then "unknown" (the same answer at the token
-- endpoint); its tokens go with it.
local function retire(fam, f)
  local fk = key('rf', fam)
  W('PEXPIRE', fk, kRevokedKeepMs)
  for _, t in ipairs(redis.call('SMEMBERS', key('rfl', fam))) do W('PEXPIRE', key('rt', t), kRevokedKeepMs) end
  W('PEXPIRE', key('rfl', fam), kRevokedKeepMs)
  if f and f.u then W('SREM', key('urf', f.u), fam) end
end
local function revokePlain(fam)
  local fk = key('rf', fam)
  local f = hash(fk)
  if f == nil or f.rv == '1' then return false end
  W('HSET', fk, 'rv', '1')
  retire(fam, f)
  return true
end
-- The families issued in session `sid`: every one, or the online ones only.
local function revokeSid(sid, all)
  if sid == nil or sid == '' then return 0 end
  local n = 0
  for _, fam in ipairs(redis.call('SMEMBERS', key('fsid', sid))) do
    local on = redis.call('HGET', key('rf', fam), 'on')
    if (all or on == '1') and revokePlain(fam) then n = n + 1 end
  end
  return n
end
local function takeSession(s)
  local k = key('ss', s)
  local r = hash(k)
  if r == nil then return nil end
  W('DEL', k)
  W('DEL', key('sidk', r.sid))
  if r.bst == '1' and r.cas == '1' then W('SREM', key('born', r.pf), s) end
  W('SREM', key('uss', r.u), s)
  return r
end
-- A logout or an expiry: the session and its online refresh families.
local function endSession(s)
  local r = takeSession(s)
  if r ~= nil then r.revoked = tostring(revokeSid(r.sid, false)) end
  return r
end
-- Revokes a family with its cascade: the sessions born of it (cascade on) end, with every family
-- issued in them. Returns the sessions and families the cascade took.
local function revokeFamily(fam)
  local fk = key('rf', fam)
  local f = hash(fk)
  W('HSET', fk, 'rv', '1')
  retire(fam, f)
  local ns, nf = 0, 0
  for _, s in ipairs(redis.call('SMEMBERS', key('born', fam))) do
    local r = takeSession(s)
    if r ~= nil then
      ns = ns + 1
      nf = nf + revokeSid(r.sid, true)
    end
  end
  W('DEL', key('born', fam))
  return ns, nf
end
local function alive(fam)
  return fam ~= nil and fam ~= '' and redis.call('HGET', key('rf', fam), 'rv') == '0'
end
-- A session's end: its idle or absolute end as it stands (ShardStore::sessionEndsAtMs).
local function sessionEnd(r, idleMs)
  local idle = idleMs
  local icap, acap = num(r.icap), num(r.acap)
  if icap ~= 0 and icap < idle then idle = icap end
  local absEnd = num(r.exp)
  if acap ~= 0 and num(r.cr) + acap < absEnd then absEnd = num(r.cr) + acap end
  local idleEnd = num(r.seen) + idle
  if idleEnd < absEnd then return idleEnd end
  return absEnd
end
local function putSession(s, fields, now, idleMs, absMs)
  local r = {}
  for i = 1, #fields, 2 do r[fields[i]] = fields[i + 1] end
  r.cr = tostring(now); r.seen = tostring(now); r.exp = tostring(now + absMs)
  local k = key('ss', s)
  W('HSET', k, unpack(flatten(r)))
  local e = sessionEnd(r, idleMs)
  W('PEXPIREAT', k, e)
  W('SET', key('sidk', r.sid), s, 'PXAT', e)
  W('SADD', key('uss', r.u), s)
  if r.bst == '1' and r.cas == '1' then W('SADD', key('born', r.pf), s) end
  return r
end
-- A live session seen now: its idle end moves, with its key's expiry and its sid's.
local function touchSession(s, r, now, idleMs)
  r.seen = tostring(now)
  W('HSET', key('ss', s), 'seen', r.seen)
  local e = sessionEnd(r, idleMs)
  W('PEXPIREAT', key('ss', s), e)
  W('SET', key('sidk', r.sid), s, 'PXAT', e)
end
local function putExpiring(k, fields, at)
  W('HSET', k, unpack(fields))
  W('PEXPIREAT', k, at)
end
-- ShardStore::useRefresh: the family's rotation and reuse detection. Returns the outcome, and
-- for "ok" the family, its key and the new token when it rotated.
local function useRefresh(tok, clientId, nextTok, leewayMs, now)
  local fam = redis.call('GET', key('rt', tok))
  if not fam then return 'unknown' end
  local fk = key('rf', fam)
  local f = hash(fk)
  if f == nil then return 'unknown' end
  if f.c ~= clientId then return 'wrong_client' end
  if f.rv == '1' then return 'revoked' end
  -- An online family dies with its session, also when the session expired unseen.
  if f.on == '1' and redis.call('EXISTS', key('sidk', f.sid)) == 0 then
    revokeFamily(fam)
    return 'revoked'
  end
  local rotated = ''
  if f.rtg == '1' then
    local isCurrent = tok == f.cur
    local inLeeway = tok == f.prev and leewayMs ~= 0 and now < num(f.rot) + leewayMs
    if not isCurrent and not inLeeway then
      revokeFamily(fam)
      return 'reuse'
    end
    if not W('SET', key('rt', nextTok), fam, 'NX') then return 'unknown' end
    W('SADD', key('rfl', fam), nextTok)
    if isCurrent then f.prev = f.cur end
    f.cur = nextTok
    f.rot = tostring(now)
    W('HSET', fk, 'prev', f.prev, 'cur', f.cur, 'rot', f.rot)
    rotated = nextTok
  end
  return 'ok', f, fam, rotated
end
local function hasScope(scope, s)
  return string.find(' ' .. (scope or '') .. ' ', ' ' .. s .. ' ', 1, true) ~= nil
end
local function issueFamily(fam, f, now)
  f.cr = tostring(now); f.cur = fam; f.prev = ''; f.rot = '0'; f.rv = '0'
  W('HSET', key('rf', fam), unpack(flatten(f)))
  W('SET', key('rt', fam), fam)
  W('SADD', key('rfl', fam), fam)
  if f.sid ~= nil and f.sid ~= '' then W('SADD', key('fsid', f.sid), fam) end
  W('SADD', key('urf', f.u), fam)
end
local function issueAccess(at, a, now, ttlMs)
  a.exp = tostring(now + ttlMs)
  putExpiring(key('at', at), flatten(a), now + ttlMs)
end
)lua";

// ARGV: tag, now, ttl ms, fields…  Stores a code, an STT or an access token with its expiry.
constexpr std::string_view kPut = R"lua(
local now, ttl = num(ARGV[2]), num(ARGV[3])
putExpiring(KEYS[1], pairsFrom(ARGV, 4, #ARGV - 3), now + ttl)
return 1
)lua";

// KEYS[1] = the session; ARGV: tag, id, now, idle ms, absolute ms, fields…
constexpr std::string_view kPutSession = R"lua(
putSession(ARGV[2], pairsFrom(ARGV, 6, #ARGV - 5), num(ARGV[3]), num(ARGV[4]), num(ARGV[5]))
return 1
)lua";

// KEYS[1] = the session; ARGV: tag, id, now, idle ms. The live session, its idle timer
// restarted; an expired one is ended like a logout. Returns {} or the session's fields.
constexpr std::string_view kFindSession = R"lua(
local s, now, idleMs = ARGV[2], num(ARGV[3]), num(ARGV[4])
local r = hash(KEYS[1])
if r == nil then return {} end
if sessionEnd(r, idleMs) <= now then
  endSession(s)
  return {}
end
touchSession(s, r, now, idleMs)
return flatten(r)
)lua";

// KEYS[1] = the session; ARGV: tag, id. Ends it; returns {} or its fields (with `revoked`, the
// online families it took).
constexpr std::string_view kEndSession = R"lua(
local r = endSession(ARGV[2])
if r == nil then return {} end
return flatten(r)
)lua";

// KEYS[1] = the refresh token's index key; ARGV: tag, token, client, next token, leeway ms,
// now, STT id, STT keep ms (lifetime + tombstone), STT lifetime ms, STT fields…
// The mint (SPEC.md §2): no nesting, then the refresh token is used (rotating if its family
// does), then the STT is stored beside its parent family.
// Returns {outcome, rotated, user, scope, sid, auth_time, family}.
constexpr std::string_view kMintStt = R"lua(
local tok, clientId, nextTok, leeway, now = ARGV[2], ARGV[3], ARGV[4], num(ARGV[5]), num(ARGV[6])
local sttId, keep, life = ARGV[7], num(ARGV[8]), num(ARGV[9])
local fam0 = redis.call('GET', key('rt', tok))
if fam0 then
  local f0 = hash(key('rf', fam0))
  if f0 ~= nil and f0.c == clientId and f0.rv == '0' and f0.bst == '1' then return {'nested'} end
end
local outcome, f, fam, rotated = useRefresh(tok, clientId, nextTok, leeway, now)
if outcome ~= 'ok' then return {outcome} end
local fields = pairsFrom(ARGV, 10, #ARGV - 9)
for _, kv in ipairs({{'u', f.u}, {'sc', f.sc}, {'at', f.at}, {'pf', fam}, {'mms', tostring(now)},
                     {'exp', tostring(now + life)}, {'used', '0'}}) do
  fields[#fields + 1] = kv[1]; fields[#fields + 1] = kv[2]
end
putExpiring(key('stt', sttId), fields, now + keep)
return {'ok', rotated, f.u, f.sc or '', f.sid or '', f.at or '0', fam}
)lua";

// KEYS[1] = the STT; ARGV: tag, now. Consumed on its first presentation whatever happens next
// (ShardStore::takeStt). Returns {outcome, fields…}.
constexpr std::string_view kTakeStt = R"lua(
local now = num(ARGV[2])
local r = hash(KEYS[1])
if r == nil then return {'not_found'} end
local outcome
if num(r.exp) <= now then
  outcome = 'expired'
elseif r.used == '1' then
  outcome = 'already_used'
elseif alive(r.pf) then
  outcome = 'ok'
else
  outcome = 'parent_revoked'
end
if r.used ~= '1' then W('HSET', KEYS[1], 'used', '1') end
local out = {outcome}
for _, v in ipairs(flatten(r)) do out[#out + 1] = v end
return out
)lua";

// KEYS[1] = the new session; ARGV: tag, session id, parent family, now, idle ms, absolute ms,
// session field count, session fields…, code id, code ttl ms, code fields…
// A session born of an STT and its code, unless the parent family was revoked meanwhile.
constexpr std::string_view kBornSession = R"lua(
local s, parent, now, idleMs, absMs = ARGV[2], ARGV[3], num(ARGV[4]), num(ARGV[5]), num(ARGV[6])
if not alive(parent) then return {'parent_revoked'} end
local n = num(ARGV[7])
putSession(s, pairsFrom(ARGV, 8, n), now, idleMs, absMs)
local at = 8 + n
putExpiring(key('cd', ARGV[at]), pairsFrom(ARGV, at + 2, #ARGV - at - 1), now + num(ARGV[at + 1]))
return {'ok'}
)lua";

// KEYS[1] = the browser's session; ARGV: tag, session id, now, idle ms, the user it must be
// ("" for any), code id, code ttl ms, code fields… SSO at /authorize and an STT presented with a
// session (SPEC.md §3): the live session gets a code; a session of another user is ended.
// Returns {'none'} | {'other_user'} | {'ok', user, sid, auth_time}.
constexpr std::string_view kSsoCode = R"lua(
local s, now, idleMs, user = ARGV[2], num(ARGV[3]), num(ARGV[4]), ARGV[5]
local r = hash(KEYS[1])
if r == nil then return {'none'} end
if sessionEnd(r, idleMs) <= now then
  endSession(s)
  return {'none'}
end
if user ~= '' and r.u ~= user then
  endSession(s)
  return {'other_user'}
end
touchSession(s, r, now, idleMs)
local fields = pairsFrom(ARGV, 8, #ARGV - 7)
for _, kv in ipairs({{'u', r.u}, {'sid', r.sid}, {'at', r.at}, {'used', '0'}}) do
  fields[#fields + 1] = kv[1]; fields[#fields + 1] = kv[2]
end
putExpiring(key('cd', ARGV[6]), fields, now + num(ARGV[7]))
return {'ok', r.u, r.sid, r.at or '0'}
)lua";

// KEYS[1] = the code; ARGV: tag, now, client, redirect_uri, SHA-256 of the verifier (base64url;
// "" when none was sent), refresh allowed, rotating, access id, access ttl ms, family id.
// The exchange (RFC 6749 §4.1.3, ShardStore::redeemCode): the first use consumes the code and
// issues its tokens; a replay revokes what the first produced. Returns {outcome} or
// {'ok', user, client, scope, sid, nonce, audience, auth_time, born, online, access, family}.
constexpr std::string_view kExchangeCode = R"lua(
local now, clientId, redirect, verifier = num(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local refreshAllowed, rotating, atId, atTtl, famId = ARGV[6] == '1', ARGV[7], ARGV[8], num(ARGV[9]), ARGV[10]
local r = hash(KEYS[1])
if r == nil or num(r.exp) <= now then return {'invalid'} end
if r.used == '1' then
  if r.iat ~= nil and r.iat ~= '' then W('DEL', key('at', r.iat)) end
  if r.ifam ~= nil and r.ifam ~= '' then revokePlain(r.ifam) end
  W('HSET', KEYS[1], 'iat', '', 'ifam', '')
  return {'replayed'}
end
-- The code is spent whatever the checks below say; the tombstone keeps only what a replay needs.
W('DEL', KEYS[1])
W('HSET', KEYS[1], 'used', '1', 'exp', r.exp, 'iat', '', 'ifam', '')
W('PEXPIREAT', KEYS[1], num(r.exp))
if r.c ~= clientId then return {'invalid'} end
if r.ru ~= redirect then return {'redirect_mismatch'} end
if (r.cc or '') == '' then
  if verifier ~= '' then return {'pkce_downgrade'} end
elseif verifier ~= r.cc then
  return {'pkce_failed'}
end
local online = (r.bst == '1' and r.on == '1') and '1' or '0'
local at, fam = '', ''
if (r.aud or '') == '' then
  issueAccess(atId, {c = r.c, u = r.u, sc = r.sc}, now, atTtl)
  at = atId
end
if refreshAllowed and hasScope(r.sc, 'offline_access') then
  issueFamily(famId, {c = r.c, u = r.u, sc = r.sc, aud = r.aud or '', sid = r.sid or '', at = r.at or '0',
                      rtg = rotating, bst = r.bst or '0', on = online}, now)
  fam = famId
end
W('HSET', KEYS[1], 'iat', at, 'ifam', fam)
return {'ok', r.u, r.c, r.sc or '', r.sid or '', r.n or '', r.aud or '', r.at or '0', r.bst or '0', online, at, fam}
)lua";

// KEYS[1] = the refresh token's index key; ARGV: tag, token, client, next token, leeway ms, now,
// access id, access ttl ms. The refresh grant: the family's rules, then an access token.
// Returns {outcome} or {'ok', user, client, scope, sid, audience, auth_time, rotated, access}.
constexpr std::string_view kRefreshGrant = R"lua(
local tok, clientId, nextTok, leeway, now = ARGV[2], ARGV[3], ARGV[4], num(ARGV[5]), num(ARGV[6])
local outcome, f, fam, rotated = useRefresh(tok, clientId, nextTok, leeway, now)
if outcome ~= 'ok' then return {outcome} end
local at = ''
if (f.aud or '') == '' then
  issueAccess(ARGV[7], {c = f.c, u = f.u, sc = f.sc}, now, num(ARGV[8]))
  at = ARGV[7]
end
return {'ok', f.u, f.c, f.sc or '', f.sid or '', f.aud or '', f.at or '0', rotated, at}
)lua";

// KEYS[1] = a key under the tag; ARGV: tag, now, access id ("" for none), access ttl ms,
// family id ("" for none), then the family's fields (c, u, sc, aud, sid, at, rtg, bst, on).
// A grant that starts a tree (the password grant): its tokens.
constexpr std::string_view kIssue = R"lua(
local now, atId, atTtl, famId = num(ARGV[2]), ARGV[3], num(ARGV[4]), ARGV[5]
local f = {}
for i = 6, #ARGV, 2 do f[ARGV[i]] = ARGV[i + 1] end
if atId ~= '' then issueAccess(atId, {c = f.c, u = f.u, sc = f.sc}, now, atTtl) end
if famId ~= '' then issueFamily(famId, f, now) end
return 1
)lua";

// KEYS[1] = the refresh token's index key; ARGV: tag, token, client. RFC 7009 with the cascade.
// Returns {revoked now (0/1), sessions, families}.
constexpr std::string_view kRevokeRefresh = R"lua(
local fam = redis.call('GET', key('rt', ARGV[2]))
if not fam then return {0, 0, 0} end
local f = hash(key('rf', fam))
if f == nil or f.c ~= ARGV[3] or f.rv == '1' then return {0, 0, 0} end
local ns, nf = revokeFamily(fam)
return {1, ns, nf}
)lua";

// KEYS[1] = a key under the user's tag; ARGV: tag, user, what ("all", "sessions", "families").
// A deleted or blocked user (all), or the management API's DELETE of a user's sessions or refresh
// tokens: the families revoked with their cascades, the sessions ended (with their online
// families). Returns {sessions, families}.
constexpr std::string_view kEndUser = R"lua(
local user, what = ARGV[2], ARGV[3]
local ns, nf = 0, 0
if what ~= 'sessions' then
  for _, fam in ipairs(redis.call('SMEMBERS', key('urf', user))) do
    if redis.call('HGET', key('rf', fam), 'rv') == '0' then
      local s, f = revokeFamily(fam)
      ns = ns + s
      nf = nf + 1 + f
    end
  end
end
if what ~= 'families' then
  for _, s in ipairs(redis.call('SMEMBERS', key('uss', user))) do
    local r = endSession(s)
    if r ~= nil then
      ns = ns + 1
      nf = nf + num(r.revoked)
    end
  end
end
return {ns, nf}
)lua";

// KEYS[1] = a key under the user's tag; ARGV: tag, user, what ("sessions" or "families"), now,
// idle ms. The user's live sessions or unrevoked families, each as {id, field, value, …}.
constexpr std::string_view kUserTokens = R"lua(
local user, what, now, idleMs = ARGV[2], ARGV[3], num(ARGV[4]), num(ARGV[5])
local out = {}
if what == 'sessions' then
  for _, s in ipairs(redis.call('SMEMBERS', key('uss', user))) do
    local r = hash(key('ss', s))
    if r ~= nil and sessionEnd(r, idleMs) > now then
      local item = {s}
      for _, v in ipairs(flatten(r)) do item[#item + 1] = v end
      out[#out + 1] = item
    end
  end
else
  for _, fam in ipairs(redis.call('SMEMBERS', key('urf', user))) do
    local f = hash(key('rf', fam))
    if f ~= nil and f.rv == '0' then
      local item = {fam}
      for _, v in ipairs(flatten(f)) do item[#item + 1] = v end
      out[#out + 1] = item
    end
  end
end
return out
)lua";

// KEYS[1] = the family; ARGV: tag, family. The management API's DELETE of one refresh token:
// its family with the cascade. Returns 1 if it was revoked now.
constexpr std::string_view kRevokeFamily = R"lua(
if redis.call('HGET', KEYS[1], 'rv') ~= '0' then return 0 end
revokeFamily(ARGV[2])
return 1
)lua";

Script join(std::string_view body) {
  std::string s(kPrelude);
  s.append("local function main()\n");
  s.append(body);
  s.append("\nend\nmain()\nplanning = false\nreturn main()\n");
  return Script(std::move(s), true);
}

}  // namespace

const Script& put() { static const Script s = join(kPut); return s; }
const Script& putSession() { static const Script s = join(kPutSession); return s; }
const Script& findSession() { static const Script s = join(kFindSession); return s; }
const Script& endSession() { static const Script s = join(kEndSession); return s; }
const Script& mintStt() { static const Script s = join(kMintStt); return s; }
const Script& takeStt() { static const Script s = join(kTakeStt); return s; }
const Script& bornSession() { static const Script s = join(kBornSession); return s; }
const Script& ssoCode() { static const Script s = join(kSsoCode); return s; }
const Script& exchangeCode() { static const Script s = join(kExchangeCode); return s; }
const Script& refreshGrant() { static const Script s = join(kRefreshGrant); return s; }
const Script& issue() { static const Script s = join(kIssue); return s; }
const Script& revokeRefresh() { static const Script s = join(kRevokeRefresh); return s; }
const Script& endUser() { static const Script s = join(kEndUser); return s; }
const Script& userTokens() { static const Script s = join(kUserTokens); return s; }
const Script& revokeFamily() { static const Script s = join(kRevokeFamily); return s; }

}  // namespace handoff::store::redis::scripts
