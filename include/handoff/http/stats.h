// Per-shard HTTP counters for /metrics: requests by route and status, parse errors.
//
// Written only by the owning shard (a relaxed load and store, no locked instruction); read by
// whichever shard renders /metrics, which sums all shards. A reader may see a slightly stale value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace handoff::http {

class HttpStats {
 public:
  static constexpr size_t kRouteSlots = 32;  // slot 0: no route (404, parse errors)
  static constexpr std::array<int, 24> kStatuses = {100, 200, 201, 204, 302, 303, 304, 400,
                                                     401, 403, 404, 405, 408, 409, 413, 414,
                                                     415, 429, 431, 500, 501, 503, 505, 0};

  void countRequest(uint16_t routeId, int status) { bump(requests_[routeId % kRouteSlots][slotOf(status)]); }
  void countParseError() { bump(parseErrors_); }

  uint64_t requests(size_t route, size_t statusSlot) const {
    return requests_[route][statusSlot].load(std::memory_order_relaxed);
  }
  uint64_t parseErrors() const { return parseErrors_.load(std::memory_order_relaxed); }

  static size_t slotOf(int status) {
    for (size_t i = 0; i + 1 < kStatuses.size(); ++i) {
      if (kStatuses[i] == status) return i;
    }
    return kStatuses.size() - 1;  // "other"
  }

 private:
  static void bump(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::atomic<uint64_t> requests_[kRouteSlots][kStatuses.size()] = {};
  std::atomic<uint64_t> parseErrors_{0};
};

}  // namespace handoff::http
