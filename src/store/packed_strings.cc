#include "handoff/store/packed_strings.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "handoff/core/base64.h"

namespace handoff::store {
namespace {

constexpr uint8_t kShortTextMax = 0xEF;
constexpr uint8_t kLongText = 0xF0;
constexpr uint8_t kIpv4 = 0xF1;
constexpr uint8_t kIpv6 = 0xF2;
constexpr uint8_t kBase64 = 0xF3;

// Writes an IPv4 address as inet_ntop does ("192.0.2.1"); returns the end.
char* formatIpv4(const uint8_t* a, char* out) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *out++ = '.';
    unsigned v = a[i];
    if (v >= 100) *out++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *out++ = static_cast<char>('0' + v / 10 % 10);
    *out++ = static_cast<char>('0' + v % 10);
  }
  return out;
}

// Writes an IPv6 address as glibc's inet_ntop does: lowercase hex without leading zeros, the
// longest run of two or more zero groups (the first of equals) as "::", and the IPv4-mapped
// (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms with a dotted tail. inet_ntop formats
// through printf, which made it most of the cost of a packed STT; this does the same by hand.
char* formatIpv6(const uint8_t* a, char* out) {
  uint16_t w[8];
  for (int i = 0; i < 8; ++i) w[i] = static_cast<uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
  int best = -1, bestLen = 0;
  for (int i = 0; i < 8;) {
    if (w[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && w[j] == 0) ++j;
    if (j - i > bestLen) best = i, bestLen = j - i;
    i = j;
  }
  if (bestLen < 2) best = -1;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8;) {
    if (i == best) {
      *out++ = ':';
      if (i == 0) *out++ = ':';
      i += bestLen;
      continue;
    }
    if (i == 6 && best == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff))) {
      return formatIpv4(a + 12, out);  // "::" or "::ffff:" already written
    }
    bool leading = true;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned nibble = (w[i] >> shift) & 0xF;
      if (leading && nibble == 0 && shift != 0) continue;
      leading = false;
      *out++ = kHex[nibble];
    }
    if (++i < 8) *out++ = ':';
  }
  return out;
}

// The address `text` names, when it is spelled exactly as inet_ntop spells it: the family's
// header byte and the bytes in `ip`; 0 otherwise.
uint8_t packIp(std::string_view text, uint8_t ip[16]) {
  char in[INET6_ADDRSTRLEN], back[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof in) return 0;
  std::memcpy(in, text.data(), text.size());
  in[text.size()] = '\0';
  if (inet_pton(AF_INET, in, ip) == 1) {
    char* end = formatIpv4(ip, back);
    return std::string_view(back, static_cast<size_t>(end - back)) == text ? kIpv4 : 0;
  }
  if (inet_pton(AF_INET6, in, ip) == 1) {
    char* end = formatIpv6(ip, back);
    return std::string_view(back, static_cast<size_t>(end - back)) == text ? kIpv6 : 0;
  }
  return 0;
}

// Appends one field to `out`, which has room for its largest encoding (upperBound).
uint8_t* writeField(const PackedField& f, uint8_t* out) {
  if (f.packing == Packing::kIp) {
    uint8_t ip[16];
    if (uint8_t header = packIp(f.text, ip)) {
      *out++ = header;
      size_t n = header == kIpv4 ? 4 : 16;
      std::memcpy(out, ip, n);
      return out + n;
    }
  } else if (f.packing == Packing::kBase64Url) {
    size_t n = f.text.empty() || f.text.size() % 4 == 1 ? 0 : core::base64UrlDecodedLength(f.text.size());
    // The strict decoder accepts exactly one spelling per byte string: the one encode writes.
    if (n != 0 && n <= 0xFF && core::decodeBase64Url(f.text, out + 2)) {
      out[0] = kBase64;
      out[1] = static_cast<uint8_t>(n);
      return out + 2 + n;
    }
  }
  if (f.text.size() <= kShortTextMax) {
    *out++ = static_cast<uint8_t>(f.text.size());
  } else {
    *out++ = kLongText;
    uint32_t len = static_cast<uint32_t>(f.text.size());
    for (int i = 0; i < 4; ++i) *out++ = static_cast<uint8_t>(len >> (8 * i));
  }
  if (!f.text.empty()) std::memcpy(out, f.text.data(), f.text.size());
  return out + f.text.size();
}

// The largest encoding of each field: a 5-byte text header, or an address's 17 bytes, which
// may be longer than its text ("::").
size_t upperBound(std::span<const PackedField> fields) {
  size_t n = 1;
  for (const PackedField& f : fields) n += 5 + std::max<size_t>(f.text.size(), 16);
  return n;
}

// Packs into `stage` (upperBound bytes) and returns the packed size.
size_t stageFields(std::span<const PackedField> fields, uint8_t* stage) {
  if (fields.size() > PackedStrings::kMaxFields) std::abort();
  uint8_t* end = stage;
  *end++ = static_cast<uint8_t>(fields.size());
  for (const PackedField& f : fields) end = writeField(f, end);
  return static_cast<size_t>(end - stage);
}

}  // namespace

size_t PackedStrings::packedSize(std::span<const PackedField> fields) {
  if (fields.empty()) return 0;
  std::vector<uint8_t> stage(upperBound(fields));
  return stageFields(fields, stage.data());
}

PackedStrings::PackedStrings(std::span<const PackedField> fields) {
  if (fields.empty()) return;
  size_t bound = upperBound(fields);
  uint8_t small[512];
  std::vector<uint8_t> large;
  uint8_t* stage = small;
  if (bound > sizeof small) {
    large.resize(bound);
    stage = large.data();
  }
  size_t n = stageFields(fields, stage);
  p_ = std::make_unique_for_overwrite<uint8_t[]>(n);
  std::memcpy(p_.get(), stage, n);
}

void PackedStrings::read(size_t i, std::string& out) const {
  out.clear();
  if (!p_ || i >= p_[0]) return;
  const uint8_t* p = p_.get() + 1;
  for (;; --i) {
    uint8_t header = *p++;
    size_t len;
    const uint8_t* data = p;
    if (header <= kShortTextMax) {
      len = header;
    } else if (header == kLongText) {
      len = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
      data = p + 4;
    } else if (header == kIpv4 || header == kIpv6) {
      len = header == kIpv4 ? 4 : 16;
    } else {  // kBase64
      len = p[0];
      data = p + 1;
    }
    if (i == 0) {
      if (header <= kLongText) {
        out.assign(reinterpret_cast<const char*>(data), len);
      } else if (header == kBase64) {
        out.resize(core::base64UrlEncodedLength(len));
        core::encodeBase64Url(data, len, out.data());
      } else {
        char text[INET6_ADDRSTRLEN];
        char* end = header == kIpv4 ? formatIpv4(data, text) : formatIpv6(data, text);
        out.assign(text, static_cast<size_t>(end - text));
      }
      return;
    }
    p = data + len;
  }
}

}  // namespace handoff::store
