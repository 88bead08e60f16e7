// Connection caps: one atomic for the global count, a striped table for the per-IP counts.
#include "handoff/net/connection_limits.h"

#include <sys/random.h>

#include <cstring>

namespace handoff::net {
namespace {

uint64_t mix(uint64_t x) {  // the finaliser of MurmurHash3 (fmix64)
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t randomSeed() {
  uint64_t s = 0;
  if (::getrandom(&s, sizeof s, 0) != static_cast<ssize_t>(sizeof s)) {
    s = reinterpret_cast<uintptr_t>(&s) ^ 0x9e3779b97f4a7c15ULL;  // still varies per process (ASLR)
  }
  return s;
}

}  // namespace

std::optional<IpKey> IpKey::of(const SocketAddress& peer) {
  IpKey k;
  if (peer.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(peer.sa());
    k.b[10] = k.b[11] = 0xff;
    std::memcpy(k.b.data() + 12, &in->sin_addr, 4);
    return k;
  }
  if (peer.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(peer.sa());
    std::memcpy(k.b.data(), &in6->sin6_addr, 16);
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(k.b.data(), kMapped, 12) != 0) std::memset(k.b.data() + 8, 0, 8);  // the /64
    return k;
  }
  return std::nullopt;
}

size_t IpKeyHash::operator()(const IpKey& k) const {
  uint64_t hi, lo;
  std::memcpy(&hi, k.b.data(), 8);
  std::memcpy(&lo, k.b.data() + 8, 8);
  return static_cast<size_t>(mix(mix(hi ^ seed) ^ lo ^ (seed >> 7)));
}

ConnectionLimiter::ConnectionLimiter(ConnectionCaps caps)
    : caps_(caps), hash_{randomSeed()}, stripes_(std::make_unique<Stripe[]>(kStripes)) {
  for (size_t i = 0; i < kStripes; ++i) stripes_[i].counts = decltype(Stripe::counts)(0, hash_);
}

bool ConnectionLimiter::tryAcquire() {
  if (caps_.maxConnections == 0) {
    open_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  size_t n = open_.load(std::memory_order_relaxed);
  do {
    if (n >= caps_.maxConnections) return false;
  } while (!open_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

void ConnectionLimiter::release() { open_.fetch_sub(1, std::memory_order_relaxed); }

ConnectionLimiter::Stripe& ConnectionLimiter::stripeOf(const IpKey& ip) const {
  // The map below hashes the same key again; the stripe takes bits the map's buckets use least.
  return stripes_[(hash_(ip) >> 58) % kStripes];
}

bool ConnectionLimiter::tryAcquireIp(const IpKey& ip) {
  if (caps_.maxPerIp == 0) return true;
  Stripe& s = stripeOf(ip);
  std::lock_guard<std::mutex> lock(s.mu);
  uint32_t& n = s.counts[ip];  // inserted at 0 when new
  if (n >= caps_.maxPerIp) return false;
  ++n;
  return true;
}

void ConnectionLimiter::releaseIp(const IpKey& ip) {
  if (caps_.maxPerIp == 0) return;
  Stripe& s = stripeOf(ip);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.counts.find(ip);
  if (it == s.counts.end()) return;  // a broken pairing; nothing to undo
  if (--it->second == 0) s.counts.erase(it);
}

size_t ConnectionLimiter::trackedIps() const {
  size_t n = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    std::lock_guard<std::mutex> lock(stripes_[i].mu);
    n += stripes_[i].counts.size();
  }
  return n;
}

size_t ConnectionLimiter::countOf(const IpKey& ip) const {
  if (caps_.maxPerIp == 0) return 0;
  Stripe& s = stripeOf(ip);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.counts.find(ip);
  return it == s.counts.end() ? 0 : it->second;
}

}  // namespace handoff::net
