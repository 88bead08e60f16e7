// The tables of one shard: authorization codes, browser sessions and refresh-token families,
// with the decisions that must be taken in one place (single use, rotation, reuse detection).
// Thread-bound to its shard; every method takes the current monotonic time in milliseconds.
#pragma once

#include <deque>
#include <optional>
#include <span>
#include <string_view>

#include "handoff/store/records.h"

namespace handoff::store {

struct StoreLimits {
  uint64_t codeTtlMs = 60'000;                     // SECURITY.md: codes live at most 60 s
  uint64_t sessionIdleMs = 3ull * 24 * 3600 * 1000;
  uint64_t sessionAbsoluteMs = 7ull * 24 * 3600 * 1000;
};

using Random16 = std::span<const uint8_t, 16>;

class ShardStore {
 public:
  ShardStore(uint16_t shard, StoreLimits limits = {}) : shard_(shard), limits_(limits) {}

  uint16_t shard() const { return shard_; }

  // ── codes ──
  TokenId putCode(Random16 random, CodeRecord rec, uint64_t nowMs);
  // Removes the code whatever happens next: a code works once, and never after it expired.
  std::optional<CodeRecord> takeCode(const TokenKey& key, uint64_t nowMs);

  // ── browser sessions ──
  TokenId putSession(Random16 random, SessionRecord rec, uint64_t nowMs);
  // The live session, its idle timer restarted; nullptr when unknown, ended or expired.
  SessionRecord* findSession(const TokenKey& key, uint64_t nowMs);
  std::optional<SessionRecord> endSession(const TokenKey& key);

  // ── refresh-token families ──
  TokenId issueRefresh(Random16 random, RefreshFamily family, uint64_t nowMs);

  struct RefreshUse {
    RefreshOutcome outcome = RefreshOutcome::kUnknown;
    RefreshFamily family;              // a copy, for the token response (kOk)
    std::optional<TokenId> rotatedTo;  // the new refresh token, when the family rotates
  };
  // Presents a refresh token on behalf of `clientId`. `random` is used only if a rotation
  // happens. A rotated-out token within `leewayMs` of its rotation is accepted (and rotates
  // again); later, it is reuse and revokes the whole family.
  RefreshUse useRefresh(const TokenKey& key, std::string_view clientId, Random16 random, uint64_t leewayMs,
                        uint64_t nowMs);
  // RFC 7009: revokes the family of this token if it belongs to `clientId`. True if a family
  // was revoked now (false for unknown tokens and other clients' tokens: the caller answers 200
  // either way, as the RFC says).
  bool revokeRefresh(const TokenKey& key, std::string_view clientId);
  // Revokes every family issued in the session with this sid (online refresh tokens); returns
  // how many.
  size_t revokeFamiliesOfSession(std::string_view sid);

  // Drops expired codes and sessions, and the tokens of revoked families.
  void reap(uint64_t nowMs);

  size_t codes() const { return codes_.size(); }
  size_t sessions() const { return sessions_.size(); }
  size_t families() const { return families_.size(); }

 private:
  struct FamilyRef {
    TokenKey family;
  };
  struct Expiry {
    uint64_t atMs;
    TokenKey key;
  };

  uint16_t shard_;
  StoreLimits limits_;
  TokenTable<CodeRecord> codes_{256};
  std::deque<Expiry> codeExpiry_;  // codes share one TTL: insertion order is expiry order
  TokenTable<SessionRecord> sessions_{256};
  TokenTable<RefreshFamily> families_{256};
  TokenTable<FamilyRef> refreshTokens_{256};
};

}  // namespace handoff::store
