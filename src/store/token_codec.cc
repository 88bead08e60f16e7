#include "handoff/store/token_codec.h"

#include <charconv>
#include <cstring>

#include "handoff/core/base64.h"

namespace handoff::store {
namespace {

constexpr size_t kRandomChars = 22;  // base64url of 16 bytes, unpadded

}  // namespace

std::string_view tokenPrefix(TokenKind kind) {
  switch (kind) {
    case TokenKind::kCode: return "cd";
    case TokenKind::kRefreshToken: return "rt";
    case TokenKind::kAccessToken: return "at";
    case TokenKind::kSessionTransfer: return "stt";
    case TokenKind::kSession: return "sid";
  }
  return "??";
}

TokenId makeTokenId(TokenKind kind, uint16_t shard, std::span<const uint8_t, 16> random) {
  TokenId id;
  id.kind = kind;
  id.shard = shard;
  std::memcpy(&id.key.lo, random.data(), 8);
  std::memcpy(&id.key.hi, random.data() + 8, 8);
  return id;
}

void appendToken(std::string& out, const TokenId& id) {
  out.append(tokenPrefix(id.kind));
  out.push_back('_');
  char digits[8];
  auto r = std::to_chars(digits, digits + sizeof digits, id.shard);
  out.append(digits, r.ptr);
  out.push_back('_');
  uint8_t raw[16];
  std::memcpy(raw, &id.key.lo, 8);
  std::memcpy(raw + 8, &id.key.hi, 8);
  char enc[kRandomChars + 2];
  size_t n = core::encodeBase64Url(raw, sizeof raw, enc);
  out.append(enc, n);
}

std::string encodeToken(const TokenId& id) {
  std::string s;
  s.reserve(32);
  appendToken(s, id);
  return s;
}

bool decodeToken(std::string_view text, TokenKind expected, uint16_t shardCount, TokenId* out) {
  std::string_view prefix = tokenPrefix(expected);
  if (text.size() < prefix.size() + 3 + kRandomChars || text.substr(0, prefix.size()) != prefix ||
      text[prefix.size()] != '_') {
    return false;
  }
  text.remove_prefix(prefix.size() + 1);
  size_t sep = text.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep > 4 || (sep > 1 && text[0] == '0')) return false;
  unsigned shard = 0;
  auto r = std::from_chars(text.data(), text.data() + sep, shard);
  if (r.ec != std::errc() || r.ptr != text.data() + sep || shard >= kMaxShards || shardCount == 0) return false;
  std::string_view rnd = text.substr(sep + 1);
  if (rnd.size() != kRandomChars) return false;
  std::string raw;
  if (!core::decodeBase64Url(rnd, raw) || raw.size() != 16) return false;
  out->kind = expected;
  // A token minted when the node ran more shards lives where recovery re-homed its record.
  out->shard = static_cast<uint16_t>(shard % shardCount);
  std::memcpy(&out->key.lo, raw.data(), 8);
  std::memcpy(&out->key.hi, raw.data() + 8, 8);
  return true;
}

}  // namespace handoff::store
