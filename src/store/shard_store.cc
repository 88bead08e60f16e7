#include "handoff/store/shard_store.h"

#include <algorithm>
#include <vector>

namespace handoff::store {

TokenId ShardStore::putAccess(Random16 random, AccessRecord rec, uint64_t nowMs) {
  rec.home = homeOf(rec.home);
  TokenId id = makeTokenId(TokenKind::kAccessToken, rec.home, random);
  rec.expiresAtMs = nowMs + limits_.accessTtlMs;
  logAccess(id.key, rec);
  access_.insert(id.key, std::move(rec));
  accessExpiry_.push_back({nowMs + limits_.accessTtlMs, id.key});
  return id;
}

const AccessRecord* ShardStore::findAccess(const TokenKey& key, uint64_t nowMs) {
  const AccessRecord* a = access_.find(key);
  return a != nullptr && a->expiresAtMs > nowMs ? a : nullptr;
}

bool ShardStore::revokeAccess(const TokenKey& key) {
  if (!access_.erase(key)) return false;
  logKey(RecordType::kAccessRevoked, key);
  return true;
}

bool ShardStore::familyAlive(const TokenKey& family) const {
  const RefreshFamily* f = const_cast<TokenTable<RefreshFamily>&>(families_).find(family);
  return f != nullptr && !f->revoked;
}

uint64_t ShardStore::sessionEndsAtMs(const SessionRecord& s) const {
  uint64_t idle = s.idleCapMs != 0 ? std::min(s.idleCapMs, limits_.sessionIdleMs) : limits_.sessionIdleMs;
  uint64_t absoluteEnd = s.absoluteCapMs != 0 ? std::min(s.expiresAtMs, s.createdAtMs + s.absoluteCapMs) : s.expiresAtMs;
  return std::min(absoluteEnd, s.lastSeenAtMs + idle);
}

namespace {
void addOnce(KeySet& s, const TokenKey& k) { s.insert(k); }
template <class Map, class K>
void removeFrom(Map& map, const K& at, const TokenKey& k) {
  auto it = map.find(at);
  if (it == map.end()) return;
  it->second.erase(k);
  if (it->second.empty()) map.erase(it);
}
}  // namespace

void ShardStore::indexFamily(const TokenKey& key, const RefreshFamily& f) {
  if (!f.sessionId.empty()) addOnce(familiesBySid_[f.sessionId], key);
  if (!f.userId.empty()) addOnce(familiesByUser_[f.userId], key);
}

void ShardStore::unindexFamily(const TokenKey& key, const RefreshFamily& f) {
  if (!f.sessionId.empty()) removeFrom(familiesBySid_, f.sessionId, key);
  if (!f.userId.empty()) removeFrom(familiesByUser_, f.userId, key);
}

void ShardStore::indexSession(const TokenKey& key, const SessionRecord& s) {
  if (s.bornFromSessionTransfer && s.cascade) addOnce(bornOf_[s.parentFamily], key);
  if (!s.userId.empty()) addOnce(sessionsByUser_[s.userId], key);
  sessionChecks_.push({sessionEndsAtMs(s), key});
}

std::optional<SessionRecord> ShardStore::takeSession(const TokenKey& key) {
  std::optional<SessionRecord> s = sessions_.take(key);
  if (s && s->bornFromSessionTransfer && s->cascade) removeFrom(bornOf_, s->parentFamily, key);
  if (s && !s->userId.empty()) removeFrom(sessionsByUser_, s->userId, key);
  return s;  // its entry in sessionChecks_ is dropped when it comes due
}

TokenId ShardStore::putSession(Random16 random, SessionRecord rec, uint64_t nowMs) {
  rec.home = homeOf(rec.home);
  TokenId id = makeTokenId(TokenKind::kSession, rec.home, random);
  rec.createdAtMs = nowMs;
  rec.lastSeenAtMs = nowMs;
  rec.expiresAtMs = nowMs + limits_.sessionAbsoluteMs;
  rec.loggedSeenAtMs = nowMs;
  logSession(id.key, rec);
  indexSession(id.key, rec);
  sessions_.insert(id.key, std::move(rec));
  return id;
}

SessionRecord* ShardStore::findSession(const TokenKey& key, uint64_t nowMs) {
  SessionRecord* s = sessions_.find(key);
  if (s == nullptr) return nullptr;
  if (sessionExpired(*s, nowMs)) {
    endSession(key);  // expiry ends it like a logout: its online refresh tokens go too
    return nullptr;
  }
  s->lastSeenAtMs = nowMs;
  logTouch(key, *s);
  return s;
}

std::optional<SessionRecord> ShardStore::endSession(const TokenKey& key) {
  std::optional<SessionRecord> s = takeSession(key);
  if (s) {
    logKey(RecordType::kSessionEnded, key);
    revokeFamiliesOfSession(s->sid);
  }
  return s;
}

TokenId ShardStore::issueRefresh(Random16 random, RefreshFamily family, uint64_t nowMs) {
  family.home = homeOf(family.home);
  TokenId id = makeTokenId(TokenKind::kRefreshToken, family.home, random);
  family.createdAtMs = nowMs;
  family.current = id.key;
  family.previous = {};
  family.revoked = false;
  logFamily(RecordType::kFamilyIssued, id.key, family);
  indexFamily(id.key, family);
  families_.insert(id.key, std::move(family));
  refreshTokens_.insert(id.key, {id.key});
  return id;
}

const RefreshFamily* ShardStore::familyOf(const TokenKey& token, TokenKey* familyKey) {
  const FamilyRef* ref = refreshTokens_.find(token);
  if (ref == nullptr) return nullptr;
  if (familyKey != nullptr) *familyKey = ref->family;
  return families_.find(ref->family);
}

ShardStore::RefreshUse ShardStore::useRefresh(const TokenKey& key, std::string_view clientId, Random16 random,
                                              uint64_t leewayMs, uint64_t nowMs) {
  RefreshUse out;
  const FamilyRef* ref = refreshTokens_.find(key);
  RefreshFamily* fam = ref != nullptr ? families_.find(ref->family) : nullptr;
  if (fam == nullptr) return out;  // kUnknown
  const TokenKey familyKey = ref->family;  // `ref` dies if the index grows below
  if (fam->clientId != clientId) {
    out.outcome = RefreshOutcome::kWrongClient;
    return out;
  }
  if (fam->revoked) {
    out.outcome = RefreshOutcome::kRevoked;
    return out;
  }
  if (fam->rotating) {
    bool isCurrent = key == fam->current;
    bool withinLeeway = key == fam->previous && leewayMs != 0 && nowMs < fam->rotatedAtMs + leewayMs;
    if (!isCurrent && !withinLeeway) {
      revokeFamily(*fam, familyKey);  // reuse of a rotated-out token: the whole family goes
      out.outcome = RefreshOutcome::kReuse;
      return out;
    }
    TokenId next = makeTokenId(TokenKind::kRefreshToken, fam->home, random);
    if (!refreshTokens_.insert(next.key, {familyKey})) return out;  // 2^-128: treat as unknown
    if (isCurrent) fam->previous = fam->current;  // within the leeway `previous` stays the same
    fam->current = next.key;
    fam->rotatedAtMs = nowMs;
    logFamily(RecordType::kFamilyRotated, familyKey, *fam);
    out.rotatedTo = next;
  }
  out.outcome = RefreshOutcome::kOk;
  out.family = *fam;
  out.familyKey = familyKey;
  return out;
}

bool ShardStore::revokeRefresh(const TokenKey& key, std::string_view clientId) {
  const FamilyRef* ref = refreshTokens_.find(key);
  RefreshFamily* fam = ref != nullptr ? families_.find(ref->family) : nullptr;
  if (fam == nullptr || fam->clientId != clientId || fam->revoked) return false;
  revokeFamily(*fam, ref->family);
  return true;
}

size_t ShardStore::revokeFamiliesOfSession(std::string_view sid, bool all) {
  auto it = familiesBySid_.find(std::string(sid));
  if (sid.empty() || it == familiesBySid_.end()) return 0;
  size_t n = 0;
  it->second.forEach([&](const TokenKey& k) {
    RefreshFamily* f = families_.find(k);
    if (f != nullptr && !f->revoked && (all || f->online)) {
      f->revoked = true;
      logKey(RecordType::kFamilyRevoked, k);
      ++n;
    }
  });
  return n;
}

void ShardStore::revokeFamily(RefreshFamily& family, const TokenKey& familyKey) {
  family.revoked = true;
  logKey(RecordType::kFamilyRevoked, familyKey);
  lastCascade_ = {};
  // Unredeemed STTs of this family now fail at redemption ("parent refresh token not found").
  // Sessions born from them go too when the minting client asked for the cascade, with every
  // refresh token issued in them, online or not (SPEC.md §5).
  auto it = bornOf_.find(familyKey);
  std::vector<TokenKey> born;  // takeSession edits the index
  if (it != bornOf_.end()) born = it->second.keys();
  for (const TokenKey& k : born) {
    std::optional<SessionRecord> s = takeSession(k);
    if (!s) continue;
    logKey(RecordType::kSessionEnded, k);
    ++lastCascade_.sessions;
    lastCascade_.families += revokeFamiliesOfSession(s->sid, true);
  }
  if (lastCascade_.sessions != 0) cascades_.store(cascades_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void ShardStore::reap(uint64_t nowMs) {
  codes_.expire([nowMs](const StoredCode& c) { return c.expiresAtMs <= nowMs; },
                [this](const TokenKey&, StoredCode& c) { releaseCode(c, strings_); });
  while (!accessExpiry_.empty() && accessExpiry_.front().atMs <= nowMs) {
    const TokenKey key = accessExpiry_.front().key;
    accessExpiry_.pop_front();
    const AccessRecord* a = access_.find(key);
    if (a != nullptr && a->expiresAtMs <= nowMs) access_.erase(key);
  }
  // STTs are kept for a while after they expire, so that a late presentation is reported as
  // "expired" (with who minted it, from where, how long ago) rather than "not found".
  const uint64_t sttKeptMs = limits_.sttTtlMs + limits_.sttTombstoneMs;
  stts_.expire([nowMs, sttKeptMs](const StoredStt& t) { return t.mintedAtMs + sttKeptMs <= nowMs; },
               [this](const TokenKey&, StoredStt& t) { releaseStt(t, strings_); });
  while (!sessionChecks_.empty() && sessionChecks_.top().atMs <= nowMs) {
    const TokenKey key = sessionChecks_.top().key;
    sessionChecks_.pop();
    const SessionRecord* s = sessions_.find(key);
    if (s == nullptr) continue;  // ended already
    if (sessionExpired(*s, nowMs)) endSession(key);
    else sessionChecks_.push({sessionEndsAtMs(*s), key});  // touched since: due later
  }
  // A revoked family answers "revoked" for as long as its tokens are indexed; dropping both
  // turns that answer into "unknown", which the token endpoint answers identically.
  families_.sweep(familySweep_, kSweepSlots, [this](const TokenKey& k, const RefreshFamily& f) {
    if (f.revoked) unindexFamily(k, f);
    return f.revoked;
  });
  refreshTokens_.sweep(indexSweep_, kSweepSlots,
                       [this](const TokenKey&, const FamilyRef& r) { return families_.find(r.family) == nullptr; });
}

}  // namespace handoff::store
