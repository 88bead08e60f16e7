#include "handoff/events/event_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include "handoff/core/log.h"
#include "handoff/core/text.h"

namespace handoff::events {

using core::Errc;
using core::Error;

namespace {

constexpr uint64_t kMaxMs = 999'999'999'999'999;  // 15 digits: the year 33658
constexpr uint32_t kMaxShards = 9999;             // 4 digits
constexpr uint32_t kMaxSeq = 999'999;             // 6 digits per shard per millisecond

int64_t systemNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Writes v as exactly `width` decimal digits, zero-padded (v must fit). printf costs more than
// the rest of an event on the request path.
char* putDigits(char* p, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
  return p + width;
}

// "2026-11-28T01:02:03" of a second since the epoch: 19 characters into `p`.
void formatSecond(char* p, uint64_t second) {
  time_t sec = static_cast<time_t>(second);
  tm t{};
  gmtime_r(&sec, &t);
  p = putDigits(p, static_cast<uint64_t>(std::clamp(t.tm_year + 1900, 0, 9999)), 4);
  *p++ = '-';
  p = putDigits(p, static_cast<uint64_t>(t.tm_mon + 1), 2);
  *p++ = '-';
  p = putDigits(p, static_cast<uint64_t>(t.tm_mday), 2);
  *p++ = 'T';
  p = putDigits(p, static_cast<uint64_t>(t.tm_hour), 2);
  *p++ = ':';
  p = putDigits(p, static_cast<uint64_t>(t.tm_min), 2);
  *p++ = ':';
  putDigits(p, static_cast<uint64_t>(t.tm_sec), 2);
}

void appendField(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out.push_back(',');
  out.push_back('"');
  out.append(key);
  out.append("\":");
  core::appendJsonString(out, value);
}

// The kLogIdLength digits of `id` into `p`.
void putLogId(char* p, const LogId& id) {
  p = putDigits(p, std::min(id.ms, kMaxMs), 15);
  p = putDigits(p, std::min(id.shard, kMaxShards), 4);
  putDigits(p, std::min(id.seq, kMaxSeq), 6);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

size_t typeSlot(std::string_view type) {
  for (size_t i = 0; i < kCountedTypes.size(); ++i) {
    if (kCountedTypes[i] == type) return i;
  }
  return kCountedTypes.size();
}

}  // namespace

std::string formatLogId(const LogId& id) {
  std::string out(kLogIdLength, '0');
  putLogId(out.data(), id);
  return out;
}

std::optional<LogId> parseLogId(std::string_view text) {
  if (text.size() != kLogIdLength) return std::nullopt;
  uint64_t parts[3] = {0, 0, 0};
  constexpr size_t kWidths[3] = {15, 4, 6};
  size_t pos = 0;
  for (size_t p = 0; p < 3; ++p) {
    for (size_t i = 0; i < kWidths[p]; ++i, ++pos) {
      char c = text[pos];
      if (c < '0' || c > '9') return std::nullopt;
      parts[p] = parts[p] * 10 + static_cast<uint64_t>(c - '0');
    }
  }
  return LogId{parts[0], static_cast<uint32_t>(parts[1]), static_cast<uint32_t>(parts[2])};
}

// One shard's slice of the log. The ring holds lines in log_id order (a shard's ids only grow).
struct alignas(64) EventLog::Slot {
  struct Entry {
    LogId id;
    std::string type, userId, clientId;
    std::string line;  // the rendered JSON object, '\n' included (the sink's bytes)
  };

  mutable std::mutex mu;
  std::vector<Entry> ring;  // grows to the capacity, then overwrites the oldest
  size_t head = 0;          // index of the oldest entry once the ring is full

  // Written by the slot's shard only.
  uint64_t lastMs = 0;
  uint32_t seq = 0;
  std::string scratch;                // the line being rendered (keeps its capacity)
  uint64_t dateSecond = UINT64_MAX;   // the second `date` holds
  char date[19];                      // formatSecond(dateSecond): gmtime once a second

  // "date" of an event at `ms`: 2026-11-28T01:02:03.456Z.
  void appendDate(std::string& out, uint64_t ms) {
    if (ms / 1000 != dateSecond) {
      dateSecond = ms / 1000;
      formatSecond(date, dateSecond);
    }
    char tail[5] = {'.', 0, 0, 0, 'Z'};
    putDigits(tail + 1, ms % 1000, 3);
    out.append(date, sizeof date).append(tail, sizeof tail);
  }

