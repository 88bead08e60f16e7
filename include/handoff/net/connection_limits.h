// Connection caps shared by every shard (config [limits] max_connections and
// max_connections_per_ip): a global count of admitted connections and a count per client IP.
//
// Thread-safe. The global count is one atomic. The per-IP counts live in a table split into
// stripes, each a small hash map behind its own mutex: a stripe is locked once when a connection
// is admitted and once when it closes (never per request), and two shards contend only when
// their connections' addresses hash to the same stripe at the same moment. An entry exists only
// while its IP has an admitted connection, so the table never holds more entries than there are
// open connections (at most max_connections). Hashes are keyed by a random value per process,
// so that addresses that collide cannot be chosen in advance.
//
// A client IP is an IPv4 address, or the /64 prefix of an IPv6 address (one host usually holds
// a whole /64); IPv4-mapped IPv6 addresses count as their IPv4 address.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "handoff/net/address.h"

namespace handoff::net {

struct ConnectionCaps {
  size_t maxConnections = 0;  // admitted connections, all shards together; 0: no cap
  size_t maxPerIp = 0;        // admitted connections from one client IP; 0: no cap
};

// The key a client IP is counted under: 16 bytes (IPv4 in its mapped form; IPv6 cut to /64).
struct IpKey {
  std::array<uint8_t, 16> b{};
  bool operator==(const IpKey&) const = default;

  // nullopt for an address that is not IPv4 or IPv6 (a unix socket): such peers are not counted.
  static std::optional<IpKey> of(const SocketAddress& peer);
};

// A hash of IpKey under a per-process random seed.
struct IpKeyHash {
  uint64_t seed = 0;
  size_t operator()(const IpKey& k) const;
};

class ConnectionLimiter {
 public:
  explicit ConnectionLimiter(ConnectionCaps caps);
  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  const ConnectionCaps& caps() const { return caps_; }

  // Counts one more connection unless the global cap is reached. Every true is paired with one
  // release().
  bool tryAcquire();
  void release();

  // Counts one more connection from `ip` unless its cap is reached (always true without a
  // per-IP cap). Every true is paired with one releaseIp(ip).
  bool tryAcquireIp(const IpKey& ip);
  void releaseIp(const IpKey& ip);

  size_t open() const { return open_.load(std::memory_order_relaxed); }
  // Client IPs with at least one counted connection (0 without a per-IP cap).
  size_t trackedIps() const;
  // Connections counted for `ip` now (tests).
  size_t countOf(const IpKey& ip) const;

 private:
  static constexpr size_t kStripes = 64;
  struct alignas(64) Stripe {
    mutable std::mutex mu;
    std::unordered_map<IpKey, uint32_t, IpKeyHash> counts;
  };
  Stripe& stripeOf(const IpKey& ip) const;

  ConnectionCaps caps_;
  IpKeyHash hash_;
  std::atomic<size_t> open_{0};
  std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace handoff::net
