#include "handoff/http/params.h"

#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace handoff::http {

namespace {

// The value of a hex digit, or -1.
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// How decodeForm's scanner classifies a byte.
enum ByteClass : uint8_t { kPlain, kAmpersand, kEquals, kEncoded /* '%', '+' or NUL */ };

constexpr auto kFormByteClass = [] {
  std::array<uint8_t, 256> t{};
  t['&'] = kAmpersand;
  t['='] = kEquals;
  t['%'] = kEncoded;
  t['+'] = kEncoded;
  t[0] = kEncoded;
  return t;
}();

// The first byte at or after `pos` (and before `end`) that is not kPlain, or `end`: sixteen bytes
// at a time where SSE2 is (every x86-64), else four.
size_t skipPlain(const unsigned char* b, size_t pos, size_t end) {
#if defined(__SSE2__)
  const __m128i amp = _mm_set1_epi8('&'), eq = _mm_set1_epi8('='), pct = _mm_set1_epi8('%');
  const __m128i plus = _mm_set1_epi8('+'), nul = _mm_setzero_si128();
  while (end - pos >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + pos));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, eq)),
                               _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, pct), _mm_cmpeq_epi8(v, plus)),
                                            _mm_cmpeq_epi8(v, nul)));
    if (int mask = _mm_movemask_epi8(hit); mask != 0) return pos + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    pos += 16;
  }
#else
  while (end - pos >= 4 && (kFormByteClass[b[pos]] | kFormByteClass[b[pos + 1]] | kFormByteClass[b[pos + 2]] |
                            kFormByteClass[b[pos + 3]]) == kPlain) {
    pos += 4;
  }
#endif
  while (pos < end && kFormByteClass[b[pos]] == kPlain) ++pos;
  return pos;
}

// Decodes one form component (a name or a value) whose first byte needing decoding is at
// `first` (raw.size() when none does). Returns false when it is malformed.
bool decodeComponent(std::string_view raw, size_t first, core::Arena& arena,
                     std::string_view* out) {
  if (first >= raw.size()) {
    *out = raw;  // nothing to decode: a view into the input
    return true;
  }
  // Decoding never lengthens the text, so raw.size() bytes suffice.
  char* buf = static_cast<char*>(arena.allocate(raw.size(), 1));
  std::memcpy(buf, raw.data(), first);
  size_t n = first;
  for (size_t i = first; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '+') {
      buf[n++] = ' ';
    } else if (c == '%') {
      if (raw.size() - i < 3) return false;
      int hi = hexValue(raw[i + 1]);
      int lo = hexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char decoded = static_cast<char>((hi << 4) | lo);
      if (decoded == '\0') return false;
      buf[n++] = decoded;
      i += 2;
    } else if (c == '\0') {
      return false;
    } else {
      buf[n++] = c;
    }
  }
  *out = std::string_view(buf, n);
  return true;
}

bool isCookieSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view trimCookieSpace(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && isCookieSpace(s[b])) ++b;
  while (e > b && isCookieSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// True for the bytes that appendUrlEncoded leaves as they are.
constexpr bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

const Param* ParamList::find(std::string_view name) const {
  if ((names_ & nameBit(name)) == 0) return nullptr;
  for (const Param& p : params_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string_view ParamList::get(std::string_view name) const {
  const Param* p = find(name);
  return p != nullptr ? p->value : std::string_view();
}

DecodeStatus decodeForm(std::string_view in, core::Arena& arena, ParamList& out,
                        size_t maxParams, std::string_view* offending) {
  out.clear();
  const auto* bytes = reinterpret_cast<const unsigned char*>(in.data());
  size_t pos = 0;
  while (pos < in.size()) {
    // One pass over the pair: find its end, its first '=', and the first byte of the name and
    // of the value that needs decoding.
    size_t start = pos;
    size_t eq = std::string_view::npos;
    size_t nameEncoded = std::string_view::npos;
    size_t valueEncoded = std::string_view::npos;
    for (;; ++pos) {
      pos = skipPlain(bytes, pos, in.size());
      if (pos == in.size()) break;
      uint8_t k = kFormByteClass[bytes[pos]];
      if (k == kAmpersand) break;
      if (k == kEquals) {
        if (eq == std::string_view::npos) eq = pos;
      } else if (eq == std::string_view::npos) {
        if (nameEncoded == std::string_view::npos) nameEncoded = pos;
      } else if (valueEncoded == std::string_view::npos) {
        valueEncoded = pos;
      }
    }
    size_t end = pos++;  // skip the '&'
    if (end == start) continue;

    std::string_view rawName, rawValue;
    if (eq == std::string_view::npos) {
      rawName = in.substr(start, end - start);
    } else {
      rawName = in.substr(start, eq - start);
      rawValue = in.substr(eq + 1, end - eq - 1);
    }
    if (rawName.empty()) return DecodeStatus::kMalformed;
    if (out.size() >= maxParams) return DecodeStatus::kTooMany;

    Param p;
    // Offsets of the first byte to decode, relative to each component (npos stays past the end).
    size_t nameFirst = nameEncoded == std::string_view::npos ? rawName.size() : nameEncoded - start;
    size_t valueFirst =
        valueEncoded == std::string_view::npos ? rawValue.size() : valueEncoded - eq - 1;
    if (!decodeComponent(rawName, nameFirst, arena, &p.name) ||
        !decodeComponent(rawValue, valueFirst, arena, &p.value)) {
      return DecodeStatus::kMalformed;
    }
    if (out.has(p.name)) {
      if (offending != nullptr) *offending = p.name;
      return DecodeStatus::kDuplicate;
    }
    out.add(p);
  }
  return DecodeStatus::kOk;
}

void decodeCookies(std::string_view cookieHeader, ParamList& out, size_t maxCookies) {
  out.clear();
  size_t pos = 0;
  while (pos < cookieHeader.size() && out.size() < maxCookies) {
    size_t semi = cookieHeader.find(';', pos);
    if (semi == std::string_view::npos) semi = cookieHeader.size();
    std::string_view pair = cookieHeader.substr(pos, semi - pos);
    pos = semi + 1;

    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = trimCookieSpace(pair.substr(0, eq));
    if (name.empty()) continue;
    std::string_view value = trimCookieSpace(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    out.add({name, value});
  }
}

bool decodePathSegment(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hexValue(in[i + 1]), lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

void appendUrlEncoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.reserve(out.size() + s.size());
  size_t run = 0;  // start of the current run of bytes that pass through
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (isUnreserved(c)) continue;
    out.append(s.data() + run, i - run);
    char esc[3] = {'%', kHex[c >> 4], kHex[c & 0xF]};
    out.append(esc, 3);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
}

}  // namespace handoff::http
