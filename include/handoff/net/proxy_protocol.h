// The PROXY protocol (HAProxy's spec, versions 1 and 2): the header a load balancer sends at the
// start of a connection to name the client it forwards.
//
// parseProxyHeader is a pure function over the bytes received so far: it needs more, is done
// (how many bytes the header took, and the client's address or "keep the TCP peer"), or fails.
// Version 1 is the text line "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n" (at most 107
// bytes); version 2 is binary: the 12-byte signature, version/command, family/protocol, length,
// addresses, then TLVs, which are skipped. The LOCAL command (the proxy's own health checks), the
// UNSPEC family, unix sockets and v1 UNKNOWN keep the TCP peer. Refused: anything but those two
// shapes, a v1 line without CRLF within 107 bytes, bad addresses or ports, v2 versions other
// than 2, unknown commands or families, UDP families (this is a TCP connection), an address block
// shorter than its family needs, and a v2 length beyond kProxyV2MaxPayload. Stateless and
// thread-safe.
// net/proxy_handler.h applies it to a connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "handoff/net/address.h"

namespace handoff::net {

// The longest v1 line, CRLF included (the spec's figure).
inline constexpr size_t kProxyV1MaxBytes = 107;
// The v2 fixed part, and the most address + TLV bytes we accept after it: IPv6 takes 36, a unix
// pair 216; the rest is room for the TLVs cloud load balancers add. A longer header is refused.
inline constexpr size_t kProxyV2FixedBytes = 16;
inline constexpr size_t kProxyV2MaxPayload = 2048;
inline constexpr size_t kProxyMaxHeaderBytes = kProxyV2FixedBytes + kProxyV2MaxPayload;

struct ProxyHeader {
  enum class Status : uint8_t { kNeedMore, kDone, kError };
  Status status = Status::kNeedMore;
  size_t consumed = 0;                  // kDone: the header's length; what follows is the application's
  std::optional<SocketAddress> source;  // kDone: the client's address; nullopt: keep the TCP peer
  std::string_view error;               // kError: why, static text for logs
};

// Parses the header at the start of `bytes` (all bytes received on the connection so far).
// kNeedMore is answered only while `bytes` is a strict prefix of a header that could still be
// valid within kProxyMaxHeaderBytes; anything else that is not a whole header is kError.
ProxyHeader parseProxyHeader(std::string_view bytes);

}  // namespace handoff::net
