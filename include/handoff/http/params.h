// Decoders for the name/value parameters of a request: URL query strings and
// application/x-www-form-urlencoded bodies (decodeForm), and the Cookie header (decodeCookies),
// plus the matching percent-encoder used to build redirect URLs and form bodies.
//
// The decoders parse untrusted input: they never throw, never read outside their input, and
// bound their work by the parameter limits. Decoded names and values are views: into the input
// where nothing needed decoding (zero copy), otherwise into the arena. The caller keeps both the
// input and the arena alive (and the arena un-reset) for as long as it reads the list.
//
// ParamList is thread-bound: it belongs to one connection and is reused from request to request;
// clear() keeps its capacity, so a connection stops allocating once it has seen its largest
// request. The free functions are reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/core/arena.h"

namespace handoff::http {

struct Param {
  std::string_view name;
  std::string_view value;
};

// An ordered list of parameters. Lookups are linear scans, which beat hashing for the few dozen
// parameters a request carries (the decoders cap the count); a 64-bit filter of the names held
// (one bit per name, from its length and end bytes) answers most lookups of an absent name —
// the optional parameters of a request, and decodeForm's duplicate check — without a scan.
class ParamList {
 public:
  void clear() {
    params_.clear();
    names_ = 0;
  }
  size_t size() const { return params_.size(); }
  bool empty() const { return params_.empty(); }
  const Param* begin() const { return params_.data(); }
  const Param* end() const { return params_.data() + params_.size(); }
  const Param& operator[](size_t i) const { return params_[i]; }

  // The first parameter called `name`, or nullptr.
  const Param* find(std::string_view name) const;
  // The value of the first parameter called `name`; empty when absent (use has() to tell an
  // absent parameter from an empty one).
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  void add(Param p) {
    names_ |= nameBit(p.name);
    params_.push_back(p);
  }

 private:
  static uint64_t nameBit(std::string_view name) {
    size_t h = name.size();
    if (!name.empty()) h = h * 31 + static_cast<unsigned char>(name.front()) * 7 + static_cast<unsigned char>(name.back());
    return uint64_t{1} << (h & 63);
  }

  std::vector<Param> params_;
  uint64_t names_ = 0;  // nameBit of every name held
};

enum class DecodeStatus : uint8_t {
  kOk,
  kMalformed,  // bad percent escape, a NUL byte, or a pair with an empty name
  kDuplicate,  // a name given twice (RFC 6749 §3.1 requires rejecting the request)
  kTooMany,    // more than maxParams pairs
};

// Decodes a URL query string (without the '?') or an application/x-www-form-urlencoded body
// into `out`, which is cleared first. Pairs are split on '&' and empty pairs skipped; a pair
// without '=' has an empty value; '+' decodes to a space and %XX (hex in either case) to the
// byte XX. A '%' not followed by two hex digits, a NUL byte (raw or %00), or an empty name makes
// the input kMalformed; a name seen twice (compared after decoding) is kDuplicate, and then
// `*offending` (when given) is set to that decoded name; more than `maxParams` pairs is
// kTooMany. Bytes are not checked for UTF-8 validity. On an error `out` holds the pairs decoded
// before the offending one. Duplicate detection costs O(maxParams^2) comparisons at worst.
DecodeStatus decodeForm(std::string_view in, core::Arena& arena, ParamList& out,
                        size_t maxParams = 64, std::string_view* offending = nullptr);

// Decodes an RFC 6265 Cookie header value into `out`, which is cleared first. Pairs are split
// on ';' and the spaces and tabs around names and values are trimmed; values are not
// percent-decoded, but one pair of surrounding double quotes is removed. Pairs without '=' or
// with an empty name are skipped; duplicates are kept in order (find() returns the first).
// Decoding stops after `maxCookies` cookies. Never fails; every view points into the input.
void decodeCookies(std::string_view cookieHeader, ParamList& out, size_t maxCookies = 64);

// Decodes one percent-encoded path segment (e.g. "auth0%7Cabc") into `out`, which is cleared
// first: %XX (hex in either case) becomes the byte XX and every other byte stays, '+' included.
// False for a '%' not followed by two hex digits or for %00.
bool decodePathSegment(std::string_view in, std::string& out);

// Appends `s` to `out` percent-encoded: every byte except the RFC 3986 unreserved characters
// (ALPHA / DIGIT / "-" / "." / "_" / "~") becomes %XX with uppercase hex. The result is safe
// both in a URL query component and in a form body.
void appendUrlEncoded(std::string& out, std::string_view s);

}  // namespace handoff::http
