// Opaque tokens on the wire: "<kind>_<owner shard>_<22 base64url characters of 128 random bits>",
// e.g. "rt_1_PA4mtJ3vT9PqmjW6e-UP3A". The owner shard in the token lets any shard route the
// token to the one table that holds it without a lookup; the random bits are the table key.
//
// Every kind has its own prefix and its own table, so a token of one kind is never accepted as
// another (SECURITY.md "type confusion"). Decoding is strict: one canonical spelling per token.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "handoff/store/token_table.h"

namespace handoff::store {

enum class TokenKind : uint8_t {
  kCode,             // "cd": authorization code
  kRefreshToken,     // "rt"
  kAccessToken,      // "at": opaque access token (for /userinfo)
  kSessionTransfer,  // "stt"
  kSession,          // "sid": browser session cookie value
};

std::string_view tokenPrefix(TokenKind kind);

struct TokenId {
  TokenKind kind = TokenKind::kCode;
  uint16_t shard = 0;
  TokenKey key;
};

constexpr uint16_t kMaxShards = 1024;

// `random` must be 16 bytes of CSPRNG output; it becomes the key.
TokenId makeTokenId(TokenKind kind, uint16_t shard, std::span<const uint8_t, 16> random);
void appendToken(std::string& out, const TokenId& id);
std::string encodeToken(const TokenId& id);

// Parses a token of exactly the expected kind; false for anything else (other kind, a shard
// number beyond kMaxShards, non-canonical or malformed text). The owner is the token's shard
// modulo `shardCount`: a restart with fewer shards re-homes records the same way (recovery.h).
bool decodeToken(std::string_view text, TokenKind expected, uint16_t shardCount, TokenId* out);

}  // namespace handoff::store
