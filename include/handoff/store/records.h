// The records the OAuth core keeps, and the per-shard tables that own them.
//
// Every record lives on exactly one owner shard, the shard named in its token (token_codec.h).
// A ShardStore is the set of tables of one shard: thread-bound, touched only by its shard (other
// shards reach it with ShardSet::call). Time is passed in (monotonic milliseconds), so the tables
// are tested without clocks or sleeps.
//
// Durability and the Redis backend are later issues: what must survive a restart (sessions,
// refresh-token families) is kept in plain records here so that a write-ahead log can record
// each mutation, and the operations below are the ones a Redis backend answers atomically.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "handoff/store/token_codec.h"
#include "handoff/store/token_table.h"

namespace handoff::store {

// An authorization code: single use, short-lived, bound to its client and redirect_uri.
struct CodeRecord {
  std::string clientId;
  std::string redirectUri;
  std::string userId;
  std::string sessionId;      // the browser session's sid claim
  std::string scope;
  std::string audience;
  std::string nonce;
  std::string codeChallenge;  // S256 challenge; empty when none was sent
  int64_t authTime = 0;       // seconds since the epoch
  uint64_t expiresAtMs = 0;   // monotonic
  // After the exchange the code stays as a tombstone until it expires, remembering what it
  // produced, so that a replay can revoke it (RFC 6749 §4.1.2).
  bool used = false;
  TokenKey issuedAccess;
  TokenKey issuedFamily;
};

// An opaque access token (for /userinfo).
struct AccessRecord {
  std::string clientId;
  std::string userId;
  std::string scope;
  uint64_t expiresAtMs = 0;
};

enum class CodeOutcome : uint8_t { kOk, kUnknown, kReplayed };

// A browser session (the SSO cookie points at it).
struct SessionRecord {
  std::string userId;
  std::string sid;            // public session id (the `sid` claim), not the cookie value
  int64_t authTime = 0;
  uint64_t createdAtMs = 0;
  uint64_t lastSeenAtMs = 0;
  uint64_t expiresAtMs = 0;
  bool bornFromSessionTransfer = false;
};

// A refresh-token family: one grant, whose token rotates. The family id is the key of the
// first token; later tokens point at the family.
struct RefreshFamily {
  std::string clientId;
  std::string userId;
  std::string scope;
  std::string audience;
  std::string sessionId;      // sid of the session it was issued in (online refresh tokens)
  int64_t authTime = 0;
  uint64_t createdAtMs = 0;
  TokenKey current;           // the only token that rotates
  TokenKey previous;          // still accepted within the leeway after a rotation
  uint64_t rotatedAtMs = 0;
  bool rotating = false;
  bool revoked = false;
  bool bornFromSessionTransfer = false;
};

enum class RefreshOutcome : uint8_t {
  kOk,          // accepted; for rotating families a new current token was made
  kUnknown,     // no such token (or expired / of a family reaped)
  kRevoked,     // the family is revoked
  kReuse,       // a rotated-out token outside the leeway: the family is now revoked
  kWrongClient, // the token belongs to another client (nothing changes)
};

}  // namespace handoff::store
