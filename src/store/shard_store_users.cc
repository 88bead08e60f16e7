// A user's sessions and refresh-token families, for the management API: read
// and ended through the by-user indexes that indexFamily/indexSession keep,
// never by scanning a table.
#include "handoff/store/shard_store.h"

namespace handoff::store {

std::vector<std::pair<TokenKey, SessionRecord>> ShardStore::sessionsOfUser(const std::string& userId, uint64_t nowMs) {
  std::vector<std::pair<TokenKey, SessionRecord>> out;
  auto it = sessionsByUser_.find(userId);
  if (it == sessionsByUser_.end()) return out;
  it->second.forEach([&](const TokenKey& k) {
    SessionRecord* s = sessions_.find(k);
    if (s != nullptr && !sessionExpired(*s, nowMs)) out.emplace_back(k, *s);
  });
  return out;
}

std::vector<std::pair<TokenKey, RefreshFamily>> ShardStore::familiesOfUser(const std::string& userId) {
  std::vector<std::pair<TokenKey, RefreshFamily>> out;
  auto it = familiesByUser_.find(userId);
  if (it == familiesByUser_.end()) return out;
  it->second.forEach([&](const TokenKey& k) {
    const RefreshFamily* f = families_.find(k);
    if (f != nullptr && !f->revoked) out.emplace_back(k, *f);
  });
  return out;
}

bool ShardStore::endSessionOfUser(const std::string& userId, const TokenKey& session) {
  const SessionRecord* s = sessions_.find(session);
  if (s == nullptr || s->userId != userId) return false;
  return endSession(session).has_value();
}

bool ShardStore::revokeFamilyOfUser(const std::string& userId, const TokenKey& family) {
  RefreshFamily* f = families_.find(family);
  if (f == nullptr || f->revoked || f->userId != userId) return false;
  revokeFamily(*f, family);
  return true;
}

size_t ShardStore::endSessionsOfUser(const std::string& userId) {
  auto it = sessionsByUser_.find(userId);
  if (it == sessionsByUser_.end()) return 0;
  std::vector<TokenKey> keys = it->second.keys();  // endSession edits the index
  size_t n = 0;
  for (const TokenKey& k : keys) n += endSession(k).has_value() ? 1 : 0;
  return n;
}

size_t ShardStore::revokeFamiliesOfUser(const std::string& userId) {
  auto it = familiesByUser_.find(userId);
  if (it == familiesByUser_.end()) return 0;
  std::vector<TokenKey> keys = it->second.keys();  // a cascade may edit the indexes
  size_t n = 0;
  for (const TokenKey& k : keys) {
    RefreshFamily* f = families_.find(k);
    if (f == nullptr || f->revoked) continue;
    revokeFamily(*f, k);
    ++n;
  }
  return n;
}

}  // namespace handoff::store
