#include "handoff/net/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace handoff::net {
namespace {

TEST(SocketAddress, ParsesIpv4AndIpv6) {
  auto a = SocketAddress::parse("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->toString(), "127.0.0.1:8080");
  auto b = SocketAddress::parse("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->family(), AF_INET6);
  EXPECT_EQ(b->toString(), "[::1]:0");
}

// The IPv4 text is written by hand: it must match inet_ntop for every byte value in every place.
TEST(SocketAddress, Ipv4TextMatchesInetNtop) {
  for (unsigned v = 0; v < 256; ++v) {
    for (unsigned place = 0; place < 4; ++place) {
      unsigned char bytes[4] = {10, 200, 7, 99};
      bytes[place] = static_cast<unsigned char>(v);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      std::memcpy(&sin.sin_addr, bytes, 4);
      char want[INET_ADDRSTRLEN];
      ASSERT_NE(inet_ntop(AF_INET, &sin.sin_addr, want, sizeof want), nullptr);
      EXPECT_EQ(SocketAddress(reinterpret_cast<sockaddr*>(&sin), sizeof sin).ip(), want);
    }
  }
}

TEST(SocketAddress, RefusesMalformedInput) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:8x", "[::1:80", "::1:80",
                          "[::1]80"}) {
    EXPECT_FALSE(SocketAddress::parse(bad).ok()) << bad;
  }
}

TEST(SocketAddress, MappedIpv4ComparesEqualToIpv4) {
  auto mapped = SocketAddress::parse("[::ffff:127.0.0.2]:1");
  auto plain = SocketAddress::parse("127.0.0.2:2");
  auto other = SocketAddress::parse("127.0.0.3:1");
  ASSERT_TRUE(mapped.ok() && plain.ok() && other.ok());
  EXPECT_TRUE(mapped->sameIp(*plain));
  EXPECT_FALSE(mapped->sameIp(*other));
  EXPECT_EQ(mapped->normalized().ip(), "127.0.0.2");
  EXPECT_EQ(mapped->normalized().port(), 1);
}

TEST(SocketAddress, DifferentFamiliesDiffer) {
  auto v6 = SocketAddress::parse("[::1]:1");
  auto v4 = SocketAddress::parse("127.0.0.1:1");
  EXPECT_FALSE(v6->sameIp(*v4));
}

}  // namespace
}  // namespace handoff::net
