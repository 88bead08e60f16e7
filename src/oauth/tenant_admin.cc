// The management API's tenant changes: journal, then every shard, then the
// answer.
#include "handoff/oauth/tenant_admin.h"

#include "handoff/core/arena.h"
#include "handoff/core/log.h"
#include "handoff/oauth/mgmt_shapes.h"
#include "handoff/oauth/provider.h"
#include "handoff/store/redis/cluster_client.h"

namespace handoff::oauth {
namespace {

using store::RecordType;

// Applies one journal record to the editable state; false for a record that
// cannot be read.
bool applyTo(std::vector<config::ClientConfig>& clients, std::vector<User>& users, RecordType type,
             std::string_view payload) {
  switch (type) {
    case RecordType::kTenantClientDeleted:
      std::erase_if(clients, [&](const config::ClientConfig& c) { return c.clientId == payload; });
      return true;
    case RecordType::kTenantUserDeleted:
      std::erase_if(users, [&](const User& u) { return u.userId == payload; });
      return true;
    case RecordType::kTenantClientPut:
    case RecordType::kTenantUserPut:
      break;
    default:
      return false;
  }
  core::Arena arena;
  const http::JsonValue* v = nullptr;
  if (http::parseJson(payload, arena, &v) != http::JsonError::kNone) return false;
  ShapeError err;
  if (type == RecordType::kTenantClientPut) {
    config::ClientConfig c;
    if (!applyClientBody(*v, c, ShapeMode::kJournal, err) || c.clientId.empty()) return false;
    for (config::ClientConfig& old : clients) {
      if (old.clientId == c.clientId) {
        old = std::move(c);
        return true;
      }
    }
    clients.push_back(std::move(c));
    return true;
  }
  User u;
  UserBodyExtras extras;
  if (!applyUserBody(*v, u, ShapeMode::kJournal, extras, err) || u.userId.empty()) return false;
  for (User& old : users) {
    if (old.userId == u.userId) {
      old = std::move(u);
      return true;
    }
  }
  users.push_back(std::move(u));
  return true;
}

// A log entry on Redis: the record's type in one byte, then its payload.
std::string entryOf(RecordType type, std::string_view payload) {
  std::string e(1, static_cast<char>(type));
  e.append(payload);
  return e;
}

// Appends the entries only if the log holds exactly ARGV[1] entries (this node has applied every
// one before them): {1, length} or {0, length}.
const store::redis::Script& appendAt() {
  static const store::redis::Script s(R"lua(
local n = redis.call('LLEN', KEYS[1])
if n ~= tonumber(ARGV[1]) then return {0, n} end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
return {1, n + #ARGV - 1}
)lua");
  return s;
}

}  // namespace

std::vector<std::string> TenantAdmin::seedEntries(const Tenant& base) {
  std::vector<std::string> out;
  for (const Client& c : base.clients()) out.push_back(entryOf(RecordType::kTenantClientPut, clientJson(c.config, true)));
  for (const User& u : base.users()) out.push_back(entryOf(RecordType::kTenantUserPut, userJson(u, true)));
  return out;
}

core::Result<std::unique_ptr<TenantAdmin>> TenantAdmin::openShared(std::shared_ptr<const Tenant> base,
                                                                   const std::vector<std::string>& log) {
  std::unique_ptr<TenantAdmin> a(new TenantAdmin());
  a->passwordIterations_ = base->passwordIterations();
  for (const std::string& e : log) {
    if (e.empty() || !a->applyRecord(static_cast<RecordType>(static_cast<uint8_t>(e[0])), std::string_view(e).substr(1))) {
      return core::Error(core::Errc::kInvalidArgument, "the tenant's log in Redis holds an entry that cannot be read");
    }
  }
  auto t = a->assemble();
  if (!t) return core::Error(t.error().code(), "the tenant's log in Redis: " + t.error().message());
  a->current_ = std::move(t).value();
  a->applied_ = log.size();
  return a;
}

void TenantAdmin::shareThrough(store::redis::ClusterClient* client, core::Shard& shard0, uint64_t pollMs) {
  redis_ = client;
  shard0.every(pollMs, [this] {
    if (busy_ || !queue_.empty()) return;  // a change in progress catches up by itself
    busy_ = true;
    catchUp([this](bool) {
      busy_ = false;
      runNext();
    });
  });
}

void TenantAdmin::applyEntries(const std::vector<std::string>& entries) {
  for (const std::string& e : entries) {
    if (e.empty() || !applyRecord(static_cast<RecordType>(static_cast<uint8_t>(e[0])), std::string_view(e).substr(1))) {
      core::logError("tenant log: an entry from another node cannot be read; skipped", {});
    }
  }
}

void TenantAdmin::catchUp(std::function<void(bool)> then) {
  std::string key(kSharedLogKey), from = std::to_string(applied_);
  redis_->command(key, {"LRANGE", key, from, "-1"}, [this, then = std::move(then)](store::redis::CommandResult& r) {
    if (!r.ok() || !r.reply().isArray()) return then(false);
    if (r.reply().elements.empty()) return then(true);
    std::vector<std::string> entries;
    for (store::redis::Reply& e : r.reply().elements) entries.push_back(std::move(e.str));
    applyEntries(entries);
    applied_ += entries.size();
    auto t = assemble();
    if (!t) {
      core::logError("tenant log: the entries of another node do not assemble", {{"error", t.error().message()}});
      return then(false);
    }
    current_ = std::move(t).value();
    core::logInfo("tenant log: applied changes made on other nodes", {{"entries", static_cast<uint64_t>(entries.size())}});
    broadcast(current_, [then] { then(true); });
  });
}

void TenantAdmin::broadcast(std::shared_ptr<const Tenant> tenant, std::function<void()> then) {
  auto acks = std::make_shared<unsigned>(0);
  for (unsigned i = 0; i < shards_->size(); ++i) {
    shards_->post(i, [this, i, tenant, acks, then] {
      (*peers_)[i]->setTenant(tenant);
      shards_->post(0, [this, acks, then] {
        if (++*acks == shards_->size()) then();
      });
    });
  }
}

core::Result<std::unique_ptr<TenantAdmin>> TenantAdmin::open(std::shared_ptr<const Tenant> base,
                                                             const std::string& journalPath) {
  std::unique_ptr<TenantAdmin> a(new TenantAdmin());
  a->passwordIterations_ = base->passwordIterations();
  for (const Client& c : base->clients()) a->clients_.push_back(c.config);
  a->users_.assign(base->users().begin(), base->users().end());
  a->current_ = std::move(base);
  if (journalPath.empty()) return a;
  TenantAdmin* self = a.get();
  auto j = store::TenantJournal::open(journalPath,
                                      [self](RecordType t, std::string_view p) { return self->applyRecord(t, p); });
  if (!j) return j.error();
  a->journal_ = std::move(j).value();
  if (a->journal_->tornBytes() != 0) {
    core::logWarn("tenant journal: torn tail cut", {{"bytes", static_cast<uint64_t>(a->journal_->tornBytes())}});
  }
  if (a->journal_->records() != 0) {
    auto t = a->assemble();
    if (!t) return core::Error(t.error().code(), journalPath + ": " + t.error().message());
    a->current_ = std::move(t).value();
  }
  return a;
}

bool TenantAdmin::applyRecord(RecordType type, std::string_view payload) {
  return applyTo(clients_, users_, type, payload);
}

core::Result<std::shared_ptr<const Tenant>> TenantAdmin::assemble() const {
  return Tenant::assemble(clients_, users_, passwordIterations_);
}

void TenantAdmin::submit(unsigned fromShard, Edit edit, std::function<void(TenantChange)> done) {
  shards_->post(0, [this, fromShard, edit = std::move(edit), done = std::move(done)]() mutable {
    queue_.push_back(Pending{fromShard, std::move(edit), std::move(done)});
    if (!busy_) runNext();
  });
}

void TenantAdmin::finish(unsigned from, std::function<void(TenantChange)> done, TenantChange change) {
  shards_->post(from, [done = std::move(done), change = std::move(change)]() mutable { done(std::move(change)); });
}

void TenantAdmin::runNext() {
  while (!queue_.empty()) {
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    TenantChange change = p.edit(*current_);
    if (change.status >= 400 || change.records.empty()) {
      finish(p.from, std::move(p.done), std::move(change));
      continue;
    }
    // The change is applied to a copy: a refusal or a failed write leaves the
    // state as it was.
    auto clients = clients_;
    auto users = users_;
    bool readable = true;
    for (const auto& [type, payload] : change.records) readable = readable && applyTo(clients, users, type, payload);
    auto tenant = readable
                      ? Tenant::assemble(clients, users, passwordIterations_)
                      : core::Result<std::shared_ptr<const Tenant>>(core::Error(core::Errc::kInternal, "bad record"));
    if (!tenant) {
      change.status = readable ? 400 : 500;
      change.body = "Payload validation error: " + tenant.error().message();
      change.errorCode = "invalid_body";
      change.records.clear();
      finish(p.from, std::move(p.done), std::move(change));
      continue;
    }
    busy_ = true;
    struct Step {
      Pending pending;
      TenantChange change;
      std::vector<config::ClientConfig> clients;
      std::vector<User> users;
      std::shared_ptr<const Tenant> tenant;
      unsigned acks = 0;
    };
    auto step = std::make_shared<Step>(
        Step{std::move(p), std::move(change), std::move(clients), std::move(users), std::move(tenant).value(), 0});
    auto publish = [this, step](core::Status written) {
      if (!written) {
        core::logError("tenant journal: a change was not written", {{"error", written.error().message()}});
        step->change = TenantChange{.records = {},
                                    .status = 503,
                                    .body = "The change could not be stored; try again later",
                                    .errorCode = "temporarily_unavailable"};
        finish(step->pending.from, std::move(step->pending.done), std::move(step->change));
        busy_ = false;
        return runNext();
      }
      clients_ = std::move(step->clients);
      users_ = std::move(step->users);
      current_ = step->tenant;
      // Every shard swaps its snapshot and says so; the answer waits for the
      // last one.
      broadcast(step->tenant, [this, step] {
        finish(step->pending.from, std::move(step->pending.done), std::move(step->change));
        busy_ = false;
        runNext();
      });
    };
    if (redis_ != nullptr) {
      // The shared log takes the change only if this node has applied every entry before it;
      // otherwise it catches up and the Edit decides again on what it now knows.
      std::vector<std::string> args{std::to_string(applied_)};
      for (const auto& [type, payload] : step->change.records) args.push_back(entryOf(type, payload));
      std::vector<std::string_view> argv(args.begin(), args.end());
      std::string_view keys[1] = {kSharedLogKey};
      redis_->eval(appendAt(), keys, argv, [this, step, publish, n = step->change.records.size()](
                                               store::redis::CommandResult& r) mutable {
        if (!r.ok() || !r.reply().isArray() || r.reply().elements.size() != 2) {
          // Unknown (a timeout) or not done: answered 503; an append that did happen comes
          // back through the poll like another node's.
          return publish(core::Error(core::Errc::kUnavailable, "the tenant's log in Redis did not answer"));
        }
        if (r.reply().elements[0].integer == 1) {
          applied_ += n;
          return publish(core::Status{});
        }
        if (static_cast<uint64_t>(r.reply().elements[1].integer) < applied_) {
          // Shorter than what this node has applied: the log was lost (a master without
          // persistence). Nothing is appended to a log that no longer holds the tenant.
          return publish(core::Error(core::Errc::kUnavailable, "the tenant's log in Redis lost entries"));
        }
        queue_.push_front(std::move(step->pending));
        catchUp([this](bool) {
          busy_ = false;
          runNext();
        });
      });
      return;
    }
    if (!journal_) return publish(core::Status{});
    shards_->shard(0).offload(
        [journal = journal_.get(), records = step->change.records] { return journal->append(records); },
        std::move(publish));
    return;
  }
}

}  // namespace handoff::oauth
