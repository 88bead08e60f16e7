// The Lua scripts of the Redis store, each with the shared prelude in front (scripts.cc says what
// each takes and returns). Built once, on first use, with its SHA-1.
#pragma once

#include <string>

#include "handoff/store/redis/cluster_client.h"

namespace handoff::store::redis::scripts {

const Script& put();           // a code, an STT or an access token, with its expiry
const Script& putSession();    // a browser session and its indexes
const Script& findSession();   // the live session, touched; an expired one ended
const Script& endSession();    // logout: the session and its online families
const Script& mintStt();       // no nesting, the refresh token used, the STT stored
const Script& takeStt();       // single use of an STT
const Script& bornSession();   // a session born of an STT, and its code
const Script& ssoCode();       // a code for the browser's live session
const Script& exchangeCode();  // single use of a code, its tokens, replay revocation
const Script& refreshGrant();  // rotation and reuse detection, an access token
const Script& issue();         // the tokens of a grant that starts a tree
const Script& revokeRefresh(); // RFC 7009 with the cascade
const Script& endUser();       // a user's families and sessions, or one kind of them
const Script& userTokens();    // a user's live sessions or unrevoked families
const Script& revokeFamily();  // one family by its key, with its cascade

}  // namespace handoff::store::redis::scripts
