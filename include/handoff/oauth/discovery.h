// The OpenID Provider metadata document (/.well-known/openid-configuration), in Auth0's shape.
// Built once at start-up from the issuer and the endpoints this node really serves: an endpoint
// whose route is not registered is not advertised.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace handoff::oauth {

struct DiscoveryInput {
  std::string issuer;                  // "http://127.0.0.1:8080/" (ends with '/')
  std::string_view signingAlg;         // "RS256"
  std::vector<std::string> routes;     // paths this node serves ("/authorize", "/oauth/token", ...)
};

std::string buildDiscovery(const DiscoveryInput& in);

// "http://" (or "https://" when that listener speaks TLS) + the first listener's HOST:PORT + "/"
// in demo mode, or "https://" + the configured tenant domain + "/".
std::string issuerFor(std::string_view tenantDomain, std::string_view firstListener, bool firstIsTls);

}  // namespace handoff::oauth
