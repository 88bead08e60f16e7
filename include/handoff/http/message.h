// A request as the router and endpoints see it, and the response builder they answer with.
//
// Request fields are views into the connection's input buffer and arena: valid until the response
// is finished. Response writes straight into the connection's output buffer: start(), then any
// header(), then exactly one finish(). Thread-bound to the connection's shard.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "handoff/core/arena.h"
#include "handoff/http/parser.h"
#include "handoff/net/address.h"

namespace handoff::http {

struct Header {
  std::string_view name;
  std::string_view value;
};

// ASCII case-insensitive equality, for header names and tokens.
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// What a connection remembers between its requests; owned by the connection, touched by its
// shard only. The GeoIP answer for the client IP it last looked up, tagged with the database
// generation that gave it (a reload makes it stale).
struct ConnectionMemo {
  std::string geoIp;
  uint64_t geoGeneration = 0;  // 0: nothing remembered
  uint32_t asn = 0;
  std::string country;
};

struct Request {
  Method method = Method::kGet;
  std::string_view methodName;  // as sent, for logs
  std::string_view target;      // "/authorize?client_id=..."
  std::string_view path;        // "/authorize"
  std::string_view query;       // "client_id=..." (no '?')
  std::span<const Header> headers;
  std::string_view body;
  const net::SocketAddress* peer = nullptr;
  bool secure = false;             // it arrived over TLS (cookies then carry Secure)
  ConnectionMemo* memo = nullptr;  // null outside a connection (unit tests)
  core::Arena* arena = nullptr;
  uint16_t routeId = 0;

  // The first header with that name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  // The Content-Type without its parameters ("application/json; charset=utf-8" → "application/json").
  std::string_view mediaType() const;
};

class Response {
 public:
  Response(std::string& out, bool head) : out_(out), head_(head) {}

  // Writes the status line and the headers every response carries (Date, Server).
  void start(int status);
  void header(std::string_view name, std::string_view value);
  // A header that start() writes (call it before start()): one that every answer of an endpoint
  // carries, whichever path answers, e.g. CORS. A deferred answer gets them too: the session
  // carries them over (takeStartHeaders / setStartHeaders).
  void addStartHeader(std::string_view name, std::string_view value);
  std::string takeStartHeaders() { return std::move(startHeaders_); }
  void setStartHeaders(std::string headers) { startHeaders_ = std::move(headers); }
  // Content-Type (omitted when empty), Content-Length (not on a 204, whose body is dropped),
  // Connection: close when closing, the blank line and the body (not for HEAD).
  void finish(std::string_view contentType, std::string_view body);

  int status() const { return status_; }
  bool finished() const { return finished_; }
  void setClose() { close_ = true; }
  bool willClose() const { return close_; }

 private:
  std::string& out_;
  bool head_;
  bool close_ = false;
  bool finished_ = false;
  int status_ = 0;
  std::string startHeaders_;  // "Name: value\r\n" each
};

// The reason phrase for a status code ("Not Found").
std::string_view reasonPhrase(int status);

// The connection side of a deferred answer (implemented by the session).
class DeferTarget {
 public:
  virtual void completeDeferred(const std::function<void(Response&)>& fill) = 0;

 protected:
  ~DeferTarget() = default;
};

// A request whose answer comes later, from a continuation on the same shard (typically the
// `done` of a ShardSet::call to the record's owner shard). Move-only; thread-bound to the
// connection's shard. If the connection closed in the meantime, complete() does nothing.
class Deferred {
 public:
  Deferred() = default;
  explicit Deferred(std::weak_ptr<DeferTarget*> target) : target_(std::move(target)) {}
  Deferred(Deferred&&) = default;
  Deferred& operator=(Deferred&&) = default;
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;

  // `fill(Response&)` writes the answer exactly as a synchronous handler would.
  template <class F>
  void complete(F&& fill) {
    if (auto t = target_.lock()) (*t)->completeDeferred(std::function<void(Response&)>(std::forward<F>(fill)));
    target_.reset();
  }
  bool connected() const { return !target_.expired(); }

 private:
  std::weak_ptr<DeferTarget*> target_;
};

struct Exchange {
  Request& request;
  Response& response;
  const std::shared_ptr<DeferTarget*>* anchor = nullptr;  // set by the session
  bool deferred = false;

  // Takes the answer off this call: the handler returns without finishing `response`, and the
  // connection reads nothing more (the request's views stay valid) until the Deferred completes.
  Deferred defer() {
    deferred = true;
    return Deferred(*anchor);
  }
};

// JSON error answers: {"error": code, "error_description": description}.
void sendJsonError(Response& res, int status, std::string_view error, std::string_view description);

}  // namespace handoff::http
