// TLS on a connection: one BoringSSL SSL per connection, over memory BIOs, between the stream
// below (the socket) and the handler above (http::Session), to which it is a net::Transport like
// any other — the HTTP layer never sees TLS.
//
// Bytes read from the socket go into the SSL's read BIO; the handshake runs as they arrive, and
// once it is done decrypted bytes are read straight into the handler's readSpace(). The
// handler's output is plain text in out(); flush() encrypts everything appended so far with one
// SSL_write (one batch of records, 16 KiB each at most) and hands it to the stream as one
// write. While a write is in flight, further output waits and leaves with the next batch.
//
// The handler is created with the connection, so its header timeout (http::Limits) also bounds
// the handshake: a client that never finishes it is closed. A handshake that fails — bytes that
// are not TLS, no shared version or cipher, no http/1.1 in a client's ALPN list — closes the
// connection (after BoringSSL's alert, if any); so does any TLS error later. Renegotiation is
// refused (BoringSSL servers never renegotiate), 0-RTT is off.
//
// Thread-bound to the shard that accepted the connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "handoff/net/transport.h"
#include "handoff/tls/context.h"

namespace handoff::tls {

// Handshakes and failures of one shard. Written only by that shard (relaxed load + store), read
// by /metrics from any thread.
struct TlsCounters {
  std::atomic<uint64_t> handshakesTls12{0};
  std::atomic<uint64_t> handshakesTls13{0};
  std::atomic<uint64_t> resumed{0};            // handshakes that resumed a session (ticket)
  std::atomic<uint64_t> failedProtocol{0};     // not TLS, no common parameters, bad messages
  std::atomic<uint64_t> failedTimeout{0};      // not finished within the header timeout
  std::atomic<uint64_t> failedClosed{0};       // the client left in the middle of it
  std::atomic<uint64_t> errorsAfterHandshake{0};  // a TLS error on an established connection
};

// One shard's TLS state: the snapshots in service there and its counters. The control thread
// creates it before the shard starts; afterwards only its shard touches the pointers (new
// snapshots arrive by post()).
struct ShardTls {
  static constexpr size_t kReadBufferBytes = 32 * 1024;

  std::shared_ptr<const Context> context;  // new handshakes use this one
  std::shared_ptr<const TicketKeys> tickets;
  TlsCounters counters;
  // Where the socket's bytes land: they are copied into a connection's SSL as soon as they are
  // read (libuv reads, then calls back, with nothing in between), so one buffer serves every
  // TLS connection of the shard.
  std::unique_ptr<char[]> readBuffer = std::make_unique<char[]>(kReadBufferBytes);
};

// Wraps `inner` for a TLS listener: each connection gets its TLS layer, and `inner`'s handler
// on top of it. `shard` must outlive the server.
net::HandlerFactory transportFactory(net::HandlerFactory inner, ShardTls& shard);

}  // namespace handoff::tls
