// The Authorization header parsers: Basic client credentials (oauth/client_auth.h, then client
// authentication against a small tenant), Bearer tokens (oauth/management_auth.h), and the
// base64 decoders beneath them (core/base64.h).
//
// Input: the header value, then optionally '\n' and a form body (client_id, client_secret).
// Checked: base64url decoding is canonical (decode then encode gives the input back); a parsed
// Basic header has a client id; a Bearer token is a view inside the header, after the scheme.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "handoff/core/arena.h"
#include "handoff/core/base64.h"
#include "handoff/http/params.h"
#include "handoff/oauth/client_auth.h"
#include "handoff/oauth/management_auth.h"
#include "handoff/oauth/tenant.h"

namespace {

using namespace handoff;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "auth_headers_fuzz: invariant violated: %s\n", what);
  std::abort();
}

std::shared_ptr<const oauth::Tenant> makeTenant() {
  config::Config cfg;
  config::ClientConfig basic;
  basic.clientId = "basic-app";
  basic.clientSecret = "s3cr:t";
  basic.tokenEndpointAuthMethod = "client_secret_basic";
  basic.grantTypes = {"client_credentials"};
  config::ClientConfig post = basic;
  post.clientId = "post app";
  post.tokenEndpointAuthMethod = "client_secret_post";
  config::ClientConfig pub;
  pub.clientId = "native";
  pub.tokenEndpointAuthMethod = "none";
  pub.grantTypes = {"authorization_code"};
  cfg.clients = {basic, post, pub};
  auto t = oauth::Tenant::build(cfg, 1);
  if (!t.ok()) violated("the fixed tenant does not build");
  return t.value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::shared_ptr<const oauth::Tenant> tenant = makeTenant();
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t nl = all.find('\n');
  std::string_view header = all.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view{} : all.substr(nl + 1);

  oauth::BasicCredentials creds;
  if (oauth::parseBasicAuthorization(header, creds) && creds.clientId.empty()) {
    violated("parseBasicAuthorization accepted an empty client id");
  }

  std::string_view token = oauth::bearerToken(header);
  if (!token.empty()) {
    if (token.data() < header.data() || token.data() + token.size() > header.data() + header.size()) {
      violated("bearerToken is not a view into the header");
    }
    if (token.data() - header.data() < 7) violated("bearerToken starts inside the scheme");
  }

  std::string decoded;
  if (core::decodeBase64Url(header, decoded)) {
    std::string again;
    core::appendBase64Url(again, decoded);
    if (again != header) violated("decodeBase64Url accepted a non-canonical text");
  }
  decoded.clear();
  (void)core::decodeBase64(header, decoded);

  core::Arena arena(256);
  http::ParamList params;
  if (http::decodeForm(body, arena, params) == http::DecodeStatus::kOk) {
    auto r = oauth::authenticateClient(*tenant, header, params);
    if (r.ok() && r->client == nullptr) violated("authenticateClient succeeded without a client");
  }
  return 0;
}
