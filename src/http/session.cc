#include "handoff/http/session.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "handoff/core/log.h"

namespace handoff::http {
namespace {

constexpr size_t kInitialBuffer = 4096;

std::string_view trimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The canned answer to a protocol error: a short JSON body, then the connection closes.
std::string_view protocolErrorText(int status) {
  switch (status) {
    case 400: return "malformed request";
    case 408: return "request timed out";
    case 413: return "request body too large";
    case 414: return "request target too long";
    case 431: return "request headers too large";
    case 501: return "transfer coding not implemented";
    case 505: return "HTTP version not supported";
    default: return "request failed";
  }
}

}  // namespace

Session::Session(net::Transport& stream, const Router& router, const Limits& limits, HttpStats& stats)
    : stream_(stream), router_(router), limits_(limits), stats_(stats), parser_(*this), arena_(2048) {
  // Room for one whole request at the limits (the body stays in the buffer: zero-copy views),
  // plus slack for the start of the next pipelined one.
  size_t maxBody = limits.maxBodyBytes;
  for (const Route& r : router.routes()) maxBody = std::max(maxBody, r.maxBody);
  maxBuffer_ = limits.maxRequestLine + limits.maxHeaderBytes + maxBody + 4096;
  buf_ = std::make_unique<char[]>(kInitialBuffer);
  cap_ = kInitialBuffer;
  stream_.armTimer(limits_.headerTimeoutMs);  // the first request must arrive in time (slowloris)
}

Session::~Session() = default;

std::span<char> Session::readSpace() {
  // While an answer is owed, bytes may still arrive (so a client that leaves is noticed), but
  // the buffer neither moves nor grows: the awaited request's views point into it.
  if (awaiting_) return {buf_.get() + filled_, cap_ - filled_};
  if (detached_) start_ = parsed_;  // a detached request needs none of its parsed bytes
  if (start_ > 0 && (filled_ == cap_ || start_ >= cap_ / 2)) {
    std::memmove(buf_.get(), buf_.get() + start_, filled_ - start_);
    parsed_ -= start_;
    filled_ -= start_;
    start_ = 0;
  }
  if (filled_ == cap_ && cap_ < maxBuffer_) {
    size_t ncap = std::min(cap_ * 2, maxBuffer_);
    auto nbuf = std::make_unique<char[]>(ncap);
    std::memcpy(nbuf.get(), buf_.get(), filled_);
    buf_ = std::move(nbuf);
    cap_ = ncap;
  }
  return {buf_.get() + filled_, cap_ - filled_};  // empty only under back-pressure (see process)
}

void Session::onRead(size_t n) {
  filled_ += n;
  process();
}

void Session::process() {
  while (!closing_ && !awaiting_ && parsed_ < filled_) {
    if (unwritten_ >= limits_.maxPipelined || stream_.out().size() >= limits_.maxOutputBytes) {
      stream_.pauseReading();  // back-pressure: resume once the kernel has taken the responses
      readBlocked_ = true;
      break;
    }
    size_t limit = scanLimit();
    if (limit == SIZE_MAX) {
      stats_.countParseError();
      fail(400);
      return;
    }
    if (limit > parsed_) {
      if (!feed(limit - parsed_)) return;
      // Every byte before the end of the headers counts, including the padding and line ends
      // that no callback reports: a request that fills the buffer without finishing its header
      // section is refused instead of stalling.
      if (phase_ != Phase::kBody && parsed_ - start_ > limits_.maxRequestLine + limits_.maxHeaderBytes) {
        stats_.countParseError();
        fail(spans_.empty() ? 414 : 431);
        return;
      }
      continue;  // the parser may have stopped after a message; look again from there
    }
    break;  // the next byte needs the one after it to be judged
  }
  if (!closing_) {
    // A full buffer pauses reading (the stream gets no room); whatever made room since — a
    // dispatched request, an answer that came — lets it read again. Output back-pressure
    // (readBlocked_) resumes from onWritten instead.
    if (!readBlocked_) stream_.resumeReading();
    stream_.flush();
    if (!awaiting_ && phase_ == Phase::kIdle && parsed_ == filled_) {
      if (draining_ && stream_.writeIdle()) {
        closing_ = true;
        stream_.close();
      } else {
        stream_.armTimer(limits_.idleTimeoutMs);
      }
    }
  }
}

size_t Session::scanLimit() {
  if (phase_ != Phase::kBody) return scanHead();
  if (parser_.chunked()) return scanChunked();
  return filled_;  // Content-Length: opaque bytes, and llhttp stops at their end
}

// Every CR of the head must be followed by LF and every LF preceded by CR. The bytes go to the
// parser up to the end of the head at most ("\r\n\r\n"), so that a chunked body that follows is
// scanned by scanChunked from its first byte. A CR at the end of the buffer waits for the next.
size_t Session::scanHead() {
  // A line at a time with memchr (vectorised): its LF, then any CR before it, which must be the
  // byte right before the LF.
  const char* b = buf_.get();
  size_t i = parsed_;
  while (i < filled_) {
    const auto* lf = static_cast<const char*>(std::memchr(b + i, '\n', filled_ - i));
    size_t end = lf != nullptr ? static_cast<size_t>(lf - b) : filled_;
    const auto* cr = static_cast<const char*>(std::memchr(b + i, '\r', end - i));
    if (cr == nullptr) return end == filled_ ? filled_ : SIZE_MAX;  // all plain, or a bare LF
    size_t at = static_cast<size_t>(cr - b);
    if (at + 1 < end) return SIZE_MAX;  // a CR followed by something else than LF
    if (end == filled_) return at;      // a CR as the last byte: the next one decides
    i = end;                            // CRLF: i is the LF
    // The buffer holds the whole head from start_ (only a chunked body detaches).
    if (i >= start_ + 3 && b[i - 3] == '\r' && b[i - 2] == '\n') return i + 1;
    ++i;
  }
  return filled_;
}

// RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF, chunk-data CRLF, ..., "0" CRLF, trailer lines,
// CRLF. Returns how far the bytes are well framed; the message's last LF at most.
size_t Session::scanChunked() {
  const char* b = buf_.get();
  size_t i = parsed_;
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
  };
  while (i < filled_) {
    char c = b[i];
    switch (chunk_) {
      case Chunk::kSize:
        if (hex(c) < 0) return SIZE_MAX;
        chunkLeft_ = static_cast<uint64_t>(hex(c));
        chunk_ = Chunk::kSizeDigits;
        break;
      case Chunk::kSizeDigits:
        if (hex(c) >= 0) {
          if (chunkLeft_ >> 60 != 0) return SIZE_MAX;  // would overflow 64 bits
          chunkLeft_ = chunkLeft_ << 4 | static_cast<uint64_t>(hex(c));
        } else if (c == ';' || c == ' ' || c == '\t') {
          chunk_ = Chunk::kExt;
        } else if (c == '\r') {
          chunk_ = Chunk::kSizeLf;
        } else {
          return SIZE_MAX;
        }
        break;
      case Chunk::kExt:  // llhttp checks the extension's syntax; no line end may hide in it
        if (c == '\r') chunk_ = Chunk::kSizeLf;
        else if (c == '\n' || c == '\0') return SIZE_MAX;
        break;
      case Chunk::kSizeLf:
        if (c != '\n') return SIZE_MAX;
        chunk_ = chunkLeft_ == 0 ? Chunk::kTrailer : Chunk::kData;
        break;
      case Chunk::kData: {
        uint64_t take = std::min<uint64_t>(chunkLeft_, filled_ - i);
        chunkLeft_ -= take;
        i += take;
        if (chunkLeft_ == 0) chunk_ = Chunk::kDataCr;
        continue;
      }
      case Chunk::kDataCr:
        if (c != '\r') return SIZE_MAX;
        chunk_ = Chunk::kDataLf;
        break;
      case Chunk::kDataLf:
        if (c != '\n') return SIZE_MAX;
        chunk_ = Chunk::kSize;
        break;
      case Chunk::kTrailer:  // the start of a trailer line, or the final CRLF
        if (c == '\r') chunk_ = Chunk::kEndLf;
        else if (c == '\n' || c == '\0' || c == ' ' || c == '\t') return SIZE_MAX;  // SP/HTAB: obs-fold
        else chunk_ = Chunk::kTrailerLine;
        break;
      case Chunk::kTrailerLine:
        if (c == '\r') chunk_ = Chunk::kTrailerLf;
        else if (c == '\n' || c == '\0') return SIZE_MAX;
        break;
      case Chunk::kTrailerLf:
        if (c != '\n') return SIZE_MAX;
        chunk_ = Chunk::kTrailer;
        break;
      case Chunk::kEndLf:
        if (c != '\n') return SIZE_MAX;
        chunk_ = Chunk::kDone;
        return i + 1;  // llhttp must complete the message here too
      case Chunk::kDone:
        return SIZE_MAX;  // llhttp read the framing differently: refuse
    }
    ++i;
  }
  return filled_;
}

