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

// The address `text` names, when inet_ntop spells it exactly so: the family's header byte and
// the bytes in `ip`; 0 otherwise.
uint8_t packIp(std::string_view text, uint8_t ip[16]) {
  char in[INET6_ADDRSTRLEN], back[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof in) return 0;
  std::memcpy(in, text.data(), text.size());
  in[text.size()] = '\0';
  for (auto [family, header] : {std::pair{AF_INET, kIpv4}, std::pair{AF_INET6, kIpv6}}) {
    if (inet_pton(family, in, ip) == 1 && inet_ntop(family, ip, back, sizeof back) != nullptr &&
        std::strcmp(in, back) == 0) {
      return header;
    }
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
        inet_ntop(header == kIpv4 ? AF_INET : AF_INET6, data, text, sizeof text);
        out.assign(text);
      }
      return;
    }
    p = data + len;
  }
}

}  // namespace handoff::store
