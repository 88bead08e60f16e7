// Text helpers shared by every layer: UTF-8 validation and the JSON string writer.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace handoff::core {

// Length of the well-formed UTF-8 sequence starting at p (1-4), or 0 if it is malformed
// (overlong, surrogate, above U+10FFFF, truncated at `avail`).
size_t utf8Length(const unsigned char* p, size_t avail);

// Appends `s` as a JSON string literal (quotes included). Escapes what RFC 8259 requires, plus
// '<', '>', '&', U+2028 and U+2029 so the result is safe inside HTML and JavaScript; invalid
// UTF-8 becomes U+FFFD, so the output is always valid JSON.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace handoff::core
