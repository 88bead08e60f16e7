// Shared by the management API's endpoints (mgmt_*.cc): body and path reading,
// answers, and the hand-off of a tenant change to TenantAdmin. Private to
// src/oauth.
#pragma once

#include <string>
#include <string_view>

#include "handoff/http/json.h"
#include "handoff/http/message.h"
#include "handoff/oauth/management_auth.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/tenant_admin.h"

namespace handoff::oauth::mgmt {

// Route handlers (ctx: the shard's Provider).
void serveClients(void* self, http::Exchange& ex);  // /api/v2/clients
void serveClient(void* self,
                 http::Exchange& ex);             // /api/v2/clients/{id}[/rotate-secret]
void serveUsers(void* self, http::Exchange& ex);  // /api/v2/users
void serveUser(void* self, http::Exchange& ex);   // /api/v2/users/{id}

// The path segments after `prefix` ("/api/v2/clients/"), percent-decoded: id
// and the rest
// ("" or "rotate-secret"). False (answered 404) for an empty or malformed id.
bool splitPath(http::Exchange& ex, std::string_view prefix, std::string& id, std::string& rest);

// The JSON body as an object; false after answering 400 (Auth0's invalid_body).
bool readJsonBody(http::Exchange& ex, const http::JsonValue** out);

void sendJson(http::Response& res, int status, std::string_view body);
void sendMethodNotAllowed(http::Response& res);

// Who asked for a change, for the tenant log.
struct ChangeContext {
  std::string callerClientId, ip, userAgent, description;
};
ChangeContext changeContext(Provider& p, http::Exchange& ex, const ManagementCaller& caller, std::string description);

// Work to run on the answering shard after a change succeeded and before its
// answer; it calls proceed() when done (mgmt_sessions.cc: ending a deleted or
// blocked user's sessions).
using AfterChange = std::function<void(Provider& p, std::function<void()> proceed)>;

// submitChange's second half, for an answer already deferred (after a password
// hash).
void submitDeferred(Provider& p, http::Deferred d, ChangeContext ctx, TenantAdmin::Edit edit, AfterChange after = {});

// Runs `edit` through TenantAdmin (durable, then on every shard) and answers
// its outcome; on success the tenant log gets a `sapi` event with
// `description`.
void submitChange(Provider& p, http::Exchange& ex, const ManagementCaller& caller, std::string description,
                  TenantAdmin::Edit edit);


// A 404 or 409 for an Edit to return.
TenantChange changeError(int status, std::string message, std::string errorCode);

}  // namespace handoff::oauth::mgmt