bool Session::feed(size_t n) {
  size_t consumed = 0;
  ParseResult r = parser_.execute(buf_.get() + parsed_, n, &consumed);
  parsed_ += consumed;
  switch (r) {
    case ParseResult::kOk:
      return true;
    case ParseResult::kPaused:
      dispatch();
      parser_.resume();
      return !closing_ && !awaiting_;
    case ParseResult::kBadVersion:
      stats_.countParseError();
      fail(505);
      return false;
    case ParseResult::kAborted:
      stats_.countParseError();
      fail(pendingError_ != 0 ? pendingError_ : 400);
      return false;
    case ParseResult::kBadRequest:
      core::logDebug("http: parse error", {{"reason", parser_.errorReason()}});
      stats_.countParseError();
      fail(400);
      return false;
  }
  return false;
}

int Session::abortWith(int status) {
  pendingError_ = status;
  return kAbort;
}

bool Session::extend(Span& s, const char* at, size_t n) {
  uint32_t off = offsetOf(at);
  if (s.len == 0) {
    s.off = off;
  } else if (s.off + s.len != off) {
    return false;  // not contiguous: the parser skipped bytes inside the token
  }
  s.len += static_cast<uint32_t>(n);
  return true;
}

int Session::onMessageBegin() {
  if (phase_ == Phase::kIdle) stream_.armTimer(limits_.headerTimeoutMs);
  phase_ = Phase::kHeaders;
  return kContinue;
}

