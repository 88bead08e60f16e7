// The HTTP/1.1 request parser: llhttp behind a narrow interface. This file pair is the only one
// that includes llhttp.h. No lenient flag is enabled.
//
// Thread-bound: one Parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace handoff::http {

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

// Callbacks from the parser. Return 0 to continue, kPause (only from onMessageComplete) to stop
// right after the message, or kAbort to fail the parse with a protocol error of your choosing.
class ParserEvents {
 public:
  static constexpr int kContinue = 0;
  static constexpr int kAbort = -1;
  static constexpr int kPause = 21;  // llhttp's HPE_PAUSED
  virtual ~ParserEvents() = default;
  virtual int onMessageBegin() = 0;
  virtual int onUrl(const char* at, size_t n) = 0;
  virtual int onHeaderField(const char* at, size_t n) = 0;
  virtual int onHeaderValue(const char* at, size_t n) = 0;
  virtual int onHeadersComplete() = 0;
  virtual int onBody(const char* at, size_t n) = 0;
  virtual int onMessageComplete() = 0;
};

enum class ParseResult : uint8_t {
  kOk,           // all bytes consumed
  kPaused,       // stopped after a complete message; `consumed` says where
  kBadRequest,   // malformed or ambiguous framing → 400
  kBadVersion,   // not HTTP/1.0 or 1.1 → 505
  kAborted,      // a callback returned kAbort; the handler knows why
};

class Parser {
 public:
  explicit Parser(ParserEvents& events);
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  ParseResult execute(const char* data, size_t n, size_t* consumed);
  void resume();  // after kPaused

  // Valid from onHeadersComplete on.
  Method method() const;
  int versionMajor() const;
  int versionMinor() const;
  bool keepAlive() const;
  bool chunked() const;
  // Content-Length if the request sent one, else -1.
  int64_t contentLength() const;
  const char* errorReason() const;  // llhttp's text, for debug logs only

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace handoff::http
