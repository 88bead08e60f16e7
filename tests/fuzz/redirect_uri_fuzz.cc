// Redirect URI registration and comparison (oauth/tenant.h): the URLs a client registers are
// validated when the tenant is built, and a request's redirect_uri (decoded from its query, as
// /authorize does) must equal one of them byte for byte.
//
// Input: lines. The first is the request's query string; the others are the client's
// registered callbacks (odd lines) and allowed logout URLs (even lines).
// Checked: a tenant that builds holds only URLs without spaces, controls, non-ASCII bytes or a
// fragment; hasCallback and allowsLogoutUrl are exact membership tests, nothing more.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/core/arena.h"
#include "handoff/http/params.h"
#include "handoff/oauth/tenant.h"

namespace {

using namespace handoff;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "redirect_uri_fuzz: invariant violated: %s\n", what);
  std::abort();
}

bool member(const std::vector<std::string>& list, std::string_view s) {
  for (const std::string& item : list) {
    if (item == s) return true;
  }
  return false;
}

bool plausibleUrl(std::string_view url) {
  if (url.empty()) return false;
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') return false;
  }
  return url.find(':') != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t nl = all.find('\n');
  std::string_view query = all.substr(0, nl);
  config::ClientConfig c;
  c.clientId = "app";
  c.tokenEndpointAuthMethod = "none";
  c.grantTypes = {"authorization_code"};
  bool odd = true;
  while (nl != std::string_view::npos && c.callbacks.size() + c.allowedLogoutUrls.size() < 16) {
    all.remove_prefix(nl + 1);
    nl = all.find('\n');
    (odd ? c.callbacks : c.allowedLogoutUrls).emplace_back(all.substr(0, nl));
    odd = !odd;
  }

  core::Arena arena(256);
  http::ParamList params;
  (void)http::decodeForm(query, arena, params);
  std::string_view redirect = params.get("redirect_uri");
  std::string_view logout = params.get("returnTo");

  config::Config cfg;
  cfg.clients = {c};
  auto tenant = oauth::Tenant::build(cfg, 1);
  if (!tenant.ok()) return 0;
  const oauth::Client* client = tenant.value()->client("app");
  if (client == nullptr) violated("the built tenant lost its client");
  for (const std::string& url : c.callbacks) {
    if (!plausibleUrl(url)) violated("an implausible callback URL was accepted");
    if (!client->hasCallback(url)) violated("a registered callback does not match itself");
  }
  for (const std::string& url : c.allowedLogoutUrls) {
    if (!plausibleUrl(url)) violated("an implausible logout URL was accepted");
  }
  if (client->hasCallback(redirect) != member(c.callbacks, redirect)) violated("hasCallback is not exact membership");
  if (client->allowsLogoutUrl(logout) != member(c.allowedLogoutUrls, logout)) {
    violated("allowsLogoutUrl is not exact membership");
  }
  return 0;
}
