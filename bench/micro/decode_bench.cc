// Micro benchmarks of the request decoders on realistic OAuth inputs: a token request body, an
// /authorize query, the Auth0 SDK's JSON mint body and a browser Cookie header. Each iteration
// resets the arena, as the server does between requests.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "handoff/core/arena.h"
#include "handoff/http/json.h"
#include "handoff/http/params.h"

namespace handoff::http {
namespace {

// 43 base64url characters: the length of a 256-bit random token.
constexpr std::string_view kRefreshToken = "Mq7_Xb3kR9sTzL0pWc4NfYhE2uGjA8dKoQ5iV6rBn-e";

std::string tokenBody() {
  return "grant_type=refresh_token&client_id=demo-native&refresh_token=" +
         std::string(kRefreshToken) + "&audience=urn%3A127.0.0.1%3A8080%3Asession_transfer";
}

std::string authorizeQuery() {
  return "client_id=demo-web"
         "&redirect_uri=https%3A%2F%2Fapp.example.com%3A8443%2Fcallback%3Ffrom%3Dlogin"
         "&response_type=code"
         "&scope=openid%20profile%20email%20offline_access"
         "&state=af0ifjsldkj4Hq2Zx9Wm"
         "&nonce=n-0S6_WzA2Mj7Yt3pQ"
         "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
         "&code_challenge_method=S256"
         "&session_transfer_token=stt_4f8b2c1e9a7d6b5c3e2f1a0d9c8b7a6e";
}

std::string mintJson() {
  return R"({"client_id":"demo-native","grant_type":"refresh_token","refresh_token":")" +
         std::string(kRefreshToken) + R"(","audience":"urn:127.0.0.1:8080:session_transfer"})";
}

std::string cookieHeader() {
  return "handoff_session=s1.8Zq3kR9sTzL0pWc4NfYhE2uGjA8dKoQ5iV6rBn-eXb; "
         "handoff_csrf=c7d1f0e2a9b8; theme=dark; _ga=GA1.1.123456789.1700000000; "
         "consent=\"analytics=no\"";
}

void BM_DecodeForm(benchmark::State& state) {
  std::string in = tokenBody();
  core::Arena arena;
  ParamList list;
  for (auto _ : state) {
    arena.reset();
    DecodeStatus st = decodeForm(in, arena, list);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(list.get("refresh_token").data());
  }
  if (decodeForm(in, arena, list) != DecodeStatus::kOk || list.size() != 4) {
    state.SkipWithError("token body did not decode");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_DecodeForm);

void BM_DecodeQuery(benchmark::State& state) {
  std::string in = authorizeQuery();
  core::Arena arena;
  ParamList list;
  for (auto _ : state) {
    arena.reset();
    DecodeStatus st = decodeForm(in, arena, list);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(list.get("redirect_uri").data());
  }
  if (decodeForm(in, arena, list) != DecodeStatus::kOk || list.size() != 9) {
    state.SkipWithError("authorize query did not decode");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_DecodeQuery);

void BM_ParseJson(benchmark::State& state) {
  std::string in = mintJson();
  core::Arena arena;
  const JsonValue* root = nullptr;
  for (auto _ : state) {
    arena.reset();
    JsonError e = parseJson(in, arena, &root);
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(root);
  }
  if (parseJson(in, arena, &root) != JsonError::kNone || root->size != 4) {
    state.SkipWithError("mint body did not parse");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_ParseJson);

void BM_DecodeCookies(benchmark::State& state) {
  std::string in = cookieHeader();
  ParamList list;
  for (auto _ : state) {
    decodeCookies(in, list);
    benchmark::DoNotOptimize(list.get("handoff_session").data());
  }
  if (list.size() != 5) state.SkipWithError("cookie header did not decode");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_DecodeCookies);

}  // namespace
}  // namespace handoff::http
