// The PROXY protocol header parser: both versions, every family it reports or ignores, every
// split point of valid headers, and the refusals (signature, addresses, ports, sizes).
#include "handoff/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace handoff::net {
namespace {

using Status = ProxyHeader::Status;

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: signature, version/command byte, family byte, length (the payload's unless
// `length` says otherwise), payload.
std::string v2(uint8_t verCmd, uint8_t fam, const std::string& payload, int length = -1) {
  size_t n = length < 0 ? payload.size() : static_cast<size_t>(length);
  std::string h = kSig;
  h.push_back(static_cast<char>(verCmd));
  h.push_back(static_cast<char>(fam));
  h.push_back(static_cast<char>(n >> 8));
  h.push_back(static_cast<char>(n & 0xff));
  return h + payload;
}

std::string ip4(const char* text) {
  in_addr a;
  EXPECT_EQ(inet_pton(AF_INET, text, &a), 1) << text;
  return std::string(reinterpret_cast<const char*>(&a), 4);
}

std::string ip6(const char* text) {
  in6_addr a;
  EXPECT_EQ(inet_pton(AF_INET6, text, &a), 1) << text;
  return std::string(reinterpret_cast<const char*>(&a), 16);
}

std::string port(uint16_t p) { return {static_cast<char>(p >> 8), static_cast<char>(p & 0xff)}; }

// A TLV (type, 16-bit length, value), skipped by the parser.
std::string tlv(uint8_t type, const std::string& value) {
  return std::string(1, static_cast<char>(type)) + port(static_cast<uint16_t>(value.size())) + value;
}

const std::string kTcp4Block = ip4("203.0.113.7") + ip4("10.0.0.1") + port(51234) + port(443);
const std::string kTcp6Block = ip6("2001:db8::7") + ip6("2001:db8::1") + port(51234) + port(443);
const std::string kTlvs = tlv(0x01, "h2") + tlv(0x04, std::string(5, '\0')) + tlv(0xEA, "vpce-0123456789abcdef");

const std::string kV1Tcp4 = "PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n";
const std::string kV1Tcp6 = "PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n";
const std::string kV1Unknown = "PROXY UNKNOWN\r\n";
const std::string kV1UnknownWithAddresses = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
const std::string kV2Tcp4 = v2(0x21, 0x11, kTcp4Block + kTlvs);
const std::string kV2Tcp6 = v2(0x21, 0x21, kTcp6Block + kTlvs);
const std::string kV2Local = v2(0x20, 0x00, "");
const std::string kV2LocalWithFamily = v2(0x20, 0x11, kTcp4Block);
const std::string kV2Unspec = v2(0x21, 0x00, kTlvs);
const std::string kV2Unix = v2(0x21, 0x31, std::string(216, 'u') + kTlvs);

ProxyHeader parse(const std::string& bytes) { return parseProxyHeader(bytes); }

std::string escape(const std::string& bytes) {
  std::string out;
  for (char c : bytes) out += c == '\r' ? "\\r" : c == '\n' ? "\\n" : c == '\t' ? "\\t" : std::string(1, c);
  return out;
}

void expectSource(const std::string& header, const std::string& address) {
  ProxyHeader h = parse(header);
  ASSERT_EQ(h.status, Status::kDone) << h.error;
  EXPECT_EQ(h.consumed, header.size());
  ASSERT_TRUE(h.source);
  EXPECT_EQ(h.source->toString(), address);
}

void expectKeepsPeer(const std::string& header) {
  ProxyHeader h = parse(header);
  ASSERT_EQ(h.status, Status::kDone) << h.error;
  EXPECT_EQ(h.consumed, header.size());
  EXPECT_FALSE(h.source);
}

void expectError(const std::string& bytes, const std::string& what) {
  ProxyHeader h = parse(bytes);
  EXPECT_EQ(h.status, Status::kError) << what;
  EXPECT_FALSE(h.error.empty()) << what;
}

TEST(ProxyProtocol, V1Tcp4NamesTheSource) { expectSource(kV1Tcp4, "203.0.113.7:51234"); }

TEST(ProxyProtocol, V1Tcp6NamesTheSource) {
  expectSource(kV1Tcp6, "[2001:db8::7]:51234");
  // An IPv4-mapped source is the IPv4 client once normalised, as everywhere else.
  ProxyHeader h = parse("PROXY TCP6 ::ffff:203.0.113.7 ::1 1 2\r\n");
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.source->normalized().ip(), "203.0.113.7");
}

TEST(ProxyProtocol, V1UnknownKeepsThePeerAndIgnoresTheRestOfTheLine) {
  expectKeepsPeer(kV1Unknown);
  expectKeepsPeer(kV1UnknownWithAddresses);
  expectError("PROXY UNKNOWNX\r\n", "UNKNOWN glued to more text");
}

TEST(ProxyProtocol, V1LimitsAndPortsAtTheirEdges) {
  expectSource("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "0.0.0.0:0");
  std::string longest = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  EXPECT_EQ(longest.size(), 104u);
  expectSource(longest, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
  std::string exactly107 = "PROXY UNKNOWN " + std::string(107 - 16, 'x') + "\r\n";
  ASSERT_EQ(exactly107.size(), kProxyV1MaxBytes);
  expectKeepsPeer(exactly107);
}

TEST(ProxyProtocol, V2Tcp4WithTlvsNamesTheSource) {
  expectSource(kV2Tcp4, "203.0.113.7:51234");
  expectSource(v2(0x21, 0x11, kTcp4Block), "203.0.113.7:51234");
}

TEST(ProxyProtocol, V2Tcp6WithTlvsNamesTheSource) { expectSource(kV2Tcp6, "[2001:db8::7]:51234"); }

TEST(ProxyProtocol, V2LocalKeepsThePeerWhateverTheFamily) {
  expectKeepsPeer(kV2Local);
  expectKeepsPeer(kV2LocalWithFamily);
  expectKeepsPeer(v2(0x20, 0x77, "ignored"));  // LOCAL: the family byte is ignored (spec 2.2)
}

TEST(ProxyProtocol, V2UnspecAndUnixKeepThePeer) {
  expectKeepsPeer(kV2Unspec);
  expectKeepsPeer(v2(0x21, 0x00, ""));
  expectKeepsPeer(kV2Unix);
  expectKeepsPeer(v2(0x21, 0x32, std::string(216, 'u')));
}

TEST(ProxyProtocol, EverySplitPointOfAValidHeaderNeedsMore) {
  const std::vector<std::string> headers = {kV1Tcp4,  kV1Tcp6,           kV1Unknown, kV1UnknownWithAddresses,
                                            kV2Tcp4,  kV2Tcp6,           kV2Local,   kV2LocalWithFamily,
                                            kV2Unspec, kV2Unix};
  for (const std::string& header : headers) {
    for (size_t i = 0; i < header.size(); ++i) {
      ProxyHeader h = parse(header.substr(0, i));
      ASSERT_EQ(h.status, Status::kNeedMore) << "prefix of " << i << " bytes of a " << header.size()
                                             << "-byte header: " << h.error;
    }
    ProxyHeader whole = parse(header);
    ASSERT_EQ(whole.status, Status::kDone) << whole.error;
    // What follows the header is the application's, whatever it is.
    for (const std::string& tail : {std::string("G"), std::string("GET / HTTP/1.1\r\n\r\n"), kV1Tcp4, kV2Tcp4}) {
      ProxyHeader h = parse(header + tail);
      ASSERT_EQ(h.status, Status::kDone) << h.error;
      EXPECT_EQ(h.consumed, header.size());
    }
  }
}

TEST(ProxyProtocol, OtherFirstBytesAreRefusedAtOnce) {
  expectError("G", "an HTTP request");
  expectError("GET / HTTP/1.1\r\n\r\n", "an HTTP request");
  expectError(std::string(1, '\0'), "NUL");
  expectError("proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", "lower case");
  expectError("PROXX", "a wrong prefix, before the line ends");
  expectError("PROXYTCP4 1.2.3.4 1.2.3.4 1 2\r\n", "no space after PROXY");
}

TEST(ProxyProtocol, V2BadSignatureIsRefused) {
  for (size_t i = 0; i < kSig.size(); ++i) {
    std::string bad = kV2Tcp4;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    expectError(bad, "signature byte " + std::to_string(i));
    expectError(bad.substr(0, i + 1), "signature byte " + std::to_string(i) + ", as soon as it arrives");
  }
}

TEST(ProxyProtocol, V1BadAddressesAndPortsAreRefused) {
  const char* bad[] = {
      "PROXY TCP4 2001:db8::7 2001:db8::1 1 2\r\n",  // IPv6 under TCP4
      "PROXY TCP6 203.0.113.7 10.0.0.1 1 2\r\n",     // IPv4 under TCP6
      "PROXY TCP4 256.0.113.7 10.0.0.1 1 2\r\n",
      "PROXY TCP4 203.0.113 10.0.0.1 1 2\r\n",
      "PROXY TCP4 203.0.113.07 10.0.0.1 1 2\r\n",    // leading zero
      "PROXY TCP4 203.0.113.7 10.0.0.x 1 2\r\n",     // the destination is checked too
      "PROXY TCP4 203.0.113.7/32 10.0.0.1 1 2\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 65536 2\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 1 99999\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 -1 2\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 +1 2\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 0443 2\r\n",  // leading zero
      "PROXY TCP4 203.0.113.7 10.0.0.1 1 2a\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 1\r\n",       // a field missing
      "PROXY TCP4 203.0.113.7 10.0.0.1 1 2 3\r\n",   // one too many
      "PROXY TCP4 203.0.113.7  10.0.0.1 1 2\r\n",    // two spaces
      "PROXY TCP4 203.0.113.7 10.0.0.1 1 2 \r\n",    // trailing space
      "PROXY TCP4\t203.0.113.7 10.0.0.1 1 2\r\n",
      "PROXY  TCP4 203.0.113.7 10.0.0.1 1 2\r\n",
      "PROXY TCP5 203.0.113.7 10.0.0.1 1 2\r\n",
      "PROXY tcp4 203.0.113.7 10.0.0.1 1 2\r\n",
      "PROXY \r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 1 2\n",       // LF without CR
      "PROXY TCP4 203.0.113.7\r10.0.0.1 1 2\r\n",    // a CR inside the line
      "PROXY TCP4 203.0.113.7 10.0.0.1 1 2\r\r\n",
  };
  for (const char* b : bad) {
    std::string text(b);
    expectError(text, escape(text));
    // No prefix of a refused header is ever accepted.
    for (size_t i = 0; i < text.size(); ++i) EXPECT_NE(parse(text.substr(0, i)).status, Status::kDone) << escape(text);
  }
}

TEST(ProxyProtocol, V1WithoutCrlfWithin107BytesIsRefused) {
  std::string line = "PROXY UNKNOWN " + std::string(200, 'x');
  EXPECT_EQ(parse(line.substr(0, kProxyV1MaxBytes - 1)).status, Status::kNeedMore);
  expectError(line.substr(0, kProxyV1MaxBytes), "107 bytes without CRLF");
  expectError(line, "200 bytes without CRLF");
  expectError(line.substr(0, kProxyV1MaxBytes - 1) + "\r\n", "CRLF at bytes 107-108");
  // A CR as the 107th byte could still be followed by LF... but that LF would be the 108th.
  expectError(line.substr(0, kProxyV1MaxBytes - 1) + "\r", "CR as the 107th byte");
}

TEST(ProxyProtocol, V2LengthBeyondTheLimitIsRefusedBeforeThePayloadArrives) {
  std::string fixed = v2(0x21, 0x11, "", static_cast<int>(kProxyV2MaxPayload + 1));
  ASSERT_EQ(fixed.size(), kProxyV2FixedBytes);
  expectError(fixed, "length one beyond the limit");
  expectError(v2(0x21, 0x11, "", 0xffff), "length 65535");
  expectError(v2(0x20, 0x00, "", 0xffff), "LOCAL with length 65535");
  std::string atLimit = v2(0x21, 0x11, kTcp4Block + tlv(0x04, std::string(kProxyV2MaxPayload - 12 - 3, '\0')));
  ASSERT_EQ(atLimit.size(), kProxyMaxHeaderBytes);
  expectSource(atLimit, "203.0.113.7:51234");
}

TEST(ProxyProtocol, V2BadVersionCommandFamilyAndShortBlocksAreRefused) {
  expectError(v2(0x11, 0x11, kTcp4Block), "version 1 in the binary form");
  expectError(v2(0x31, 0x11, kTcp4Block), "version 3");
  expectError(v2(0x22, 0x11, kTcp4Block), "command 2");
  expectError(v2(0x2f, 0x11, kTcp4Block), "command 15");
  expectError(v2(0x21, 0x12, kTcp4Block), "UDP over IPv4");
  expectError(v2(0x21, 0x22, kTcp6Block), "UDP over IPv6");
  expectError(v2(0x21, 0x10, kTcp4Block), "IPv4 without a transport");
  expectError(v2(0x21, 0x13, kTcp4Block), "transport 3");
  expectError(v2(0x21, 0x41, kTcp4Block), "family 4");
  expectError(v2(0x21, 0x11, kTcp4Block.substr(0, 11)), "an IPv4 block of 11 bytes");
  expectError(v2(0x21, 0x21, kTcp6Block.substr(0, 35)), "an IPv6 block of 35 bytes");
  expectError(v2(0x21, 0x31, std::string(215, 'u')), "a unix block of 215 bytes");
  // Known as soon as the fixed part is there.
  expectError(v2(0x21, 0x11, "", 11), "a short IPv4 length, before its bytes");
}

}  // namespace
}  // namespace handoff::net
