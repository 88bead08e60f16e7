#include "handoff/oauth/token_response.h"

#include "handoff/core/text.h"

namespace handoff::oauth {
namespace {

void key(std::string& out, std::string_view k) {
  if (out.back() != '{') out.push_back(',');
  core::appendJsonString(out, k);
  out.push_back(':');
}

void str(std::string& out, std::string_view k, std::string_view v) {
  key(out, k);
  core::appendJsonString(out, v);
}

void num(std::string& out, std::string_view k, int64_t v) {
  key(out, k);
  out.append(std::to_string(v));
}

// The claims `profile` and `email` grant (OIDC Core §5.4), shared by ID tokens and /userinfo.
void appendScopedClaims(std::string& out, const User& user, std::string_view scope) {
  if (hasScope(scope, "profile")) {
    str(out, "name", user.name.empty() ? user.email : user.name);
    str(out, "nickname", user.email.substr(0, user.email.find('@')));
  }
  if (hasScope(scope, "email")) {
    str(out, "email", user.email);
    key(out, "email_verified");
    out.append(user.emailVerified ? "true" : "false");
  }
}

}  // namespace

bool hasScope(std::string_view scope, std::string_view item) {
  while (!scope.empty()) {
    size_t sp = scope.find(' ');
    if (scope.substr(0, sp) == item) return true;
    if (sp == std::string_view::npos) break;
    scope.remove_prefix(sp + 1);
  }
  return false;
}

void appendIdTokenClaims(std::string& out, const IdTokenInput& in) {
  out.push_back('{');
  str(out, "iss", in.issuer);
  str(out, "sub", in.user->userId);
  str(out, "aud", in.clientId);
  str(out, "azp", in.clientId);
  num(out, "iat", in.now);
  num(out, "exp", in.now + in.ttl);
  num(out, "auth_time", in.authTime);
  if (!in.sid.empty()) str(out, "sid", in.sid);
  if (!in.nonce.empty()) str(out, "nonce", in.nonce);
  appendScopedClaims(out, *in.user, in.scope);
  out.push_back('}');
}

void appendUserinfoClaims(std::string& out, const User& user, std::string_view scope) {
  out.push_back('{');
  str(out, "sub", user.userId);
  appendScopedClaims(out, user, scope);
  out.push_back('}');
}

void appendTokenResponse(std::string& out, const TokenResponse& r) {
  out.push_back('{');
  str(out, "access_token", r.accessToken);
  if (!r.idToken.empty()) str(out, "id_token", r.idToken);
  if (!r.refreshToken.empty()) str(out, "refresh_token", r.refreshToken);
  if (!r.scope.empty()) str(out, "scope", r.scope);
  num(out, "expires_in", r.expiresIn);
  str(out, "token_type", r.tokenType);
  out.push_back('}');
}

}  // namespace handoff::oauth
