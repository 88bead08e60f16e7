// A strict RFC 8259 JSON parser into a read-only DOM allocated in a request arena, and the
// string escaper used to write JSON responses.
//
// parseJson reads untrusted request bodies: it never throws, never reads outside its input,
// and does not recurse (nesting is tracked on an explicit stack bounded by maxDepth). Values
// live in the arena; strings without escapes and all numbers' raw text are views into the
// input. The caller keeps both the input and the arena (un-reset) alive while it reads the DOM.
//
// parseJson may be called from any thread: it keeps a per-thread scratch stack, so one thread
// reuses its scratch memory and stops allocating once it has parsed its largest document.
// The DOM is immutable after parsing and may be read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "handoff/core/arena.h"
#include "handoff/core/text.h"

namespace handoff::http {

enum class JsonType : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

struct JsonMember;

// One JSON value (40 bytes). Which fields are meaningful depends on `type`:
//   kBool: `boolean`; kNumber: `number` and `text` (the number's raw text, e.g. "1e3");
//   kString: `text` (unescaped UTF-8); kArray: `elements[0..size)`; kObject: `members[0..size)`
//   in document order (keys are unique: parseJson rejects duplicates).
struct JsonValue {
  JsonType type = JsonType::kNull;
  bool boolean = false;
  uint32_t size = 0;
  double number = 0;
  std::string_view text;
  union {
    const JsonValue* elements = nullptr;  // kArray
    const JsonMember* members;            // kObject
  };

  bool isNull() const { return type == JsonType::kNull; }
  bool isBool() const { return type == JsonType::kBool; }
  bool isNumber() const { return type == JsonType::kNumber; }
  bool isString() const { return type == JsonType::kString; }
  bool isArray() const { return type == JsonType::kArray; }
  bool isObject() const { return type == JsonType::kObject; }

  // The elements of an array; empty for any other type.
  std::span<const JsonValue> array() const {
    return isArray() ? std::span<const JsonValue>(elements, size) : std::span<const JsonValue>();
  }
  // The members of an object; empty for any other type.
  inline std::span<const JsonMember> object() const;

  // The value of member `key` of an object; nullptr when absent or when this is not an object.
  const JsonValue* find(std::string_view key) const;

  // The string value of member `key` when it is present and a string; nullptr otherwise.
  const std::string_view* findString(std::string_view key) const {
    const JsonValue* v = find(key);
    return v != nullptr && v->isString() ? &v->text : nullptr;
  }

  // True, with *out set, only for a number written as an integer (no fraction, no exponent)
  // that fits in int64_t. "1.0" and "1e3" are false.
  bool asInt64(int64_t* out) const;
};

struct JsonMember {
  std::string_view key;
  JsonValue value;
};

inline std::span<const JsonMember> JsonValue::object() const {
  return isObject() ? std::span<const JsonMember>(members, size) : std::span<const JsonMember>();
}

enum class JsonError : uint8_t {
  kNone,
  kSyntax,        // not JSON: unexpected or missing character, truncated input, bad number
  kDepth,         // arrays and objects nested deeper than maxDepth
  kDuplicateKey,  // an object names the same key twice (compared after unescaping)
  kBadString,     // bad escape, raw control character, invalid UTF-8, lone surrogate
  kTrailing,      // something other than whitespace after the value
  kTooLarge,      // a number beyond the range of double, or more than 2^32-1 elements
};

// Parses `in`, which must hold exactly one JSON value (any type) with optional whitespace
// around it, and on success sets *out to the root value and returns kNone; on failure *out is
// nullptr. Strings must be valid UTF-8 (no overlongs, no encoded surrogates, nothing above
// U+10FFFF) without raw control characters; escapes, including surrogate pairs, are decoded
// to UTF-8 (\u0000 is accepted and yields a NUL byte). Numbers follow the RFC grammar exactly
// and are converted with std::from_chars; one too small for a double becomes 0. Arrays and
// objects may nest `maxDepth` deep (a top-level scalar is depth 0, "[]" depth 1). On
// kDuplicateKey `*offendingKey` (when given) is set to the key. A byte-order mark is a syntax
// error. Memory: about 40 bytes of arena per value (56 per object member) plus unescaped text.
JsonError parseJson(std::string_view in, core::Arena& arena, const JsonValue** out,
                    size_t maxDepth = 32, std::string_view* offendingKey = nullptr);

// The one JSON string writer, shared with the log (core/text.h).
using core::appendJsonString;

}  // namespace handoff::http
