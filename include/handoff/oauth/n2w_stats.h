// Native to Web SSO counters for /metrics (SPEC.md §7): STTs minted and refused, redeemed and
// rejected by reason, the time from mint to redemption, sessions born from STTs (cascades are counted by
// the store).
//
// One instance per shard, written only by that shard (relaxed load+store, no RMW), read by the
// /metrics renderer on any thread and summed over shards.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace handoff::oauth {

// Why a presented STT did not log the browser in (the `details.reason` of its `w` event).
enum class RedeemFailure : uint8_t {
  kNotFound, kExpired, kAlreadyUsed, kParentRevoked, kTransport, kIpMismatch, kAsnMismatch,
  kOrganization, kUserMismatch, kCountryChanged, kAsnDenied,
};
inline constexpr size_t kRedeemFailureCount = 11;
std::string_view redeemFailureCode(RedeemFailure r);         // "not_found", "ip_mismatch", ...
std::string_view redeemFailureDescription(RedeemFailure r);  // Auth0's warning text

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct SessionTransferStats {
  // Upper bounds (ms) of the mint-to-redemption histogram; a last bucket takes the rest.
  static constexpr std::array<uint64_t, 9> kAgeBucketsMs = {100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000};

  Counter minted;
  Counter mintRefused;
  Counter redeemed;
  Counter bornSessions;
  std::array<Counter, kRedeemFailureCount> rejected;
  std::array<Counter, kAgeBucketsMs.size() + 1> age;  // not cumulative; the renderer sums
  Counter ageSumMs;

  void observeAge(uint64_t ms) {
    size_t i = 0;
    while (i < kAgeBucketsMs.size() && ms > kAgeBucketsMs[i]) ++i;
    age[i].add();
    ageSumMs.add(ms);
  }
};

}  // namespace handoff::oauth
