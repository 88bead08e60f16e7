// The management API's bearer check and error answers.
#include "handoff/oauth/management_auth.h"

#include <string>

#include "handoff/core/text.h"
#include "handoff/http/json.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/token_response.h"

namespace handoff::oauth {

std::string_view bearerToken(std::string_view authorization) {
  size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !http::equalsIgnoreCase(authorization.substr(0, space), "Bearer")) return {};
  std::string_view token = authorization.substr(space);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token;
}

void sendManagementError(http::Response& res, int status, std::string_view message, std::string_view errorCode) {
  std::string_view phrase = status == 400   ? "Bad Request"
                            : status == 401 ? "Unauthorized"
                            : status == 403 ? "Forbidden"
                            : status == 404 ? "Not Found"
                            : status == 405 ? "Method Not Allowed"
                            : status == 409 ? "Conflict"
                            : status == 413 ? "Payload Too Large"
                            : status == 503 ? "Service Unavailable"
                                            : "Internal Server Error";
  std::string body = "{\"statusCode\":" + std::to_string(status) + ",\"error\":";
  core::appendJsonString(body, phrase);
  body.append(",\"message\":");
  core::appendJsonString(body, message);
  if (!errorCode.empty()) {
    body.append(",\"errorCode\":");
    core::appendJsonString(body, errorCode);
  }
  body.push_back('}');
  res.start(status);
  if (status == 401) res.header("WWW-Authenticate", "Bearer realm=\"handoff\"");
  res.header("Cache-Control", "no-store");
  res.finish("application/json", body);
}

bool authorizeManagement(const Provider& p, http::Exchange& ex, std::string_view requiredScope,
                         ManagementCaller* caller) {
  std::string_view token = bearerToken(ex.request.header("authorization"));
  if (token.empty()) {
    sendManagementError(ex.response, 401, "Missing authentication", "");
    return false;
  }
  std::string claimsText;
  const http::JsonValue* claims = nullptr;
  if (!verifyJwt(p.keys(), token, claimsText) ||
      http::parseJson(claimsText, *ex.request.arena, &claims) != http::JsonError::kNone || !claims->isObject()) {
    sendManagementError(ex.response, 401, "Invalid token", "");
    return false;
  }
  const std::string_view* iss = claims->findString("iss");
  const http::JsonValue* exp = claims->find("exp");
  const http::JsonValue* aud = claims->find("aud");
  int64_t expires = 0;
  bool audienceOk = aud != nullptr && aud->isString() && aud->text == p.shared().managementAudience;
  if (aud != nullptr) {
    for (const http::JsonValue& a : aud->array()) {
      audienceOk = audienceOk || (a.isString() && a.text == p.shared().managementAudience);
    }
  }
  if (iss == nullptr || *iss != p.shared().issuer || !audienceOk) {
    sendManagementError(ex.response, 401, "Bad audience: the token is not for the management API", "");
    return false;
  }
  if (exp == nullptr || !exp->asInt64(&expires) || expires <= Provider::unixNow()) {
    sendManagementError(ex.response, 401, "Expired token received for JSON Web Token validation", "");
    return false;
  }
  const std::string_view* scope = claims->findString("scope");
  if (scope == nullptr || !hasScope(*scope, requiredScope)) {
    sendManagementError(ex.response, 403, "Insufficient scope, expected any of: " + std::string(requiredScope),
                        "insufficient_scope");
    return false;
  }
  if (caller != nullptr) {
    const std::string_view* azp = claims->findString("azp");
    // The claims are views into claimsText, which dies here: the request's arena keeps copies.
    caller->clientId = azp != nullptr ? ex.request.arena->copy(*azp) : std::string_view();
    caller->scope = ex.request.arena->copy(*scope);
  }
  return true;
}

}  // namespace handoff::oauth
