// The token endpoint's pieces shared by its embedded path (token_endpoint.cc) and its Redis
// path (token_redis.cc): the errors it answers, what a grant issues, its events, and the writer
// of the token response. Internal to src/oauth.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "handoff/oauth/oauth_error.h"
#include "handoff/oauth/provider.h"
#include "handoff/store/records.h"

namespace handoff::oauth::grants {

inline constexpr OAuthError kNoGrantType{400, "invalid_request", "missing grant_type"};
inline constexpr OAuthError kUnsupportedGrant{400, "unsupported_grant_type", "unsupported grant_type"};
inline constexpr OAuthError kUnauthorizedGrant{403, "unauthorized_client", "the client may not use this grant type"};
inline constexpr OAuthError kMissingCode{400, "invalid_request", "missing code"};
inline constexpr OAuthError kInvalidCode{403, "invalid_grant", "invalid authorization code"};
inline constexpr OAuthError kRedirectMismatch{403, "invalid_grant", "redirect_uri does not match the authorization request"};
inline constexpr OAuthError kPkceFailed{403, "invalid_grant", "failed to verify code_verifier"};
inline constexpr OAuthError kPkceDowngrade{403, "invalid_grant", "code_verifier sent for a code issued without code_challenge"};
inline constexpr OAuthError kMissingRefresh{400, "invalid_request", "missing refresh_token"};
inline constexpr OAuthError kInvalidRefresh{403, "invalid_grant", "unknown or invalid refresh token"};
inline constexpr OAuthError kMissingCredentials{400, "invalid_request", "missing username or password"};
inline constexpr OAuthError kWrongCredentials{403, "invalid_grant", "wrong email or password"};
inline constexpr OAuthError kBlocked{401, "unauthorized", "user is blocked"};
inline constexpr OAuthError kUnknownAudience{403, "access_denied", "service not found"};
inline constexpr OAuthError kNoAudience{403, "access_denied", "an audience is required for client_credentials"};

// What the owner shard hands back for a grant that issues user tokens.
struct Issued {
  bool ok = false;
  OAuthError error;
  std::string accessToken;
  std::string refreshToken;
  std::string userId;
  std::string clientId;
  std::string scope;
  std::string sid;
  std::string nonce;
  std::string audience;  // an API: the access token is then a JWT (signed where we answer)
  int64_t authTime = 0;
  bool bornFromSessionTransfer = false;  // its session came from an STT
  bool online = false;                   // its refresh family dies with that session
  uint16_t home = store::kNoHome;        // the shard number the new tokens name (records.h)
};

// The tenant log's view of one token request: Auth0's success and failure types for its grant
// (seacft/feacft, sertft/fertft, sepft/fepft, seccft/feccft), who asked and from where.
struct GrantLog {
  std::string_view ok, fail;
  const Client* client = nullptr;
  std::string ip, userAgent;
  std::shared_ptr<const Tenant> tenant;  // keeps `client` alive across hops and the pool
};

// A grant's answer from the record it rests on: a refresh family, or an exchanged code.
Issued fromFamily(const store::RefreshFamily& f);
Issued fromCode(const store::CodeRecord& c, bool online);

GrantLog grantLog(const Provider& p, const http::Request& req, const Client& client, Grant grant);
// Emits the request's event: success when `error` is null.
void logGrant(Provider& p, const GrantLog& g, const OAuthError* error, std::string_view userId);
// A refusal decided before any hop: logged, then answered.
void refuse(Provider& p, http::Exchange& ex, const GrantLog& g, const OAuthError& error);
// Writes the token response for `g` (signing the ID token when openid was granted).
void writeTokens(Provider& p, http::Response& res, const Issued& g);

// The Redis path of the grants (token_redis.cc), taken when p.redis() is set.
void redisAuthorizationCode(Provider& p, http::Exchange& ex, const GrantLog& log, const Client& client,
                            const http::ParamList& in);
void redisRefresh(Provider& p, http::Exchange& ex, const GrantLog& log, const Client& client, std::string_view token);
void redisIssue(Provider& p, http::Deferred d, const GrantLog& log, const Client& client, Issued out, bool refresh);

}  // namespace handoff::oauth::grants
