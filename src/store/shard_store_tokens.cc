// Codes and session transfer tokens: single use, one lifetime each, memory only. They are kept
// compact (compact_records.h) in TtlTables, and handed in and out as CodeRecord and SttRecord.
#include "handoff/store/shard_store.h"

namespace handoff::store {

TokenId ShardStore::putCode(Random16 random, CodeRecord rec, uint64_t nowMs) {
  rec.home = homeOf(rec.home);
  TokenId id = makeTokenId(TokenKind::kCode, rec.home, random);
  rec.expiresAtMs = nowMs + limits_.codeTtlMs;
  if (StoredCode* c = codes_.insert(id.key)) *c = packCode(rec, strings_);
  return id;
}

std::optional<CodeRecord> ShardStore::takeCode(const TokenKey& key, uint64_t nowMs) {
  StoredCode* c = codes_.erase(key);
  if (c == nullptr) return std::nullopt;
  std::optional<CodeRecord> rec;
  if (c->expiresAtMs > nowMs) rec = unpackCode(*c, strings_);
  releaseCode(*c, strings_);  // a hole in the queue now: its expiry time stays for the head
  return rec;
}

ShardStore::CodeUse ShardStore::redeemCode(const TokenKey& key, uint64_t nowMs) {
  CodeUse out;
  StoredCode* c = codes_.find(key);
  if (c == nullptr || c->expiresAtMs <= nowMs) return out;
  if (c->used) {
    const TokenKey issuedAt = issuedAccess(*c), issuedFam = issuedFamily(*c);
    if (!(issuedAt == TokenKey{}) && access_.erase(issuedAt)) logKey(RecordType::kAccessRevoked, issuedAt);
    if (RefreshFamily* f = families_.find(issuedFam); f != nullptr && !f->revoked) {
      f->revoked = true;
      logKey(RecordType::kFamilyRevoked, issuedFam);
    }
    const TokenKey none{};
    setIssued(*c, &none, &none);
    out.outcome = CodeOutcome::kReplayed;
    return out;
  }
  out.outcome = CodeOutcome::kOk;
  out.record = unpackCode(*c, strings_);
  out.record.used = true;
  makeTombstone(*c);  // a replay needs only what the exchange produced
  return out;
}

void ShardStore::attachIssued(const TokenKey& code, const TokenKey* access, const TokenKey* family) {
  StoredCode* c = codes_.find(code);
  if (c == nullptr) return;
  setIssued(*c, access, family);
}

TokenId ShardStore::putStt(Random16 random, SttRecord rec, uint64_t nowMs) {
  rec.home = homeOf(rec.home);
  TokenId id = makeTokenId(TokenKind::kSessionTransfer, rec.home, random);
  rec.mintedAtMs = nowMs;  // its expiry, nowMs + sttTtlMs, is derived from this when read
  if (StoredStt* t = stts_.insert(id.key)) *t = packStt(rec, strings_);
  return id;
}

ShardStore::SttUse ShardStore::takeStt(const TokenKey& key, uint64_t nowMs) {
  SttUse out;
  StoredStt* t = stts_.find(key);
  if (t == nullptr) return out;  // never minted, or reaped long after its expiry
  out.record = unpackStt(*t, strings_, limits_.sttTtlMs);
  if (out.record.expiresAtMs <= nowMs) {
    t->used = true;  // kept until the reaper drops it, so a late presentation reads "expired"
    out.outcome = SttOutcome::kExpired;
  } else if (t->used) {
    out.outcome = SttOutcome::kAlreadyUsed;
  } else {
    t->used = true;  // consumed on first presentation, whatever happens next
    out.outcome = familyAlive(t->parentFamily) ? SttOutcome::kOk : SttOutcome::kParentRevoked;
  }
  return out;
}

}  // namespace handoff::store
