// The durable mutations of a shard's store, as the records its write-ahead log keeps
// (DESIGN.md §1 "Durability"). Codes and session transfer tokens are not among them: they live
// 60 s, so a crash loses only unredeemed ones (the user retries) and can never revive a
// consumed one, which a log replay of a "consumed" mark could get wrong if the mark were lost.
//
// Each record is a primitive state change, replayed without side effects: a cascade is logged as
// the family and session records it changed, never re-run at recovery.
#pragma once

#include <cstdint>
#include <string_view>

namespace handoff::store {

enum class RecordType : uint8_t {
  kFamilyIssued = 1,    // family key, RefreshFamily (its first token is the family key)
  kFamilyRotated = 2,   // family key, new current, previous, rotatedAtMs
  kFamilyRevoked = 3,   // family key
  kSessionCreated = 4,  // session key, SessionRecord
  kSessionTouched = 5,  // session key, lastSeenAtMs (logged at most once a minute per session)
  kSessionEnded = 6,    // session key
  kAccessIssued = 7,    // access token key, AccessRecord
  kAccessRevoked = 8,   // access token key
  kFamilyState = 9,     // snapshot: family key, RefreshFamily as it is now
  kRefreshIndex = 10,   // snapshot: token key → family key
  // The tenant journal (tenant_journal.h), not a shard's log: whole records of the management
  // API's changes, as text the oauth layer encodes (the store does not read them).
  kTenantClientPut = 32,    // the client as it is now
  kTenantClientDeleted = 33,  // client_id
  kTenantUserPut = 34,      // the user as it is now (with its password hash)
  kTenantUserDeleted = 35,  // user_id
};

// Where a store reports its durable mutations. Called on the store's shard, synchronously,
// in the order the mutations happen.
class Journal {
 public:
  virtual ~Journal() = default;
  virtual void append(RecordType type, std::string_view payload) = 0;
};

}  // namespace handoff::store
