// Recovery time and bytes per record of the durable store (issue 6).
//
//   recovery_bench [RECORDS=1000000] [OLD_SHARDS=4] [NEW_SHARDS=OLD_SHARDS] [DIR=$TMPDIR]
//
// Writes a data directory straight from ShardStores (no server, no HTTP): each of OLD_SHARDS
// stores journals a login-like mix through its real journal path, framed with Wal::frame into
// DIR/…/store/shard-<k>/0000000000000001.wal, until RECORDS log records exist in all:
//   per login: a refresh family issued, two rotations, a browser session, an opaque access
//   token (5 records); every 10th login also revokes its family and ends its session (+2).
// Strings as the demo tenant's: client "demo-native", user "auth0|" + 24 hex, scope
// "openid profile email offline_access", 22-character session ids.
// Then, timed:
//   1. recoverStore() from the log alone into NEW_SHARDS fresh stores (read, replay, re-home,
//      compact into one snapshot per shard, fsync, rename) — a crash with no snapshot yet;
//   2. recoverStore() again from the compacted snapshots — the usual start.
// Prints log bytes per record, snapshot bytes per record kept (a family — with its index entries
// for every token it had —, a session or an access token), both times, the replay rate and
// the process RSS after each (VmRSS; VmHWM is the peak, generation included). Last, one
// recovered shard's snapshot built all at once (what used to stop its loop) against the steps
// the WAL now takes, one per loop turn (their median, p99 and longest). The generating
// stores are freed before recovery. fsync is real (the directory is on DIR's file system).
// HANDOFF_BENCH_KEEP=1 keeps the data directory (compacted, 4 shards of the demo tenant's
// layout) for timing a real handoffd start on it.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "handoff/store/journal.h"
#include "handoff/store/recovery.h"
#include "handoff/store/shard_store.h"
#include "handoff/store/wal.h"
#include "handoff/store/wire.h"

namespace fs = std::filesystem;
using namespace handoff::store;
using Clock = std::chrono::steady_clock;

namespace {

// Frames every record into a buffer that is appended to the segment file every 64 MiB.
class FileJournal final : public Journal {
 public:
  explicit FileJournal(const std::string& path) : out_(path, std::ios::binary | std::ios::trunc) {}
  ~FileJournal() override { flush(); }
  void append(RecordType type, std::string_view payload) override {
    Wal::frame(buf_, type, payload);
    ++records_;
    if (buf_.size() >= (64u << 20)) flush();
  }
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    bytes_ += buf_.size();
    buf_.clear();
    out_.flush();
  }
  uint64_t records() const { return records_; }
  uint64_t bytes() const { return bytes_ + buf_.size(); }

 private:
  std::ofstream out_;
  std::string buf_;
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
};

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::array<uint8_t, 16> bytes16() {
    std::array<uint8_t, 16> b;
    uint64_t a = next(), c = next();
    std::memcpy(b.data(), &a, 8);
    std::memcpy(b.data() + 8, &c, 8);
    return b;
  }
  std::string hex(size_t n) {
    static const char* d = "0123456789abcdef";
    std::string out;
    while (out.size() < n) {
      uint64_t v = next();
      for (int i = 0; i < 16 && out.size() < n; ++i, v >>= 4) out.push_back(d[v & 15]);
    }
    return out;
  }
};

long rssKb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  }
  return -1;
}

uint64_t nowWallMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

uint64_t dirBytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

// Fresh stores for `shards` shards, and recoverStore() into them, timed.
struct Recovered {
  std::vector<std::unique_ptr<ShardStore>> stores;
  std::vector<ShardStore*> ptrs;
  handoff::core::Result<RecoveryReport> report = RecoveryReport{};
  double seconds = 0;
};

