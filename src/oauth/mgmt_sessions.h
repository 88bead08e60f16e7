// A user's sessions and refresh tokens through the management API (Auth0's
// /api/v2/users/{id}/sessions, /refresh-tokens, /api/v2/sessions/{id},
// /api/v2/refresh-tokens/{id}). Private to src/oauth.
//
// These records live on many shards: a listing asks every shard (scatter-gather
// through Provider::onOwner) and merges; a deletion runs on the owner shards
// with the cascades of SPEC.md §5 (ShardStore::revokeFamily, endSession) and is
// answered once every owner's log is durable. Public ids name the record's home
// shard and user, so one hop finds it:
// "<home>.<base64url(user_id)>.<sid>" for a session (sid is already public),
// and
// "<home>.<base64url(user_id)>.<tag>" for a refresh token, tag = the first 16
// bytes of SHA-256 over the family key, base64url (the id never reveals a
// token).
#pragma once

#include <string>

#include "mgmt_common.h"

namespace handoff::oauth::mgmt {

// /api/v2/users/{id}/sessions (sessions) or /refresh-tokens: GET lists, DELETE
// ends them all.
void serveUserTokens(Provider& p, http::Exchange& ex, const std::string& userId, bool sessions);
void serveSession(void* self, http::Exchange& ex);  // /api/v2/sessions/{id}
void serveRefreshToken(void* self,
                       http::Exchange& ex);  // /api/v2/refresh-tokens/{id}

// submitDeferred, then (on success) every session and refresh token of `userId`
// ended on every shard, durably, before the answer: deleting or blocking a user
// ends what they hold.
void submitThenEndUser(Provider& p, http::Deferred d, ChangeContext ctx, TenantAdmin::Edit edit, std::string userId);

}  // namespace handoff::oauth::mgmt