int Session::onUrl(const char* at, size_t n) {
  if (!extend(url_, at, n)) return abortWith(400);
  if (url_.len > limits_.maxRequestLine) return abortWith(414);
  return kContinue;
}

// Trailer fields (after a chunked body's last chunk) reach onHeaderField/onHeaderValue too. No
// endpoint reads one and RFC 9110 §6.5.1 lets a recipient discard them, so they are not kept —
// nor could they be as spans: a chunked request is detached and its parsed bytes leave the
// buffer as it reads. They count against max_header_bytes like the head's fields.
int Session::onTrailerBytes(const char* at, size_t n) {
  headerBytes_ += n;
  if (std::memchr(at, '\r', n) || std::memchr(at, '\n', n)) return abortWith(400);  // obs-fold
  if (headerBytes_ > limits_.maxHeaderBytes) return abortWith(431);
  return kContinue;
}

int Session::onHeaderField(const char* at, size_t n) {
  if (phase_ == Phase::kBody) return onTrailerBytes(at, n);
  if (spans_.empty() || lastWasValue_) {
    if (spans_.size() >= limits_.maxHeaders) return abortWith(431);
    spans_.push_back({});
    lastWasValue_ = false;
  }
  headerBytes_ += n;
  if (!extend(spans_.back().name, at, n)) return abortWith(400);
  if (headerBytes_ > limits_.maxHeaderBytes || spans_.back().name.len > limits_.maxHeaderLine) return abortWith(431);
  return kContinue;
}

int Session::onHeaderValue(const char* at, size_t n) {
  if (phase_ == Phase::kBody) return onTrailerBytes(at, n);
  if (spans_.empty()) return abortWith(400);
  lastWasValue_ = true;
  headerBytes_ += n;
  HeaderSpan& h = spans_.back();
  // llhttp 8.1 accepts obs-fold (a value continued on the next line); the continuation arrives
  // as a second, non-contiguous piece, or with the CRLF inside the value. Both are rejected.
  if (!extend(h.value, at, n) || std::memchr(at, '\r', n) || std::memchr(at, '\n', n)) return abortWith(400);
  if (headerBytes_ > limits_.maxHeaderBytes || h.name.len + h.value.len > limits_.maxHeaderLine) return abortWith(431);
  return kContinue;
}

