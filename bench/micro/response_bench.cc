// Building answers into the connection's output buffer (http::Response), as the endpoints do:
// a /oauth/token JSON answer (opaque access token, ES256 ID token, refresh token, scope) and the
// /authorize 302 with the code (Location built as oauth::respond builds it: code, state, iss
// URL-encoded) and a Set-Cookie for the new session. The buffer is reused, as the session's is.
#include <benchmark/benchmark.h>

#include <string>

#include "handoff/http/message.h"
#include "handoff/http/params.h"
#include "handoff/oauth/pages.h"
#include "handoff/oauth/token_response.h"

namespace {

using namespace handoff;

// An ES256 ID token of the demo tenant's shape (header, ~330 bytes of claims, signature).
const std::string kIdToken =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6IjNIbU5uZHRSbUJ5Z0JHVjZ5VjF3dG9XUTBQZ1hYNlFDd2FwbWVfSTRzQ2MiLCJ0eXAiOiJKV1QifQ."
    "eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUuY29tLyIsInN1YiI6ImF1dGgwfDY1YTRmMmUxYjNjOWQ4MDAxMmFiY2RlZiIsImF1ZCI6"
    "IlhrMnZROXBMbU40clQ3d1kxekEzYkM1ZEU4ZkcwaEoiLCJhenAiOiJYazJ2UTlwTG1ONHJUN3dZMXpBM2JDNWRFOGZHMGhKIiwiaWF0Ijox"
    "NzkwMDAwMDAwLCJleHAiOjE3OTAwMzYwMDAsImF1dGhfdGltZSI6MTc5MDAwMDAwMCwic2lkIjoiYVR6VjNxS2Z1bWxQUkxyOWN4UWhOdyIs"
    "Im5vbmNlIjoiTmJ1X0Z5SWZ2eV9hVUh6M25yNGpNazN6Wk1Pa2lQRmgiLCJuYW1lIjoiQWRhIExvdmVsYWNlIiwibmlja25hbWUiOiJhZGEi"
    "LCJlbWFpbCI6ImFkYUBleGFtcGxlLmNvbSIsImVtYWlsX3ZlcmlmaWVkIjp0cnVlfQ."
    "kQn5RrGkM0qXy0n1m2rN8Ue9ZzS7pQq3dHcLwV6yTjA4b5fE2gI1hK8lM7nO0pR9sU3vW6xY2zA5cB4dE7fG1hJ";

void BM_TokenAnswer(benchmark::State& state) {
  std::string out, body;
  out.reserve(4096);
  body.reserve(2048);
  for (auto _ : state) {
    out.clear();
    body.clear();
    oauth::appendTokenResponse(body, {.accessToken = "at_0_Yf4mQ2x9TbW7nL1cR8vK3g",
                                      .idToken = kIdToken,
                                      .refreshToken = "rt_0_PA4mtJ3vT9PqmjW6e-UP3A",
                                      .scope = "openid profile email offline_access",
                                      .expiresIn = 86400});
    http::Response res(out, false);
    res.start(200);
    res.header("Cache-Control", "no-store");
    res.header("Pragma", "no-cache");
    res.finish("application/json", body);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_TokenAnswer);

void BM_AuthorizeRedirect(benchmark::State& state) {
  std::string out, location;
  out.reserve(4096);
  location.reserve(512);
  const std::string redirectUri = "https://app.example.com/api/auth/callback";
  for (auto _ : state) {
    out.clear();
    location = redirectUri;
    location.push_back('?');
    const http::Param fields[] = {{"code", "cd_0_Zq3Xo1t8URWbuGJSstwcMg"},
                                  {"state", "eyJyZXR1cm5UbyI6Ii9kYXNoYm9hcmQifQ"},
                                  {"iss", "https://login.example.com/"}};
    for (size_t i = 0; i < 3; ++i) {
      if (i > 0) location.push_back('&');
      http::appendUrlEncoded(location, fields[i].name);
      location.push_back('=');
      http::appendUrlEncoded(location, fields[i].value);
    }
    std::string cookie = oauth::sessionCookie("sid_0_aTzV3qKfumlPRLr9cxQhNw", true, 604800);
    http::Response res(out, false);
    res.start(302);
    res.header("Location", location);
    res.header("Cache-Control", "no-store");
    res.header("Referrer-Policy", "no-referrer");
    res.header("Set-Cookie", cookie);
    res.finish("", "");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_AuthorizeRedirect);

}  // namespace
