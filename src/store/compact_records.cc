#include "handoff/store/compact_records.h"

#include <cstring>
#include <string>

namespace handoff::store {
namespace {

enum SttField : size_t { kSttIp, kSttUser };
enum CodeField : size_t { kCodeUser, kCodeSid, kCodeNonce, kCodeChallenge };
enum IssuedField : size_t { kIssuedAccess, kIssuedFamily };

std::string_view keyBytes(const TokenKey& k, char (&buf)[16]) {
  if (k == TokenKey{}) return {};
  std::memcpy(buf, &k.lo, 8);
  std::memcpy(buf + 8, &k.hi, 8);
  return {buf, 16};
}

TokenKey readKey(const PackedStrings& p, size_t field) {
  std::string bytes;
  p.read(field, bytes);
  TokenKey k;
  if (bytes.size() == 16) {
    std::memcpy(&k.lo, bytes.data(), 8);
    std::memcpy(&k.hi, bytes.data() + 8, 8);
  }
  return k;
}

void assign(std::string& out, const InternTable& strings, InternTable::Handle h) {
  std::string_view v = strings.view(h);
  out.assign(v.data(), v.size());
}

}  // namespace

StoredStt packStt(const SttRecord& r, InternTable& strings) {
  StoredStt s;
  s.parentFamily = r.parentFamily;
  s.authTime = r.authTime;
  s.mintedAt = r.mintedAt;
  s.mintedAtMs = r.mintedAtMs;
  const PackedField fields[] = {{r.ip, Packing::kIp}, {r.userId, Packing::kText}};
  s.strings = PackedStrings(fields);
  s.asn = r.asn;
  s.clientId = strings.acquire(r.clientId);
  s.scope = strings.acquire(r.scope);
  s.organization = strings.acquire(r.organization);
  s.country = strings.acquire(r.country);
  s.userAgent = strings.acquire(r.userAgent);
  s.home = r.home;
  s.cascade = r.cascade;
  s.used = r.used;
  return s;
}

SttRecord unpackStt(const StoredStt& s, const InternTable& strings, uint64_t ttlMs) {
  SttRecord r;
  r.home = s.home;
  s.strings.read(kSttUser, r.userId);
  assign(r.clientId, strings, s.clientId);
  assign(r.scope, strings, s.scope);
  assign(r.organization, strings, s.organization);
  s.strings.read(kSttIp, r.ip);
  r.asn = s.asn;
  assign(r.country, strings, s.country);
  assign(r.userAgent, strings, s.userAgent);
  r.parentFamily = s.parentFamily;
  r.authTime = s.authTime;
  r.mintedAt = s.mintedAt;
  r.mintedAtMs = s.mintedAtMs;
  r.expiresAtMs = s.mintedAtMs + ttlMs;
  r.cascade = s.cascade;
  r.used = s.used;
  return r;
}

void releaseStt(StoredStt& s, InternTable& strings) {
  for (InternTable::Handle* h : {&s.clientId, &s.scope, &s.organization, &s.country, &s.userAgent}) {
    strings.release(*h);
    *h = InternTable::kEmpty;
  }
  s.strings.reset();
}

StoredCode packCode(const CodeRecord& r, InternTable& strings) {
  StoredCode c;
  c.expiresAtMs = r.expiresAtMs;
  c.authTime = r.authTime;
  const PackedField fields[] = {{r.userId, Packing::kText},
                                {r.sessionId, Packing::kBase64Url},
                                {r.nonce, Packing::kText},
                                {r.codeChallenge, Packing::kBase64Url}};
  c.strings = PackedStrings(fields);
  c.clientId = strings.acquire(r.clientId);
  c.redirectUri = strings.acquire(r.redirectUri);
  c.scope = strings.acquire(r.scope);
  c.audience = strings.acquire(r.audience);
  c.home = r.home;
  c.bornFromSessionTransfer = r.bornFromSessionTransfer;
  c.onlineRefreshTokens = r.onlineRefreshTokens;
  return c;
}

CodeRecord unpackCode(const StoredCode& c, const InternTable& strings) {
  CodeRecord r;
  r.home = c.home;
  r.authTime = c.authTime;
  r.expiresAtMs = c.expiresAtMs;
  r.used = c.used;
  r.bornFromSessionTransfer = c.bornFromSessionTransfer;
  r.onlineRefreshTokens = c.onlineRefreshTokens;
  if (c.used) {
    r.issuedAccess = issuedAccess(c);
    r.issuedFamily = issuedFamily(c);
    return r;
  }
  assign(r.clientId, strings, c.clientId);
  assign(r.redirectUri, strings, c.redirectUri);
  c.strings.read(kCodeUser, r.userId);
  c.strings.read(kCodeSid, r.sessionId);
  assign(r.scope, strings, c.scope);
  assign(r.audience, strings, c.audience);
  c.strings.read(kCodeNonce, r.nonce);
  c.strings.read(kCodeChallenge, r.codeChallenge);
  return r;
}

void releaseCode(StoredCode& c, InternTable& strings) {
  for (InternTable::Handle* h : {&c.clientId, &c.redirectUri, &c.scope, &c.audience}) {
    strings.release(*h);
    *h = InternTable::kEmpty;
  }
  c.strings.reset();
}

void makeTombstone(StoredCode& c) {
  // The references stay until the code expires (releaseCode): releasing them here would make a
  // client's strings leave and come back with every code on a quiet shard.
  c.strings.reset();
  c.used = true;
}

TokenKey issuedAccess(const StoredCode& c) { return c.used ? readKey(c.strings, kIssuedAccess) : TokenKey{}; }
TokenKey issuedFamily(const StoredCode& c) { return c.used ? readKey(c.strings, kIssuedFamily) : TokenKey{}; }

void setIssued(StoredCode& c, const TokenKey* access, const TokenKey* family) {
  if (!c.used) return;  // an unused code's strings are its own
  TokenKey a = access != nullptr ? *access : issuedAccess(c);
  TokenKey f = family != nullptr ? *family : issuedFamily(c);
  if (a == TokenKey{} && f == TokenKey{}) {
    c.strings.reset();
    return;
  }
  char ab[16], fb[16];
  const PackedField fields[] = {{keyBytes(a, ab)}, {keyBytes(f, fb)}};
  c.strings = PackedStrings(fields);
}

}  // namespace handoff::store
