// The one file that includes hiredis (DESIGN.md §2: each C library behind one small interface).
//
// hiredis 0.14 rules this file lives by:
//   - redisAsyncFree() inside a reply callback of the same context is deferred by hiredis until
//     the callback returns; inside onConnect it is not (it would free the context under hiredis'
//     feet), so nothing here frees from onConnect.
//   - Freeing a context runs every pending reply callback with a NULL reply, then onDisconnect
//     only if the TCP connection had been established.
//   - A failed connect calls onConnect(REDIS_ERR) and then frees the context by itself.
#include "link.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libuv.h>

#include <utility>

namespace handoff::store::redis {

namespace {

// The handshake PING's token: a reply to it makes the link ready instead of reaching the owner.
char handshakeToken;

Reply copyReply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copyReply(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

}  // namespace

Link::Link(Owner& owner, uv_loop_t* loop, std::string host, uint16_t port)
    : owner_(owner), loop_(loop), host_(std::move(host)), port_(port) {
  address_ = host_.find(':') == std::string::npos ? host_ + ":" + std::to_string(port_)
                                                  : "[" + host_ + "]:" + std::to_string(port_);
}

Link::~Link() {
  // A context still open here would call back into freed memory.
  if (ac_ != nullptr) drop();
}

bool Link::open() {
  if (ac_ != nullptr) return true;
  redisAsyncContext* ac = redisAsyncConnect(host_.c_str(), port_);
  if (ac == nullptr) return false;
  if (ac->err != 0) {
    redisAsyncFree(ac);
    return false;
  }
  ac->data = this;
  if (redisLibuvAttach(ac, loop_) != REDIS_OK) {
    redisAsyncFree(ac);
    return false;
  }
  redisAsyncSetConnectCallback(ac, &Link::onConnect);
  redisAsyncSetDisconnectCallback(ac, &Link::onDisconnect);
  // Queued until the connect completes; its answer proves the node serves, not just that the
  // kernel accepted a connection (a stopped process still completes TCP handshakes).
  if (redisAsyncCommand(ac, &Link::onReply, &handshakeToken, "PING") != REDIS_OK) {
    redisAsyncFree(ac);
    return false;
  }
  ac_ = ac;
  ++generation_;
  return true;
}

bool Link::send(void* token, int argc, const char* const* argv, const size_t* lens) {
  if (ac_ == nullptr) return false;
  // hiredis takes `const char**`; it only reads the strings.
  return redisAsyncCommandArgv(ac_, &Link::onReply, token, argc, const_cast<const char**>(argv), lens) == REDIS_OK;
}

bool Link::sendAsking() {
  if (ac_ == nullptr) return false;
  return redisAsyncCommand(ac_, nullptr, nullptr, "ASKING") == REDIS_OK;
}

void Link::drop() {
  redisAsyncContext* ac = ac_;
  if (ac == nullptr) return;
  ac_ = nullptr;  // first: the callbacks the free runs must see this connection as gone
  redisAsyncFree(ac);
}

void Link::onConnect(const redisAsyncContext* ac, int status) {
  auto* link = static_cast<Link*>(ac->data);
  if (status == REDIS_OK || link->ac_ != ac) return;
  // hiredis frees the context after this returns; it must not be touched again.
  link->ac_ = nullptr;
  link->owner_.linkDown(*link);
}

void Link::onDisconnect(const redisAsyncContext* ac, int /*status*/) {
  auto* link = static_cast<Link*>(ac->data);
  if (link->ac_ != ac) return;  // dropped by us: the owner knows already
  link->ac_ = nullptr;
  link->owner_.linkDown(*link);
}

void Link::onReply(redisAsyncContext* ac, void* reply, void* token) {
  auto* link = static_cast<Link*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (token == &handshakeToken) {
    if (r == nullptr || link->ac_ != ac) return;  // linkDown follows, or the owner dropped it
    if (r->type == REDIS_REPLY_ERROR) {
      // A node that answers PING with an error (LOADING, NOAUTH) does not serve: end this
      // connection (hiredis frees it once this callback returns) and report it down.
      link->ac_ = nullptr;
      redisAsyncFree(ac);
      link->owner_.linkDown(*link);
      return;
    }
    link->owner_.linkReady(*link);
    return;
  }
  if (r == nullptr) {
    link->owner_.linkReply(*link, token, nullptr);
    return;
  }
  Reply copy = copyReply(r);
  link->owner_.linkReply(*link, token, &copy);
}

}  // namespace handoff::store::redis
