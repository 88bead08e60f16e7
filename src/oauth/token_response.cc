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
  num(out, "iat", in.now);
  num(out, "exp", in.now + in.ttl);
  num(out, "auth_time", in.authTime);
  if (!in.sid.empty()) str(out, "sid", in.sid);
  if (!in.nonce.empty()) str(out, "nonce", in.nonce);
  if (hasScope(in.scope, "profile")) {
    str(out, "name", in.user->name.empty() ? in.user->email : in.user->name);
    str(out, "nickname", in.user->email.substr(0, in.user->email.find('@')));
  }
  if (hasScope(in.scope, "email")) {
    str(out, "email", in.user->email);
    key(out, "email_verified");
    out.append(in.user->emailVerified ? "true" : "false");
  }
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
