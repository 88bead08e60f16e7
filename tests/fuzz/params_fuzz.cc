// Form, query and cookie decoding (http/params.h) over untrusted bytes.
//
// Input: byte 0 picks the parameter cap, the rest is the query string, form body or Cookie value.
// Checked: every decoded view lies inside the input or the arena's answer; a percent-encoded
// value decodes back to itself (appendUrlEncoded ∘ decodeForm is the identity on values
// without a NUL byte).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "handoff/core/arena.h"
#include "handoff/http/params.h"

namespace {

using namespace handoff;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "params_fuzz: invariant violated: %s\n", what);
  std::abort();
}

// Touches every byte, so ASan sees a view that points outside live memory.
size_t touch(const http::ParamList& list) {
  size_t sum = 0;
  for (const http::Param& p : list) {
    for (char c : p.name) sum += static_cast<unsigned char>(c);
    for (char c : p.value) sum += static_cast<unsigned char>(c);
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t maxParams = 1 + data[0] % 80;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  core::Arena arena(256);
  http::ParamList list;
  std::string_view offending;
  http::DecodeStatus st = http::decodeForm(in, arena, list, maxParams, &offending);
  if (list.size() > maxParams) violated("decodeForm returned more pairs than maxParams");
  for (const http::Param& p : list) {
    if (p.name.empty()) violated("decodeForm returned an empty name");
    if (p.name.find('\0') != std::string_view::npos || p.value.find('\0') != std::string_view::npos) {
      violated("decodeForm returned a NUL byte");
    }
  }
  if (st == http::DecodeStatus::kDuplicate && !list.has(offending)) violated("kDuplicate names an unseen pair");
  volatile size_t sink = touch(list);

  http::decodeCookies(in, list, maxParams);
  if (list.size() > maxParams) violated("decodeCookies returned more cookies than maxCookies");
  sink = sink + touch(list);

  // Round trip: the input as one value, encoded, decodes back to itself.
  if (in.find('\0') == std::string_view::npos) {
    std::string form = "v=";
    http::appendUrlEncoded(form, in);
    arena.reset();
    if (http::decodeForm(form, arena, list) != http::DecodeStatus::kOk || list.size() != 1 ||
        list[0].name != "v" || list[0].value != in) {
      violated("appendUrlEncoded then decodeForm is not the identity");
    }
  }
  (void)sink;
  return 0;
}
