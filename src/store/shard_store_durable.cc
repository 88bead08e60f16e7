// The durable side of ShardStore: what each durable mutation writes to the journal, how a
// record is replayed at recovery, and the snapshot of the state. One record layout per type,
// written and read in one place each (Writer/Reader, store/wire.h).
#include "handoff/store/shard_store.h"
#include "handoff/store/wire.h"

namespace handoff::store {
namespace {

constexpr uint64_t kTouchLogEveryMs = 60'000;  // a session's idle timer is durable to the minute

// Every record that creates something starts with its key and its home (recovery places it by
// the home: peekHome).
void writeFamily(Writer& w, const RefreshFamily& f) {
  w.u16(f.home);
  w.str(f.clientId);
  w.str(f.userId);
  w.str(f.scope);
  w.str(f.audience);
  w.str(f.sessionId);
  w.i64(f.authTime);
  w.u64(f.createdAtMs);
  w.key(f.current);
  w.key(f.previous);
  w.u64(f.rotatedAtMs);
  w.flag(f.rotating);
  w.flag(f.revoked);
  w.flag(f.bornFromSessionTransfer);
  w.flag(f.online);
}

RefreshFamily readFamily(Reader& r) {
  RefreshFamily f;
  f.home = r.u16();
  f.clientId = r.str();
  f.userId = r.str();
  f.scope = r.str();
  f.audience = r.str();
  f.sessionId = r.str();
  f.authTime = r.i64();
  f.createdAtMs = r.u64();
  f.current = r.key();
  f.previous = r.key();
  f.rotatedAtMs = r.u64();
  f.rotating = r.flag();
  f.revoked = r.flag();
  f.bornFromSessionTransfer = r.flag();
  f.online = r.flag();
  return f;
}

void writeSession(Writer& w, const SessionRecord& s) {
  w.u16(s.home);
  w.str(s.userId);
  w.str(s.sid);
  w.i64(s.authTime);
  w.u64(s.createdAtMs);
  w.u64(s.lastSeenAtMs);
  w.u64(s.expiresAtMs);
  w.flag(s.bornFromSessionTransfer);
  w.key(s.parentFamily);
  w.flag(s.cascade);
  w.u64(s.absoluteCapMs);
  w.u64(s.idleCapMs);
}

SessionRecord readSession(Reader& r) {
  SessionRecord s;
  s.home = r.u16();
  s.userId = r.str();
  s.sid = r.str();
  s.authTime = r.i64();
  s.createdAtMs = r.u64();
  s.lastSeenAtMs = r.u64();
  s.expiresAtMs = r.u64();
  s.bornFromSessionTransfer = r.flag();
  s.parentFamily = r.key();
  s.cascade = r.flag();
  s.absoluteCapMs = r.u64();
  s.idleCapMs = r.u64();
  s.loggedSeenAtMs = s.lastSeenAtMs;
  return s;
}

void writeAccess(Writer& w, const AccessRecord& a) {
  w.u16(a.home);
  w.str(a.clientId);
  w.str(a.userId);
  w.str(a.scope);
  w.u64(a.expiresAtMs);
}

AccessRecord readAccess(Reader& r) {
  AccessRecord a;
  a.home = r.u16();
  a.clientId = r.str();
  a.userId = r.str();
  a.scope = r.str();
  a.expiresAtMs = r.u64();
  return a;
}

// Inserts or replaces: a replay may meet a record twice (a snapshot and the log after it).
template <class T, class V>
void upsert(T& table, const TokenKey& k, V value) {
  if (auto* existing = table.find(k)) *existing = std::move(value);
  else table.insert(k, std::move(value));
}

}  // namespace

void ShardStore::logFamily(RecordType type, const TokenKey& familyKey, const RefreshFamily& f) {
  if (journal_ == nullptr) return;
  std::string& p = scratch_;  // one buffer for every record: no allocation per record
  p.clear();
  Writer w(p);
  w.key(familyKey);
  if (type == RecordType::kFamilyRotated) {
    w.key(f.current);
    w.key(f.previous);
    w.u64(f.rotatedAtMs);
  } else {
    writeFamily(w, f);
  }
  journal_->append(type, p);
}

void ShardStore::logSession(const TokenKey& key, const SessionRecord& s) {
  if (journal_ == nullptr) return;
  std::string& p = scratch_;  // one buffer for every record: no allocation per record
  p.clear();
  Writer w(p);
  w.key(key);
  writeSession(w, s);
  journal_->append(RecordType::kSessionCreated, p);
}

void ShardStore::logKey(RecordType type, const TokenKey& key) {
  if (journal_ == nullptr) return;
  std::string& p = scratch_;  // one buffer for every record: no allocation per record
  p.clear();
  Writer w(p);
  w.key(key);
  journal_->append(type, p);
}

void ShardStore::logTouch(const TokenKey& key, SessionRecord& s) {
  if (journal_ == nullptr || s.lastSeenAtMs < s.loggedSeenAtMs + kTouchLogEveryMs) return;
  s.loggedSeenAtMs = s.lastSeenAtMs;
  std::string& p = scratch_;  // one buffer for every record: no allocation per record
  p.clear();
  Writer w(p);
  w.key(key);
  w.u64(s.lastSeenAtMs);
  journal_->append(RecordType::kSessionTouched, p);
}

void ShardStore::logAccess(const TokenKey& key, const AccessRecord& a) {
  if (journal_ == nullptr) return;
  std::string& p = scratch_;  // one buffer for every record: no allocation per record
  p.clear();
  Writer w(p);
  w.key(key);
  writeAccess(w, a);
  journal_->append(RecordType::kAccessIssued, p);
}

bool ShardStore::holds(RecordType type, std::string_view payload) {
  Reader r(payload);
  TokenKey key = r.key();
  if (type == RecordType::kRefreshIndex) key = r.key();  // the family it points at
  if (!r.ok()) return false;
  switch (type) {
    case RecordType::kFamilyRotated:
    case RecordType::kFamilyRevoked:
    case RecordType::kRefreshIndex: return families_.find(key) != nullptr;
    case RecordType::kSessionTouched:
    case RecordType::kSessionEnded: return sessions_.find(key) != nullptr;
    case RecordType::kAccessRevoked: return access_.find(key) != nullptr;
    default: return false;
  }
}

std::optional<uint16_t> ShardStore::peekHome(RecordType type, std::string_view payload) {
  if (type != RecordType::kFamilyIssued && type != RecordType::kFamilyState && type != RecordType::kSessionCreated &&
      type != RecordType::kAccessIssued) {
    return std::nullopt;
  }
  Reader r(payload);
  r.key();
  uint16_t home = r.u16();
  if (!r.ok()) return std::nullopt;
  return home;
}

bool ShardStore::apply(RecordType type, std::string_view payload) {
  Reader r(payload);
  TokenKey key = r.key();
  switch (type) {
    case RecordType::kFamilyIssued:
    case RecordType::kFamilyState: {
      RefreshFamily f = readFamily(r);
      if (!r.done()) return false;
      if (type == RecordType::kFamilyIssued) upsert(refreshTokens_, f.current, FamilyRef{key});
      indexFamily(key, f);
      upsert(families_, key, std::move(f));
      return true;
    }
    case RecordType::kFamilyRotated: {
      TokenKey current = r.key(), previous = r.key();
      uint64_t at = r.u64();
      if (!r.done()) return false;
      RefreshFamily* f = families_.find(key);
      if (f == nullptr) return true;  // reaped (revoked) before the snapshot: nothing to rotate
      f->current = current;
      f->previous = previous;
      f->rotatedAtMs = at;
      upsert(refreshTokens_, current, FamilyRef{key});
      return true;
    }
    case RecordType::kFamilyRevoked:
      if (!r.done()) return false;
      if (RefreshFamily* f = families_.find(key)) f->revoked = true;
      return true;
    case RecordType::kSessionCreated: {
      SessionRecord s = readSession(r);
      if (!r.done()) return false;
      indexSession(key, s);
      upsert(sessions_, key, std::move(s));
      return true;
    }
    case RecordType::kSessionTouched: {
      uint64_t at = r.u64();
      if (!r.done()) return false;
      if (SessionRecord* s = sessions_.find(key); s != nullptr && at > s->lastSeenAtMs) {
        s->lastSeenAtMs = s->loggedSeenAtMs = at;
      }
      return true;
    }
    case RecordType::kSessionEnded:
      if (!r.done()) return false;
      takeSession(key);
      return true;
    case RecordType::kAccessIssued: {
      AccessRecord a = readAccess(r);
      if (!r.done()) return false;
      uint64_t expires = a.expiresAtMs;
      upsert(access_, key, std::move(a));
      accessExpiry_.push_back({expires, key});
      return true;
    }
    case RecordType::kAccessRevoked:
      if (!r.done()) return false;
      access_.erase(key);
      return true;
    case RecordType::kRefreshIndex: {
      TokenKey family = r.key();
      if (!r.done()) return false;
      upsert(refreshTokens_, key, FamilyRef{family});
      return true;
    }
    case RecordType::kTenantClientPut:
    case RecordType::kTenantClientDeleted:
    case RecordType::kTenantUserPut:
    case RecordType::kTenantUserDeleted: return false;  // the tenant journal's, never a shard's
  }
  return false;  // an unknown type
}

void ShardStore::snapshot(uint64_t nowMs, const SnapshotSink& sink) {
  beginSnapshot();
  while (!snapshotStep(nowMs, SIZE_MAX, sink)) {
  }
}

void ShardStore::beginSnapshot() {
  abandonSnapshot();
  scanPhase_ = 0;
  families_.beginScan(scan_);
}

void ShardStore::abandonSnapshot() {
  families_.endScan(scan_);
  refreshTokens_.endScan(scan_);
  sessions_.endScan(scan_);
  access_.endScan(scan_);
  scanPhase_ = -1;
}

bool ShardStore::snapshotStep(uint64_t nowMs, size_t budget, const SnapshotSink& sink) {
  std::string p;
  auto emit = [&](RecordType type, const TokenKey& k, auto&& body) {
    p.clear();
    Writer w(p);
    w.key(k);
    body(w);
    sink(type, p);
  };
  bool done = false;
  switch (scanPhase_) {
    case 0:
      done = families_.scanStep(scan_, budget, [&](const TokenKey& k, RefreshFamily& f) {
        if (!f.revoked) emit(RecordType::kFamilyState, k, [&](Writer& w) { writeFamily(w, f); });
      });
      if (done) refreshTokens_.beginScan(scan_);
      break;
    case 1:
      done = refreshTokens_.scanStep(scan_, budget, [&](const TokenKey& token, FamilyRef& ref) {
        const RefreshFamily* f = families_.find(ref.family);
        if (f != nullptr && !f->revoked) emit(RecordType::kRefreshIndex, token, [&](Writer& w) { w.key(ref.family); });
      });
      if (done) sessions_.beginScan(scan_);
      break;
    case 2:
      done = sessions_.scanStep(scan_, budget, [&](const TokenKey& k, SessionRecord& s) {
        if (!sessionExpired(s, nowMs)) emit(RecordType::kSessionCreated, k, [&](Writer& w) { writeSession(w, s); });
      });
      if (done) access_.beginScan(scan_);
      break;
    case 3:
      done = access_.scanStep(scan_, budget, [&](const TokenKey& k, AccessRecord& a) {
        if (a.expiresAtMs > nowMs) emit(RecordType::kAccessIssued, k, [&](Writer& w) { writeAccess(w, a); });
      });
      break;
    default:
      return true;
  }
  if (!done) return false;
  if (++scanPhase_ <= 3) return false;
  scanPhase_ = -1;
  return true;
}

}  // namespace handoff::store
