// The JSON parser (http/json.h) over untrusted request bodies.
//
// Input: byte 0 picks maxDepth, the rest is the document. Checked: a parsed DOM is walked in
// full (ASan sees any view outside the input or arena); every string it holds is valid UTF-8 as
// the parser promises, written back with appendJsonString and parsed again to the same text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/core/arena.h"
#include "handoff/http/json.h"

namespace {

using namespace handoff;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "json_fuzz: invariant violated: %s\n", what);
  std::abort();
}

// Re-serialises `v` (numbers by their raw text): the output must parse to an equal tree.
void write(const http::JsonValue& v, std::string& out) {
  switch (v.type) {
    case http::JsonType::kNull: out += "null"; break;
    case http::JsonType::kBool: out += v.boolean ? "true" : "false"; break;
    case http::JsonType::kNumber: out += v.text; break;
    case http::JsonType::kString: http::appendJsonString(out, v.text); break;
    case http::JsonType::kArray: {
      out += '[';
      bool first = true;
      for (const http::JsonValue& e : v.array()) {
        if (!first) out += ',';
        first = false;
        write(e, out);
      }
      out += ']';
      break;
    }
    case http::JsonType::kObject: {
      out += '{';
      bool first = true;
      for (const http::JsonMember& m : v.object()) {
        if (!first) out += ',';
        first = false;
        http::appendJsonString(out, m.key);
        out += ':';
        write(m.value, out);
        if (v.find(m.key) == nullptr) violated("find() misses a member of its object");
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t maxDepth = data[0] % 40;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  core::Arena arena(512);
  const http::JsonValue* root = nullptr;
  std::string_view dup;
  http::JsonError err = http::parseJson(in, arena, &root, maxDepth, &dup);
  if ((err == http::JsonError::kNone) != (root != nullptr)) violated("root set on failure or missing on success");
  if (root == nullptr) return 0;

  std::string again;
  write(*root, again);
  core::Arena arena2(512);
  const http::JsonValue* root2 = nullptr;
  if (http::parseJson(again, arena2, &root2, maxDepth) != http::JsonError::kNone) {
    violated("a parsed document, written back, does not parse");
  }
  std::string twice;
  write(*root2, twice);
  if (twice != again) violated("write(parse(write(x))) differs from write(x)");
  int64_t i = 0;
  (void)root->asInt64(&i);
  return 0;
}
