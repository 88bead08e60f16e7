// Client IP derivation: the PROXY protocol header (net/proxy_protocol.h, v1 text and v2 binary)
// and the X-Forwarded-For walk over trusted proxies (net/cidr.h), with the IP and CIDR parsers.
//
// Input: the connection's first bytes (a PROXY header, then anything); after the header, the
// first line is an X-Forwarded-For value. Checked: kNeedMore only for a strict prefix within
// kProxyMaxHeaderBytes and never flipping to a different answer with more bytes; kDone consumes
// no more than it was given; clientIp returns the peer or an address that parses; an IP's
// normalised text parses back to the same IP.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "handoff/net/cidr.h"
#include "handoff/net/proxy_protocol.h"

namespace {

using namespace handoff;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "client_ip_fuzz: invariant violated: %s\n", what);
  std::abort();
}

void checkIp(std::string_view text) {
  std::optional<net::IpBytes> ip = net::IpBytes::parse(text);
  if (!ip) return;
  std::string norm = ip->toString();
  std::optional<net::IpBytes> again = net::IpBytes::parse(norm);
  if (!again || again->b != ip->b || again->v4 != ip->v4) violated("an IP's normalised text parses differently");
  if (again->toString() != norm) violated("normalising an IP twice changes it");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const net::TrustedProxies* trusted = [] {
    auto t = net::TrustedProxies::parse({"10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8", "192.168.1.0/24"});
    if (!t) violated("the fixed trusted list does not parse");
    return new net::TrustedProxies(*t);
  }();
  std::string_view in(reinterpret_cast<const char*>(data), size);

  net::ProxyHeader h = net::parseProxyHeader(in);
  switch (h.status) {
    case net::ProxyHeader::Status::kNeedMore:
      if (in.size() >= net::kProxyMaxHeaderBytes) violated("kNeedMore past the longest header");
      break;
    case net::ProxyHeader::Status::kDone: {
      if (h.consumed == 0 || h.consumed > in.size()) violated("kDone consumed nothing or more than given");
      // More bytes after a complete header do not change it.
      std::string longer(in);
      longer.append("GET / HTTP/1.1\r\n");
      net::ProxyHeader h2 = net::parseProxyHeader(longer);
      if (h2.status != h.status || h2.consumed != h.consumed) violated("trailing bytes changed a complete header");
      if (h.source) {
        checkIp(h.source->ip());
      }
      break;
    }
    case net::ProxyHeader::Status::kError:
      if (h.error.empty()) violated("kError without a reason");
      break;
  }
  // Every strict prefix of a complete or pending header is pending.
  size_t whole = h.status == net::ProxyHeader::Status::kDone ? h.consumed : in.size();
  if (h.status != net::ProxyHeader::Status::kError && whole > 1) {
    for (size_t cut : {whole - 1, whole / 2}) {
      if (net::parseProxyHeader(in.substr(0, cut)).status != net::ProxyHeader::Status::kNeedMore) {
        violated("a strict prefix of a valid header is not kNeedMore");
      }
    }
  }

  std::string_view rest = h.status == net::ProxyHeader::Status::kDone ? in.substr(h.consumed) : in;
  std::string_view xff = rest.substr(0, rest.find('\n'));
  static constexpr std::string_view kPeers[] = {"10.1.2.3", "203.0.113.9", "::1", "192.168.1.7"};
  std::string_view peer = kPeers[size % 4];
  std::string client = trusted->clientIp(peer, xff);
  if (client != peer && !net::IpBytes::parse(client)) violated("clientIp returned something that is not an IP");
  if (client != peer && !trusted->contains(*net::IpBytes::parse(peer))) violated("XFF honoured from an untrusted peer");

  checkIp(xff);
  if (auto cidr = net::Cidr::parse(xff)) {
    if (auto ip = net::IpBytes::parse(xff.substr(0, xff.find('/')))) {
      if (!cidr->contains(*ip)) violated("a CIDR does not contain its own base address");
    }
  }
  return 0;
}
