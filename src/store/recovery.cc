// Recovery: snapshot + log replay per old shard, torn tails cut, re-homing, compaction.
#include "handoff/store/recovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "handoff/core/log.h"
#include "handoff/store/wal.h"
#include "handoff/store/wire.h"

namespace handoff::store {

using core::Errc;
using core::Error;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kMaxFrame = 64u << 20;

core::Result<std::string> readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(Errc::kIo, "cannot open " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Error(Errc::kIo, "cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int syncPath(const std::string& path, bool dir) {
  int fd = ::open(path.c_str(), (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

struct ShardFiles {
  unsigned shard = 0;
  std::string dir;
  std::vector<uint64_t> segments;  // ascending
  uint64_t snapshot = 0;           // 0: none
};

std::vector<ShardFiles> listShards(const std::string& storeDir) {
  std::vector<ShardFiles> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(storeDir, ec)) {
    unsigned k = 0;
    char tail = 0;
    std::string name = e.path().filename().string();
    if (!e.is_directory() || std::sscanf(name.c_str(), "shard-%u%c", &k, &tail) != 1) continue;
    ShardFiles f{k, e.path().string(), {}, 0};
    for (const auto& g : fs::directory_iterator(e.path(), ec)) {
      uint64_t n = 0;
      char ext[8] = {0};
      if (std::sscanf(g.path().filename().string().c_str(), "%16" SCNx64 ".%5s", &n, ext) != 2) continue;
      if (std::strcmp(ext, "wal") == 0) f.segments.push_back(n);
      else if (std::strcmp(ext, "snap") == 0) f.snapshot = std::max(f.snapshot, n);
    }
    std::sort(f.segments.begin(), f.segments.end());
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const ShardFiles& a, const ShardFiles& b) { return a.shard < b.shard; });
  return out;
}

// Finishes or undoes a layout swap a crash interrupted.
core::Status settleSwap(const std::string& storeDir) {
  std::error_code ec;
  std::string fresh = storeDir + ".new", old = storeDir + ".old";
  if (fs::exists(fresh) && !fs::exists(storeDir)) {
    fs::rename(fresh, storeDir, ec);  // the new layout was complete: the crash came between renames
    if (ec) return Error(Errc::kIo, "cannot rename " + fresh + ": " + ec.message());
  }
  fs::remove_all(fresh, ec);  // incomplete: the old layout is still whole
  fs::remove_all(old, ec);
  return {};
}

}  // namespace

std::string shardDir(const std::string& storeDir, unsigned shard) { return storeDir + "/shard-" + std::to_string(shard); }

size_t readFrames(std::string_view data, const std::function<bool(RecordType, std::string_view)>& onRecord,
                  bool* recordRefused) {
  size_t good = 0;
  while (data.size() - good >= 9) {
    Reader r(data.substr(good, 8));
    uint32_t len = r.u32(), crc = r.u32();
    if (len > kMaxFrame || data.size() - good - 9 < len) break;
    std::string_view body = data.substr(good + 8, 1 + static_cast<size_t>(len));
    if (crc32c(body.data(), body.size()) != crc) break;
    if (!onRecord(static_cast<RecordType>(static_cast<uint8_t>(body[0])), body.substr(1))) {
      if (recordRefused != nullptr) *recordRefused = true;
      break;
    }
    good += 9 + len;
  }
  return good;
}

core::Result<RecoveryReport> recoverStore(const std::string& storeDir, const std::vector<ShardStore*>& stores,
                                          uint64_t nowMs) {
  auto t0 = std::chrono::steady_clock::now();
  RecoveryReport rep;
  if (auto st = settleSwap(storeDir); !st) return st.error();
  const unsigned n = static_cast<unsigned>(stores.size());
  std::vector<ShardFiles> shards = listShards(storeDir);
  rep.previousShards = static_cast<unsigned>(shards.size());
  // A creating record goes to the store of its home (mod n); a record about an existing one goes
  // where that one is (it was placed by its own home); one about nothing known is dropped (its
  // subject was reaped before a snapshot).
  auto apply = [&](RecordType t, std::string_view p) {
    if (auto home = ShardStore::peekHome(t, p)) return stores[*home % n]->apply(t, p);
    if (!ShardStore::knownType(t)) return false;  // written by a newer version: cannot be read safely
    for (ShardStore* s : stores) {
      if (s->holds(t, p)) return s->apply(t, p);
    }
    Reader r(p);
    r.key();
    return r.ok();  // well-formed but about nothing we hold: dropped
  };
  auto records = [&] {
    uint64_t c = 0;
    for (const ShardStore* s : stores) c += s->durableRecords();
    return c;
  };
  for (const ShardFiles& f : shards) {
    bool refused = false;
    if (f.snapshot != 0) {
      std::string path = f.dir + "/" + Wal::snapshotName(f.snapshot);
      auto data = readFile(path);
      if (!data) return data.error();
      uint64_t before = records();
      size_t good = readFrames(*data, apply, &refused);
      if (good != data->size() || refused) {
        return Error(Errc::kInvalidArgument, path + " is damaged at byte " + std::to_string(good) +
                                                 ": refusing to start on a store that cannot be read safely");
      }
      rep.snapshotRecords += records() - before;
    }
    std::vector<uint64_t> replay;
    for (uint64_t s : f.segments) {
      if (s >= f.snapshot) replay.push_back(s);
    }
    for (size_t i = 0; i < replay.size(); ++i) {
      std::string path = f.dir + "/" + Wal::segmentName(replay[i]);
      auto data = readFile(path);
      if (!data) return data.error();
      size_t good = readFrames(*data, [&](RecordType t, std::string_view p) {
        ++rep.logRecords;
        return apply(t, p);
      }, &refused);
      ++rep.segments;
      if (good == data->size()) continue;
      // The zeros a segment is kept filled with past its last record (Wal::kZeroAhead): its end.
      if (!refused && std::all_of(data->begin() + static_cast<std::ptrdiff_t>(good), data->end(), [](char c) { return c == 0; })) continue;
      if (refused || i + 1 != replay.size()) {
        return Error(Errc::kInvalidArgument, path + " is damaged at byte " + std::to_string(good) +
                                                 ": refusing to start on a store that cannot be read safely");
      }
      // A crash mid-write: the tail after the last good frame was never acknowledged.
      rep.tornBytes += data->size() - good;
      core::logWarn("store: torn log tail cut", {{"file", path}, {"at", static_cast<unsigned long long>(good)},
                                                 {"bytes", static_cast<unsigned long long>(data->size() - good)}});
      if (::truncate(path.c_str(), static_cast<off_t>(good)) != 0) {
        return Error(Errc::kIo, "cannot truncate " + path + ": " + std::strerror(errno));
      }
    }
  }

  // Compaction into the current layout: store.new/shard-<j>/0000000000000001.snap, then swap.
  std::string fresh = storeDir + ".new", old = storeDir + ".old";
  std::error_code ec;
  fs::remove_all(fresh, ec);
  if (!fs::create_directories(fresh, ec) && ec) return Error(Errc::kIo, "cannot create " + fresh + ": " + ec.message());
  for (unsigned j = 0; j < n; ++j) {
    std::string dir = shardDir(fresh, j);
    fs::create_directories(dir, ec);
    std::string state;
    stores[j]->snapshot(nowMs, [&](RecordType t, std::string_view p) { Wal::frame(state, t, p); });
    std::string path = dir + "/" + Wal::snapshotName(1);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Error(Errc::kIo, "cannot create " + path + ": " + std::strerror(errno));
    size_t off = 0;
    while (off < state.size()) {
      ssize_t w = ::write(fd, state.data() + off, state.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        int e = errno;
        ::close(fd);
        return Error(Errc::kIo, "cannot write " + path + ": " + std::strerror(e));
      }
      off += static_cast<size_t>(w);
    }
    if (::fsync(fd) != 0) {
      int e = errno;
      ::close(fd);
      return Error(Errc::kIo, "cannot sync " + path + ": " + std::strerror(e));
    }
    ::close(fd);
    syncPath(dir, true);
    rep.compactedBytes += state.size();
  }
  syncPath(fresh, true);
  std::string parent = fs::path(storeDir).parent_path().string();
  if (fs::exists(storeDir)) {
    fs::rename(storeDir, old, ec);
    if (ec) return Error(Errc::kIo, "cannot rename " + storeDir + ": " + ec.message());
  }
  fs::rename(fresh, storeDir, ec);
  if (ec) return Error(Errc::kIo, "cannot rename " + fresh + ": " + ec.message());
  syncPath(parent.empty() ? "." : parent, true);
  fs::remove_all(old, ec);
  rep.elapsedMs = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace handoff::store
