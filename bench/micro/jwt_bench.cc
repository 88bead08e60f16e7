// Micro benchmarks of JWT signing and verification per algorithm, on a realistic ID token (~350
// bytes of claims). Signing reuses its output buffer, as the token endpoint does with its
// response buffer, so the numbers are the crypto plus the encoding, not the allocator.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "handoff/oauth/jwt.h"

namespace handoff::oauth {
namespace {

constexpr std::string_view kIdTokenClaims =
    R"({"iss":"https://auth.example.com/","sub":"auth0|5f7c8ec7c33c6c004bbafe82",)"
    R"("aud":"demo-web","iat":1700000000,"exp":1700036000,"auth_time":1699999990,)"
    R"("nonce":"n-0S6_WzA2Mj7Yt3pQ","at_hash":"MTIzNDU2Nzg5MDEyMzQ1Ng",)"
    R"("sid":"s1.8Zq3kR9sTzL0pWc4",)"
    R"("name":"Jane Doe","email":"jane.doe@example.com","email_verified":true,)"
    R"("updated_at":1699000000})";

std::shared_ptr<const KeySet> makeKeys(JwtAlg alg) {
  auto key = SigningKey::generate(alg);
  if (!key) abort();
  auto set = KeySet::create({{std::move(*key), 0}});
  if (!set) abort();
  return *set;
}

void BM_SignJwt(benchmark::State& state, JwtAlg alg) {
  auto keys = makeKeys(alg);
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!signJwt(keys->current(), kIdTokenClaims, out)) state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["claims_bytes"] = static_cast<double>(kIdTokenClaims.size());
  state.counters["jwt_bytes"] = static_cast<double>(out.size());
}

void BM_VerifyJwt(benchmark::State& state, JwtAlg alg) {
  auto keys = makeKeys(alg);
  std::string jwt;
  if (!signJwt(keys->current(), kIdTokenClaims, jwt)) abort();
  std::string claims;
  for (auto _ : state) {
    claims.clear();
    if (!verifyJwt(*keys, jwt, claims)) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(claims.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK_CAPTURE(BM_SignJwt, RS256, JwtAlg::kRS256);
BENCHMARK_CAPTURE(BM_SignJwt, ES256, JwtAlg::kES256);
BENCHMARK_CAPTURE(BM_SignJwt, EdDSA, JwtAlg::kEdDSA);
BENCHMARK_CAPTURE(BM_VerifyJwt, RS256, JwtAlg::kRS256);
BENCHMARK_CAPTURE(BM_VerifyJwt, ES256, JwtAlg::kES256);
BENCHMARK_CAPTURE(BM_VerifyJwt, EdDSA, JwtAlg::kEdDSA);

}  // namespace
}  // namespace handoff::oauth