void Session::detach() {
  // Chunk framing can outweigh the body many times over ("1\r\nX\r\n" per byte), so a
  // chunked request cannot stay whole in the input buffer. Its target and headers are copied to
  // the arena, the decoded body to chunkedBody_, and the buffer is free to drop parsed bytes.
  materializeHeaders();
  for (Header& h : headers_) h = {arena_.copy(h.name), arena_.copy(h.value)};
  detachedTarget_ = arena_.copy(view(url_));
  detached_ = true;
}

void Session::materializeHeaders() {
  if (detached_) return;
  headers_.clear();
  for (const HeaderSpan& h : spans_) headers_.push_back({view(h.name), trimRight(view(h.value))});
}

int Session::onHeadersComplete() {
  materializeHeaders();
  // llhttp 8.1 lets any one-digit version through (HTTP/2.0, HTTP/0.9): only 1.0 and 1.1 are ours.
  if (parser_.versionMajor() != 1 || parser_.versionMinor() > 1) return abortWith(505);
  size_t hosts = 0, tes = 0;
  std::string_view te;
  for (const Header& h : headers_) {
    if (equalsIgnoreCase(h.name, "host")) ++hosts;
    if (equalsIgnoreCase(h.name, "transfer-encoding")) {
      ++tes;
      te = h.value;
    }
  }
  if (parser_.versionMinor() == 1 && hosts != 1) return abortWith(400);  // RFC 9112 §3.2
  if (hosts > 1) return abortWith(400);
  // Repeated Transfer-Encoding lines form one list ("gzip" + "chunked" = "gzip, chunked"):
  // anything but a single "chunked" is a coding we do not implement.
  if (tes > 1 || (tes == 1 && !equalsIgnoreCase(te, "chunked"))) return abortWith(501);

  std::string_view target = view(url_);
  std::string_view path = target.substr(0, target.find('?'));
  route_ = router_.match(path);
  maxBody_ = route_ != nullptr && route_->maxBody != 0 ? route_->maxBody : limits_.maxBodyBytes;
  int64_t cl = parser_.contentLength();
  if (cl > 0 && static_cast<uint64_t>(cl) > maxBody_) return abortWith(413);  // before reading it
  phase_ = Phase::kBody;  // without a body the parser completes the message right away
  if (parser_.chunked()) detach();
  if (cl > 0 || parser_.chunked()) {
    stream_.armTimer(limits_.bodyTimeoutMs);
    std::string_view expect;
    for (const Header& h : headers_) {
      if (equalsIgnoreCase(h.name, "expect")) expect = h.value;
    }
    if (parser_.versionMinor() == 1 && equalsIgnoreCase(expect, "100-continue")) {
      stream_.out().append("HTTP/1.1 100 Continue\r\n\r\n");
      stream_.flush();
    }
  }
  return kContinue;
}

int Session::onBody(const char* at, size_t n) {
  if (parser_.chunked()) {
    if (chunkedBody_.size() + n > maxBody_) return abortWith(413);
    chunkedBody_.append(at, n);
    return kContinue;
  }
  if (!extend(body_, at, n)) return abortWith(400);
  return kContinue;
}

int Session::onMessageComplete() { return kPause; }

