// The tables of one shard: authorization codes, browser sessions and refresh-token families,
// with the decisions that must be taken in one place (single use, rotation, reuse detection).
// Thread-bound to its shard; every method takes the current monotonic time in milliseconds.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "handoff/store/compact_records.h"
#include "handoff/store/journal.h"
#include "handoff/store/key_set.h"
#include "handoff/store/records.h"
#include "handoff/store/ttl_table.h"

namespace handoff::store {

struct StoreLimits {
  uint64_t codeTtlMs = 60'000;                     // SECURITY.md: codes live at most 60 s
  uint64_t accessTtlMs = 86'400'000;               // opaque access tokens (Auth0: 24 h)
  uint64_t sttTtlMs = 60'000;                      // session transfer tokens (SPEC.md §2)
  uint64_t sttTombstoneMs = 300'000;               // an STT is remembered this long after expiry
  uint64_t sessionIdleMs = 3ull * 24 * 3600 * 1000;
  uint64_t sessionAbsoluteMs = 7ull * 24 * 3600 * 1000;
};

using Random16 = std::span<const uint8_t, 16>;

class ShardStore {
 public:
  ShardStore(uint16_t shard, StoreLimits limits = {}) : shard_(shard), limits_(limits) {}

  uint16_t shard() const { return shard_; }

  // ── durability (shard_store_durable.cc) ──
  // Durable mutations are reported to `journal` from now on (null: memory only).
  void setJournal(Journal* journal) { journal_ = journal; }
  // Replays one record (recovery): no journal, no cascades. False when the payload is malformed.
  bool apply(RecordType type, std::string_view payload);
  // Recovery's placement: the home a creating record names (nullopt for the other types), and
  // whether this store holds what a key-only record refers to.
  static std::optional<uint16_t> peekHome(RecordType type, std::string_view payload);
  static bool knownType(RecordType type) {
    return static_cast<uint8_t>(type) >= static_cast<uint8_t>(RecordType::kFamilyIssued) &&
           static_cast<uint8_t>(type) <= static_cast<uint8_t>(RecordType::kRefreshIndex);
  }
  bool holds(RecordType type, std::string_view payload);
  // The durable state as records (families, their token index, sessions, access tokens): what a
  // snapshot holds. Expired and revoked records are left out.
  using SnapshotSink = std::function<void(RecordType, std::string_view)>;
  void snapshot(uint64_t nowMs, const SnapshotSink& sink);
  // The same, a step at a time while the shard keeps serving (a fuzzy snapshot): each record is
  // written as it is when a step reaches it. Every record present at the start and still present
  // at the end is written once or more; one that changed or vanished meanwhile did so by a logged
  // mutation, and every log record sets state rather than adding to it, so replaying the log from
  // the snapshot's start over it reaches the state the log ends at (TableScan, token_table.h).
  // snapshotStep visits up to `budget` slots; true when the snapshot is complete.
  void beginSnapshot();
  bool snapshotStep(uint64_t nowMs, size_t budget, const SnapshotSink& sink);
  void abandonSnapshot();  // ends one in progress
  // Records kept for recovery counts: families, sessions, access tokens.
  size_t durableRecords() const { return families_.size() + sessions_.size() + access_.size(); }

  // ── codes (shard_store_tokens.cc) ──
  // Codes and STTs are kept compact (compact_records.h, ttl_table.h); what goes in reads back
  // the same.
  TokenId putCode(Random16 random, CodeRecord rec, uint64_t nowMs);
  // Removes the code whatever happens next: a code works once, and never after it expired.
  // A code already exchanged reads as its tombstone (used, times, flags, issued tokens).
  std::optional<CodeRecord> takeCode(const TokenKey& key, uint64_t nowMs);

  struct CodeUse {
    CodeOutcome outcome = CodeOutcome::kUnknown;
    CodeRecord record;  // kOk: a copy of the code's record
  };
  // The exchange of a code: the first use succeeds and leaves a tombstone; a second use revokes
  // what the first produced (see attachIssued) and fails. Expired codes are unknown.
  CodeUse redeemCode(const TokenKey& key, uint64_t nowMs);
  // Records the tokens a redeemed code produced (both on this shard); ignored for a code that
  // redeemCode has not redeemed.
  void attachIssued(const TokenKey& code, const TokenKey* access, const TokenKey* family);

