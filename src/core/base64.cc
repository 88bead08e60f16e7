#include "handoff/core/base64.h"

#include <array>

namespace handoff::core {
namespace {

constexpr char kUrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Decoding tables: the 6-bit value of each character, or 0xFF for a character outside the
// alphabet. Built at compile time from the two alphabets, which differ in the last two places.
constexpr std::array<uint8_t, 256> makeTable(char c62, char c63) {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xFF;
  for (int i = 0; i < 62; ++i) {
    t[static_cast<unsigned char>(kUrlAlphabet[i])] = static_cast<uint8_t>(i);
  }
  t[static_cast<unsigned char>(c62)] = 62;
  t[static_cast<unsigned char>(c63)] = 63;
  return t;
}

constexpr std::array<uint8_t, 256> kUrlTable = makeTable('-', '_');
constexpr std::array<uint8_t, 256> kStdTable = makeTable('+', '/');

// Decodes `in` (no padding, length not 1 modulo 4) with `table` into `d`, which has room for
// base64UrlDecodedLength(in.size()) bytes; false if a character is outside the table or unused
// trailing bits are set.
bool decodeInto(std::string_view in, const std::array<uint8_t, 256>& table, uint8_t* d) {
  size_t rem = in.size() % 4;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t full = in.size() - rem;
  uint32_t bad = 0;  // ORs every table value: any 0xFF sets bit 7, which no valid value has
  for (size_t i = 0; i < full; i += 4) {
    uint32_t a = table[s[i]], b = table[s[i + 1]], c = table[s[i + 2]], e = table[s[i + 3]];
    bad |= a | b | c | e;
    uint32_t v = a << 18 | b << 12 | c << 6 | e;
    *d++ = static_cast<uint8_t>(v >> 16);
    *d++ = static_cast<uint8_t>(v >> 8);
    *d++ = static_cast<uint8_t>(v);
  }
  if (rem != 0) {
    uint32_t a = table[s[full]], b = table[s[full + 1]];
    uint32_t c = rem == 3 ? table[s[full + 2]] : 0;
    bad |= a | b | c;
    uint32_t v = a << 18 | b << 12 | c << 6;
    *d++ = static_cast<uint8_t>(v >> 16);
    if (rem == 3) *d++ = static_cast<uint8_t>(v >> 8);
    // The bits below the last whole byte must be zero, or two texts would name one string.
    uint32_t unused = rem == 2 ? (v & 0xFFFF) : (v & 0xFF);
    if ((bad & 0x80) == 0 && unused != 0) bad = 0x80;
  }
  return (bad & 0x80) == 0;
}

// Decodes `in` (no padding) with `table`, appending to `out`; restores `out` on failure.
bool decodeWith(std::string_view in, const std::array<uint8_t, 256>& table, std::string& out) {
  if (in.size() % 4 == 1) return false;  // one character carries 6 bits: less than a byte
  size_t start = out.size();
  out.resize(start + base64UrlDecodedLength(in.size()));
  if (!decodeInto(in, table, reinterpret_cast<uint8_t*>(out.data() + start))) {
    out.resize(start);
    return false;
  }
  return true;
}

}  // namespace

size_t encodeBase64Url(const uint8_t* in, size_t n, char* out) {
  char* d = out;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    *d++ = kUrlAlphabet[v >> 18];
    *d++ = kUrlAlphabet[(v >> 12) & 63];
    *d++ = kUrlAlphabet[(v >> 6) & 63];
    *d++ = kUrlAlphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{in[i]} << 16;
    *d++ = kUrlAlphabet[v >> 18];
    *d++ = kUrlAlphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8;
    *d++ = kUrlAlphabet[v >> 18];
    *d++ = kUrlAlphabet[(v >> 12) & 63];
    *d++ = kUrlAlphabet[(v >> 6) & 63];
  }
  return static_cast<size_t>(d - out);
}

void appendBase64Url(std::string& out, std::string_view in) {
  size_t start = out.size();
  out.resize(start + base64UrlEncodedLength(in.size()));
  encodeBase64Url(reinterpret_cast<const uint8_t*>(in.data()), in.size(), out.data() + start);
}

bool decodeBase64Url(std::string_view in, std::string& out) {
  return decodeWith(in, kUrlTable, out);
}

bool decodeBase64Url(std::string_view in, uint8_t* out) {
  return in.size() % 4 != 1 && decodeInto(in, kUrlTable, out);
}

bool decodeBase64(std::string_view in, std::string& out) {
  if (in.size() % 4 != 0) return false;
  // Strip at most two '=' from the end; any other '=' is outside the table and fails below.
  size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  std::string_view body = in.substr(0, in.size() - pad);
  // "xx==" leaves 2 characters, "xxx=" 3: padding never stands for a whole group or a lone one.
  if (pad != 0 && body.size() % 4 != 4 - pad) return false;
  return decodeWith(body, kStdTable, out);
}

}  // namespace handoff::core
