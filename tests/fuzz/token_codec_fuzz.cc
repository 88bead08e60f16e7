// The opaque token codec (store/token_codec.h): "<kind>_<shard>_<22 base64url characters>".
//
// Input: byte 0 picks the expected kind and the shard count, the rest is the token text.
// Checked: decoding is strict — a token that decodes (with kMaxShards shards, so no re-homing)
// encodes back to exactly the same text, of the expected kind and of no other; with fewer shards
// its owner is the token's shard modulo the count.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "handoff/store/token_codec.h"

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "token_codec_fuzz: invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace handoff::store;
  if (size < 1) return 0;
  const auto kind = static_cast<TokenKind>(data[0] % 5);
  const uint16_t shardCount = 1 + (data[0] >> 3);
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  TokenId id;
  TokenId owned;
  bool ok = decodeToken(text, kind, kMaxShards, &id);
  if (ok != decodeToken(text, kind, shardCount, &owned)) violated("the shard count changed acceptance");
  if (!ok) return 0;
  if (id.kind != kind) violated("decoded a token of another kind");
  if (id.shard >= kMaxShards) violated("decoded a shard beyond kMaxShards");
  if (owned.shard != id.shard % shardCount || !(owned.key == id.key)) violated("re-homing changed more than the shard");
  if (encodeToken(id) != text) violated("a decoded token does not encode back to its text");
  for (uint16_t k = 0; k < 5; ++k) {
    TokenId other;
    if (static_cast<TokenKind>(k) != kind && decodeToken(text, static_cast<TokenKind>(k), shardCount, &other)) {
      violated("one text decodes as two kinds");
    }
  }
  return 0;
}
