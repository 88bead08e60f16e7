// The byte stream a protocol runs on (Transport) and the callbacks it gets from it
// (StreamHandler).
//
// A connection is a stack: net::Stream (the socket) at the bottom, then optional layers that are
// each a StreamHandler to the one below and a Transport to the one above — the PROXY protocol
// reader (net/proxy_handler.h), TLS (tls/transport.h) — and the protocol on top, http::Session,
// which sees a Transport and nothing of what lies under it. Everything here is thread-bound to
// the shard whose loop accepted the connection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "handoff/net/address.h"

namespace handoff::net {

class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // Where the next received bytes go. An empty span pauses reading; the handler calls
  // Transport::resumeReading once it has room again.
  virtual std::span<char> readSpace() = 0;
  // `n` bytes were written at the start of the last readSpace().
  virtual void onRead(size_t n) = 0;
  // The peer closed its side or the read failed. The handler decides when to close.
  virtual void onEof() = 0;
  // Every byte flushed so far has reached the kernel.
  virtual void onWritten() = 0;
  // The timer armed with Transport::armTimer fired.
  virtual void onTimeout() = 0;
  // The server is draining: finish what is in flight, then close.
  virtual void onDrain() = 0;
  // The turn asked for with Transport::wakeSoon has come.
  virtual void onWake() {}
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Append bytes to send here, then flush(). Valid until the transport closes.
  virtual std::string& out() = 0;
  // Starts sending what was appended; if a write is in flight, it follows it.
  virtual void flush() = 0;
  // Nothing appended is waiting and no write is in flight.
  virtual bool writeIdle() const = 0;

  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
  // One timer per connection: arming it again replaces the previous deadline.
  virtual void armTimer(uint64_t ms) = 0;
  virtual void disarmTimer() = 0;
  // Calls the handler's onWake from the loop, after the current callback has returned (never
  // nested in the caller): for bytes a layer holds that no socket event will announce.
  virtual void wakeSoon() = 0;

  // Closes now; unwritten output is dropped.
  virtual void close() = 0;
  // Closes once everything appended so far is written.
  virtual void closeAfterFlush() = 0;
  virtual bool closing() const = 0;

  // The client: the TCP peer, or the source a PROXY protocol header named.
  virtual const SocketAddress& peer() const = 0;
  // Replaces the peer for everything above (net/proxy_handler.h), before the handler above exists.
  virtual void setPeer(const SocketAddress& peer) = 0;
  // Counts the connection against its peer's per-IP cap (net/connection_limits.h), releasing
  // what it held for an earlier peer. False: that IP is at its cap; the caller must not serve
  // the connection (net/refusal.h answers it). Layers without a cap to enforce admit everyone.
  virtual bool admitPeer() { return true; }
  // The bytes travel encrypted (TLS) between the client and this process.
  virtual bool secure() const = 0;
};

// Creates the handler of a connection on top of `below`.
using HandlerFactory = std::function<std::unique_ptr<StreamHandler>(Transport& below)>;

}  // namespace handoff::net
