// IP ranges and the trusted-proxy client-IP rule.
#include "handoff/net/cidr.h"

#include <arpa/inet.h>

#include <cstring>

namespace handoff::net {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<IpBytes> IpBytes::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpBytes out;
  in_addr a4;
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    out.b[10] = out.b[11] = 0xff;
    std::memcpy(out.b.data() + 12, &a4, 4);
    out.v4 = true;
    return out;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
  std::memcpy(out.b.data(), a6.s6_addr, 16);
  out.v4 = IN6_IS_ADDR_V4MAPPED(&a6);
  return out;
}

std::string IpBytes::toString() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4) return inet_ntop(AF_INET, b.data() + 12, buf, sizeof buf) != nullptr ? buf : "";
  return inet_ntop(AF_INET6, b.data(), buf, sizeof buf) != nullptr ? buf : "";
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = IpBytes::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  unsigned family = ip->v4 ? 32 : 128;
  unsigned len = family;
  if (slash != std::string_view::npos) {
    std::string_view n = text.substr(slash + 1);
    if (n.empty() || n.size() > 3) return std::nullopt;
    len = 0;
    for (char c : n) {
      if (c < '0' || c > '9') return std::nullopt;
      len = len * 10 + static_cast<unsigned>(c - '0');
    }
    if (len > family) return std::nullopt;
  }
  Cidr c;
  c.base_ = *ip;
  c.bits_ = ip->v4 ? 96 + len : len;
  return c;
}

bool Cidr::contains(const IpBytes& ip) const {
  if (ip.v4 != base_.v4) return false;
  unsigned full = bits_ / 8, rest = bits_ % 8;
  if (std::memcmp(ip.b.data(), base_.b.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.b[full] & mask) == (base_.b[full] & mask);
}

std::optional<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& cidrs) {
  TrustedProxies t;
  for (const std::string& s : cidrs) {
    auto c = Cidr::parse(s);
    if (!c) return std::nullopt;
    t.ranges_.push_back(*c);
  }
  return t;
}

bool TrustedProxies::contains(const IpBytes& ip) const {
  for (const Cidr& c : ranges_) {
    if (c.contains(ip)) return true;
  }
  return false;
}

std::string TrustedProxies::clientIp(std::string_view peerIp, std::string_view forwardedFor) const {
  std::string client(peerIp);
  auto peer = IpBytes::parse(peerIp);
  if (!peer || !contains(*peer)) return client;
  // Right to left: each hop appended the address it received the request from. The first one
  // not in our trusted set is the client; anything further left could be forged by it.
  while (!forwardedFor.empty()) {
    size_t comma = forwardedFor.rfind(',');
    std::string_view entry = trim(comma == std::string_view::npos ? forwardedFor : forwardedFor.substr(comma + 1));
    forwardedFor = comma == std::string_view::npos ? std::string_view() : forwardedFor.substr(0, comma);
    auto ip = IpBytes::parse(entry);
    if (!ip) break;
    client = ip->toString();
    if (!contains(*ip)) break;
  }
  return client;
}

}  // namespace handoff::net
