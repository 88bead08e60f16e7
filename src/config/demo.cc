// The built-in demo tenant: what handoffd serves when started without --config.
#include "handoff/config/config.h"

namespace handoff::config {

Config demoConfig() {
  Config c;
  c.demo = true;
  // The bundled test databases (127.0.0.0/25 → AS64500, 127.0.0.128/25 → AS64501, ::1 →
  // AS64502; geo-data/README.md), built with the server.
  c.geoAsn = HANDOFF_DEMO_GEO_ASN;
  c.geoCountry = HANDOFF_DEMO_GEO_COUNTRY;

  c.users.push_back({.userId = "auth0|demo", .email = "demo@example.com", .password = "demo-password",
                     .name = "Demo User", .emailVerified = true, .blocked = false});

  ClientConfig native;
  native.clientId = "demo-native";
  native.name = "Demo Native App";
  native.appType = "native";
  native.tokenEndpointAuthMethod = "none";
  native.grantTypes = {"authorization_code", "refresh_token", "password"};
  native.callbacks = {"com.example.handoff://callback"};
  native.refreshToken = {.rotationType = "rotating", .leeway = 0};
  native.sessionTransfer.canCreateSessionTransferToken = true;
  c.clients.push_back(native);

  ClientConfig web;
  web.clientId = "demo-web";
  web.clientSecret = "demo-web-secret";
  web.name = "Demo Web App";
  web.appType = "regular_web";
  web.grantTypes = {"authorization_code", "refresh_token"};
  web.callbacks = {"http://127.0.0.1:3000/callback", "http://localhost:3000/callback"};
  web.allowedLogoutUrls = {"http://127.0.0.1:3000/", "http://localhost:3000/"};
  web.sessionTransfer.allowedAuthenticationMethods = {"cookie", "query"};
  web.sessionTransfer.enforceDeviceBinding = "ip";
  web.sessionTransfer.allowRefreshToken = true;
  web.sessionTransfer.enforceOnlineRefreshTokens = true;
  c.clients.push_back(web);

  ClientConfig webAsn = web;
  webAsn.clientId = "demo-web-asn";
  webAsn.clientSecret = "demo-web-asn-secret";
  webAsn.name = "Demo Web App (ASN binding)";
  webAsn.sessionTransfer.enforceDeviceBinding = "asn";
  c.clients.push_back(webAsn);

  ClientConfig m2m;
  m2m.clientId = "demo-m2m";
  m2m.clientSecret = "demo-m2m-secret";
  m2m.name = "Demo Management Client";
  m2m.appType = "non_interactive";
  m2m.grantTypes = {"client_credentials"};
  c.clients.push_back(m2m);
  return c;
}

}  // namespace handoff::config
