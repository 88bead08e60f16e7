#include "handoff/net/cidr.h"

#include <gtest/gtest.h>

namespace handoff::net {
namespace {

TEST(IpBytes, ParsesAndNormalisesMappedAddresses) {
  EXPECT_EQ(IpBytes::parse("127.0.0.1")->toString(), "127.0.0.1");
  EXPECT_EQ(IpBytes::parse("::ffff:127.0.0.2")->toString(), "127.0.0.2");
  EXPECT_TRUE(IpBytes::parse("::ffff:127.0.0.2")->v4);
  EXPECT_EQ(IpBytes::parse("2001:db8:0:0::1")->toString(), "2001:db8::1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4 ", "[::1]", "::1%lo", "host.example", "1.2.3.4/8"}) {
    EXPECT_FALSE(IpBytes::parse(bad)) << bad;
  }
}

TEST(Cidr, MatchesPrefixesOfBothFamilies) {
  auto ten = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(ten);
  EXPECT_TRUE(ten->contains(*IpBytes::parse("10.255.1.2")));
  EXPECT_TRUE(ten->contains(*IpBytes::parse("::ffff:10.1.1.1")));
  EXPECT_FALSE(ten->contains(*IpBytes::parse("11.0.0.1")));
  EXPECT_FALSE(ten->contains(*IpBytes::parse("::a00:1"))) << "an IPv6 address is not in an IPv4 range";
  auto odd = Cidr::parse("192.168.4.0/22");
  EXPECT_TRUE(odd->contains(*IpBytes::parse("192.168.7.255")));
  EXPECT_FALSE(odd->contains(*IpBytes::parse("192.168.8.0")));
  auto host = Cidr::parse("::1");
  EXPECT_TRUE(host->contains(*IpBytes::parse("::1")));
  EXPECT_FALSE(host->contains(*IpBytes::parse("::2")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*IpBytes::parse("8.8.8.8")));
  EXPECT_TRUE(Cidr::parse("2001:db8::/32")->contains(*IpBytes::parse("2001:db8:ffff::1")));
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "/8", "10.0.0.0/8/8"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

TEST(TrustedProxies, ClientIpIsThePeerUnlessThePeerIsTrusted) {
  auto t = TrustedProxies::parse({"127.0.0.2", "10.0.0.0/8"});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->clientIp("127.0.0.1", "203.0.113.9"), "127.0.0.1") << "an untrusted peer cannot name the client";
  EXPECT_EQ(t->clientIp("127.0.0.2", "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(t->clientIp("127.0.0.2", ""), "127.0.0.2");
  // The rightmost address that is not a proxy of ours; what the client wrote further left is not believed.
  EXPECT_EQ(t->clientIp("127.0.0.2", "1.1.1.1, 203.0.113.9, 10.1.2.3"), "203.0.113.9");
  EXPECT_EQ(t->clientIp("127.0.0.2", "::ffff:203.0.113.9"), "203.0.113.9");
  // A malformed entry stops the walk at the last good address.
  EXPECT_EQ(t->clientIp("127.0.0.2", "203.0.113.9, junk"), "127.0.0.2");
  EXPECT_EQ(t->clientIp("127.0.0.2", "junk, 10.0.0.7"), "10.0.0.7");
  EXPECT_FALSE(TrustedProxies::parse({"10.0.0.0/8", "nope"}));
  EXPECT_TRUE(TrustedProxies{}.empty());
  EXPECT_EQ(TrustedProxies{}.clientIp("127.0.0.2", "1.2.3.4"), "127.0.0.2");
}

}  // namespace
}  // namespace handoff::net
