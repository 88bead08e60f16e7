// Base64 (RFC 4648): the URL-safe alphabet without padding (§5), used by JOSE, tokens and
// PKCE, and the standard alphabet with padding (§4), used by HTTP Basic authentication.
//
// Pure functions; thread-safe. Decoders read untrusted input and are strict: exactly one
// encoding is accepted for each byte string, so two different texts never decode to the same
// bytes (no whitespace, no mixed alphabets, unused trailing bits must be zero).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace handoff::core {

// The number of characters base64url without padding produces for `n` bytes.
constexpr size_t base64UrlEncodedLength(size_t n) {
  return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

// The number of bytes an unpadded base64url text of `n` characters encodes (n % 4 != 1).
constexpr size_t base64UrlDecodedLength(size_t n) {
  return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

// Writes the unpadded base64url encoding of in[0..n) to `out`, which must have room for
// base64UrlEncodedLength(n) characters, and returns that length.
size_t encodeBase64Url(const uint8_t* in, size_t n, char* out);

// Appends the unpadded base64url encoding of `in` to `out`.
void appendBase64Url(std::string& out, std::string_view in);

// Appends the bytes that `in` encodes to `out` and returns true when `in` is canonical unpadded
// base64url: only [A-Za-z0-9_-], a length that is not 1 modulo 4, and zero unused bits in the
// last character. The empty string decodes to nothing. On false `out` is left as it was.
bool decodeBase64Url(std::string_view in, std::string& out);
// The same into `out`, which must have room for base64UrlDecodedLength(in.size()) bytes (its
// contents are unspecified on false). No allocation.
bool decodeBase64Url(std::string_view in, uint8_t* out);

// Like decodeBase64Url for the standard alphabet [A-Za-z0-9+/] with '=' padding: the length
// must be a multiple of 4 and padding may only close the last group ("xx==" or "xxx=").
bool decodeBase64(std::string_view in, std::string& out);

}  // namespace handoff::core
