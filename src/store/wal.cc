// The write-ahead log: framing, group commit off the loop, failure and retry, snapshots.
#include "handoff/store/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <vector>

#include "handoff/core/log.h"
#include "handoff/store/wire.h"

namespace handoff::store {

using core::Errc;
using core::Error;

namespace {

constexpr uint64_t kRetryMs = 250;

// Zeros written ahead of the log (see Wal::kZeroAhead).
constexpr size_t kZeroBlock = 1u << 16;
const char kZeros[kZeroBlock] = {};

// The stats are written by the owner shard only: a relaxed load and store, no read-modify-write.
void bump(std::atomic<uint64_t>& c, uint64_t n = 1) { c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }

std::string numbered(uint64_t n, const char* ext) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 ".%s", n, ext);
  return buf;
}

// pwrite(2) all of [data, data + size) at `at`. 0 or an errno.
int writeAt(int fd, const char* data, size_t size, uint64_t at) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::pwrite(fd, data + off, size - off, static_cast<off_t>(at + off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    off += static_cast<size_t>(n);
  }
  return 0;
}

// Writes the whole buffer at `at`, then zeros over [zeroFrom, zeroTo) (none when equal), then
// fdatasyncs. 0 or an errno.
int writeAll(int fd, const std::string& buf, uint64_t at, bool sync, uint64_t zeroFrom = 0, uint64_t zeroTo = 0) {
  if (int rc = writeAt(fd, buf.data(), buf.size(), at); rc != 0) return rc;
  for (uint64_t z = zeroFrom; z < zeroTo; z += kZeroBlock) {
    if (int rc = writeAt(fd, kZeros, static_cast<size_t>(std::min<uint64_t>(kZeroBlock, zeroTo - z)), z); rc != 0) return rc;
  }
  if (sync && ::fdatasync(fd) != 0) return errno;
  return 0;
}

// A snapshot is written in order, to a fresh file.
int appendAll(int fd, const std::string& buf, bool sync) {
  off_t at = ::lseek(fd, 0, SEEK_END);
  if (at < 0) return errno;
  return writeAll(fd, buf, static_cast<uint64_t>(at), sync);
}

int syncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

}  // namespace

void Wal::frame(std::string& out, RecordType type, std::string_view payload) {
  uint8_t t = static_cast<uint8_t>(type);
  uint32_t crc = crc32c(&t, 1);
  crc = crc32c(payload.data(), payload.size(), crc);
  Writer w(out);
  w.u32(static_cast<uint32_t>(payload.size()));
  w.u32(crc);
  w.u8(t);
  out.append(payload);
}

std::string Wal::segmentName(uint64_t n) { return numbered(n, "wal"); }
std::string Wal::snapshotName(uint64_t n) { return numbered(n, "snap"); }

Wal::Wal(core::Shard& shard, WalOptions options, SnapshotSource* snapshots)
    : shard_(shard), options_(std::move(options)), snapshots_(snapshots) {}

core::Result<std::unique_ptr<Wal>> Wal::open(core::Shard& shard, WalOptions options, SnapshotSource* snapshots) {
  if (::mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error(Errc::kIo, "cannot create " + options.dir + ": " + std::strerror(errno));
  }
  std::unique_ptr<Wal> w(new Wal(shard, std::move(options), snapshots));
  if (auto st = w->openSegment(w->options_.firstSegment); !st) return st.error();
  // Once per loop turn, after the turn's callbacks have appended their records: write them.
  w->check_ = new uv_check_t;
  uv_check_init(shard.loop(), w->check_);
  w->check_->data = w.get();
  uv_check_start(w->check_, [](uv_check_t* h) {
    auto* self = static_cast<Wal*>(h->data);
    if (!self->writing_ && !self->failed_ && !self->pending_.empty()) self->startWrite();
  });
  uv_unref(reinterpret_cast<uv_handle_t*>(w->check_));
  w->retry_ = new uv_timer_t;
  uv_timer_init(shard.loop(), w->retry_);
  w->retry_->data = w.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(w->retry_));
  w->snapStep_ = new uv_idle_t;
  uv_idle_init(shard.loop(), w->snapStep_);
  w->snapStep_->data = w.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(w->snapStep_));
  return w;
}

Wal::~Wal() {
  if (fd_ >= 0) ::close(fd_);
  if (snapFd_ >= 0) ::close(snapFd_);
  closeHandles();
  setDown(false);
}

