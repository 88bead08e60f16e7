// Values every node of a Redis Cluster deployment must agree on at start (the tenant's signing
// keys): the first node to start stores its proposal, every later one adopts what is stored.
// Blocking: it runs a ClusterClient on a private loop of the calling thread, for start-up on the
// control thread only (never on a shard's loop).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/core/result.h"

namespace handoff::store::redis {

// SET key proposed NX, then GET key, in one script: the value stored for `key` — `proposed` when
// it held none. Fails (kUnavailable) when the cluster cannot be reached within `timeoutMs`.
core::Result<std::string> shareValue(const std::vector<std::string>& seeds, std::string_view key,
                                     std::string_view proposed, uint32_t timeoutMs = 10000);

// The list under `key`, after storing `proposed` there when the key held none (RPUSH, in one
// script with the check and the read): what every node must replay (the tenant's log).
core::Result<std::vector<std::string>> seedList(const std::vector<std::string>& seeds, std::string_view key,
                                                const std::vector<std::string>& proposed, uint32_t timeoutMs = 10000);

}  // namespace handoff::store::redis
