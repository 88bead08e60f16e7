// The management API's changes to the tenant (clients, users): durable, then on
// every shard, then acknowledged (ARCHITECTURE.md "Tenant changes").
//
// One TenantAdmin per process. It keeps the tenant's editable state — the
// clients' Auth0 fields and the users with their password hashes — and the
// tenant journal (store/tenant_journal.h). At start, on the control thread,
// open() replays the journal over the configuration file's tenant. While
// serving, it is thread-bound to shard 0: a change submitted from any shard
// hops there, where changes run one at a time in arrival order:
//   1. the Edit decides on the current state (pure: records to write, or an
//   error answer);
//   2. its records are applied to a copy of the state and a new immutable
//   Tenant is assembled
//      (the same validation as the config file's; a refusal answers 400);
//   3. the records are appended to the journal and fdatasync'ed on libuv's
//   pool;
//   4. the new snapshot is posted to every shard (Provider::setTenant) and each
//   acknowledges;
//   5. only then does `done` run back on the submitting shard, which answers
//   2xx.
// A failed journal write changes nothing and answers 503.
//
// On Redis (docs/REDIS-STORE.md) the journal is a list in the cluster, the tenant's log, shared
// by every node: the first node seeds it with its file's clients and users, every node replays it
// at start (openShared), appends its changes only when it has applied every entry before them
// (else it catches up and decides again), and applies what other nodes append (a poll every
// 500 ms on shard 0).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "handoff/config/config.h"
#include "handoff/core/result.h"
#include "handoff/core/shard_set.h"
#include "handoff/oauth/tenant.h"
#include "handoff/store/redis/cluster_client.h"
#include "handoff/store/tenant_journal.h"

namespace handoff::oauth {

class Provider;

// What an Edit decided, and then what the change came to.
struct TenantChange {
  std::vector<std::pair<store::RecordType, std::string>> records;  // journal records (whole objects)
  int status = 200;       // the answer's status; >= 400: an error, nothing is written
  std::string body;       // 2xx: the JSON answer; error: the message
  std::string errorCode;  // error: Auth0's errorCode
};

class TenantAdmin {
 public:
  // The decision of one change, on shard 0, against the current snapshot.
  using Edit = std::function<TenantChange(const Tenant& current)>;

  // Replays `journalPath` (empty: no journal, changes live in memory only) over
  // `base`, the configuration file's tenant. A journal record that cannot be
  // read or no longer assembles into a valid tenant refuses the start.
  static core::Result<std::unique_ptr<TenantAdmin>> open(std::shared_ptr<const Tenant> base,
                                                         const std::string& journalPath);

  // On Redis: the log's entries that hold `base` (a put of each client and user), and the admin
  // of the tenant that replaying `log` over an empty one gives (base keeps its settings).
  static std::vector<std::string> seedEntries(const Tenant& base);
  static core::Result<std::unique_ptr<TenantAdmin>> openShared(std::shared_ptr<const Tenant> base,
                                                               const std::vector<std::string>& log);
  static constexpr std::string_view kSharedLogKey = "{handoff}:tenant-log";
  // On shard 0, once its cluster client runs: changes go to the shared log from now on, and what
  // other nodes append is applied every `pollMs`.
  void shareThrough(store::redis::ClusterClient* client, core::Shard& shard0, uint64_t pollMs = 500);

  std::shared_ptr<const Tenant> current() const { return current_; }
  uint64_t journalRecords() const { return journal_ ? journal_->records() : 0; }
  uint64_t tornBytes() const { return journal_ ? journal_->tornBytes() : 0; }

  // Before the shards start: who to broadcast to.
  void attach(core::ShardSet* shards, std::vector<Provider*>* peers) {
    shards_ = shards;
    peers_ = peers;
  }

  // On a shard: runs `edit` on shard 0 as described above, then done(change) on
  // this shard.
  void submit(unsigned fromShard, Edit edit, std::function<void(TenantChange)> done);

  // Applies one journal record to the editable state (replay and live changes
  // alike).
  bool applyRecord(store::RecordType type, std::string_view payload);

 private:
  TenantAdmin() = default;
  struct Pending {
    unsigned from;
    Edit edit;
    std::function<void(TenantChange)> done;
  };
  void runNext();  // shard 0
  // Shard 0: the new state goes to every shard; then() once each has it.
  void broadcast(std::shared_ptr<const Tenant> tenant, std::function<void()> then);
  // Shard 0, on Redis: applies the log's entries past applied_; then(ok) after the broadcast.
  void catchUp(std::function<void(bool)> then);
  void applyEntries(const std::vector<std::string>& entries);
  void finish(unsigned from, std::function<void(TenantChange)> done, TenantChange change);
  core::Result<std::shared_ptr<const Tenant>> assemble() const;

  std::vector<config::ClientConfig> clients_;
  std::vector<User> users_;
  uint32_t passwordIterations_ = 0;
  std::shared_ptr<const Tenant> current_;
  std::unique_ptr<store::TenantJournal> journal_;
  core::ShardSet* shards_ = nullptr;
  std::vector<Provider*>* peers_ = nullptr;
  std::deque<Pending> queue_;  // shard 0
  bool busy_ = false;          // shard 0: a change is between its Edit and its acknowledgement
  store::redis::ClusterClient* redis_ = nullptr;  // shard 0's, on Redis: the shared log
  uint64_t applied_ = 0;                          // entries of the shared log applied here
};

}  // namespace handoff::oauth
