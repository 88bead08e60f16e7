// Bearer authentication of the management API (/api/v2/...): an access token this tenant signed
// for the client_credentials grant, whose audience is the management API (ISSUER + "api/v2/"),
// unexpired, with the scope the endpoint needs. Failures answer in the management API's error
// shape, as Auth0's does: {"statusCode","error","message","errorCode"}.
#pragma once

#include <string_view>

#include "handoff/http/message.h"

namespace handoff::oauth {

class Provider;

// Every scope the management API checks (README "Management API"): what a client_credentials
// token for it carries when the request asked for no scope.
inline constexpr std::string_view kManagementScopes =
    "read:clients create:clients update:clients delete:clients read:client_keys read:users create:users "
    "update:users delete:users read:sessions delete:sessions read:refresh_tokens delete:refresh_tokens read:logs";

// The token of `Authorization: Bearer <token>` (scheme in any case); empty for anything else.
std::string_view bearerToken(std::string_view authorization);

// Who called, from a token that passed (views into the request's arena: valid for the request).
struct ManagementCaller {
  std::string_view clientId;  // azp
  std::string_view scope;
};

// True when the request may go on; otherwise the 401/403 answer has been sent.
bool authorizeManagement(const Provider& p, http::Exchange& ex, std::string_view requiredScope,
                         ManagementCaller* caller = nullptr);

// A management API error: `{"statusCode":status,"error":<reason phrase>,"message":…,"errorCode":…}`.
void sendManagementError(http::Response& res, int status, std::string_view message, std::string_view errorCode);

}  // namespace handoff::oauth
