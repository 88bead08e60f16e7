#include "handoff/core/text.h"

#include <array>

namespace handoff::core {
namespace {

// The bytes that pass through a JSON string unchanged: printable ASCII except the quote, the
// backslash and the three HTML-significant characters (escaped so that JSON embedded in a page
// stays inert).
constexpr std::array<bool, 256> kPlainJson = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
  return t;
}();

}  // namespace

size_t utf8Length(const unsigned char* p, size_t avail) {
  unsigned c = p[0];
  if (c < 0x80) return 1;
  auto cont = [](unsigned b) { return b >= 0x80 && b <= 0xBF; };
  if (c < 0xC2) return 0;
  if (c < 0xE0) return avail >= 2 && cont(p[1]) ? 2 : 0;
  if (c < 0xF0) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
    unsigned hi = c == 0xED ? 0x9F : 0xBF;
    return avail >= 3 && p[1] >= lo && p[1] <= hi && cont(p[2]) ? 3 : 0;
  }
  if (c < 0xF5) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
    return avail >= 4 && p[1] >= lo && p[1] <= hi && cont(p[2]) && cont(p[3]) ? 4 : 0;
  }
  return 0;
}

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t run = 0;  // start of the current run of bytes that pass through
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    // Tokens, ids and URLs are plain throughout: one table load per byte, four at a time.
    while (i + 4 <= n && kPlainJson[p[i]] && kPlainJson[p[i + 1]] && kPlainJson[p[i + 2]] && kPlainJson[p[i + 3]]) i += 4;
    while (i < n && kPlainJson[p[i]]) ++i;
    if (i == n) break;
    unsigned char c = p[i];
    size_t len = c < 0x80 ? 1 : utf8Length(p + i, s.size() - i);
    bool lineSeparator = len == 3 && c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] & 0xFE) == 0xA8;
    if (len > 1 && !lineSeparator) {
      i += len;  // valid UTF-8 passes through
      continue;
    }
    out.append(s.data() + run, i - run);
    static constexpr std::string_view kFrom = "\"\\\n\r\t\b\f";
    static constexpr std::string_view kTo = "\"\\nrtbf";
    if (size_t k = c < 0x80 ? kFrom.find(static_cast<char>(c)) : std::string_view::npos;
        k != std::string_view::npos) {
      char esc[2] = {'\\', kTo[k]};
      out.append(esc, 2);
    } else if (lineSeparator) {
      out.append(p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
      len = 3;
    } else if (c >= 0x80) {
      out.append("\\ufffd");  // invalid UTF-8: one replacement per byte that starts none
      len = 1;
    } else {
      char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(esc, 6);
    }
    i += len;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace handoff::core