  std::array<std::atomic<uint64_t>, kCountedTypes.size() + 1> counts{};
  std::atomic<uint64_t> sinkErrors{0};

  // i-th entry in log_id order (0: the oldest). Caller holds mu.
  const Entry& at(size_t i) const { return ring[(head + i) % ring.size()]; }
  // Index of the first entry whose id is greater than `id`. Caller holds mu.
  size_t upperBound(const LogId& id) const {
    size_t lo = 0, hi = ring.size();
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (at(mid).id <= id) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  const Entry* find(const LogId& id) const {
    size_t i = upperBound(id);
    return i > 0 && at(i - 1).id == id ? &at(i - 1) : nullptr;
  }
};

struct EventLog::Hit {
  LogId id;
  std::string line;  // without the '\n'
};

EventLog::EventLog(unsigned shards, size_t ringCapacityPerShard, std::string sinkPath)
    : shardCount_(std::clamp(shards, 1u, kMaxShards)),
      capacity_(std::max<size_t>(ringCapacityPerShard, 1)),
      slots_(new Slot[shardCount_]),
      clock_(systemNowMs) {
  if (sinkPath.empty()) return;
  sinkFd_ = ::open(sinkPath.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (sinkFd_ < 0) sinkStatus_ = Error(Errc::kIo, "cannot open event sink " + sinkPath + ": " + std::strerror(errno));
}

EventLog::~EventLog() {
  if (sinkFd_ >= 0) ::close(sinkFd_);
}

LogId EventLog::emit(unsigned shard, Event e) {
  if (shard >= shardCount_) {
    core::logError("events: emit from an unknown shard", {{"shard", shard}, {"shards", shardCount_}});
    std::abort();
  }
  Slot& slot = slots_[shard];

  // Stamp: the wall clock, never earlier than this shard's previous event, so that its ids grow.
  int64_t now = clock_();
  uint64_t ms = now > 0 ? static_cast<uint64_t>(now) : 0;
  if (ms <= slot.lastMs) {
    ms = slot.lastMs;
    if (++slot.seq > kMaxSeq) {
      ++ms;
      slot.seq = 0;
    }
  } else {
    slot.seq = 0;
  }
  slot.lastMs = ms;
  LogId id{ms, shard, slot.seq};

  std::string_view details = trim(e.detailsJson);
  if (!details.empty() && (details.front() != '{' || details.back() != '}')) {
    core::logWarn("events: details is not a JSON object; left out", {{"type", e.type}});
    details = {};
  }
  std::string& line = slot.scratch;
  line.clear();
  line.reserve(160 + e.description.size() + e.userAgent.size() + details.size());
  line.append("{\"date\":\"");
  slot.appendDate(line, ms);
  line.push_back('"');
  appendField(line, "type", e.type);
  appendField(line, "description", e.description);
  appendField(line, "client_id", e.clientId);
  appendField(line, "client_name", e.clientName);
  appendField(line, "ip", e.ip);
  appendField(line, "user_agent", e.userAgent);
  appendField(line, "user_id", e.userId);
  appendField(line, "user_name", e.userName);
  if (!details.empty() && details != "{}") line.append(",\"details\":").append(details);
  line.append(",\"log_id\":\"");
  size_t at = line.size();
  line.resize(at + kLogIdLength);
  putLogId(line.data() + at, id);
  line.append("\"}\n");

  // The sink first: the ring's lock is not held across a system call.
  if (sinkFd_ >= 0) {
    ssize_t n;
    do {
      n = ::write(sinkFd_, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(line.size())) slot.sinkErrors.fetch_add(1, std::memory_order_relaxed);
  }

  auto& count = slot.counts[typeSlot(e.type)];
  count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);

  std::lock_guard lock(slot.mu);
  if (slot.ring.size() < capacity_) {
    slot.ring.push_back({id, std::string(e.type), std::move(e.userId), std::move(e.clientId), line});
  } else {
    // A full ring overwrites its oldest entry in place: its strings' buffers are reused.
    Slot::Entry& old = slot.ring[slot.head];
    old.id = id;
    old.type.assign(e.type);
    old.userId.assign(e.userId);
    old.clientId.assign(e.clientId);
    old.line.assign(line);
    slot.head = (slot.head + 1) % capacity_;
  }
  return id;
}

std::vector<EventLog::Hit> EventLog::collect(const LogQuery& q, size_t* total) const {
  // Phase 1: under each slot's lock, the ids that may be answered (cheap to copy).
  std::vector<LogId> ids;
  size_t start = 0, want = 0;
  *total = 0;
  if (q.checkpoint) {
    want = std::min(q.take, LogQuery::kMaxPerPage);
  } else {
    // Only the first kMaxSearchResults matches are reachable by page (as Auth0's).
    bool beyond = q.perPage != 0 && q.page >= LogQuery::kMaxSearchResults / q.perPage + 1;  // no overflow
    start = beyond ? LogQuery::kMaxSearchResults : q.page * q.perPage;
    want = std::min(start + q.perPage, LogQuery::kMaxSearchResults);
  }
  for (unsigned s = 0; s < shardCount_; ++s) {
    const Slot& slot = slots_[s];
    std::lock_guard lock(slot.mu);
    size_t n = slot.ring.size();
    if (q.checkpoint) {
      size_t i = q.from ? slot.upperBound(*q.from) : 0;
      for (size_t taken = 0; i < n && taken < want; ++i, ++taken) ids.push_back(slot.at(i).id);
      continue;
    }
    size_t taken = 0;
    for (size_t k = 0; k < n; ++k) {
      const Slot::Entry& e = slot.at(q.ascending ? k : n - 1 - k);
      if (!q.filter.matches(e.type, e.userId, e.clientId)) continue;
      ++*total;
      if (taken < want) {
        ids.push_back(e.id);
        ++taken;
      } else if (!q.includeTotals) {
        break;
      }
    }
  }

  // Merge: the global order is log_id order.
  bool descending = !q.checkpoint && !q.ascending;
  if (descending) std::sort(ids.begin(), ids.end(), [](const LogId& a, const LogId& b) { return b < a; });
  else std::sort(ids.begin(), ids.end());
  size_t end = std::min(ids.size(), want);
  if (start >= end) return {};

  // Phase 2: copy the chosen lines. One that was dropped in between (its ring wrapped) is skipped.
  std::vector<Hit> hits;
  hits.reserve(end - start);
  for (size_t i = start; i < end; ++i) hits.push_back({ids[i], {}});
  for (unsigned s = 0; s < shardCount_; ++s) {
    const Slot& slot = slots_[s];
    std::lock_guard lock(slot.mu);
    for (Hit& h : hits) {
      if (h.id.shard != s) continue;
      if (const Slot::Entry* e = slot.find(h.id)) h.line.assign(e->line, 0, e->line.size() - 1);
    }
  }
  std::erase_if(hits, [](const Hit& h) { return h.line.empty(); });
  return hits;
}

LogPage EventLog::queryPage(const LogQuery& q) const {
  size_t total = 0;
  std::vector<Hit> hits = collect(q, &total);
  LogPage page;
  size_t bytes = 64;
  for (const Hit& h : hits) bytes += h.line.size() + 1;
  page.body.reserve(bytes);
  bool totals = q.includeTotals && !q.checkpoint;
  if (totals) {
    page.body.append("{\"start\":").append(std::to_string(q.page * q.perPage));
    page.body.append(",\"limit\":").append(std::to_string(q.perPage));
    page.body.append(",\"length\":").append(std::to_string(hits.size()));
    page.body.append(",\"total\":").append(std::to_string(total));
    page.body.append(",\"logs\":");
  }
  page.body.push_back('[');
  for (size_t i = 0; i < hits.size(); ++i) {
    if (i != 0) page.body.push_back(',');
    page.body.append(hits[i].line);
  }
  page.body.push_back(']');
  if (totals) page.body.push_back('}');
  page.count = hits.size();
  if (!hits.empty()) page.lastLogId = formatLogId(hits.back().id);
  return page;
}

std::optional<std::string> EventLog::find(std::string_view logId) const {
  std::optional<LogId> id = parseLogId(logId);
  if (!id || id->shard >= shardCount_) return std::nullopt;
  const Slot& slot = slots_[id->shard];
  std::lock_guard lock(slot.mu);
  const Slot::Entry* e = slot.find(*id);
  if (e == nullptr) return std::nullopt;
  return e->line.substr(0, e->line.size() - 1);
}

uint64_t EventLog::emitted(std::string_view type) const {
  size_t i = type == "other" ? kCountedTypes.size() : typeSlot(type);
  if (i == kCountedTypes.size() && type != "other") return 0;
  uint64_t sum = 0;
  for (unsigned s = 0; s < shardCount_; ++s) sum += slots_[s].counts[i].load(std::memory_order_relaxed);
  return sum;
}

uint64_t EventLog::sinkErrors() const {
  uint64_t sum = 0;
  for (unsigned s = 0; s < shardCount_; ++s) sum += slots_[s].sinkErrors.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace handoff::events
