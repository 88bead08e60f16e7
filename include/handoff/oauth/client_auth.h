// Client authentication at the token and revocation endpoints (RFC 6749 §2.3.1, OIDC Core §9):
// `client_secret_basic`, `client_secret_post` and `none`.
//
// Pure functions over the request's Authorization header value and its decoded body; they read
// the Tenant snapshot only, so they are thread-safe while the caller holds the snapshot. Every
// error is one entry of a fixed table (oauth_error.h): static strings that never echo a client
// id, a secret or a header.
#pragma once

#include <string>
#include <string_view>

#include "handoff/http/params.h"
#include "handoff/oauth/oauth_error.h"
#include "handoff/oauth/tenant.h"

namespace handoff::oauth {

struct ClientAuthResult {
  const Client* client = nullptr;  // lives as long as the Tenant snapshot
  AuthMethod method = AuthMethod::kNone;
};

// Authenticates the client of a token or revocation request. `authorization` is the
// Authorization header's value (empty when absent); `body` holds the decoded body parameters,
// where an empty `client_id` or `client_secret` counts as absent (RFC 6749 §3.2).
//
// The method used is Basic when the header is present, else client_secret_post when the body
// has a client_secret, else none. It must be the client's token_endpoint_auth_method exactly.
// Errors:
//  - 400 invalid_request: a Basic header together with a body client_secret (two methods), or a
//    body client_id that differs from the Basic one;
//  - 401 invalid_client: a malformed Authorization header or a scheme other than Basic; no
//    client_id anywhere; an unknown client; a method other than the client's (a confidential
//    client without a secret, a public client with one, Basic for a post client or the
//    reverse); a wrong secret (compared in constant time).
// Every invalid_client answer to a request that carried an Authorization header asks for
// `WWW-Authenticate` (RFC 6749 §5.2).
OAuthResult<ClientAuthResult> authenticateClient(const Tenant& tenant, std::string_view authorization,
                                                 const http::ParamList& body);

struct BasicCredentials {
  std::string clientId;
  std::string clientSecret;
};

// Parses `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1): the scheme name
// in any case, one or more spaces, strict padded base64 (core::decodeBase64), a split on the
// first ':', then form decoding of both halves ('+' is a space, %XX a byte; a bad escape or a NUL
// fails). False, with `out` unspecified, for anything else, an empty client id included.
bool parseBasicAuthorization(std::string_view value, BasicCredentials& out);

}  // namespace handoff::oauth
