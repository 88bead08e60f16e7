// Building what the token endpoint returns: ID token claims (OIDC Core §2, Auth0's set) and the
// JSON token response (RFC 6749 §5.1). Runs on the shard that answers the request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "handoff/oauth/jwt.h"
#include "handoff/oauth/tenant.h"

namespace handoff::oauth {

// True if the space-separated `scope` contains `item`.
bool hasScope(std::string_view scope, std::string_view item);

struct IdTokenInput {
  std::string_view issuer;
  const User* user = nullptr;
  std::string_view clientId;
  std::string_view scope;     // profile / email select claims
  std::string_view nonce;     // omitted when empty
  std::string_view sid;       // omitted when empty
  int64_t authTime = 0;
  int64_t now = 0;
  int64_t ttl = 36000;
};

void appendIdTokenClaims(std::string& out, const IdTokenInput& in);

// The /userinfo answer (OIDC Core §5.3): {"sub":…} plus the claims `scope` grants, as in the
// ID token (profile: name, nickname; email: email, email_verified).
void appendUserinfoClaims(std::string& out, const User& user, std::string_view scope);

struct TokenResponse {
  std::string_view accessToken;
  std::string_view idToken;       // omitted when empty
  std::string_view refreshToken;  // omitted when empty
  std::string_view scope;         // omitted when empty
  int64_t expiresIn = 0;
  std::string_view tokenType = "Bearer";
};

void appendTokenResponse(std::string& out, const TokenResponse& r);

}  // namespace handoff::oauth
