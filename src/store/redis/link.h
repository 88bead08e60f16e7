// Link: one hiredis async connection to one Redis node, attached to one libuv loop. The only
// place that sees hiredis (link.cc); the cluster client above speaks to it through this class.
//
// Thread-bound: every call and every callback runs on the loop's thread. A Link outlives each
// of its connections (the owner keeps it for the client's whole life) because hiredis hands the
// Link pointer back in callbacks that may run after a connection is gone.
//
// Contract with the owner:
//   - open() starts a non-blocking connect and queues a PING. Exactly one of linkReady (the PING
//     was answered) or linkDown (the connection failed or ended by itself) follows, unless the
//     owner calls drop() first. After linkReady, linkDown follows when the connection ends.
//   - send() returns true when hiredis took the command; then linkReply runs exactly once for
//     its token: with the reply, or with nullptr when the connection ended before a reply came
//     (the command may or may not have run). When send() returns false nothing was written.
//   - drop() ends the connection now (or, inside a hiredis callback of this connection, as soon
//     as that callback returns). Pending tokens come back through linkReply(nullptr); no linkDown.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "handoff/store/redis/reply.h"

struct redisAsyncContext;

namespace handoff::store::redis {

class Link {
 public:
  class Owner {
   public:
    virtual void linkReady(Link& link) = 0;
    virtual void linkDown(Link& link) = 0;
    // `reply` is nullptr when the connection ended first. The owner may move from *reply.
    virtual void linkReply(Link& link, void* token, Reply* reply) = 0;

   protected:
    ~Owner() = default;
  };

  Link(Owner& owner, uv_loop_t* loop, std::string host, uint16_t port);
  ~Link();  // the connection must be gone (drop() first)
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }  // "host:port"

  // False when the connect failed at once (nothing follows).
  bool open();
  bool isOpen() const { return ac_ != nullptr; }
  // Increases with each open(): tells a reply of an old connection from one of the current.
  uint64_t generation() const { return generation_; }

  bool send(void* token, int argc, const char* const* argv, const size_t* lens);
  // ASKING for the command sent right after it (its reply is discarded).
  bool sendAsking();
  void drop();

 private:
  static void onConnect(const redisAsyncContext* ac, int status);
  static void onDisconnect(const redisAsyncContext* ac, int status);
  static void onReply(redisAsyncContext* ac, void* reply, void* token);

  Owner& owner_;
  uv_loop_t* loop_;
  std::string host_;
  uint16_t port_;
  std::string address_;
  redisAsyncContext* ac_ = nullptr;
  uint64_t generation_ = 0;
};

}  // namespace handoff::store::redis
