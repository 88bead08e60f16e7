// The management API's users (Auth0's /api/v2/users, database connection only):
// create, read, update (blocked, password, email, ...), delete. Passwords are
// hashed on libuv's pool of the answering shard before the change goes to
// TenantAdmin; a deleted user's sessions and refresh tokens are ended on every
// shard (mgmt_sessions.cc) before the answer.
#include <string>

#include "handoff/oauth/crypto.h"
#include "handoff/oauth/mgmt_shapes.h"
#include "mgmt_common.h"
#include "mgmt_sessions.h"

namespace handoff::oauth::mgmt {
namespace {

constexpr std::string_view kUsersPrefix = "/api/v2/users/";

TenantChange notFound() { return changeError(404, "The user does not exist.", "inexistent_user"); }
TenantChange emailTaken() { return changeError(409, "The user already exists.", "auth0_idp_error"); }

std::string newUserId() {
  std::array<uint8_t, 12> b;
  randomBytes(b);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "auth0|";
  for (uint8_t x : b) {
    id.push_back(kHex[x >> 4]);
    id.push_back(kHex[x & 15]);
  }
  return id;
}

std::string nowIso() { return isoTime(static_cast<int64_t>(Provider::unixNowMs())); }

// Hashes `password` on this shard's pool (≈40 ms of CPU), then calls next(hash)
// here; with no password, next("") at once.
template <class F>
void hashThen(Provider& p, std::string password, uint32_t iterations, F&& next) {
  if (password.empty()) return next(std::string());
  p.shared().shards->shard(p.shard()).offload(
      [password = std::move(password), iterations] { return hashPassword(password, iterations); },
      std::forward<F>(next));
}

void createUser(Provider& p, http::Exchange& ex, const ManagementCaller& caller) {
  const http::JsonValue* body = nullptr;
  if (!readJsonBody(ex, &body)) return;
  User u;
  UserBodyExtras extras;
  ShapeError err;
  if (!applyUserBody(*body, u, ShapeMode::kCreate, extras, err)) {
    return sendManagementError(ex.response, 400, err.message, "invalid_body");
  }
  for (std::string_view required : {"connection", "email", "password"}) {
    if (body->find(required) == nullptr) {
      return sendManagementError(
          ex.response, 400, "Payload validation error: 'Missing required property: " + std::string(required) + "'.",
          "invalid_body");
    }
  }
  u.userId = extras.userId.empty() ? newUserId() : "auth0|" + extras.userId;
  u.createdAt = u.updatedAt = nowIso();
  ChangeContext ctx = changeContext(p, ex, caller, "Create a User");
  http::Deferred d = ex.defer();
  hashThen(p, std::move(extras.password), p.tenant().passwordIterations(),
           [&p, d = std::move(d), ctx = std::move(ctx), u = std::move(u)](std::string hash) mutable {
             u.passwordHash = std::move(hash);
             submitDeferred(p, std::move(d), std::move(ctx), [u = std::move(u)](const Tenant& t) {
               if (t.userById(u.userId) != nullptr || t.userByEmail(u.email) != nullptr) return emailTaken();
               TenantChange ch;
               ch.status = 201;
               ch.body = userJson(u, false);
               ch.records.emplace_back(store::RecordType::kTenantUserPut, userJson(u, true));
               return ch;
             });
           });
}

void updateUser(Provider& p, http::Exchange& ex, const ManagementCaller& caller, const std::string& id) {
  const http::JsonValue* body = nullptr;
  if (!readJsonBody(ex, &body)) return;
  User scratch;
  UserBodyExtras extras;
  ShapeError err;
  if (!applyUserBody(*body, scratch, ShapeMode::kPatch, extras, err)) {
    return sendManagementError(ex.response, 400, err.message, "invalid_body");
  }
  if (p.tenant().userById(id) == nullptr)
    return sendManagementError(ex.response, 404, "The user does not exist.", "inexistent_user");
  ChangeContext ctx = changeContext(p, ex, caller, "Update a User");
  bool blocks = body->find("blocked") != nullptr && scratch.blocked;
  http::Deferred d = ex.defer();
  hashThen(p, std::move(extras.password), p.tenant().passwordIterations(),
           [&p, d = std::move(d), ctx = std::move(ctx), id, text = std::string(ex.request.body), blocks,
            updated = nowIso()](std::string hash) mutable {
             auto edit = [id, text = std::move(text), hash = std::move(hash), updated](const Tenant& t) {
               const User* current = t.userById(id);
               if (current == nullptr) return notFound();
               User next = *current;
               core::Arena arena;
               const http::JsonValue* v = nullptr;
               UserBodyExtras ignored;
               ShapeError e;
               if (http::parseJson(text, arena, &v, 16) != http::JsonError::kNone ||
                   !applyUserBody(*v, next, ShapeMode::kPatch, ignored, e)) {
                 return changeError(400, e.message, "invalid_body");
               }
               if (const User* other = t.userByEmail(next.email); other != nullptr && other->userId != id)
                 return emailTaken();
               if (!hash.empty()) next.passwordHash = hash;
               next.updatedAt = updated;
               TenantChange ch;
               ch.body = userJson(next, false);
               ch.records.emplace_back(store::RecordType::kTenantUserPut, userJson(next, true));
               return ch;
             };
             if (!blocks) return submitDeferred(p, std::move(d), std::move(ctx), std::move(edit));
             // Blocking also ends what the user holds now: their sessions and
             // refresh tokens.
             submitThenEndUser(p, std::move(d), std::move(ctx), std::move(edit), id);
           });
}

}  // namespace

void serveUsers(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  if (ex.request.method != http::Method::kPost) return sendMethodNotAllowed(ex.response);
  ManagementCaller caller;
  if (!authorizeManagement(p, ex, "create:users", &caller)) return;
  createUser(p, ex, caller);
}

void serveUser(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  http::Method m = ex.request.method;
  std::string id, rest;
  if (!splitPath(ex, kUsersPrefix, id, rest)) return;
  if (rest == "sessions" || rest == "refresh-tokens") return serveUserTokens(p, ex, id, rest == "sessions");
  if (!rest.empty()) return sendManagementError(ex.response, 404, "Not Found", "");
  ManagementCaller caller;
  if (m == http::Method::kGet || m == http::Method::kHead) {
    if (!authorizeManagement(p, ex, "read:users", &caller)) return;
    const User* u = p.tenant().userById(id);
    if (u == nullptr) return sendManagementError(ex.response, 404, "The user does not exist.", "inexistent_user");
    return sendJson(ex.response, 200, userJson(*u, false));
  }
  if (m == http::Method::kPatch) {
    if (!authorizeManagement(p, ex, "update:users", &caller)) return;
    return updateUser(p, ex, caller, id);
  }
  if (m != http::Method::kDelete) return sendMethodNotAllowed(ex.response);
  if (!authorizeManagement(p, ex, "delete:users", &caller)) return;
  if (p.tenant().userById(id) == nullptr)
    return sendManagementError(ex.response, 404, "The user does not exist.", "inexistent_user");
  ChangeContext ctx = changeContext(p, ex, caller, "Delete a User");
  submitThenEndUser(
      p, ex.defer(), std::move(ctx),
      [id](const Tenant& t) {
        if (t.userById(id) == nullptr) return notFound();
        TenantChange ch;
        ch.status = 204;
        ch.records.emplace_back(store::RecordType::kTenantUserDeleted, id);
        return ch;
      },
      id);
}

}  // namespace handoff::oauth::mgmt
