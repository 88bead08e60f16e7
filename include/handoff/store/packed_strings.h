// The strings of one record that differ from record to record (user id, session id, nonce, PKCE
// challenge, IP), packed into one heap block instead of a std::string each (32 bytes inline,
// plus a heap block past 15 characters).
//
// Layout: a field count, then per field one header byte and its bytes:
//   0x00–0xEF  text of that many bytes
//   0xF0       text with a 4-byte little-endian length
//   0xF1       an IPv4 address, 4 bytes      (reads back as inet_ntop writes it)
//   0xF2       an IPv6 address, 16 bytes     (likewise)
//   0xF3       base64url: a length byte n, then the n bytes it encodes (reads back unpadded)
// A field packs as an address or as base64url only when it reads back byte for byte as it was
// given (canonical base64url; the address in exactly inet_ntop's spelling); otherwise, and for
// kText, it is stored as text. So every field reads back exactly, whatever it holds.
//
// A value type (move-only); the block belongs to it. Pure functions otherwise; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace handoff::store {

enum class Packing : uint8_t {
  kText,       // as is
  kBase64Url,  // session ids, PKCE challenges: 3/4 of their length when canonical
  kIp,         // a normalised IP literal: 4 or 16 bytes
};

struct PackedField {
  std::string_view text;
  Packing packing = Packing::kText;
};

class PackedStrings {
 public:
  static constexpr size_t kMaxFields = 255;

  PackedStrings() = default;  // no block: every field reads as ""
  // At most kMaxFields fields (more is a programming error: abort).
  explicit PackedStrings(std::span<const PackedField> fields);

  // Field `i` as it was given; "" past the last field.
  void read(size_t i, std::string& out) const;
  std::string get(size_t i) const {
    std::string out;
    read(i, out);
    return out;
  }
  size_t fields() const { return p_ ? p_[0] : 0; }
  bool empty() const { return p_ == nullptr; }
  void reset() { p_.reset(); }

  // The block's size for these fields (what the constructor allocates; 0 for none).
  static size_t packedSize(std::span<const PackedField> fields);

 private:
  std::unique_ptr<uint8_t[]> p_;
};

}  // namespace handoff::store
