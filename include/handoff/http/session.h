// One HTTP/1.1 connection: framing, limits, keep-alive, pipelining, timeouts, dispatch.
//
// Bytes arrive into one contiguous input buffer owned by the session. The parser's callbacks
// record offsets (relative to the start of the current request) instead of pointers, so the
// buffer may grow or be compacted between reads and every header stays a zero-copy view. A
// request is dispatched when it is complete; its response is appended to the stream's output
// buffer, and all responses of one read are written with one uv_write (one TLS record batch on
// a TLS transport). Pipelined requests are
// answered in order; after maxPipelined unwritten responses, reading stops until they are written.
//
// An endpoint may defer its answer (Exchange::defer): the session then stops parsing, and keeps
// reading only into the free end of its buffer (the request's views stay valid; a client that
// leaves is still noticed), until the Deferred completes. Responses stay in order and memory
// stays bounded.
//
// Protocol errors are answered once from a canned table and the connection closes: nothing after
// a bad request is dispatched. Thread-bound to the shard that accepted the connection.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "handoff/core/arena.h"
#include "handoff/http/limits.h"
#include "handoff/http/message.h"
#include "handoff/http/parser.h"
#include "handoff/http/router.h"
#include "handoff/http/stats.h"
#include "handoff/net/transport.h"

namespace handoff::http {

class Session final : public net::StreamHandler, private ParserEvents, private DeferTarget {
 public:
  Session(net::Transport& stream, const Router& router, const Limits& limits, HttpStats& stats);
  ~Session() override;

 private:
  enum class Phase : uint8_t { kIdle, kHeaders, kBody };
  struct Span {
    uint32_t off = 0, len = 0;
  };
  struct HeaderSpan {
    Span name, value;
  };

  // StreamHandler
  std::span<char> readSpace() override;
  void onRead(size_t n) override;
  void onEof() override;
  void onWritten() override;
  void onTimeout() override;
  void onDrain() override;

  // ParserEvents
  int onMessageBegin() override;
  int onUrl(const char* at, size_t n) override;
  int onHeaderField(const char* at, size_t n) override;
  int onHeaderValue(const char* at, size_t n) override;
  int onTrailerBytes(const char* at, size_t n);
  int onHeadersComplete() override;
  int onBody(const char* at, size_t n) override;
  int onMessageComplete() override;

  // DeferTarget
  void completeDeferred(const std::function<void(Response&)>& fill) override;

  void process();
  void finishExchange(Response& res);
  bool feed(size_t n);  // runs the parser over n buffered bytes; false once the session must stop
  // How far from parsed_ the buffered bytes may go to the parser now (SIZE_MAX: refuse them).
  // Debian's llhttp 8.1 is built loose: it takes a bare LF as a line end, "\r\n\rX" as the end of
  // the head, and any two bytes as the CRLF after chunk data. These scans hold the head and the
  // chunk framing to RFC 9112 before llhttp sees a byte; a body of known length is opaque.
  size_t scanLimit();
  size_t scanHead();
  size_t scanChunked();
  void dispatch();
  void fail(int status);
  int abortWith(int status);
  uint32_t offsetOf(const char* at) const { return static_cast<uint32_t>(at - (buf_.get() + start_)); }
  std::string_view view(Span s) const { return {buf_.get() + start_ + s.off, s.len}; }
  void materializeHeaders();
  void detach();
  void resetRequest();
  bool extend(Span& s, const char* at, size_t n);

  net::Transport& stream_;  // the socket, or TLS over it: this class cannot tell
  const Router& router_;
  const Limits& limits_;
  HttpStats& stats_;
  Parser parser_;
  core::Arena arena_;
  ConnectionMemo memo_;

  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t start_ = 0;   // first byte of the current request
  size_t parsed_ = 0;  // bytes handed to the parser
  size_t filled_ = 0;  // bytes received
  size_t maxBuffer_ = 0;

  Phase phase_ = Phase::kIdle;
  Span url_;
  std::vector<HeaderSpan> spans_;
  std::vector<Header> headers_;
  bool lastWasValue_ = false;
  size_t headerBytes_ = 0;
  Span body_;
  std::string chunkedBody_;
  bool detached_ = false;            // chunked: target and headers live in the arena
  std::string_view detachedTarget_;
  const Route* route_ = nullptr;
  size_t maxBody_ = 0;
  int pendingError_ = 0;
  // The chunked body's framing as scanned so far (scanChunked).
  enum class Chunk : uint8_t { kSize, kSizeDigits, kExt, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLine,
                               kTrailerLf, kEndLf, kDone };
  Chunk chunk_ = Chunk::kSize;
  uint64_t chunkLeft_ = 0;

  std::shared_ptr<DeferTarget*> anchor_;  // created on first use; weakly held by Deferreds
  bool awaiting_ = false;                 // a deferred answer is outstanding
  Response* inHandler_ = nullptr;         // the response being built while a handler runs
  bool awaitingHead_ = false;
  std::string awaitingStartHeaders_;  // the deferred answer's Response::addStartHeader lines

  size_t unwritten_ = 0;  // responses appended since the last completed write
  bool readBlocked_ = false;
  bool draining_ = false;
  bool closing_ = false;
};

// Builds the handler factory a net::TcpServer (or a layer over its streams) needs.
net::HandlerFactory sessionFactory(const Router& router, const Limits& limits, HttpStats& stats);

}  // namespace handoff::http
