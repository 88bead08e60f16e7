// The tenant log: Auth0-shaped events (SPEC.md §7), kept in memory for GET /api/v2/logs and
// appended, one JSON object per line, to an optional sink file.
//
// Contracts:
//  - EventLog is thread-safe. emit(shard, …) is meant to be called only by shard `shard` (one
//    thread per shard slot: the slot's log-id sequence is not locked); queries may come from any
//    thread. Each slot keeps a bounded ring of rendered lines behind its own mutex, which only a
//    reader copying ids or lines ever contends for.
//  - Counters are relaxed atomics, summed by whoever renders /metrics without any lock.
//  - The log renders what it is given. It cannot tell a token from a name: callers must NEVER
//    put tokens, codes, client secrets, passwords or cookie values into an Event (not in the
//    description, not in details); log ids or hashes instead (SPEC.md §7, SECURITY.md).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "handoff/core/result.h"

namespace handoff::events {

// One tenant log event, as an endpoint describes it. Empty strings are left out of the JSON.
struct Event {
  std::string_view type;  // Auth0's code: "s", "f", "w", "sertft", "fertft", "seacft", "feacft", "slo", ...
  std::string description;
  std::string clientId, clientName, userId, userName, ip, userAgent;
  std::string detailsJson = "{}";  // one JSON object; "{}" (or "") leaves `details` out
};

// The types counted one by one for /metrics; any other type is counted as "other".
inline constexpr std::array<std::string_view, 8> kCountedTypes = {"s",      "f",      "w",      "sertft",
                                                                  "fertft", "seacft", "feacft", "slo"};

// A log_id: 25 decimal digits, milliseconds since the epoch (15), the shard (4) and a sequence
// number within that millisecond (6). Fixed width, so text order is time order; unique per
// process as long as a shard's clock does not run backwards (each shard clamps it).
struct LogId {
  uint64_t ms = 0;
  uint32_t shard = 0;
  uint32_t seq = 0;
  auto operator<=>(const LogId&) const = default;
};
inline constexpr size_t kLogIdLength = 25;
std::string formatLogId(const LogId& id);
// nullopt unless `text` is exactly kLogIdLength digits.
std::optional<LogId> parseLogId(std::string_view text);

// The `q` of GET /api/v2/logs: a small subset of Auth0's Lucene syntax. Terms `field:value`
// (value unquoted, with backslash escapes, or "quoted"; a trailing '*' matches a prefix) over
// the fields type, user_id and client_id, joined by AND and OR (AND binds tighter). Matching is
// exact and case-sensitive, as Auth0's.
struct LogFilter {
  enum class Field : uint8_t { kType, kUserId, kClientId };
  struct Term {
    Field field = Field::kType;
    std::string value;
    bool prefix = false;
  };
  std::vector<std::vector<Term>> anyOf;  // OR of AND-groups; empty: everything matches

  bool matches(std::string_view type, std::string_view userId, std::string_view clientId) const;
};

// Fails (kInvalidArgument, with a message for the 400 answer) on anything outside the subset.
core::Result<LogFilter> parseLogFilter(std::string_view q);

// A GET /api/v2/logs request. Search mode (no `from`): newest first unless `ascending`, pages of
// perPage, only the first kMaxSearchResults matches reachable. Checkpoint mode (`from` given):
// the events after `from` in log_id order (ascending), at most `take`; everything else ignored,
// as Auth0 does.
struct LogQuery {
  static constexpr size_t kMaxPerPage = 100;
  static constexpr size_t kMaxSearchResults = 1000;

  size_t page = 0;
  size_t perPage = 50;
  bool includeTotals = false;
  bool ascending = false;  // sort=date:1
  LogFilter filter;

  bool checkpoint = false;
  std::optional<LogId> from;  // checkpoint with no id (from=""): from the oldest event kept
  size_t take = 50;
};

// Builds a LogQuery from the decoded query-string pairs of GET /api/v2/logs: page, per_page,
// include_totals, sort (date:1 | date:-1), q, from, take; fields and include_fields are accepted
// and ignored (every field is returned). Unknown names and bad values fail with kInvalidArgument
// and an Auth0-style "Query validation error: …" message.
core::Result<LogQuery> parseLogQuery(std::span<const std::pair<std::string_view, std::string_view>> params);

// The answer to a query: the JSON text, and the log_id of its last event (empty when none), from
// which the next checkpoint request starts.
struct LogPage {
  std::string body;
  std::string lastLogId;
  size_t count = 0;
};

class EventLog {
 public:
  // `shards` slots, each keeping its newest `ringCapacityPerShard` events (at least 1). With a
  // `sinkPath`, the file is opened (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0600) here; check
  // sinkStatus() before use.
  EventLog(unsigned shards, size_t ringCapacityPerShard, std::string sinkPath);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // The error opening the sink, if any (then no line is written to it).
  const core::Status& sinkStatus() const { return sinkStatus_; }

  // Stamps `date` (RFC 3339 UTC, milliseconds) and `log_id`, renders the JSON line once, keeps it
  // in shard `shard`'s ring (dropping the oldest when full) and, with a sink, appends it with one
  // write(2). A failed or short write is counted (sinkErrors), never fatal. Returns the log_id
  // (formatLogId gives its text). Called by shard `shard` only; `shard` < shards() (aborts
  // otherwise: a programming error).
  LogId emit(unsigned shard, Event e);

  // The JSON of a query: an array, or with includeTotals (search mode)
  // {"start","limit","length","total","logs":[…]}. Thread-safe; copies only what it returns.
  std::string query(const LogQuery& q) const { return queryPage(q).body; }
  LogPage queryPage(const LogQuery& q) const;

  // The event with that log_id, if it is still in its ring.
  std::optional<std::string> find(std::string_view logId) const;

  // Events emitted of a type in kCountedTypes, or of any other type for "other".
  uint64_t emitted(std::string_view type) const;
  uint64_t sinkErrors() const;
  unsigned shards() const { return shardCount_; }
  size_t ringCapacity() const { return capacity_; }

  // Milliseconds since the epoch; replaceable before the first emit (tests).
  using Clock = int64_t (*)();
  void setClockForTesting(Clock clock) { clock_ = clock; }

 private:
  struct Slot;
  struct Hit;
  // Collects matching ids per slot, merges them, then copies the chosen lines.
  std::vector<Hit> collect(const LogQuery& q, size_t* total) const;

  unsigned shardCount_;
  size_t capacity_;
  std::unique_ptr<Slot[]> slots_;
  int sinkFd_ = -1;
  core::Status sinkStatus_;
  Clock clock_;
};

}  // namespace handoff::events
