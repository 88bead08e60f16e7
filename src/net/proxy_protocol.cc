// The PROXY protocol header parser (HAProxy's proxy-protocol.txt, sections 2.1 and 2.2).
#include "handoff/net/proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace handoff::net {
namespace {

using Status = ProxyHeader::Status;

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr char kV2SignatureBytes[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
constexpr std::string_view kV2Signature(kV2SignatureBytes, sizeof kV2SignatureBytes);

// v2 commands (low nibble of byte 13) and address families with their transport (byte 14).
constexpr uint8_t kCmdLocal = 0x0, kCmdProxy = 0x1;
constexpr uint8_t kFamUnspec = 0x00, kFamTcp4 = 0x11, kFamUdp4 = 0x12, kFamTcp6 = 0x21, kFamUdp6 = 0x22,
                  kFamUnixStream = 0x31, kFamUnixDgram = 0x32;
constexpr size_t kInetBlock = 12, kInet6Block = 36, kUnixBlock = 216;

ProxyHeader needMore() { return {}; }

ProxyHeader fail(std::string_view why) {
  ProxyHeader h;
  h.status = Status::kError;
  h.error = why;
  return h;
}

ProxyHeader done(size_t consumed, std::optional<SocketAddress> source) {
  ProxyHeader h;
  h.status = Status::kDone;
  h.consumed = consumed;
  h.source = std::move(source);
  return h;
}

SocketAddress inet4(const void* addr, uint16_t portNetworkOrder) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = portNetworkOrder;
  std::memcpy(&sin.sin_addr, addr, 4);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
}

SocketAddress inet6(const void* addr, uint16_t portNetworkOrder) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = portNetworkOrder;
  std::memcpy(&sin6.sin6_addr, addr, 16);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
}

// ── version 1 ───────────────────────────────────────────────────────────────────────────────

// Splits off the text up to the next space (or the end); false when that text is empty.
bool nextField(std::string_view& rest, std::string_view* field) {
  size_t sp = rest.find(' ');
  *field = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  return !field->empty();
}

// An address literal of `family` (inet_pton: dotted quad without leading zeros, or IPv6 text).
bool parseIp(std::string_view text, int family, unsigned char* out) {
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return inet_pton(family, buf, out) == 1;
}

// 0..65535 in decimal, without sign or leading zero.
bool parsePort(std::string_view text, uint16_t* out) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text.front() == '0')) return false;
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

// The line without its CRLF; `consumed` counts the CRLF.
ProxyHeader parseV1Line(std::string_view line, size_t consumed) {
  if (line.substr(0, kV1Prefix.size()) != kV1Prefix) return fail("v1: the line does not start with \"PROXY \"");
  if (line.find('\r') != std::string_view::npos) return fail("v1: CR inside the line");
  std::string_view rest = line.substr(kV1Prefix.size());
  // UNKNOWN: the proxy cannot name the client (the rest of the line is ignored, as the spec says).
  if (rest == "UNKNOWN" || rest.substr(0, 8) == "UNKNOWN ") return done(consumed, std::nullopt);
  if (rest.empty() || rest.back() == ' ') return fail("v1: expected fields separated by single spaces");
  std::string_view proto, src, dst, sport, dport;
  if (!nextField(rest, &proto)) return fail("v1: missing protocol");
  int family = proto == "TCP4" ? AF_INET : proto == "TCP6" ? AF_INET6 : 0;
  if (family == 0) return fail("v1: protocol is not TCP4, TCP6 or UNKNOWN");
  if (!nextField(rest, &src) || !nextField(rest, &dst) || !nextField(rest, &sport) || !nextField(rest, &dport) ||
      !rest.empty()) {
    return fail("v1: expected four fields separated by single spaces");
  }
  unsigned char srcIp[16], dstIp[16];
  if (!parseIp(src, family, srcIp) || !parseIp(dst, family, dstIp)) return fail("v1: bad address for the protocol");
  uint16_t sp = 0, dp = 0;
  if (!parsePort(sport, &sp) || !parsePort(dport, &dp)) return fail("v1: bad port");
  return done(consumed, family == AF_INET ? inet4(srcIp, htons(sp)) : inet6(srcIp, htons(sp)));
}

ProxyHeader parseV1(std::string_view bytes) {
  std::string_view window = bytes.substr(0, kProxyV1MaxBytes);
  size_t lf = window.find('\n');
  if (lf != std::string_view::npos) {
    if (lf == 0 || window[lf - 1] != '\r') return fail("v1: LF without CR");
    return parseV1Line(window.substr(0, lf - 1), lf + 1);
  }
  // No line end yet: say so early when what came already cannot be a header.
  size_t k = std::min(window.size(), kV1Prefix.size());
  if (window.substr(0, k) != kV1Prefix.substr(0, k)) return fail("v1: the line does not start with \"PROXY \"");
  size_t cr = window.find('\r');
  if (cr != std::string_view::npos && cr + 1 != window.size()) return fail("v1: CR inside the line");
  if (window.size() >= kProxyV1MaxBytes) return fail("v1: no CRLF within 107 bytes");
  return needMore();
}

// ── version 2 ───────────────────────────────────────────────────────────────────────────────

ProxyHeader parseV2(std::string_view bytes) {
  size_t k = std::min(bytes.size(), kV2Signature.size());
  if (bytes.substr(0, k) != kV2Signature.substr(0, k)) return fail("v2: bad signature");
  if (bytes.size() < kProxyV2FixedBytes) return needMore();
  auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  uint8_t version = b[12] >> 4, command = b[12] & 0x0f, family = b[13];
  size_t length = static_cast<size_t>(b[14]) << 8 | b[15];
  if (version != 2) return fail("v2: unsupported version");
  if (command != kCmdLocal && command != kCmdProxy) return fail("v2: unknown command");
  if (length > kProxyV2MaxPayload) return fail("v2: header longer than the limit");
  size_t need = 0;  // address bytes the family requires
  if (command == kCmdProxy) {
    switch (family) {
      case kFamUnspec: break;
      case kFamTcp4: need = kInetBlock; break;
      case kFamTcp6: need = kInet6Block; break;
      case kFamUnixStream:
      case kFamUnixDgram: need = kUnixBlock; break;
      // Defined by the spec, but a datagram source cannot have opened this TCP connection.
      case kFamUdp4:
      case kFamUdp6: return fail("v2: datagram addresses on a stream connection");
      default: return fail("v2: unknown address family or protocol");
    }
    if (length < need) return fail("v2: address block shorter than its family needs");
  }
  size_t total = kProxyV2FixedBytes + length;
  if (bytes.size() < total) return needMore();
  // LOCAL: the proxy speaks for itself (health checks); the family is ignored, as the spec says.
  if (command == kCmdLocal) return done(total, std::nullopt);
  const unsigned char* a = b + kProxyV2FixedBytes;
  uint16_t port = 0;  // network order, as it travels
  switch (family) {
    case kFamTcp4:
      std::memcpy(&port, a + 8, 2);
      return done(total, inet4(a, port));
    case kFamTcp6:
      std::memcpy(&port, a + 32, 2);
      return done(total, inet6(a, port));
    default:
      return done(total, std::nullopt);  // UNSPEC or a unix socket: no IP to report
  }
}

}  // namespace

ProxyHeader parseProxyHeader(std::string_view bytes) {
  if (bytes.empty()) return needMore();
  if (bytes.front() == 'P') return parseV1(bytes);
  if (bytes.front() == '\r') return parseV2(bytes);
  return fail("not a PROXY protocol header");
}

}  // namespace handoff::net
