// The management API's JSON shapes (Auth0's names): clients and users rendered
// for answers and for the tenant journal, and request bodies applied to them.
// Pure functions, any thread.
//
// Bodies are checked as Auth0 checks them: a key this API does not know, or a
// value of the wrong type, is a "Payload validation error" (400 invalid_body),
// with one exception: unknown keys inside `session_transfer` are kept and
// returned unchanged (SPEC.md §6).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "handoff/config/config.h"
#include "handoff/http/json.h"
#include "handoff/oauth/tenant.h"

namespace handoff::oauth {

// Which keys a body may hold.
enum class ShapeMode : uint8_t {
  kCreate,   // POST: client_id (our extension) and client_secret too
  kPatch,    // PATCH: not client_id
  kJournal,  // the tenant journal's own records: every stored field
};

// A body refused: the message of the 400 answer ("Payload validation error:
// ...").
struct ShapeError {
  std::string message;
};

// Renders `v` back to JSON text (numbers keep their text).
void appendJsonValue(std::string& out, const http::JsonValue& v);

// Auth0's client object. `withSecret` adds client_secret (when the client has
// one).
std::string clientJson(const config::ClientConfig& c, bool withSecret);
// Applies the members of `body` (an object) to `c`. On error `c` may be
// half-changed: callers apply to a copy.
bool applyClientBody(const http::JsonValue& body, config::ClientConfig& c, ShapeMode mode, ShapeError& err);

// What a user body asked for besides the stored fields.
struct UserBodyExtras {
  std::string password;  // a new password to hash (create, or PATCH's password change)
  bool hasPassword = false;
  std::string userId;  // POST's user_id, without the "auth0|" prefix
  bool hasConnection = false;
};

// Auth0's user object (user_id, email, email_verified, name, blocked,
// created_at, updated_at, identities). `withHash` adds password_hash (the
// journal only).
std::string userJson(const User& u, bool withHash);
bool applyUserBody(const http::JsonValue& body, User& u, ShapeMode mode, UserBodyExtras& extras, ShapeError& err);

// "2026-11-28T10:00:00.000Z" for Unix milliseconds.
std::string isoTime(int64_t unixMs);

// The connection every user of this tenant belongs to.
inline constexpr std::string_view kDatabaseConnection = "Username-Password-Authentication";

}  // namespace handoff::oauth
