// A shard's write-ahead log with group commit (DESIGN.md §1 "Durability").
//
// Records are framed as [u32 payload length][u32 CRC-32C of type+payload][u8 type][payload] and
// appended to numbered segment files in the shard's directory. append() only buffers; once per
// loop turn (a uv_check handle) the buffered batch is handed to libuv's pool, written and
// fdatasync'ed there, and the callbacks registered with whenDurable() run back on the shard once
// their records are on disk. While a batch is being written the next one accumulates: one fsync
// covers every record of a loop turn, however many requests made them.
//
// A failed write (disk full, I/O error) truncates the segment back to its last good size, keeps
// the batch and retries it every 250 ms; meanwhile the shard reports itself down (failed()) so
// that new durable operations are refused with 503, and the callbacks of the unwritten records
// wait. Nothing is acknowledged before it is durable, and nothing half-written stays on disk.
//
// Snapshots: after `snapshotAfterBytes` of log, the WAL starts a new segment N and asks its
// owner for the store's state (snapshot callback, on the shard), writes it as snapshot N off the
// loop, then deletes the segments and snapshots it covers. Replay is idempotent, so records that
// reach both the snapshot and segment N are harmless.
//
// Thread-bound to its shard, except stats readers (relaxed atomics).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include "handoff/core/result.h"
#include "handoff/core/shard.h"
#include "handoff/store/journal.h"

namespace handoff::store {

struct WalOptions {
  std::string dir;                          // the shard's directory (created if missing)
  uint64_t firstSegment = 1;                // the number of the segment to start
  uint64_t snapshotAfterBytes = 64ull << 20;
  bool sync = true;                         // fdatasync each batch (off only for benchmarks)
  std::atomic<int>* downCount = nullptr;    // incremented while this log cannot write (node-wide)
};

// A move-only callback run once records are durable.
struct DurableCallback {
  virtual ~DurableCallback() = default;
  virtual void run() = 0;
};

struct WalStats {
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> snapshots{0};
  std::atomic<bool> down{false};
};

class Wal final : public Journal {
 public:
  using SnapshotFn = std::function<std::string()>;  // the store's state as framed records

  static core::Result<std::unique_ptr<Wal>> open(core::Shard& shard, WalOptions options, SnapshotFn snapshot);
  ~Wal() override;

  void append(RecordType type, std::string_view payload) override;

  // Runs fn() on this shard once every record appended so far is durable; at once if nothing
  // is pending. `fn` may be move-only.
  template <class F>
  void whenDurable(F&& fn) {
    if (durable_ >= appended_) return fn();
    struct Of final : DurableCallback {
      explicit Of(F&& callback) : f(std::forward<F>(callback)) {}
      void run() override { f(); }
      std::decay_t<F> f;
    };
    waiters_.push_back({appended_, std::make_unique<Of>(std::forward<F>(fn))});
  }
  bool idle() const { return pending_.empty() && !writing_; }
  uint64_t appended() const { return appended_; }
  bool failed() const { return failed_; }
  const WalStats& stats() const { return stats_; }

  // Shutdown, on-shard: writes what is pending on this thread, runs the waiting callbacks, and
  // closes the loop handles. Records appended later are not written.
  void close();

  // Frame layout, shared with recovery and snapshots.
  static void frame(std::string& out, RecordType type, std::string_view payload);
  static std::string segmentName(uint64_t n);   // "0000000000000001.wal"
  static std::string snapshotName(uint64_t n);  // "0000000000000001.snap"

 private:
  Wal(core::Shard& shard, WalOptions options, SnapshotFn snapshot);
  core::Status openSegment(uint64_t n);
  void startWrite();
  void finishWrite(int err);
  void startSnapshot();
  void removeCovered(uint64_t snapshotSegment);

  core::Shard& shard_;
  WalOptions options_;
  SnapshotFn snapshotFn_;
  int fd_ = -1;
  uint64_t segment_ = 0;
  uint64_t segmentSize_ = 0;      // durable bytes in the current segment
  uint64_t sinceSnapshot_ = 0;
  std::string pending_;
  std::string writingBuf_;
  bool writing_ = false;
  bool failed_ = false;
  bool snapshotting_ = false;
  uint64_t appended_ = 0;         // records appended
  uint64_t durable_ = 0;          // records durable
  uint64_t writingUpTo_ = 0;      // appended_ when the batch in flight was taken
  struct Waiter {
    uint64_t upTo;
    std::unique_ptr<DurableCallback> fn;
  };
  void setDown(bool down);
  void closeHandles();
  std::deque<Waiter> waiters_;
  uv_check_t* check_ = nullptr;   // closed by the loop, freed in its close callback
  uv_timer_t* retry_ = nullptr;
  WalStats stats_;
};

}  // namespace handoff::store
