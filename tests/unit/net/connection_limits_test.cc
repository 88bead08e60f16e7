// ConnectionLimiter: the global cap, the per-IP cap (IPv4, IPv6 by /64, mapped addresses), slots
// given back, a table that holds only IPs with connections, and exact counts under threads.
#include "handoff/net/connection_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

namespace handoff::net {
namespace {

IpKey key(const std::string& ip) {
  auto a = SocketAddress::parse(ip.find(':') != std::string::npos ? "[" + ip + "]:1" : ip + ":1");
  EXPECT_TRUE(a.ok()) << ip;
  auto k = IpKey::of(*a);
  EXPECT_TRUE(k.has_value()) << ip;
  return *k;
}

TEST(ConnectionLimiter, GlobalCapRefusesBeyondItAndAReleaseMakesRoom) {
  ConnectionLimiter l({.maxConnections = 3, .maxPerIp = 0});
  EXPECT_TRUE(l.tryAcquire());
  EXPECT_TRUE(l.tryAcquire());
  EXPECT_TRUE(l.tryAcquire());
  EXPECT_FALSE(l.tryAcquire());
  EXPECT_EQ(l.open(), 3u) << "a refusal takes nothing";
  l.release();
  EXPECT_TRUE(l.tryAcquire());
  EXPECT_FALSE(l.tryAcquire());
}

TEST(ConnectionLimiter, NoGlobalCapCountsButNeverRefuses) {
  ConnectionLimiter l({});
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(l.tryAcquire());
  EXPECT_EQ(l.open(), 1000u);
  EXPECT_TRUE(l.tryAcquireIp(key("10.0.0.1"))) << "no per-IP cap";
  EXPECT_EQ(l.trackedIps(), 0u);
}

TEST(ConnectionLimiter, PerIpCapIsPerAddressAndGivesBackOnRelease) {
  ConnectionLimiter l({.maxConnections = 0, .maxPerIp = 2});
  IpKey a = key("127.0.0.1"), b = key("127.0.0.2");
  EXPECT_TRUE(l.tryAcquireIp(a));
  EXPECT_TRUE(l.tryAcquireIp(a));
  EXPECT_FALSE(l.tryAcquireIp(a));
  EXPECT_TRUE(l.tryAcquireIp(b)) << "another client is not affected";
  EXPECT_EQ(l.countOf(a), 2u);
  l.releaseIp(a);
  EXPECT_TRUE(l.tryAcquireIp(a));
  EXPECT_FALSE(l.tryAcquireIp(a));
}

TEST(ConnectionLimiter, TableHoldsOnlyAddressesWithConnections) {
  ConnectionLimiter l({.maxConnections = 0, .maxPerIp = 4});
  std::vector<IpKey> keys;
  for (int i = 0; i < 500; ++i) keys.push_back(key("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
  for (const IpKey& k : keys) EXPECT_TRUE(l.tryAcquireIp(k));
  EXPECT_EQ(l.trackedIps(), 500u);
  for (const IpKey& k : keys) l.releaseIp(k);
  EXPECT_EQ(l.trackedIps(), 0u) << "an IP leaves the table with its last connection";
  l.releaseIp(keys[0]);  // an unpaired release changes nothing
  EXPECT_EQ(l.trackedIps(), 0u);
}

TEST(ConnectionLimiter, Ipv6CountsByItsSlash64AndMappedIpv4AsIpv4) {
  ConnectionLimiter l({.maxConnections = 0, .maxPerIp = 2});
  EXPECT_TRUE(l.tryAcquireIp(key("2001:db8:1:2::1")));
  EXPECT_TRUE(l.tryAcquireIp(key("2001:db8:1:2:ffff::9")));
  EXPECT_FALSE(l.tryAcquireIp(key("2001:db8:1:2:abcd::1"))) << "the same /64";
  EXPECT_TRUE(l.tryAcquireIp(key("2001:db8:1:3::1"))) << "another /64";
  EXPECT_TRUE(key("::ffff:192.0.2.7") == key("192.0.2.7"));
  EXPECT_FALSE(key("::ffff:192.0.2.7") == key("192.0.2.8"));
}

TEST(ConnectionLimiter, NonIpPeersHaveNoKey) {
  SocketAddress none;
  EXPECT_FALSE(IpKey::of(none).has_value());
}

TEST(ConnectionLimiter, CountsStayExactUnderThreads) {
  // Four threads race for one IP's 100 slots and the global 150, then give back what they got.
  ConnectionLimiter l({.maxConnections = 150, .maxPerIp = 100});
  IpKey shared = key("198.51.100.1");
  std::atomic<int> gotIp{0}, gotGlobal{0};
  std::latch acquired(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      int mine = 0, mineGlobal = 0;
      for (int i = 0; i < 1000; ++i) {
        if (l.tryAcquireIp(shared)) ++mine;
        if (l.tryAcquire()) ++mineGlobal;
        IpKey own = key("203.0.113." + std::to_string(t));
        if (l.tryAcquireIp(own)) l.releaseIp(own);
      }
      gotIp += mine;
      gotGlobal += mineGlobal;
      acquired.arrive_and_wait();  // nobody gives back before everyone has tried
      for (int i = 0; i < mine; ++i) l.releaseIp(shared);
      for (int i = 0; i < mineGlobal; ++i) l.release();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(gotIp.load(), 100);
  EXPECT_EQ(gotGlobal.load(), 150);
  EXPECT_EQ(l.open(), 0u);
  EXPECT_EQ(l.trackedIps(), 0u);
}

}  // namespace
}  // namespace handoff::net
