// The tenant journal: the management API's changes to clients and users,
// durable on top of the configuration file's tenant (DESIGN.md §1
// "Durability"). One file, DATA_DIR/tenant.journal, framed exactly like a
// shard's log (Wal::frame: length, CRC-32C of type+payload, type, payload).
// Each record sets a whole client or user, or deletes one, so replaying it is
// idempotent and the last record about a name wins.
//
// open() reads every good frame and cuts a torn tail (a crash mid-append) at
// the last good checksum. append() writes one frame and fdatasyncs it before
// returning: it blocks, so it runs on libuv's pool, one call at a time (the
// caller serialises; tenant changes are rare). Not thread-safe; owned by
// whoever serialises the tenant's changes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "handoff/core/result.h"
#include "handoff/store/journal.h"

namespace handoff::store {

class TenantJournal {
 public:
  ~TenantJournal();
  TenantJournal(const TenantJournal&) = delete;
  TenantJournal& operator=(const TenantJournal&) = delete;

  // Opens (or creates, 0600) `path` and calls onRecord for each good record in
  // order; a false return refuses the start (a record the caller cannot read).
  // A torn tail is cut and counted in tornBytes(); creating the file fsyncs its
  // directory.
  static core::Result<std::unique_ptr<TenantJournal>> open(
      const std::string& path, const std::function<bool(RecordType, std::string_view)>& onRecord);

  // Appends records (one write) and makes them durable. On a failed write or
  // sync the file is truncated back to its last good size, so a failure leaves
  // nothing half-written.
  core::Status append(const std::vector<std::pair<RecordType, std::string>>& records);

  uint64_t records() const { return records_; }
  uint64_t size() const { return size_; }
  uint64_t tornBytes() const { return torn_; }

 private:
  TenantJournal() = default;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t records_ = 0;
  uint64_t torn_ = 0;
};

}  // namespace handoff::store
