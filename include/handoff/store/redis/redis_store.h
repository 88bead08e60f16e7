// The store on Redis Cluster (docs/REDIS-STORE.md): the decisions ShardStore takes on one shard
// (single use, rotation, reuse detection, cascades), each taken by one Lua script on the cluster
// slot of the user it concerns, so that every node sees it at once.
//
// Placement: a record's home (records.h) is homeOfUser(user_id), 0..1023, and every key carries
// the hash tag "{h<home>}". Tokens name their home as the embedded store's do ("rt_<home>_…"),
// so any node routes a token to its slot from its text; decode them with kMaxShards as the
// shard count to keep the home whole.
//
// One RedisStore per shard, on that shard's loop, over its ClusterClient. Every call completes
// once, on the loop, with a value or a Failure (cluster_client.h): kUnavailable means nothing
// ran; kTimeout and kConnectionLost mean the outcome is unknown — a token may have been spent,
// and nothing is ever resent. Times are Unix milliseconds.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "handoff/store/records.h"
#include "handoff/store/redis/cluster_client.h"
#include "handoff/store/shard_store.h"
#include "handoff/store/token_codec.h"

namespace handoff::store::redis {

// A value, or why there is none.
template <class T>
struct Answer {
  std::optional<Failure> failure;  // set: no value (see the header comment)
  T value{};
  bool ok() const { return !failure; }
};
template <class T>
using Done = std::function<void(Answer<T>)>;

class RedisStore {
 public:
  RedisStore(ClusterClient& client, StoreLimits limits = {}) : client_(client), limits_(limits) {}

  static constexpr uint16_t kHomes = 1024;  // = kMaxShards: a home fits a token's number
  static uint16_t homeOfUser(std::string_view userId);
  static std::string tag(uint16_t home);              // "{h12}"
  static std::string keyId(const TokenKey& key);      // the token's 22 base64url characters

  // ── codes ──
  // A code for the live browser session `session` ("" user: any; else a session of another
  // user is ended). The code's user, sid and auth_time come from the session.
  enum class Sso : uint8_t { kNone, kOtherUser, kOk };
  struct SsoResult {
    Sso outcome = Sso::kNone;
    TokenId code;
    std::string userId, sid;
    int64_t authTime = 0;
  };
  void ssoCode(const TokenId& session, std::string_view mustBeUser, const CodeRecord& code, Random16 codeRandom,
               uint64_t nowMs, Done<SsoResult> done);

  enum class Exchange : uint8_t { kOk, kInvalid, kReplayed, kRedirectMismatch, kPkceFailed, kPkceDowngrade };
  struct ExchangeCheck {
    std::string clientId;
    std::string redirectUri;
    std::string verifierHash;  // base64url SHA-256 of code_verifier; empty when none was sent
    bool refreshAllowed = false;  // the client may use refresh tokens (and offline_access is asked)
    bool rotating = false;        // the client's refresh tokens rotate
  };
  struct Exchanged {
    Exchange outcome = Exchange::kInvalid;
    CodeRecord code;                 // kOk: user, client, scope, sid, nonce, audience, auth time
    bool online = false;             // the family dies with its session
    std::optional<TokenId> access;   // none when the audience makes the access token a JWT
    std::optional<TokenId> family;   // the refresh token, when one was issued
  };
  void exchangeCode(const TokenId& code, const ExchangeCheck& check, Random16 accessRandom, Random16 familyRandom,
                    uint64_t nowMs, Done<Exchanged> done);

  // ── refresh tokens ──
  struct Refreshed {
    RefreshOutcome outcome = RefreshOutcome::kUnknown;
    RefreshFamily family;            // kOk: user, client, scope, sid, audience, auth time
    std::optional<TokenId> rotated;  // the new refresh token of a rotating family
    std::optional<TokenId> access;
  };
  void refreshGrant(const TokenId& token, std::string_view clientId, Random16 next, uint64_t leewayMs,
                    Random16 accessRandom, uint64_t nowMs, Done<Refreshed> done);
  // The tokens of a grant that starts a tree (password grant): an access token unless
  // `withAccess` is false, and a family when `family` is given. Both live at the user's home.
  struct Issued {
    std::optional<TokenId> access, family;
  };
  void issue(bool withAccess, const std::string& clientId, const std::string& userId, const std::string& scope,
             const std::optional<RefreshFamily>& family, Random16 accessRandom, Random16 familyRandom, uint64_t nowMs,
             Done<Issued> done);
  struct Revoked {
    bool revoked = false;
    ShardStore::Cascade cascade;
  };
  void revokeRefresh(const TokenId& token, std::string_view clientId, Done<Revoked> done);

  // ── session transfer tokens ──
  enum class Mint : uint8_t { kOk, kNested, kRefused };
  struct Minted {
    Mint outcome = Mint::kRefused;
    RefreshOutcome refresh = RefreshOutcome::kUnknown;  // kRefused: why
    TokenId stt;
    std::optional<TokenId> rotated;
    std::string userId, scope, sid;
    int64_t authTime = 0;
  };
  // `rec` holds what the mint knows (client, IP, ASN, country, user agent, cascade, minted at);
  // the rest comes from the parent family.
  void mintStt(const TokenId& refresh, std::string_view clientId, Random16 next, uint64_t leewayMs,
               const SttRecord& rec, Random16 sttRandom, uint64_t nowMs, Done<Minted> done);
  void takeStt(const TokenId& stt, uint64_t nowMs, Done<ShardStore::SttUse> done);
  // A session born of the STT (`session` as SessionRecord with user, sid, auth time, parent,
  // cascade, caps) and its code; false when the parent family was revoked meanwhile.
  struct Born {
    bool ok = false;
    TokenId session, code;
  };
  void bornSession(const SessionRecord& session, Random16 sessionRandom, const CodeRecord& code, Random16 codeRandom,
                   uint64_t nowMs, Done<Born> done);

  // ── browser sessions ──
  void putSession(const SessionRecord& session, Random16 random, uint64_t nowMs, Done<TokenId> done);
  void findSession(const TokenId& session, uint64_t nowMs, Done<std::optional<SessionRecord>> done);
  void endSession(const TokenId& session, Done<std::optional<SessionRecord>> done);

  // ── a user's records (the management API) ──
  // A deleted or blocked user: every family revoked (with its cascade) and every session ended;
  // or only the sessions, or only the families (`what`: "all", "sessions", "families").
  void endUser(const std::string& userId, Done<ShardStore::Cascade> done, std::string_view what = "all");
  void sessionsOfUser(const std::string& userId, uint64_t nowMs,
                      Done<std::vector<std::pair<TokenKey, SessionRecord>>> done);
  void familiesOfUser(const std::string& userId, Done<std::vector<std::pair<TokenKey, RefreshFamily>>> done);
  // One family by its key, with its cascade; true if it was revoked now.
  void revokeFamily(const std::string& userId, const TokenKey& family, Done<bool> done);

  // ── opaque access tokens ──
  void findAccess(const TokenId& access, uint64_t nowMs, Done<std::optional<AccessRecord>> done);
  void revokeAccess(const TokenId& access, Done<bool> done);

 private:
  void run(const Script& script, const std::string& routeKey, std::vector<std::string> args,
           std::function<void(CommandResult&)> then);

  ClusterClient& client_;
  StoreLimits limits_;
};

}  // namespace handoff::store::redis
