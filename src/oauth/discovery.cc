#include "handoff/oauth/discovery.h"

#include <algorithm>

#include "handoff/core/text.h"

namespace handoff::oauth {
namespace {

void field(std::string& out, std::string_view name, std::string_view value) {
  if (out.size() > 1) out.push_back(',');
  core::appendJsonString(out, name);
  out.push_back(':');
  core::appendJsonString(out, value);
}

void list(std::string& out, std::string_view name, std::initializer_list<std::string_view> values) {
  if (out.size() > 1) out.push_back(',');
  core::appendJsonString(out, name);
  out.append(":[");
  bool first = true;
  for (std::string_view v : values) {
    if (!first) out.push_back(',');
    first = false;
    core::appendJsonString(out, v);
  }
  out.push_back(']');
}

}  // namespace

std::string issuerFor(std::string_view tenantDomain, std::string_view firstListener, bool firstIsTls) {
  if (!tenantDomain.empty()) return "https://" + std::string(tenantDomain) + "/";
  return (firstIsTls ? "https://" : "http://") + std::string(firstListener) + "/";
}

std::string buildDiscovery(const DiscoveryInput& in) {
  auto serves = [&](std::string_view path) {
    return std::find(in.routes.begin(), in.routes.end(), path) != in.routes.end();
  };
  std::string base = in.issuer.substr(0, in.issuer.size() - 1);  // without the trailing '/'
  std::string out = "{";
  field(out, "issuer", in.issuer);
  static constexpr std::pair<std::string_view, std::string_view> kEndpoints[] = {
      {"authorization_endpoint", "/authorize"},
      {"token_endpoint", "/oauth/token"},
      {"userinfo_endpoint", "/userinfo"},
      {"jwks_uri", "/.well-known/jwks.json"},
      {"revocation_endpoint", "/oauth/revoke"},
      {"end_session_endpoint", "/oidc/logout"},
  };
  for (auto [name, path] : kEndpoints) {
    if (serves(path)) field(out, name, base + std::string(path));
  }
  list(out, "scopes_supported", {"openid", "profile", "email", "offline_access"});
  list(out, "response_types_supported", {"code"});
  list(out, "response_modes_supported", {"query", "form_post"});
  list(out, "code_challenge_methods_supported", {"S256"});
  list(out, "subject_types_supported", {"public"});
  list(out, "id_token_signing_alg_values_supported", {in.signingAlg});
  list(out, "token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post", "none"});
  list(out, "grant_types_supported",
       {"authorization_code", "refresh_token", "password", "http://auth0.com/oauth/grant-type/password-realm",
        "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"});
  list(out, "claims_supported",
       {"aud", "auth_time", "email", "email_verified", "exp", "iat", "iss", "name", "nonce", "sid", "sub", "azp"});
  out.append(",\"request_uri_parameter_supported\":false,\"authorization_response_iss_parameter_supported\":true}");
  return out;
}

}  // namespace handoff::oauth