  // ── opaque access tokens ──
  TokenId putAccess(Random16 random, AccessRecord rec, uint64_t nowMs);
  const AccessRecord* findAccess(const TokenKey& key, uint64_t nowMs);
  bool revokeAccess(const TokenKey& key);

  // ── session transfer tokens (shard_store_tokens.cc) ──
  TokenId putStt(Random16 random, SttRecord rec, uint64_t nowMs);
  struct SttUse {
    SttOutcome outcome = SttOutcome::kNotFound;
    SttRecord record;  // for every outcome but kNotFound (the caller logs what it can)
  };
  // Consumes the token on its first presentation, whatever the outcome; then checks expiry and
  // that the parent family is still alive.
  SttUse takeStt(const TokenKey& key, uint64_t nowMs);
  bool familyAlive(const TokenKey& family) const;

  // ── browser sessions ──
  TokenId putSession(Random16 random, SessionRecord rec, uint64_t nowMs);
  // The live session, its idle timer restarted; nullptr when unknown, ended or expired.
  SessionRecord* findSession(const TokenKey& key, uint64_t nowMs);
  // Ends the session and revokes its online refresh families (SPEC.md §5).
  std::optional<SessionRecord> endSession(const TokenKey& key);

  // ── refresh-token families ──
  TokenId issueRefresh(Random16 random, RefreshFamily family, uint64_t nowMs);

  // The family a refresh token belongs to, without using the token; nullptr when unknown.
  const RefreshFamily* familyOf(const TokenKey& token, TokenKey* familyKey = nullptr);

  struct RefreshUse {
    RefreshOutcome outcome = RefreshOutcome::kUnknown;
    RefreshFamily family;              // a copy, for the token response (kOk)
    TokenKey familyKey;
    std::optional<TokenId> rotatedTo;  // the new refresh token, when the family rotates
  };
  // Presents a refresh token on behalf of `clientId`. `random` is used only if a rotation
  // happens. A rotated-out token within `leewayMs` of its rotation is accepted (and rotates
  // again); later, it is reuse and revokes the whole family.
  RefreshUse useRefresh(const TokenKey& key, std::string_view clientId, Random16 random, uint64_t leewayMs,
                        uint64_t nowMs);
  // RFC 7009: revokes the family of this token if it belongs to `clientId`, with its cascade.
  // True if a family was revoked now (false for unknown tokens and other clients' tokens: the
  // caller answers 200 either way, as the RFC says).
  bool revokeRefresh(const TokenKey& key, std::string_view clientId);
  // Revokes the families issued in the session with this sid; only the online ones unless
  // `all`. Returns how many.
  size_t revokeFamiliesOfSession(std::string_view sid, bool all = false);

  // ── a user's records (the management API; shard_store_users.cc) ──
  // Live sessions and unrevoked families of `userId` on this shard, through an index by user
  // (no scan). Expired sessions are left out.
  std::vector<std::pair<TokenKey, SessionRecord>> sessionsOfUser(const std::string& userId, uint64_t nowMs);
  std::vector<std::pair<TokenKey, RefreshFamily>> familiesOfUser(const std::string& userId);
  // Ends one session of the user (as a logout: its online families go too); false when absent.
  bool endSessionOfUser(const std::string& userId, const TokenKey& session);
  // Revokes one family of the user with its cascade (SPEC.md §5); false when absent or revoked.
  bool revokeFamilyOfUser(const std::string& userId, const TokenKey& family);
  // Every session / every family of the user on this shard; returns how many.
  size_t endSessionsOfUser(const std::string& userId);
  size_t revokeFamiliesOfUser(const std::string& userId);

  // What revoking a family set off (for events and metrics).
  struct Cascade {
    size_t sessions = 0;
    size_t families = 0;
  };
  const Cascade& lastCascade() const { return lastCascade_; }
  // Revocations so far that ended at least one STT-born session. Readable from any thread
  // (/metrics); written by the owner only.
  uint64_t cascades() const { return cascades_.load(std::memory_order_relaxed); }

  // Drops expired codes, tokens and sessions (each in expiry order, touching only what is due),
  // and sweeps a window of the family and refresh-token tables for revoked families and their
  // tokens (the whole table once every few calls for small tables; a piece per call for large
  // ones, so that no call stalls the shard).
  void reap(uint64_t nowMs);
  static constexpr size_t kSweepSlots = 8192;  // slots of each swept table per reap

