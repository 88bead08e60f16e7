// A Redis reply as our own value, copied out of hiredis' redisReply so that no caller sees
// hiredis. Immutable once built; safe to move between threads like any value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::store::redis {

struct Reply {
  enum class Type : uint8_t { kNil, kStatus, kError, kInteger, kString, kArray };

  Type type = Type::kNil;
  int64_t integer = 0;          // kInteger
  std::string str;              // kStatus, kError, kString (binary-safe)
  std::vector<Reply> elements;  // kArray

  bool isNil() const { return type == Type::kNil; }
  bool isError() const { return type == Type::kError; }
  bool isString() const { return type == Type::kString; }
  bool isInteger() const { return type == Type::kInteger; }
  bool isArray() const { return type == Type::kArray; }

  // True for an error reply whose first word is `code` ("MOVED", "NOSCRIPT", "WRONGTYPE").
  bool errorIs(std::string_view code) const {
    if (type != Type::kError || str.size() < code.size()) return false;
    if (str.compare(0, code.size(), code) != 0) return false;
    return str.size() == code.size() || str[code.size()] == ' ';
  }

  static Reply nil() { return Reply{}; }
  static Reply ofString(std::string s) { return Reply{Type::kString, 0, std::move(s), {}}; }
  static Reply ofStatus(std::string s) { return Reply{Type::kStatus, 0, std::move(s), {}}; }
  static Reply ofError(std::string s) { return Reply{Type::kError, 0, std::move(s), {}}; }
  static Reply ofInteger(int64_t v) { return Reply{Type::kInteger, v, {}, {}}; }
};

}  // namespace handoff::store::redis