void Wal::closeHandles() {
  // The handles are closed here and freed by the loop once it has let go of them.
  if (check_ != nullptr) {
    check_->data = nullptr;
    uv_check_stop(check_);
    uv_close(reinterpret_cast<uv_handle_t*>(check_), [](uv_handle_t* h) { delete reinterpret_cast<uv_check_t*>(h); });
  }
  if (retry_ != nullptr) {
    retry_->data = nullptr;
    uv_timer_stop(retry_);
    uv_close(reinterpret_cast<uv_handle_t*>(retry_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }
  if (snapStep_ != nullptr) {
    snapStep_->data = nullptr;
    uv_idle_stop(snapStep_);
    uv_close(reinterpret_cast<uv_handle_t*>(snapStep_), [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  }
  check_ = nullptr;
  retry_ = nullptr;
  snapStep_ = nullptr;
}

void Wal::setDown(bool down) {
  if (down == failed_) return;
  failed_ = down;
  stats_.down.store(down, std::memory_order_relaxed);
  if (options_.downCount != nullptr) options_.downCount->fetch_add(down ? 1 : -1, std::memory_order_relaxed);
}

core::Status Wal::openSegment(uint64_t n) {
  std::string path = options_.dir + "/" + segmentName(n);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error(Errc::kIo, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  ::fstat(fd, &st);
  if (int rc = syncDir(options_.dir); rc != 0) {
    ::close(fd);
    return Error(Errc::kIo, "cannot sync " + options_.dir + ": " + std::strerror(rc));
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segment_ = n;
  // A segment is only ever opened fresh (recovery compacts the old ones away); a leftover one
  // is continued past whatever it holds.
  segmentSize_ = static_cast<uint64_t>(st.st_size);
  zeroedEnd_ = segmentSize_;
  return {};
}

void Wal::append(RecordType type, std::string_view payload) {
  frame(pending_, type, payload);
  ++appended_;
  bump(stats_.records);
}

void Wal::startWrite() {
  writing_ = true;
  writingBuf_.swap(pending_);
  pending_.clear();
  writingUpTo_ = appended_;
  int fd = fd_;
  bool sync = options_.sync;
  uint64_t at = segmentSize_, end = at + writingBuf_.size();
  // Keep kZeroAhead of zeros past the end, a chunk at a time (with this batch's write).
  uint64_t zeroFrom = std::max(zeroedEnd_, end), zeroTo = zeroFrom;
  if (zeroedEnd_ < end + kZeroAhead / 2) zeroTo = end + kZeroAhead;
  extendingTo_ = zeroTo;
  shard_.offload([fd, sync, at, zeroFrom, zeroTo, buf = &writingBuf_]() { return writeAll(fd, *buf, at, sync, zeroFrom, zeroTo); },
                 [this](int err) { finishWrite(err); });
}

void Wal::finishWrite(int err) {
  writing_ = false;
  if (err != 0) {
    // Nothing half-written stays: cut the segment back to its last good size, keep the batch in
    // front of what came since, and try again shortly. Callbacks of these records wait.
    if (::ftruncate(fd_, static_cast<off_t>(segmentSize_)) != 0) {
      core::logError("wal: cannot truncate a failed write", {{"dir", options_.dir}, {"error", std::strerror(errno)}});
    }
    zeroedEnd_ = segmentSize_;
    if (!failed_) {
      core::logError("wal: write failed; durable operations refused until it succeeds",
                     {{"dir", options_.dir}, {"error", std::strerror(err)}});
    }
    setDown(true);
    bump(stats_.failures);
    writingBuf_.append(pending_);
    pending_.swap(writingBuf_);
    writingBuf_.clear();
    if (retry_ != nullptr) {
      uv_timer_start(retry_, [](uv_timer_t* t) {
        auto* self = static_cast<Wal*>(t->data);
        if (self != nullptr && !self->writing_ && !self->pending_.empty()) self->startWrite();
      }, kRetryMs, 0);
    }
    return;
  }
  if (failed_) core::logInfo("wal: writes succeed again", {{"dir", options_.dir}});
  setDown(false);
  bump(stats_.batches);
  bump(stats_.bytes, writingBuf_.size());
  segmentSize_ += writingBuf_.size();
  zeroedEnd_ = std::max(extendingTo_, segmentSize_);
  sinceSnapshot_ += writingBuf_.size();
  writingBuf_.clear();
  durable_ = writingUpTo_;
  while (!waiters_.empty() && waiters_.front().upTo <= durable_) {
    auto fn = std::move(waiters_.front().fn);
    waiters_.pop_front();
    fn->run();
  }
  if (sinceSnapshot_ >= options_.snapshotAfterBytes && !snapshotting_ && snapshots_ != nullptr) startSnapshot();
  if (!pending_.empty()) startWrite();
}

void Wal::startSnapshot() {
  // From here on records go to segment N; snapshot N holds every record present now (and some
  // of the changes made in N while it is built: replay is idempotent).
  uint64_t n = segment_ + 1;
  if (auto st = openSegment(n); !st) {
    core::logError("wal: cannot start a segment; snapshot skipped", {{"error", st.error().message()}});
    return;
  }
  sinceSnapshot_ = 0;
  std::string tmp = options_.dir + "/" + snapshotName(n) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    core::logError("wal: snapshot failed; the log keeps everything", {{"path", tmp}, {"error", std::strerror(errno)}});
    return;
  }
  snapshotting_ = true;
  snapN_ = n;
  snapFd_ = fd;
  snapBuilt_ = false;
  snapshots_->begin();
  pumpSnapshot();
}

void Wal::pumpSnapshot() {
  if (!snapBuilt_ && snapBuf_.size() < kSnapshotChunk) snapBuilt_ = snapshots_->step(snapBuf_, kSnapshotStepSlots);
  if (!snapWriting_ && (snapBuf_.size() >= kSnapshotChunk || snapBuilt_)) flushSnapshot();
  // Step on every loop turn while there is room; wait for the pool while a full chunk waits.
  if (!snapBuilt_ && snapBuf_.size() < kSnapshotChunk) {
    uv_idle_start(snapStep_, [](uv_idle_t* h) {
      if (auto* self = static_cast<Wal*>(h->data)) self->pumpSnapshot();
    });
  } else {
    uv_idle_stop(snapStep_);
  }
}

void Wal::flushSnapshot() {
  // The last chunk is followed by fsync, close and the rename into place, on the pool too.
  snapWriting_ = true;
  snapWritingBuf_.swap(snapBuf_);
  snapBuf_.clear();
  bool last = snapBuilt_;
  int fd = snapFd_;
  if (last) snapFd_ = -1;  // closed by the last write
  std::string dir = options_.dir;
  uint64_t n = snapN_;
  shard_.offload(
      [fd, last, dir, n, buf = &snapWritingBuf_]() -> int {
        int rc = appendAll(fd, *buf, last);
        if (!last) return rc;
        ::close(fd);
        std::string tmp = dir + "/" + snapshotName(n) + ".tmp", path = dir + "/" + snapshotName(n);
        if (rc == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) rc = errno;
        if (rc == 0) rc = syncDir(dir);
        if (rc != 0) ::unlink(tmp.c_str());
        return rc;
      },
      [this, last](int rc) {
        snapWriting_ = false;
        snapWritingBuf_.clear();
        if (rc != 0 || last || closed_) return endSnapshot(rc != 0 ? rc : closed_ && !last ? ECANCELED : 0);
        pumpSnapshot();
      });
}

void Wal::endSnapshot(int err) {
  // Success: snapshot N is in place (the last write renamed it). Otherwise nothing of it stays.
  snapshotting_ = false;
  if (!snapBuilt_) snapshots_->abandon();
  snapBuilt_ = false;
  snapBuf_.clear();
  snapBuf_.shrink_to_fit();
  snapWritingBuf_.shrink_to_fit();
  if (snapStep_ != nullptr) uv_idle_stop(snapStep_);
  if (snapFd_ >= 0) {
    ::close(snapFd_);
    snapFd_ = -1;
    ::unlink((options_.dir + "/" + snapshotName(snapN_) + ".tmp").c_str());
  }
  if (err != 0) {
    if (err != ECANCELED) {
      core::logError("wal: snapshot failed; the log keeps everything", {{"dir", options_.dir}, {"error", std::strerror(err)}});
    }
    return;
  }
  bump(stats_.snapshots);
  removeCovered(snapN_);
}

void Wal::removeCovered(uint64_t snapshotSegment) {
  DIR* d = ::opendir(options_.dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> doomed;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    uint64_t n = 0;
    char ext[8] = {0};
    if (std::sscanf(name.c_str(), "%16" SCNx64 ".%5s", &n, ext) != 2) continue;
    bool wal = std::strcmp(ext, "wal") == 0, snap = std::strcmp(ext, "snap") == 0;
    if ((wal && n < snapshotSegment) || (snap && n < snapshotSegment)) doomed.push_back(name);
  }
  ::closedir(d);
  for (const std::string& name : doomed) ::unlink((options_.dir + "/" + name).c_str());
  syncDir(options_.dir);
}

void Wal::close() {
  // A batch in flight finishes on the pool (its callback still runs: the loop waits for it);
  // what is pending now is written here. A snapshot being built is given up (the log has it all).
  closed_ = true;
  if (snapshotting_ && !snapWriting_) endSnapshot(ECANCELED);
  if (!writing_ && !pending_.empty()) {
    if (writeAll(fd_, pending_, segmentSize_, options_.sync) == 0) {
      segmentSize_ += pending_.size();
      pending_.clear();
      durable_ = appended_;
      while (!waiters_.empty() && waiters_.front().upTo <= durable_) {
        auto fn = std::move(waiters_.front().fn);
        waiters_.pop_front();
        fn->run();
      }
    }
  }
  closeHandles();
}

}  // namespace handoff::store