  size_t codes() const { return codes_.size(); }
  size_t sessions() const { return sessions_.size(); }
  size_t families() const { return families_.size(); }
  size_t accessTokens() const { return access_.size(); }
  size_t sessionTransferTokens() const { return stts_.size(); }
  size_t internedStrings() const { return strings_.size(); }  // distinct, held by codes and STTs

 private:
  struct FamilyRef {
    TokenKey family;
  };
  struct Expiry {
    uint64_t atMs;
    TokenKey key;
  };
  struct Later {
    bool operator()(const Expiry& a, const Expiry& b) const { return a.atMs > b.atMs; }
  };

  uint16_t shard_;
  StoreLimits limits_;
  Journal* journal_ = nullptr;
  // Codes and STTs each share one TTL: insertion order is expiry order, which TtlTable keeps.
  // Their repeated strings are interned here (their other strings are packed per record).
  InternTable strings_;
  TtlTable<StoredCode> codes_{256};
  // Revokes a family and, when it is the parent of STT-born sessions with cascade on, ends them
  // and revokes every family issued in them (SPEC.md §5).
  void revokeFamily(RefreshFamily& family, const TokenKey& familyKey);
  // Journal writers (no-ops without a journal).
  void logFamily(RecordType type, const TokenKey& familyKey, const RefreshFamily& f);
  void logSession(const TokenKey& key, const SessionRecord& s);
  void logKey(RecordType type, const TokenKey& key);
  void logTouch(const TokenKey& key, SessionRecord& s);
  void logAccess(const TokenKey& key, const AccessRecord& a);
  bool sessionExpired(const SessionRecord& s, uint64_t nowMs) const { return sessionEndsAtMs(s) <= nowMs; }
  uint64_t sessionEndsAtMs(const SessionRecord& s) const;  // idle or absolute end, as it stands
  // The indexes below follow the tables: every family and session enters them here, and leaves
  // them when its record leaves its table.
  void indexFamily(const TokenKey& key, const RefreshFamily& f);
  void unindexFamily(const TokenKey& key, const RefreshFamily& f);
  void indexSession(const TokenKey& key, const SessionRecord& s);
  std::optional<SessionRecord> takeSession(const TokenKey& key);
  uint16_t homeOf(uint16_t home) const { return home == kNoHome ? shard_ : home; }

  TtlTable<StoredStt> stts_{256};
  Cascade lastCascade_;
  std::atomic<uint64_t> cascades_{0};
  TokenTable<AccessRecord> access_{256};
  std::deque<Expiry> accessExpiry_;  // one TTL too
  TokenTable<SessionRecord> sessions_{256};
  TokenTable<RefreshFamily> families_{256};
  TokenTable<FamilyRef> refreshTokens_{256};
  // Cascades without scans: the families issued in each session (by sid), and the sessions born
  // of each family with the cascade on.
  // Sets, not lists: one native login may give birth to very many sessions and one user may hold
  // very many; adding or removing one must not cost a scan of the others (a list made each
  // STT redemption of a long-lived native login O(sessions born of it): 68 % of a redemption
  // benchmark's CPU at 290 k of them). Open-addressed sets, not std::unordered_set: a node
  // allocation per key and whole-set rehashes were 8 % of a redemption's CPU.
  using KeyIndex = KeySet;
  std::unordered_map<std::string, KeyIndex> familiesBySid_;
  std::unordered_map<TokenKey, KeyIndex, TokenKeyHash> bornOf_;
  // The management API's views by user: families (until swept) and sessions (until taken).
  std::unordered_map<std::string, KeyIndex> familiesByUser_, sessionsByUser_;
  // When reap must next look at each session (its end as known then; a touch moves the end
  // later, so a session found not yet over is queued again for its new end).
  std::priority_queue<Expiry, std::vector<Expiry>, Later> sessionChecks_;
  size_t familySweep_ = 0, indexSweep_ = 0;  // reap's sweep cursors
  std::string scratch_;  // the payload being journaled
  TableScan scan_;
  int scanPhase_ = -1;  // the table being scanned: 0 families … 3 access tokens; -1 none
};

}  // namespace handoff::store
