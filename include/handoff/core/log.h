// Structured logging: one JSON object per line on stderr, written with a single write(2) so that
// lines from different shards never interleave.
//
// Thread-safe. The level is set once at start-up (setLogLevel) and read without a lock.
// Never pass a token, code, secret or cookie value as a field: log ids or hashes (SECURITY.md).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "handoff/core/text.h"

namespace handoff::core {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };

// Parses "debug" | "info" | "warn" | "error".
bool parseLogLevel(std::string_view name, LogLevel* out);
void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);

// One field of a log line. Holds views: the values must outlive the log call only.
struct LogField {
  enum class Kind : uint8_t { kString, kInt, kUint, kBool };
  LogField(std::string_view k, std::string_view v) : key(k), kind(Kind::kString), str(v) {}
  LogField(std::string_view k, const char* v) : key(k), kind(Kind::kString), str(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), kind(Kind::kString), str(v) {}
  LogField(std::string_view k, int v) : key(k), kind(Kind::kInt), i(v) {}
  LogField(std::string_view k, long v) : key(k), kind(Kind::kInt), i(v) {}
  LogField(std::string_view k, long long v) : key(k), kind(Kind::kInt), i(v) {}
  LogField(std::string_view k, unsigned v) : key(k), kind(Kind::kUint), u(v) {}
  LogField(std::string_view k, unsigned long v) : key(k), kind(Kind::kUint), u(v) {}
  LogField(std::string_view k, unsigned long long v) : key(k), kind(Kind::kUint), u(v) {}
  LogField(std::string_view k, bool v) : key(k), kind(Kind::kBool), b(v) {}

  std::string_view key;
  Kind kind;
  std::string_view str;
  union {
    int64_t i;
    uint64_t u;
    bool b;
  };
};

void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
inline void logDebug(std::string_view m, std::initializer_list<LogField> f = {}) { if (logEnabled(LogLevel::kDebug)) log(LogLevel::kDebug, m, f); }
inline void logInfo(std::string_view m, std::initializer_list<LogField> f = {}) { log(LogLevel::kInfo, m, f); }
inline void logWarn(std::string_view m, std::initializer_list<LogField> f = {}) { log(LogLevel::kWarn, m, f); }
inline void logError(std::string_view m, std::initializer_list<LogField> f = {}) { log(LogLevel::kError, m, f); }

// Formats the current UTC time as RFC 3339 with milliseconds ("2026-11-27T17:40:22.123Z").
void appendRfc3339Now(std::string& out);

}  // namespace handoff::core
