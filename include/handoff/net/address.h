// Socket addresses: parsing "HOST:PORT" / "[V6]:PORT", formatting, and the IP comparison used by
// device binding (IPv4-mapped IPv6 addresses compare equal to their IPv4 form).
//
// Immutable value type; thread-safe to copy and read.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "handoff/core/result.h"

namespace handoff::net {

class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const sockaddr* sa, socklen_t len);

  // Parses "127.0.0.1:8080", "[::1]:0" or "localhost:8080" (names resolved once, at start-up).
  static core::Result<SocketAddress> parse(std::string_view hostPort);

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss_); }
  socklen_t len() const { return len_; }
  int family() const { return ss_.ss_family; }
  bool valid() const { return len_ != 0; }
  uint16_t port() const;

  // The same address with an IPv4-mapped IPv6 IP (::ffff:a.b.c.d) turned into plain IPv4.
  SocketAddress normalized() const;
  // True when both IPs are equal after normalisation (ports ignored).
  bool sameIp(const SocketAddress& other) const;

  std::string ip() const;        // "127.0.0.1", "::1"
  std::string toString() const;  // "127.0.0.1:8080", "[::1]:8080"

 private:
  sockaddr_storage ss_{};
  socklen_t len_ = 0;
};

}  // namespace handoff::net
