// Recovery of the durable store at start (DESIGN.md §1): for each shard directory a previous run
// left (whatever its thread count), the newest snapshot, then the log segments after it, replayed
// into the store of shard (old shard % shards) — tokens name their shard, and decode the same
// way, so a record and every token that points at it land together, and a cascade's records stay
// on one shard. A torn tail (a crash mid-write) in a shard's last segment is cut at the last good
// frame and reported; damage anywhere else refuses the start: the data cannot be read safely.
//
// Then the store is compacted into the current layout — one fresh snapshot per shard, written to
// store.new/ and swapped in by renames (an interrupted swap is finished or undone at the next
// start) — so each shard's log starts empty at segment 1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/core/result.h"
#include "handoff/store/shard_store.h"

namespace handoff::store {

struct RecoveryReport {
  unsigned previousShards = 0;
  uint64_t snapshotRecords = 0;
  uint64_t logRecords = 0;
  uint64_t segments = 0;
  uint64_t tornBytes = 0;       // cut from torn tails
  uint64_t compactedBytes = 0;  // the new snapshots' total size
  int64_t elapsedMs = 0;
};

// Calls onRecord(type, payload) for each good frame of `data`; returns the bytes of good frames
// (stops at the first frame that is short, oversized or fails its checksum).
size_t readFrames(std::string_view data, const std::function<bool(RecordType, std::string_view)>& onRecord,
                  bool* recordRefused = nullptr);

// `storeDir` is DATA_DIR/store. On success every new shard's directory holds one snapshot and its
// log may start at segment 1.
core::Result<RecoveryReport> recoverStore(const std::string& storeDir, const std::vector<ShardStore*>& stores,
                                          uint64_t nowMs);

std::string shardDir(const std::string& storeDir, unsigned shard);  // storeDir + "/shard-<n>"

}  // namespace handoff::store
