// The management API's tenant changes: journal, then every shard, then the
// answer.
#include "handoff/oauth/tenant_admin.h"

#include "handoff/core/arena.h"
#include "handoff/core/log.h"
#include "handoff/oauth/mgmt_shapes.h"
#include "handoff/oauth/provider.h"

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

}  // namespace

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
      for (unsigned i = 0; i < shards_->size(); ++i) {
        shards_->post(i, [this, i, step] {
          (*peers_)[i]->setTenant(step->tenant);
          shards_->post(0, [this, step] {
            if (++step->acks != shards_->size()) return;
            finish(step->pending.from, std::move(step->pending.done), std::move(step->change));
            busy_ = false;
            runNext();
          });
        });
      }
    };
    if (!journal_) return publish(core::Status{});
    shards_->shard(0).offload(
        [journal = journal_.get(), records = step->change.records] { return journal->append(records); },
        std::move(publish));
    return;
  }
}

}  // namespace handoff::oauth
