// Codes and session transfer tokens as a ShardStore keeps them: millions may be live on a shard
// (PERFORMANCE.md: ≤ 256 bytes each), so their strings are not std::strings. What repeats from
// record to record (client, scope, redirect URI, audience, organization, country, user agent) is
// a handle into the store's InternTable; what differs (user, sid, nonce, PKCE challenge, IP) is
// packed into one block (PackedStrings). The records the store's callers see are still
// SttRecord and CodeRecord (records.h): pack* builds the compact form, unpack* gives every field
// back exactly as it was put in.
//
// These records hold references in an InternTable: whoever drops one releases them (release*).
// Pure functions over the table they are given; thread-bound with it.
#pragma once

#include <cstdint>

#include "handoff/store/intern.h"
#include "handoff/store/packed_strings.h"
#include "handoff/store/records.h"

namespace handoff::store {

struct StoredStt {
  TokenKey parentFamily;
  int64_t authTime = 0;
  int64_t mintedAt = 0;
  uint64_t mintedAtMs = 0;   // its expiry is mintedAtMs + the store's STT lifetime
  PackedStrings strings;     // ip, userId
  uint32_t asn = 0;
  InternTable::Handle clientId = 0, scope = 0, organization = 0, country = 0, userAgent = 0;
  uint16_t home = kNoHome;
  bool cascade = true;
  bool used = false;
};

// Acquires the record's strings in `strings`.
StoredStt packStt(const SttRecord& r, InternTable& strings);
// The record as it was packed; expiresAtMs is mintedAtMs + ttlMs (as putStt set it).
SttRecord unpackStt(const StoredStt& s, const InternTable& strings, uint64_t ttlMs);
// Gives back its references and its block; the times stay (the queue's head reads them).
void releaseStt(StoredStt& s, InternTable& strings);

// An unused code keeps its strings. A used one is a tombstone: it keeps only what a replay must
// revoke — the tokens its exchange produced — in `strings` (the two keys' 16 bytes, "" for none).
struct StoredCode {
  uint64_t expiresAtMs = 0;
  int64_t authTime = 0;
  PackedStrings strings;     // unused: userId, sessionId, nonce, codeChallenge; used: see above
  InternTable::Handle clientId = 0, redirectUri = 0, scope = 0, audience = 0;
  uint16_t home = kNoHome;
  bool used = false;
  bool bornFromSessionTransfer = false;
  bool onlineRefreshTokens = false;
};

// Packs an unused code (`used` and the issued keys of `r` are not kept: a stored code starts
// unused).
StoredCode packCode(const CodeRecord& r, InternTable& strings);
// The record: all of it for an unused code; for a tombstone, used, the times, the flags and the
// issued keys (its other strings are gone).
CodeRecord unpackCode(const StoredCode& c, const InternTable& strings);
// Marks the code used and drops its strings block, which only the exchange needed. Its
// references stay until releaseCode.
void makeTombstone(StoredCode& c);
// A tombstone's issued tokens; {} for none.
TokenKey issuedAccess(const StoredCode& c);
TokenKey issuedFamily(const StoredCode& c);
// Records (or, with {}, forgets) a tombstone's issued tokens; a null pointer keeps that one.
// Ignored for an unused code.
void setIssued(StoredCode& c, const TokenKey* access, const TokenKey* family);
void releaseCode(StoredCode& c, InternTable& strings);

}  // namespace handoff::store