Recovered recoverTimed(const std::string& storeDir, unsigned shards, uint64_t now) {
  Recovered r;
  for (unsigned j = 0; j < shards; ++j) {
    r.stores.push_back(std::make_unique<ShardStore>(static_cast<uint16_t>(j)));
    r.ptrs.push_back(r.stores.back().get());
  }
  auto t0 = Clock::now();
  r.report = recoverStore(storeDir, r.ptrs, now);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each phase's line as soon as it is known
  uint64_t target = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  unsigned oldShards = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 4;
  unsigned newShards = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : oldShards;
  std::string base = argc > 4 ? argv[4] : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  std::string tmpl = base + "/handoff-recovery-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string storeDir = tmpl + "/store";
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      if (std::getenv("HANDOFF_BENCH_KEEP") != nullptr) {
        std::printf("kept the data directory %s (handoffd --data-dir %s)\n", dir.c_str(), dir.c_str());
        return;
      }
      std::error_code ec;
      fs::remove_all(dir, ec);
      fs::remove_all(dir + ".new", ec);
      fs::remove_all(dir + ".old", ec);
    }
  } cleanup{tmpl};

  // ── generate ──
  auto g0 = Clock::now();
  uint64_t logRecords = 0, logBytes = 0, logins = 0;
  uint64_t t = nowWallMs() - 3'600'000;  // an hour ago: nothing has expired
  {
    std::vector<std::unique_ptr<ShardStore>> gen;
    std::vector<std::unique_ptr<FileJournal>> journals;
    for (unsigned k = 0; k < oldShards; ++k) {
      fs::create_directories(shardDir(storeDir, k));
      gen.push_back(std::make_unique<ShardStore>(static_cast<uint16_t>(k)));
      journals.push_back(std::make_unique<FileJournal>(shardDir(storeDir, k) + "/" + Wal::segmentName(1)));
      gen.back()->setJournal(journals.back().get());
    }
    Rng rng{0x9E3779B97F4A7C15ull};
    uint64_t made = 0;
    while (made < target) {
      unsigned k = static_cast<unsigned>(logins % oldShards);
      ShardStore& s = *gen[k];
      uint64_t before = journals[k]->records();
      std::string user = "auth0|" + rng.hex(24), sid = rng.hex(22);
      SessionRecord sess;
      sess.userId = user;
      sess.sid = sid;
      sess.authTime = static_cast<int64_t>(t / 1000);
      TokenId sk = s.putSession(rng.bytes16(), sess, t);
      RefreshFamily f;
      f.clientId = "demo-native";
      f.userId = user;
      f.scope = "openid profile email offline_access";
      f.sessionId = sid;
      f.authTime = sess.authTime;
      f.rotating = true;
      TokenId rt = s.issueRefresh(rng.bytes16(), f, t);
      auto u = s.useRefresh(rt.key, "demo-native", rng.bytes16(), 0, t + 1);
      s.useRefresh(u.rotatedTo->key, "demo-native", rng.bytes16(), 0, t + 2);
      AccessRecord a{.clientId = "demo-native", .userId = user, .scope = f.scope};
      s.putAccess(rng.bytes16(), a, t);
      if (logins % 10 == 9) {
        // The records a revocation and a logout write, journaled directly: the store's own
        // revokeRefresh and endSession scan every session and family of the shard (the cascade,
        // online tokens), which would make generating millions of records quadratic.
        std::string p;
        Writer w(p);
        w.key(rt.key);
        journals[k]->append(RecordType::kFamilyRevoked, p);
        p.clear();
        w.key(sk.key);
        journals[k]->append(RecordType::kSessionEnded, p);
      }
      made += journals[k]->records() - before;
      ++logins;
    }
    for (auto& j : journals) {
      j->flush();
      logRecords += j->records();
      logBytes += j->bytes();
    }
  }  // the generating stores are freed here
  double genS = std::chrono::duration<double>(Clock::now() - g0).count();
  ::sync();
  std::printf("generated %llu log records (%llu logins) in %u shard logs: %.1f MiB, %.1f bytes/record, %.1f s\n",
              static_cast<unsigned long long>(logRecords), static_cast<unsigned long long>(logins), oldShards,
              static_cast<double>(logBytes) / (1 << 20), static_cast<double>(logBytes) / static_cast<double>(logRecords), genS);
  std::printf("RSS after generation (stores freed): %ld MiB, peak %ld MiB\n", rssKb("VmRSS:") / 1024, rssKb("VmHWM:") / 1024);

  // ── 1. from the log ──
  uint64_t now = nowWallMs();
  uint64_t live = 0, snapBytes = 0;
  {
    Recovered r = recoverTimed(storeDir, newShards, now);
    if (!r.report) {
      std::fprintf(stderr, "recovery failed: %s\n", r.report.error().message().c_str());
      return 1;
    }
    std::vector<ShardStore*>& ptrs = r.ptrs;
    auto& rep = r.report;
    double s = r.seconds;
    for (ShardStore* p : ptrs) live += p->durableRecords();
    snapBytes = dirBytes(storeDir);
    std::printf("recovery from the log (%u → %u shards): %.2f s (report %lld ms), %.2f M records/s; "
                "%llu records held (families, revoked ones included, sessions, access tokens); compacted to %.1f MiB, "
                "%.1f bytes per family, session or access token kept\n",
                oldShards, newShards, s, static_cast<long long>(rep->elapsedMs),
                static_cast<double>(logRecords) / s / 1e6, static_cast<unsigned long long>(live),
                static_cast<double>(snapBytes) / (1 << 20), static_cast<double>(snapBytes) / static_cast<double>(live - logins / 10));
    std::printf("RSS with the recovered stores: %ld MiB (peak %ld MiB)\n", rssKb("VmRSS:") / 1024, rssKb("VmHWM:") / 1024);
  }
  // ── 2. from the compacted snapshots ──
  {
    Recovered r = recoverTimed(storeDir, newShards, now);
    if (!r.report) {
      std::fprintf(stderr, "recovery failed: %s\n", r.report.error().message().c_str());
      return 1;
    }
    std::vector<ShardStore*>& ptrs = r.ptrs;
    auto& rep = r.report;
    double s = r.seconds;
    uint64_t again = 0;
    for (ShardStore* p : ptrs) again += p->durableRecords();
    // The log's replay keeps revoked families until a running shard reaps them; snapshots leave
    // them out. Everything else must be there, once.
    uint64_t revoked = logins / 10;
    std::printf("recovery from the snapshots: %.2f s (report %lld ms), %llu records from the snapshots, %llu held%s\n", s,
                static_cast<long long>(rep->elapsedMs), static_cast<unsigned long long>(rep->snapshotRecords),
                static_cast<unsigned long long>(again), again == live - revoked ? "" : " (MISMATCH)");
    std::printf("RSS with the recovered stores: %ld MiB (peak %ld MiB)\n", rssKb("VmRSS:") / 1024, rssKb("VmHWM:") / 1024);
    if (again != live - revoked) return 1;

    // ── 3. a running shard's snapshot: all at once vs in the WAL's steps ──
    // What a shard's loop would be stopped for while its snapshot is built: the whole state in
    // one call, against the longest of the steps the WAL takes (one per loop turn).
    ShardStore& one = *ptrs[0];
    std::string out;
    auto frameInto = [&](RecordType type, std::string_view payload) { Wal::frame(out, type, payload); };
    auto w0 = Clock::now();
    one.snapshot(now, frameInto);
    double wholeMs = std::chrono::duration<double, std::milli>(Clock::now() - w0).count();
    size_t wholeBytes = out.size();
    out.clear();
    out.shrink_to_fit();
    std::vector<double> steps;
    one.beginSnapshot();
    for (bool done = false; !done;) {
      auto s0 = Clock::now();
      done = one.snapshotStep(now, Wal::kSnapshotStepSlots, frameInto);
      steps.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s0).count());
      if (out.size() >= Wal::kSnapshotChunk) out.clear();  // the WAL hands 1 MiB chunks to the pool
    }
    std::sort(steps.begin(), steps.end());
    double sum = 0;
    for (double v : steps) sum += v;
    std::printf("snapshot of shard 0 (%zu records, %.1f MiB): all at once %.1f ms; in %zu steps of %zu slots: "
                "median %.0f us, p99 %.0f us, longest %.0f us, total %.1f ms\n",
                one.durableRecords(), static_cast<double>(wholeBytes) / (1 << 20), wholeMs, steps.size(), Wal::kSnapshotStepSlots,
                steps[steps.size() / 2], steps[steps.size() * 99 / 100], steps.back(), sum / 1000);
  }
  return 0;
}
