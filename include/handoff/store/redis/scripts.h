// The Lua scripts of the Redis store, each with the shared prelude in front (scripts.cc says what
// each takes and returns). Built once, on first use.
#pragma once

#include <string>

namespace handoff::store::redis::scripts {

const std::string& put();           // a code, an STT or an access token, with its expiry
const std::string& putSession();    // a browser session and its indexes
const std::string& findSession();   // the live session, touched; an expired one ended
const std::string& endSession();    // logout: the session and its online families
const std::string& mintStt();       // no nesting, the refresh token used, the STT stored
const std::string& takeStt();       // single use of an STT
const std::string& bornSession();   // a session born of an STT, and its code
const std::string& ssoCode();       // a code for the browser's live session
const std::string& exchangeCode();  // single use of a code, its tokens, replay revocation
const std::string& refreshGrant();  // rotation and reuse detection, an access token
const std::string& issue();         // the tokens of a grant that starts a tree
const std::string& revokeRefresh(); // RFC 7009 with the cascade

}  // namespace handoff::store::redis::scripts
