// A user's sessions and refresh tokens: scatter-gather listings and durable
// deletions with the cascades of SPEC.md §5. See mgmt_sessions.h for the ids.
#include "mgmt_sessions.h"

#include "handoff/core/log.h"

#include <cstring>
#include <memory>
#include <vector>

#include "handoff/core/base64.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/mgmt_shapes.h"

namespace handoff::oauth::mgmt {
namespace {

using store::RefreshFamily;
using store::SessionRecord;
using store::TokenKey;

constexpr std::string_view kSessionsPrefix = "/api/v2/sessions/";
constexpr std::string_view kRefreshTokensPrefix = "/api/v2/refresh-tokens/";

std::string familyTag(const TokenKey& k) {
  uint8_t bytes[16];
  std::memcpy(bytes, &k.lo, 8);
  std::memcpy(bytes + 8, &k.hi, 8);
  std::string digest = sha256Base64Url(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  return digest.substr(0, 22);
}

std::string publicId(uint16_t home, const std::string& userId, std::string_view token) {
  std::string id = std::to_string(home) + ".";
  core::appendBase64Url(id, userId);
  id.push_back('.');
  id.append(token);
  return id;
}

struct ParsedId {
  uint16_t home = 0;
  std::string userId;
  std::string token;
};

bool parseId(std::string_view id, ParsedId& out) {
  size_t a = id.find('.');
  size_t b = a == std::string_view::npos ? a : id.find('.', a + 1);
  if (a == 0 || b == std::string_view::npos || b + 1 >= id.size() || a > 5) return false;
  unsigned home = 0;
  for (char c : id.substr(0, a)) {
    if (c < '0' || c > '9') return false;
    home = home * 10 + static_cast<unsigned>(c - '0');
  }
  if (home > 0xFFFE || !core::decodeBase64Url(id.substr(a + 1, b - a - 1), out.userId) || out.userId.empty())
    return false;
  out.home = static_cast<uint16_t>(home);
  out.token = std::string(id.substr(b + 1));
  return true;
}

void appendTime(std::string& out, std::string_view key, uint64_t ms) {
  out.push_back(',');
  core::appendJsonString(out, key);
  out.push_back(':');
  if (ms == 0) {
    out.append("null");
    return;
  }
  core::appendJsonString(out, isoTime(static_cast<int64_t>(ms)));
}

std::string sessionJson(const SessionRecord& s) {
  std::string out = "{\"id\":";
  core::appendJsonString(out, publicId(s.home, s.userId, s.sid));
  out.append(",\"user_id\":");
  core::appendJsonString(out, s.userId);
  appendTime(out, "created_at", s.createdAtMs);
  appendTime(out, "updated_at", s.lastSeenAtMs);
  appendTime(out, "authenticated_at", static_cast<uint64_t>(s.authTime) * 1000);
  appendTime(out, "last_interacted_at", s.lastSeenAtMs);
  appendTime(out, "expires_at", s.expiresAtMs);
  out.append(",\"authentication\":{\"methods\":[{\"name\":");
  core::appendJsonString(out, s.bornFromSessionTransfer ? "session_transfer_token" : "pwd");
  out.append("}]},\"born_from_session_transfer_token\":");
  out.append(s.bornFromSessionTransfer ? "true" : "false");
  out.push_back('}');
  return out;
}

std::string refreshJson(const TokenKey& key, const RefreshFamily& f) {
  std::string out = "{\"id\":";
  core::appendJsonString(out, publicId(f.home, f.userId, familyTag(key)));
  out.append(",\"user_id\":");
  core::appendJsonString(out, f.userId);
  out.append(",\"client_id\":");
  core::appendJsonString(out, f.clientId);
  out.append(",\"session_id\":");
  if (f.sessionId.empty())
    out.append("null");
  else
    core::appendJsonString(out, f.sessionId);
  appendTime(out, "created_at", f.createdAtMs);
  appendTime(out, "last_exchanged_at", f.rotatedAtMs);
  out.append(",\"rotating\":").append(f.rotating ? "true" : "false");
  out.append(",\"resource_servers\":[{\"audience\":");
  core::appendJsonString(out, f.audience);
  out.append(",\"scopes\":");
  core::appendJsonString(out, f.scope);
  out.append("}],\"born_from_session_transfer_token\":").append(f.bornFromSessionTransfer ? "true" : "false");
  out.push_back('}');
  return out;
}

// Runs fn(owner) on every shard, then gather(results in shard order) here once
// all answered (each owner's log durable up to what fn logged).
template <class F, class G>
void scatter(Provider& p, F fn, G gather) {
  using R = decltype(fn(p));
  struct State {
    std::vector<R> results;
    unsigned left;
    G gather;
  };
  unsigned n = p.shared().shards->size();
  auto st = std::make_shared<State>(State{std::vector<R>(n), n, std::move(gather)});
  for (unsigned i = 0; i < n; ++i) {
    p.onOwner(i, fn, [st, i](R r) {
      st->results[i] = std::move(r);
      if (--st->left == 0) st->gather(std::move(st->results));
    });
  }
}

bool userExists(Provider& p, http::Exchange& ex, const std::string& userId) {
  if (p.tenant().userById(userId) != nullptr) return true;
  sendManagementError(ex.response, 404, "The user does not exist.", "inexistent_user");
  return false;
}

// {"sessions":[…]} or {"tokens":[…]} of the items, in order.
std::string tokensBody(bool sessions, const std::vector<std::vector<std::string>>& parts) {
  std::string body = sessions ? "{\"sessions\":[" : "{\"tokens\":[";
  bool first = true;
  for (const auto& items : parts) {
    for (const std::string& item : items) {
      if (!first) body.push_back(',');
      first = false;
      body.append(item);
    }
  }
  body.append("]}");
  return body;
}

void storeUnreachable(http::Deferred& d) {
  d.complete([](http::Response& res) {
    sendManagementError(res, 503, "The store cannot be reached now; try again shortly", "temporarily_unavailable");
  });
}

// On Redis (docs/REDIS-STORE.md): the user's records are in one slot; one script lists them.
// `pick` gets the JSON items of the sessions or families, then answers.
using SessionItems = std::vector<std::pair<TokenKey, SessionRecord>>;
using FamilyItems = std::vector<std::pair<TokenKey, RefreshFamily>>;

void redisListUserTokens(Provider& p, http::Deferred dd, const std::string& userId, bool sessions) {
  auto d = std::make_shared<http::Deferred>(std::move(dd));
  if (sessions) {
    return p.redis()->sessionsOfUser(userId, static_cast<uint64_t>(Provider::unixNowMs()),
                                     [d](store::redis::Answer<SessionItems> a) {
      if (!a.ok()) return storeUnreachable(*d);
      std::vector<std::string> items;
      for (const auto& [k, s] : a.value) items.push_back(sessionJson(s));
      std::string body = tokensBody(true, {items});
      d->complete([&](http::Response& res) { sendJson(res, 200, body); });
    });
  }
  p.redis()->familiesOfUser(userId, [d](store::redis::Answer<FamilyItems> a) {
    if (!a.ok()) return storeUnreachable(*d);
    std::vector<std::string> items;
    for (const auto& [k, f] : a.value) items.push_back(refreshJson(k, f));
    std::string body = tokensBody(false, {items});
    d->complete([&](http::Response& res) { sendJson(res, 200, body); });
  });
}

// GET or DELETE of one of the user's sessions (by sid) or families (by tag) on Redis.
void redisServeOne(Provider& p, http::Deferred dd, const ParsedId& pid, bool sessions, bool read, std::string_view what) {
  auto d = std::make_shared<http::Deferred>(std::move(dd));
  auto notFound = [d, what] { d->complete([what](http::Response& res) { sendManagementError(res, 404, what, "not_found"); }); };
  auto done = [d](bool ok, std::string_view notFoundText) {
    d->complete([&](http::Response& res) {
      if (!ok) return sendManagementError(res, 404, notFoundText, "not_found");
      sendJson(res, 202, "");
    });
  };
  store::redis::RedisStore* r = p.redis();
  if (sessions) {
    return r->sessionsOfUser(pid.userId, static_cast<uint64_t>(Provider::unixNowMs()),
                             [r, d, pid, read, what, notFound, done](store::redis::Answer<SessionItems> a) {
      if (!a.ok()) return storeUnreachable(*d);
      for (const auto& [k, s] : a.value) {
        if (s.sid != pid.token) continue;
        if (read) {
          std::string body = sessionJson(s);
          return d->complete([&](http::Response& res) { sendJson(res, 200, body); });
        }
        store::TokenId id{store::TokenKind::kSession, s.home, k};
        return r->endSession(id, [d, done, what](store::redis::Answer<std::optional<SessionRecord>> e) {
          if (!e.ok()) return storeUnreachable(*d);
          done(e.value.has_value(), what);
        });
      }
      notFound();
    });
  }
  r->familiesOfUser(pid.userId, [r, d, pid, read, what, notFound, done](store::redis::Answer<FamilyItems> a) {
    if (!a.ok()) return storeUnreachable(*d);
    for (const auto& [k, f] : a.value) {
      if (familyTag(k) != pid.token) continue;
      if (read) {
        std::string body = refreshJson(k, f);
        return d->complete([&](http::Response& res) { sendJson(res, 200, body); });
      }
      return r->revokeFamily(pid.userId, k, [d, done, what](store::redis::Answer<bool> e) {
        if (!e.ok()) return storeUnreachable(*d);
        done(e.value, what);
      });
    }
    notFound();
  });
}

void listUserTokens(Provider& p, http::Exchange& ex, const std::string& userId, bool sessions) {
  http::Deferred d = ex.defer();
  if (p.redis()) return redisListUserTokens(p, std::move(d), userId, sessions);
  scatter(
      p,
      [userId, sessions](Provider& owner) {
        std::vector<std::string> items;
        if (sessions) {
          for (const auto& [k, s] : owner.store().sessionsOfUser(userId, owner.nowMs()))
            items.push_back(sessionJson(s));
        } else {
          for (const auto& [k, f] : owner.store().familiesOfUser(userId)) items.push_back(refreshJson(k, f));
        }
        return items;
      },
      [d = std::move(d), sessions](std::vector<std::vector<std::string>> perShard) mutable {
        std::string body = tokensBody(sessions, perShard);
        d.complete([&](http::Response& res) { sendJson(res, 200, body); });
      });
}

void endUserTokens(Provider& p, http::Deferred d, const std::string& userId, bool sessions) {
  if (p.redis()) {
    return p.redis()->endUser(userId, [d = std::make_shared<http::Deferred>(std::move(d))](
                                          store::redis::Answer<store::ShardStore::Cascade> a) {
      if (!a.ok()) return storeUnreachable(*d);
      d->complete([](http::Response& res) { sendJson(res, 202, ""); });
    }, sessions ? "sessions" : "families");
  }
  scatter(
      p,
      [userId, sessions](Provider& owner) {
        return sessions ? owner.store().endSessionsOfUser(userId) : owner.store().revokeFamiliesOfUser(userId);
      },
      [d = std::move(d)](std::vector<size_t>) mutable {
        d.complete([](http::Response& res) { sendJson(res, 202, ""); });
      });
}

// GET or DELETE of one session or refresh token by its public id, on its owner
// shard.
void serveOne(Provider& p, http::Exchange& ex, std::string_view prefix, bool sessions) {
  http::Method m = ex.request.method;
  std::string id, rest;
  if (!splitPath(ex, prefix, id, rest)) return;
  bool read = m == http::Method::kGet || m == http::Method::kHead;
  if (!read && m != http::Method::kDelete) return sendMethodNotAllowed(ex.response);
  std::string scope = std::string(read ? "read:" : "delete:") + (sessions ? "sessions" : "refresh_tokens");
  if (!authorizeManagement(p, ex, scope)) return;
  ParsedId pid;
  std::string_view what = sessions ? "The session does not exist." : "The refresh token does not exist.";
  if (!rest.empty() || !parseId(id, pid)) return sendManagementError(ex.response, 404, what, "not_found");
  http::Deferred d = ex.defer();
  if (p.redis()) return redisServeOne(p, std::move(d), pid, sessions, read, what);
  unsigned owner = pid.home % p.shared().shards->size();
  p.onOwner(
      owner,
      [pid, sessions, read](Provider& o) -> std::string {
        // The user's records on this shard, through the by-user index; "" when
        // none matches.
        if (sessions) {
          for (const auto& [k, s] : o.store().sessionsOfUser(pid.userId, o.nowMs())) {
            if (s.sid != pid.token) continue;
            if (read) return sessionJson(s);
            return o.store().endSessionOfUser(pid.userId, k) ? "ended" : "";
          }
          return "";
        }
        for (const auto& [k, f] : o.store().familiesOfUser(pid.userId)) {
          if (familyTag(k) != pid.token) continue;
          if (read) return refreshJson(k, f);
          return o.store().revokeFamilyOfUser(pid.userId, k) ? "revoked" : "";
        }
        return "";
      },
      [d = std::move(d), read, what](std::string found) mutable {
        d.complete([&](http::Response& res) {
          if (found.empty()) return sendManagementError(res, 404, what, "not_found");
          sendJson(res, read ? 200 : 202, read ? found : std::string());
        });
      });
}

}  // namespace

void serveUserTokens(Provider& p, http::Exchange& ex, const std::string& userId, bool sessions) {
  http::Method m = ex.request.method;
  bool read = m == http::Method::kGet || m == http::Method::kHead;
  if (!read && m != http::Method::kDelete) return sendMethodNotAllowed(ex.response);
  std::string scope = std::string(read ? "read:" : "delete:") + (sessions ? "sessions" : "refresh_tokens");
  if (!authorizeManagement(p, ex, scope)) return;
  if (!userExists(p, ex, userId)) return;
  if (read) return listUserTokens(p, ex, userId, sessions);
  endUserTokens(p, ex.defer(), userId, sessions);
}

void serveSession(void* self, http::Exchange& ex) {
  serveOne(*static_cast<Provider*>(self), ex, kSessionsPrefix, true);
}

void serveRefreshToken(void* self, http::Exchange& ex) {
  serveOne(*static_cast<Provider*>(self), ex, kRefreshTokensPrefix, false);
}

void submitThenEndUser(Provider& p, http::Deferred d, ChangeContext ctx, TenantAdmin::Edit edit, std::string userId) {
  submitDeferred(p, std::move(d), std::move(ctx), std::move(edit),
                 [userId = std::move(userId)](Provider& here, std::function<void()> proceed) {
                   if (here.redis() != nullptr) {  // one script on the user's slot
                     return here.redis()->endUser(userId, [proceed](store::redis::Answer<store::ShardStore::Cascade> a) {
                       if (!a.ok()) core::logError("management: a user's tokens could not be ended on Redis", {});
                       proceed();
                     });
                   }
                   // Families first: revoking them cascades to the sessions born of them;
                   // then whatever sessions are left (and their online families).
                   scatter(
                       here,
                       [userId](Provider& owner) {
                         return owner.store().revokeFamiliesOfUser(userId) + owner.store().endSessionsOfUser(userId);
                       },
                       [proceed = std::move(proceed)](std::vector<size_t>) { proceed(); });
                 });
}

}  // namespace handoff::oauth::mgmt
