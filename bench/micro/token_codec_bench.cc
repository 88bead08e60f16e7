// Opaque tokens on the wire (store/token_codec): minting one from 16 random bytes and writing
// its text, and parsing a presented one back to its owner shard and table key.
#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include "handoff/store/token_codec.h"

namespace {

using namespace handoff::store;

constexpr std::array<uint8_t, 16> kRandom = {0x3c, 0x0e, 0x26, 0xb4, 0x9d, 0xef, 0x4f, 0xd3,
                                             0xea, 0x9a, 0x35, 0xba, 0x7b, 0xe5, 0x0f, 0xdc};

void BM_TokenEncode(benchmark::State& state) {
  std::string out;
  out.reserve(64);
  for (auto _ : state) {
    out.clear();
    appendToken(out, makeTokenId(TokenKind::kSessionTransfer, 3, kRandom));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenEncode);

// encodeToken returns a new string (what the endpoints put in their answers).
void BM_TokenEncodeString(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(encodeToken(makeTokenId(TokenKind::kCode, 3, kRandom)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenEncodeString);

void BM_TokenDecode(benchmark::State& state) {
  const std::string text = encodeToken(makeTokenId(TokenKind::kSessionTransfer, 3, kRandom));
  TokenId id;
  for (auto _ : state) {
    bool ok = decodeToken(text, TokenKind::kSessionTransfer, 4, &id);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(id);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenDecode);

// A token of another kind presented (a refresh token where an STT is expected): refused.
void BM_TokenDecodeWrongKind(benchmark::State& state) {
  const std::string text = encodeToken(makeTokenId(TokenKind::kRefreshToken, 3, kRandom));
  TokenId id;
  for (auto _ : state) benchmark::DoNotOptimize(decodeToken(text, TokenKind::kSessionTransfer, 4, &id));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenDecodeWrongKind);

}  // namespace
