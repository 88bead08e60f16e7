// IP ranges ("10.0.0.0/8", "::1/128", or one address) and the client-IP rule built on them: the
// TCP peer, unless the peer is a trusted proxy, in which case the rightmost X-Forwarded-For
// entry that is not itself a trusted proxy (SPEC.md §3). IPv4-mapped IPv6 addresses are treated
// as the IPv4 address they carry, everywhere.
//
// Immutable value types; thread-safe to share once built.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::net {

// An IP address as 16 bytes; IPv4 is kept in its IPv4-mapped form so one comparison serves both.
struct IpBytes {
  std::array<uint8_t, 16> b{};
  bool v4 = false;

  // Parses a literal address ("127.0.0.1", "::1", "::ffff:1.2.3.4" → v4). nullopt otherwise.
  static std::optional<IpBytes> parse(std::string_view text);
  std::string toString() const;  // normalised text: IPv4 dotted, IPv6 compressed
};

class Cidr {
 public:
  // "a.b.c.d/n", "v6/n" or a bare address (a host route). nullopt when malformed.
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpBytes& ip) const;

 private:
  IpBytes base_;
  unsigned bits_ = 0;  // prefix length over the 128-bit form
};

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Fails (nullopt) if any entry is malformed.
  static std::optional<TrustedProxies> parse(const std::vector<std::string>& cidrs);

  bool empty() const { return ranges_.empty(); }
  bool contains(const IpBytes& ip) const;

  // The client IP of a request from `peerIp` (normalised text) that carried `forwardedFor` (the
  // X-Forwarded-For value, possibly empty). A malformed entry stops the walk: the last address
  // known good is returned, never a forged one.
  std::string clientIp(std::string_view peerIp, std::string_view forwardedFor) const;

 private:
  std::vector<Cidr> ranges_;
};

}  // namespace handoff::net
