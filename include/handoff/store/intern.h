// Shared immutable strings for the values that many short-lived records repeat: client ids,
// scopes, redirect URIs, audiences, organizations, countries, user agents. Each distinct string
// is kept once, with a count of the records that refer to it, and a record holds a 4-byte
// handle instead of a std::string (32 bytes, plus a heap block past 15 characters).
//
// A string leaves with its last reference, so the table holds only what live records use: a
// client that sends a new scope each time costs one entry per live record, never more, and
// nothing accumulates after the records expire.
//
// Some of these strings are the client's choice (a scope, a User-Agent), so the index hashes them
// with SipHash-1-3 under a random key per table: colliding strings cannot be prepared in advance
// to turn lookups into long scans. In front of it, a small direct-mapped cache of recent handles
// (placed by a quick mix of the bytes, confirmed by comparing the string) serves the few values
// that most records repeat without hashing them; a miss there costs one comparison, nothing more.
//
// Thread-bound: one table per ShardStore, touched only by its shard.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace handoff::store {

// SipHash-c-d (Aumasson and Bernstein) of `s` under the 128-bit key (k0, k1), little-endian.
uint64_t sipHash(uint64_t k0, uint64_t k1, std::string_view s, int cRounds = 1, int dRounds = 3);

class InternTable {
 public:
  using Handle = uint32_t;
  static constexpr Handle kEmpty = 0;  // the empty string: never stored, never counted

  InternTable();  // draws the hash key
  InternTable(const InternTable&) = delete;
  InternTable& operator=(const InternTable&) = delete;

  // A new reference to `s` (copied in on its first use). kEmpty for the empty string.
  Handle acquire(std::string_view s);
  // Drops one reference; the string goes with its last. kEmpty is ignored.
  void release(Handle h);
  // The string, valid until its last reference is released. Handles not acquired here abort.
  std::string_view view(Handle h) const;

  size_t size() const { return index_.size(); }  // distinct strings held
  uint32_t references(Handle h) const;             // tests and diagnostics

 private:
  struct Entry {
    std::unique_ptr<char[]> text;  // its own block: the index's keys point into it
    uint32_t size = 0;
    uint32_t refs = 0;             // 0: a free entry (its handle is in free_)
  };
  const Entry& entry(Handle h) const;
  static size_t recentSlot(std::string_view s);

  struct KeyedHash {
    uint64_t k0 = 0, k1 = 0;
    size_t operator()(std::string_view s) const { return static_cast<size_t>(sipHash(k0, k1, s)); }
  };

  std::vector<Entry> entries_;  // handle h is entries_[h - 1]
  std::vector<Handle> free_;
  std::unordered_map<std::string_view, Handle, KeyedHash> index_;
  static constexpr size_t kRecent = 64;  // recentSlot keeps the top 6 bits
  std::array<Handle, kRecent> recent_{};
};

}  // namespace handoff::store
