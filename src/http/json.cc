#include "handoff/http/json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <new>
#include <system_error>
#include <vector>

namespace handoff::http {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// True for the bytes a string may hold that need no further look: printable ASCII other than
// '"' and '\\'.
constexpr auto kPlainStringByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

// The length (1 to 4) of the valid UTF-8 sequence that starts at p, or 0 when none does
// (Unicode Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).

// Reads four hex digits at s[i..i+4); -1 when they are missing or not hex.
int32_t readHex4(std::string_view s, size_t i) {
  if (s.size() < i + 4) return -1;
  uint32_t v = 0;
  const char* end = s.data() + i + 4;
  auto [ptr, ec] = std::from_chars(s.data() + i, end, v, 16);  // unsigned: no sign accepted
  return ec == std::errc() && ptr == end ? static_cast<int32_t>(v) : -1;
}

char* appendUtf8(char* d, uint32_t cp) {
  auto put = [&d](uint32_t byte) { *d++ = static_cast<char>(byte); };
  if (cp < 0x80) {
    put(cp);
    return d;
  }
  if (cp < 0x800) {
    put(0xC0 | (cp >> 6));
  } else if (cp < 0x10000) {
    put(0xE0 | (cp >> 12));
    put(0x80 | ((cp >> 6) & 0x3F));
  } else {
    put(0xF0 | (cp >> 18));
    put(0x80 | ((cp >> 12) & 0x3F));
    put(0x80 | ((cp >> 6) & 0x3F));
  }
  put(0x80 | (cp & 0x3F));
  return d;
}

// For a grammatical number that std::from_chars found out of range: true when its magnitude is
// too large for a double, false when too small. Out-of-range values are far from 1, so the
// sign of the decimal exponent of the first significant digit decides.
bool numberOverflows(std::string_view t) {
  size_t e = t.find_first_of("eE");
  std::string_view mantissa = t.substr(0, e);
  size_t point = std::min(mantissa.find('.'), mantissa.size());
  size_t first = mantissa.find_first_of("123456789");
  if (first == std::string_view::npos) return false;  // zero is never out of range
  int64_t lead = first < point ? static_cast<int64_t>(point - first) - 1
                               : -static_cast<int64_t>(first - point);
  int64_t exp = 0;
  if (e != std::string_view::npos) {
    for (char c : t.substr(e + 1)) {
      if (isDigit(c) && exp < 1'000'000'000) exp = exp * 10 + (c - '0');  // saturates
    }
    if (t[e + 1] == '-') exp = -exp;
  }
  return lead + exp > 0;
}

struct Frame {
  std::string_view key;  // objects: the key of the member being parsed
  size_t start;          // index in Scratch::values of this container's first child
  bool isObject;
};

// Per-thread parser scratch: the children of open containers, and the open containers.
struct Scratch {
  std::vector<JsonMember> values;
  std::vector<Frame> frames;
};

thread_local Scratch tScratch;

// Scratch larger than this is given back after a parse, so one huge document does not pin
// memory to the thread.
constexpr size_t kRetainedValues = 4096;
constexpr size_t kRetainedFrames = 256;
// Objects with more members than this are checked for duplicates by sorting.
constexpr uint32_t kLinearDuplicateCheck = 16;

class Parser {
 public:
  Parser(std::string_view in, core::Arena& arena, Scratch& scratch)
      : in_(in), arena_(arena), values_(scratch.values), frames_(scratch.frames) {}

  JsonError run(size_t maxDepth, const JsonValue** out, std::string_view* offendingKey) {
    values_.clear();
    frames_.clear();
    JsonValue cur;
    for (;;) {
      // Expect the start of a value.
      skipWhitespace();
      if (pos_ >= in_.size()) return JsonError::kSyntax;
      char c = in_[pos_];
      if (c == '[' || c == '{') {
        if (frames_.size() >= maxDepth) return JsonError::kDepth;
        ++pos_;
        bool isObject = c == '{';
        if (!consume(isObject ? '}' : ']')) {
          frames_.push_back({{}, values_.size(), isObject});
          if (isObject) {
            if (JsonError e = parseKey(&frames_.back().key); e != JsonError::kNone) return e;
          }
          continue;
        }
        cur = JsonValue();  // empty
        cur.type = isObject ? JsonType::kObject : JsonType::kArray;
      } else if (JsonError e = parseScalar(&cur); e != JsonError::kNone) {
        return e;
      }

      // `cur` is complete: attach it to its container, closing every container it completes.
      for (;;) {
        if (frames_.empty()) {
          skipWhitespace();
          if (pos_ != in_.size()) return JsonError::kTrailing;
          *out = new (arena_.allocateArray<JsonValue>(1)) JsonValue(cur);
          return JsonError::kNone;
        }
        Frame& f = frames_.back();
        values_.push_back({f.key, cur});
        if (consume(',')) {
          if (f.isObject) {
            if (JsonError e = parseKey(&f.key); e != JsonError::kNone) return e;
          }
          break;  // on to the next value
        }
        if (!consume(f.isObject ? '}' : ']')) return JsonError::kSyntax;
        if (JsonError e = close(f, &cur, offendingKey); e != JsonError::kNone) return e;
        frames_.pop_back();
      }
    }
  }

 private:
  void skipWhitespace() {
    auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (pos_ < in_.size() && isSpace(in_[pos_])) ++pos_;
  }

  // Skips whitespace, then `c` if it is next; true when it was.
  bool consume(char c) {
    skipWhitespace();
    if (pos_ >= in_.size() || in_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  // A member's key and the ':' after it.
  JsonError parseKey(std::string_view* key) {
    skipWhitespace();
    if (pos_ >= in_.size() || in_[pos_] != '"') return JsonError::kSyntax;
    if (JsonError e = parseString(key); e != JsonError::kNone) return e;
    return consume(':') ? JsonError::kNone : JsonError::kSyntax;
  }

  // pos_ is at the first character of a value other than an array or object.
  JsonError parseScalar(JsonValue* v) {
    *v = JsonValue();
    char c = in_[pos_];
    if (c == '"') {
      v->type = JsonType::kString;
      return parseString(&v->text);
    }
    if (c == '-' || isDigit(c)) return parseNumber(v);
    std::string_view rest = in_.substr(pos_);
    if (rest.starts_with("null")) {
      pos_ += 4;
      return JsonError::kNone;
    }
    v->boolean = rest.starts_with("true");
    if (!v->boolean && !rest.starts_with("false")) return JsonError::kSyntax;
    v->type = JsonType::kBool;
    pos_ += v->boolean ? 4 : 5;
    return JsonError::kNone;
  }

  // pos_ is at the opening quote.
  JsonError parseString(std::string_view* out) {
    size_t start = ++pos_;
    bool escaped = false;
    const auto* bytes = reinterpret_cast<const unsigned char*>(in_.data());
    for (;;) {
      size_t i = pos_;  // a local: stores to pos_ could alias the bytes read
      while (i < in_.size() && kPlainStringByte[bytes[i]]) ++i;
      pos_ = i;
      if (pos_ >= in_.size()) return JsonError::kSyntax;
      unsigned char c = bytes[pos_];
      if (c == '"') break;
      if (c == '\\') {
        escaped = true;
        pos_ += 2;  // the escape is validated while unescaping; past the end is caught above
      } else if (c < 0x80) {
        return JsonError::kBadString;  // a control character
      } else {
        size_t len = core::utf8Length(bytes + pos_, in_.size() - pos_);
        if (len == 0) return JsonError::kBadString;
        pos_ += len;
      }
    }
    std::string_view raw = in_.substr(start, pos_ - start);
    ++pos_;  // the closing quote
    if (!escaped) {
      *out = raw;
      return JsonError::kNone;
    }
    return unescape(raw, out);
  }

  // Unescaping never lengthens the text (\uXXXX is 6 bytes for at most 3, a surrogate pair 12
  // for 4), so raw.size() bytes of arena suffice.
  JsonError unescape(std::string_view raw, std::string_view* out) {
    char* buf = static_cast<char*>(arena_.allocate(raw.size(), 1));
    char* d = buf;
    for (size_t i = 0; i < raw.size();) {
      if (raw[i] != '\\') {
        *d++ = raw[i++];
        continue;
      }
      if (i + 1 >= raw.size()) return JsonError::kBadString;
      char e = raw[i + 1];
      i += 2;
      if (e != 'u') {
        static constexpr std::string_view kFrom = "\"\\/bfnrt";
        static constexpr std::string_view kTo = "\"\\/\b\f\n\r\t";
        size_t k = kFrom.find(e);
        if (k == std::string_view::npos) return JsonError::kBadString;
        *d++ = kTo[k];
        continue;
      }
      int32_t cp = readHex4(raw, i);
      if (cp < 0) return JsonError::kBadString;
      i += 4;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return JsonError::kBadString;  // lone low half
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (i + 2 > raw.size() || raw[i] != '\\' || raw[i + 1] != 'u') {
          return JsonError::kBadString;  // lone high half
        }
        int32_t low = readHex4(raw, i + 2);
        if (low < 0xDC00 || low > 0xDFFF) return JsonError::kBadString;
        i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      d = appendUtf8(d, static_cast<uint32_t>(cp));
    }
    *out = std::string_view(buf, static_cast<size_t>(d - buf));
    return JsonError::kNone;
  }

  // pos_ is at '-' or a digit. Leading zeros ("01", "-00") are a syntax error.
  JsonError parseNumber(JsonValue* v) {
    size_t start = pos_;
    auto digits = [this] {
      size_t from = pos_;
      while (pos_ < in_.size() && isDigit(in_[pos_])) ++pos_;
      return pos_ - from;
    };
    if (in_[pos_] == '-') ++pos_;
    size_t intStart = pos_;
    size_t intDigits = digits();
    if (intDigits == 0 || (intDigits > 1 && in_[intStart] == '0')) return JsonError::kSyntax;
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return JsonError::kSyntax;
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      if (digits() == 0) return JsonError::kSyntax;
    }
    v->type = JsonType::kNumber;
    v->text = in_.substr(start, pos_ - start);
    const char* end = v->text.data() + v->text.size();
    auto [ptr, ec] = std::from_chars(v->text.data(), end, v->number);
    if (ec == std::errc::result_out_of_range) {
      if (numberOverflows(v->text)) return JsonError::kTooLarge;
      v->number = v->text[0] == '-' ? -0.0 : 0.0;
    } else if (ec != std::errc() || ptr != end) {
      return JsonError::kSyntax;
    }
    return JsonError::kNone;
  }

  // Moves the children of `f` from the scratch stack into the arena, as *v.
  JsonError close(const Frame& f, JsonValue* v, std::string_view* offendingKey) {
    size_t n = values_.size() - f.start;
    if (n > std::numeric_limits<uint32_t>::max()) return JsonError::kTooLarge;
    *v = JsonValue();
    v->size = static_cast<uint32_t>(n);
    const JsonMember* children = values_.data() + f.start;
    if (f.isObject) {
      v->type = JsonType::kObject;
      JsonMember* members = arena_.allocateArray<JsonMember>(n);
      for (size_t i = 0; i < n; ++i) new (&members[i]) JsonMember(children[i]);
      v->members = members;
      if (const std::string_view* dup = findDuplicateKey(members, n)) {
        if (offendingKey != nullptr) *offendingKey = *dup;
        return JsonError::kDuplicateKey;
      }
    } else {
      v->type = JsonType::kArray;
      JsonValue* elements = arena_.allocateArray<JsonValue>(n);
      for (size_t i = 0; i < n; ++i) new (&elements[i]) JsonValue(children[i].value);
      v->elements = elements;
    }
    values_.resize(f.start);
    return JsonError::kNone;
  }

  const std::string_view* findDuplicateKey(const JsonMember* members, size_t n) {
    if (n <= kLinearDuplicateCheck) {
      for (size_t i = 1; i < n; ++i) {
        for (size_t j = 0; j < i; ++j) {
          if (members[i].key == members[j].key) return &members[i].key;
        }
      }
      return nullptr;
    }
    const std::string_view** keys = arena_.allocateArray<const std::string_view*>(n);
    for (size_t i = 0; i < n; ++i) keys[i] = &members[i].key;
    std::sort(keys, keys + n,
              [](const std::string_view* a, const std::string_view* b) { return *a < *b; });
    for (size_t i = 1; i < n; ++i) {
      if (*keys[i] == *keys[i - 1]) return keys[i];
    }
    return nullptr;
  }

  std::string_view in_;
  core::Arena& arena_;
  std::vector<JsonMember>& values_;
  std::vector<Frame>& frames_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  if (!isObject()) return nullptr;
  for (uint32_t i = 0; i < size; ++i) {
    if (members[i].key == key) return &members[i].value;
  }
  return nullptr;
}

bool JsonValue::asInt64(int64_t* out) const {
  if (!isNumber() || text.find_first_of(".eE") != std::string_view::npos) return false;
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) return false;
  *out = v;
  return true;
}

JsonError parseJson(std::string_view in, core::Arena& arena, const JsonValue** out,
                    size_t maxDepth, std::string_view* offendingKey) {
  *out = nullptr;
  Scratch& scratch = tScratch;
  JsonError e = Parser(in, arena, scratch).run(maxDepth, out, offendingKey);
  if (e != JsonError::kNone) *out = nullptr;
  if (scratch.values.capacity() > kRetainedValues) std::vector<JsonMember>().swap(scratch.values);
  if (scratch.frames.capacity() > kRetainedFrames) std::vector<Frame>().swap(scratch.frames);
  return e;
}


}  // namespace handoff::http
