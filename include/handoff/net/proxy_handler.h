// Connections that begin with a PROXY protocol header (net/proxy_protocol.h), on the listeners
// configured for it (`--listen-proxy`, `[server] listen_proxy`).
//
// The header is consumed here, below the HTTP layer: the connection's handler is created only
// once the header is complete, after Transport::peer() has been replaced by the header's source
// address, so everything above (Request::peer, the client IP, rate limits, events, device
// binding) sees the client and never the header. Bytes that followed the header in the same read
// are handed to that handler as its first read. Thread-bound to the shard that accepted the
// connection, like the stream.
#pragma once

#include <atomic>
#include <cstdint>

#include "handoff/net/cidr.h"
#include "handoff/net/stream.h"

namespace handoff::net {

// Connections closed before their header was accepted, by reason
// (handoff_proxy_protocol_rejected_total). Written only by the owning shard (relaxed load +
// store), read by /metrics from any thread.
struct ProxyProtocolCounters {
  std::atomic<uint64_t> untrustedPeer{0};  // the TCP peer is not in [proxy] trusted
  std::atomic<uint64_t> malformed{0};      // not a valid header, or the peer left in the middle of one
  std::atomic<uint64_t> timeout{0};        // no complete header within the header timeout
};

// Wraps `inner` for a PROXY protocol listener. A TCP peer outside `trusted` is closed at once,
// before any byte is read; a malformed header, or one not complete within `timeoutMs` of the
// connection, closes the connection without an answer. `trusted` and `counters` must outlive
// the server. The inner handler's first readSpace() must hold the bytes that can follow a header
// in one read (under kProxyMaxHeaderBytes; http::Session offers 4096).
HandlerFactory proxyProtocolFactory(HandlerFactory inner, const TrustedProxies& trusted,
                                               uint64_t timeoutMs, ProxyProtocolCounters& counters);

}  // namespace handoff::net