void Session::dispatch() {
  materializeHeaders();
  std::string_view target = detached_ ? detachedTarget_ : view(url_);
  Request req;
  req.method = parser_.method();
  req.target = target;
  size_t q = target.find('?');
  req.path = target.substr(0, q);
  req.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  req.headers = headers_;
  req.body = parser_.chunked() ? std::string_view(chunkedBody_) : view(body_);
  req.peer = &stream_.peer();
  req.secure = stream_.secure();
  req.memo = &memo_;
  req.arena = &arena_;

  Response res(stream_.out(), req.method == Method::kHead);
  if (!parser_.keepAlive() || draining_) res.setClose();
  if (!anchor_) anchor_ = std::make_shared<DeferTarget*>(static_cast<DeferTarget*>(this));
  Exchange ex{req, res, &anchor_};
  if (target.empty() || target.front() != '/') {
    sendJsonError(res, 400, "invalid_request", "request target must be an absolute path");
  } else if (route_ == nullptr) {
    sendJsonError(res, 404, "not_found", "no such endpoint");
  } else if (!Router::allows(*route_, req.method)) {
    res.start(405);
    res.header("Allow", Router::allowHeader(route_->methods));
    res.finish("application/json", R"({"error":"method_not_allowed","error_description":"method not allowed on this endpoint"})");
  } else {
    req.routeId = route_->id;
    inHandler_ = &res;
    route_->fn(route_->ctx, ex);
    inHandler_ = nullptr;
    if (ex.deferred && !res.finished()) {
      awaiting_ = true;
      awaitingHead_ = req.method == Method::kHead;
      awaitingStartHeaders_ = res.takeStartHeaders();
      stream_.disarmTimer();  // the endpoint owes the answer; the client is not slow
      return;
    }
  }
  finishExchange(res);
}

void Session::finishExchange(Response& res) {
  if (!res.finished()) {
    core::logError("http: handler returned without a response", {{"route", route_ ? route_->name : "none"}});
    sendJsonError(res, 500, "server_error", "internal error");
  }
  stats_.countRequest(route_ != nullptr ? route_->id : 0, res.status());
  ++unwritten_;
  bool close = res.willClose();
  resetRequest();
  if (close) {
    closing_ = true;
    stream_.closeAfterFlush();
  }
}

void Session::completeDeferred(const std::function<void(Response&)>& fill) {
  if (inHandler_ != nullptr) {  // completed before the handler even returned (owner = this shard)
    fill(*inHandler_);
    return;
  }
  if (!awaiting_ || closing_) return;  // the connection is going away: nobody to answer
  awaiting_ = false;
  Response res(stream_.out(), awaitingHead_);
  res.setStartHeaders(std::move(awaitingStartHeaders_));
  if (!parser_.keepAlive() || draining_) res.setClose();
  fill(res);
  finishExchange(res);
  if (closing_) return;
  process();  // pipelined requests that arrived meanwhile; flushes the answer
}

void Session::resetRequest() {
  arena_.reset();
  start_ = parsed_;
  phase_ = Phase::kIdle;
  url_ = {};
  spans_.clear();
  headers_.clear();
  lastWasValue_ = false;
  headerBytes_ = 0;
  body_ = {};
  chunkedBody_.clear();
  detached_ = false;
  detachedTarget_ = {};
  route_ = nullptr;
  pendingError_ = 0;
  chunk_ = Chunk::kSize;
  chunkLeft_ = 0;
}

void Session::fail(int status) {
  Response res(stream_.out(), false);
  res.setClose();
  sendJsonError(res, status, "invalid_request", protocolErrorText(status));
  stats_.countRequest(0, status);
  closing_ = true;
  stream_.closeAfterFlush();
}

void Session::onEof() {
  if (closing_) return;
  closing_ = true;
  // Answers already produced still go out (a client may half-close after pipelining).
  stream_.closeAfterFlush();
}

void Session::onWritten() {
  unwritten_ = 0;
  if (readBlocked_) {
    readBlocked_ = false;
    stream_.resumeReading();
    process();
  } else if (draining_ && phase_ == Phase::kIdle && parsed_ == filled_) {
    closing_ = true;
    stream_.close();
  }
}

void Session::onTimeout() {
  if (closing_) return;
  if (phase_ == Phase::kIdle) {
    closing_ = true;
    stream_.close();  // idle keep-alive: nothing to answer
    return;
  }
  fail(408);
}

void Session::onDrain() {
  draining_ = true;
  if (!closing_ && phase_ == Phase::kIdle && parsed_ == filled_ && stream_.writeIdle()) {
    closing_ = true;
    stream_.close();
  }
}

net::HandlerFactory sessionFactory(const Router& router, const Limits& limits, HttpStats& stats) {
  return [&router, &limits, &stats](net::Transport& s) -> std::unique_ptr<net::StreamHandler> {
    return std::make_unique<Session>(s, router, limits, stats);
  };
}

}  // namespace handoff::http
