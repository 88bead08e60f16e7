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
// A record's home: the shard number its tokens name (`rt_<home>_…`), which never changes. It is
// where the record lives, modulo the node's shard count (token_codec.h), and what recovery uses
// to place it after a restart with another count. A record born of another takes its home, so
// that a native login's whole tree (family, STTs, born sessions, their codes, families and
// access tokens) always lives on one shard.
inline constexpr uint16_t kNoHome = 0xFFFF;  // "the shard that creates it"

struct CodeRecord {
  uint16_t home = kNoHome;
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
  bool bornFromSessionTransfer = false;  // its session came from an STT (no nesting, online RTs)
  bool onlineRefreshTokens = false;      // the web client's enforce_online_refresh_tokens
};

// An opaque access token (for /userinfo).
struct AccessRecord {
  std::string clientId;
  std::string userId;
  std::string scope;
  uint64_t expiresAtMs = 0;
  uint16_t home = kNoHome;
};

enum class CodeOutcome : uint8_t { kOk, kUnknown, kReplayed };

// A session transfer token (SPEC.md §2): minted from a native refresh token, redeemed once by a
// browser at /authorize. It lives on the shard of its parent family, and so does the web session
// it creates, so a cascade from the family never leaves the shard.
struct SttRecord {
  uint16_t home = kNoHome;
  std::string userId;
  std::string clientId;        // the minting (native) client
  std::string scope;           // of the parent grant (informational)
  std::string organization;
  std::string ip;              // the minting request's client IP, normalised (no ::ffff:)
  uint32_t asn = 0;            // 0: unknown
  std::string country;
  std::string userAgent;
  TokenKey parentFamily;       // on this shard
  int64_t authTime = 0;        // of the parent grant
  int64_t mintedAt = 0;        // seconds since the epoch
  uint64_t mintedAtMs = 0;     // monotonic
  uint64_t expiresAtMs = 0;
  bool cascade = true;         // the minting client's enforce_cascade_revocation
  bool used = false;           // consumed; kept until it expires so a replay reads "already used"
};

enum class SttOutcome : uint8_t { kOk, kNotFound, kExpired, kAlreadyUsed, kParentRevoked };

// A browser session (the SSO cookie points at it).
struct SessionRecord {
  uint16_t home = kNoHome;
  std::string userId;
  std::string sid;            // public session id (the `sid` claim), not the cookie value
  int64_t authTime = 0;
  uint64_t createdAtMs = 0;
  uint64_t lastSeenAtMs = 0;
  uint64_t expiresAtMs = 0;
  bool bornFromSessionTransfer = false;
  TokenKey parentFamily;      // born from an STT: the native family it descends from
  bool cascade = false;       // revoke this session when that family is revoked
  uint64_t absoluteCapMs = 0; // policy caps for STT-born sessions (0: none)
  uint64_t idleCapMs = 0;
  uint64_t loggedSeenAtMs = 0;  // the lastSeenAtMs the journal last recorded (not itself durable)
};

// A refresh-token family: one grant, whose token rotates. The family id is the key of the
// first token; later tokens point at the family.
struct RefreshFamily {
  uint16_t home = kNoHome;
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
  bool bornFromSessionTransfer = false;  // may not mint session transfer tokens (no nesting)
  bool online = false;                   // revoked when its session ends (enforce_online_refresh_tokens)
};

enum class RefreshOutcome : uint8_t {
  kOk,          // accepted; for rotating families a new current token was made
  kUnknown,     // no such token (or expired / of a family reaped)
  kRevoked,     // the family is revoked
  kReuse,       // a rotated-out token outside the leeway: the family is now revoked
  kWrongClient, // the token belongs to another client (nothing changes)
};

}  // namespace handoff::store
