// A shard's write-ahead log with group commit (DESIGN.md §1 "Durability").
//
// Records are framed as [u32 payload length][u32 CRC-32C of type+payload][u8 type][payload] and
// appended to numbered segment files in the shard's directory. append() only buffers; once per
// loop turn (a uv_check handle) the buffered batch is handed to libuv's pool, written and
// fdatasync'ed there, and the callbacks registered with whenDurable() run back on the shard once
// their records are on disk. While a batch is being written the next one accumulates: one fsync
// covers every record of a loop turn, however many requests made them. Each segment is kept
// zero-filled ahead of its last record (kZeroAhead), extended by the batch write that nears the
// end, so that most fdatasyncs flush data only.
//
// A failed write (disk full, I/O error) truncates the segment back to its last good size, keeps
// the batch and retries it every 250 ms; meanwhile the shard reports itself down (failed()) so
// that new durable operations are refused with 503, and the callbacks of the unwritten records
// wait. Nothing is acknowledged before it is durable, and nothing half-written stays on disk.
//
// Snapshots: after `snapshotAfterBytes` of log, the WAL starts a new segment N and builds
// snapshot N in the background: a step of the store's state (SnapshotSource, a few thousand
// table slots) per loop turn between the requests, written out in 1 MiB chunks off the loop,
// then fsynced and renamed into place; then the segments and snapshots it covers are deleted.
// The state changes while the snapshot is built (a fuzzy snapshot): segment N, replayed after
// it, holds every change since it began, and replay is idempotent.
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

// The state a snapshot holds, produced a step at a time on the shard.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  virtual void begin() = 0;
  // Appends the next framed records (up to `budget` table slots' worth); true when complete.
  virtual bool step(std::string& out, size_t budget) = 0;
  virtual void abandon() = 0;  // a snapshot in progress will not be finished
};

class Wal final : public Journal {
 public:
  // `snapshots` must outlive the Wal (null: never snapshot).
  static core::Result<std::unique_ptr<Wal>> open(core::Shard& shard, WalOptions options, SnapshotSource* snapshots);
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
  bool snapshotting() const { return snapshotting_; }
  uint64_t appended() const { return appended_; }
  bool failed() const { return failed_; }
  const WalStats& stats() const { return stats_; }

  // Shutdown, on-shard: writes what is pending on this thread, runs the waiting callbacks, and
  // closes the loop handles. Records appended later are not written.
  void close();

  static constexpr size_t kSnapshotStepSlots = 1024;  // table slots per loop turn (~0.3 ms)
  static constexpr size_t kSnapshotChunk = 1u << 20;  // snapshot bytes handed to the pool at a time
  // A segment is kept zero-filled this far past its last record: a batch then overwrites
  // blocks the file already has, so its fdatasync has no file size or block allocation to
  // commit with it (about a third less kernel time per commit; bench/RESULTS.md). Recovery reads
  // an all-zero remainder of a segment as its end, not as a torn write.
  static constexpr uint64_t kZeroAhead = 8u << 20;

  // Frame layout, shared with recovery and snapshots.
  static void frame(std::string& out, RecordType type, std::string_view payload);
  static std::string segmentName(uint64_t n);   // "0000000000000001.wal"
  static std::string snapshotName(uint64_t n);  // "0000000000000001.snap"

 private:
  Wal(core::Shard& shard, WalOptions options, SnapshotSource* snapshots);
  core::Status openSegment(uint64_t n);
  void startWrite();
  void finishWrite(int err);
  void startSnapshot();
  void pumpSnapshot();   // one step of the state, and a chunk to the pool when there is one
  void flushSnapshot();
  void endSnapshot(int err);
  void removeCovered(uint64_t snapshotSegment);

  core::Shard& shard_;
  WalOptions options_;
  SnapshotSource* snapshots_;
  int fd_ = -1;
  uint64_t segment_ = 0;
  uint64_t segmentSize_ = 0;      // durable bytes in the current segment (where the next batch goes)
  uint64_t zeroedEnd_ = 0;        // the segment's file size: zeros from segmentSize_ on
  uint64_t extendingTo_ = 0;      // zeroedEnd_ once the batch in flight is written
  uint64_t sinceSnapshot_ = 0;
  std::string pending_;
  std::string writingBuf_;
  bool writing_ = false;
  bool failed_ = false;
  bool snapshotting_ = false;
  bool closed_ = false;
  // The snapshot in progress: number, temporary file, what is built and what is being written.
  uint64_t snapN_ = 0;
  int snapFd_ = -1;
  std::string snapBuf_;
  std::string snapWritingBuf_;
  bool snapWriting_ = false;
  bool snapBuilt_ = false;
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
  uv_idle_t* snapStep_ = nullptr;  // runs a snapshot step every loop turn while one is built
  WalStats stats_;
};

}  // namespace handoff::store
