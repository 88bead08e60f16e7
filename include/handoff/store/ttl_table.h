// A table for records that all live the same time — authorization codes, session transfer
// tokens — built for memory: the records are kept in a queue in the order they arrived, which is
// the order they expire in, and a compact index finds them by key.
//
// - The queue is a deque of fixed chunks of {key, record}: no allocation per record, no separate
//   expiry queue, no empty slots but the unused end of the last chunk. Records leave from its head
//   (expire); one that is erased before reaching the head leaves a hole (zero key) that the head
//   passes later, at the time the record would have expired.
// - The index is open addressing over 8-byte slots: 32 bits of the key's hash (never 0: 0 marks an
//   empty slot) and the low 32 bits of the record's place in the queue. Its load factor (grows at
//   7/8, so between 7/16 and 7/8) costs 8 bytes per empty slot, where a TokenTable pays a whole
//   record. The home slot is the top bits of the hash, so growing and backward-shift deletion
//   read only the index; a lookup compares the full key in the queue when 32 bits match.
// - Keys are CSPRNG bits chosen by the server: hashed like TokenTable (one multiply, per-table
//   seed). The all-zero key marks holes and is never stored: inserting it fails (2^-128).
//
// R is default-constructible and movable; `expire` reads the queue's head records through the
// caller's `due`, so an erased record must keep the fields `due` reads.
//
// Thread-bound: one table per shard, touched only by its owner shard.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>

#include "handoff/store/token_table.h"

namespace handoff::store {

template <class R>
class TtlTable {
 public:
  struct Entry {
    TokenKey key;  // {0, 0}: a hole
    R rec{};
  };
  static constexpr unsigned kChunkShift = 9;  // 512 entries a chunk
  static constexpr size_t kChunk = size_t{1} << kChunkShift;

  // `firstPlace` (a multiple of kChunk) is where the queue's places start: tests use it to cross
  // the 2^32 wrap of the index's place numbers.
  explicit TtlTable(size_t initialIndex = 256, uint64_t firstPlace = 0)
      : seed_(nextTableSeed()), head_(firstPlace & ~uint64_t{kChunk - 1}), tail_(head_) {
    size_t cap = 16;
    while (cap < initialIndex) cap *= 2;
    allocate(cap);
  }

  size_t size() const { return size_; }                // live records
  size_t queued() const { return size_t(tail_ - head_); }  // live records and holes
  size_t indexSlots() const { return mask_ + 1; }
  // What the table holds in memory: the index, the chunks (and the spare), the chunk list.
  size_t bytes() const {
    return indexSlots() * sizeof(Slot) + (chunks_.size() + (spare_ ? 1 : 0)) * kChunk * sizeof(Entry) +
           chunks_.size() * sizeof(void*);
  }

  R* find(const TokenKey& k) {
    size_t i = slotOf(k);
    return i == kNone ? nullptr : &at(index_[i].seq).rec;
  }

  // Appends a record for `k` at the tail and returns it (default-constructed); nullptr when `k`
  // is present already or is the zero key (2^-128 events for random keys, reported rather than
  // overwritten).
  R* insert(const TokenKey& k) {
    if (k == TokenKey{}) return nullptr;
    if ((size_ + 1) * 8 > indexSlots() * 7) grow();
    uint32_t tag = tagOf(k);
    size_t i = homeOf(tag);
    for (;; i = (i + 1) & mask_) {
      const Slot& s = index_[i];
      if (s.tag == 0) break;
      if (s.tag == tag && at(s.seq).key == k) return nullptr;
    }
    if (tail_ - head_ >= (uint64_t{1} << 32)) std::abort();  // 4 G queued records: seq would wrap
    if ((tail_ & (kChunk - 1)) == 0) {
      chunks_.push_back(spare_ ? std::move(spare_) : std::make_unique<Entry[]>(kChunk));
    }
    Entry& e = at(static_cast<uint32_t>(tail_));
    e.key = k;
    index_[i] = {tag, static_cast<uint32_t>(tail_)};
    ++tail_;
    ++size_;
    return &e.rec;
  }

  // Takes `k` out of the index and returns its record, which stays in the queue as a hole until
  // the head passes it: the caller moves out what it needs (and leaves what `due` reads).
  // nullptr when absent.
  R* erase(const TokenKey& k) {
    size_t i = slotOf(k);
    if (i == kNone) return nullptr;
    Entry& e = at(index_[i].seq);
    eraseSlot(i);
    e.key = {};
    --size_;
    return &e.rec;
  }

  // Pops records off the head while `due(rec)` says they are due: a live record is first handed
  // to `drop(key, rec)` and taken out of the index, a hole just goes. Returns how many live
  // records left.
  template <class Due, class Drop>
  size_t expire(Due&& due, Drop&& drop) {
    size_t dropped = 0;
    while (head_ != tail_) {
      Entry& e = at(static_cast<uint32_t>(head_));
      if (!due(static_cast<const R&>(e.rec))) break;
      if (!(e.key == TokenKey{})) {
        drop(static_cast<const TokenKey&>(e.key), e.rec);
        eraseSlot(slotOf(e.key));
        --size_;
        ++dropped;
      }
      e = Entry{};
      ++head_;
      if ((head_ & (kChunk - 1)) == 0 || head_ == tail_) retireHeadChunk();
    }
    return dropped;
  }

 private:
  static constexpr size_t kNone = ~size_t{0};
  struct Slot {
    uint32_t tag = 0;  // 0: empty
    uint32_t seq = 0;  // the record's place in the queue, modulo 2^32
  };

  uint64_t hashOf(const TokenKey& k) const { return (k.lo ^ seed_) * 0x9E3779B97F4A7C15ull; }
  static uint32_t tagOf(uint64_t h) { return static_cast<uint32_t>(h >> 32) | 1u; }
  uint32_t tagOf(const TokenKey& k) const { return tagOf(hashOf(k)); }
  // The top bits of the hash; the tag's forced low bit is below them (the index stays < 2^32).
  size_t homeOf(uint32_t tag) const { return static_cast<size_t>(tag >> (32 - bits_)); }

  // The queue entry whose place is `seq` modulo 2^32: places in use span less than 2^32.
  Entry& at(uint32_t seq) {
    uint64_t place = head_ + static_cast<uint32_t>(seq - static_cast<uint32_t>(head_));
    size_t chunk = static_cast<size_t>((place >> kChunkShift) - (head_ >> kChunkShift));
    return chunks_[chunk][place & (kChunk - 1)];
  }

  size_t slotOf(const TokenKey& k) {
    if (k == TokenKey{}) return kNone;
    uint32_t tag = tagOf(k);
    for (size_t i = homeOf(tag);; i = (i + 1) & mask_) {
      const Slot& s = index_[i];
      if (s.tag == 0) return kNone;
      if (s.tag == tag && at(s.seq).key == k) return i;
    }
  }

  // Backward-shift deletion (as TokenTable): later slots of the run move into the hole unless
  // their home lies cyclically in (hole, i].
  void eraseSlot(size_t hole) {
    index_[hole] = {};
    for (size_t i = (hole + 1) & mask_; index_[i].tag != 0; i = (i + 1) & mask_) {
      size_t h = homeOf(index_[i].tag);
      bool homeBetween = hole <= i ? (h > hole && h <= i) : (h > hole || h <= i);
      if (homeBetween) continue;
      index_[hole] = index_[i];
      index_[i] = {};
      hole = i;
    }
  }

  // The head chunk is spent (or the queue is empty): its entries were reset as they were popped.
  // One spare is kept, so a table that hovers at a chunk boundary does not allocate each time.
  void retireHeadChunk() {
    if (head_ == tail_ && (head_ & (kChunk - 1)) != 0) {
      // Empty queue in the middle of a chunk: start the next insert on a fresh chunk boundary.
      head_ = tail_ = (tail_ | (kChunk - 1)) + 1;
    }
    if (!spare_) spare_ = std::move(chunks_.front());
    chunks_.pop_front();
  }

  void allocate(size_t cap) {
    if (cap > (size_t{1} << 31)) std::abort();  // the home must come from the tag's top bits
    index_ = std::make_unique<Slot[]>(cap);
    mask_ = cap - 1;
    bits_ = 0;
    for (size_t c = cap; c > 1; c >>= 1) ++bits_;
  }

  void grow() {
    std::unique_ptr<Slot[]> old = std::move(index_);
    size_t oldCap = mask_ + 1;
    allocate(oldCap * 2);
    for (size_t j = 0; j < oldCap; ++j) {
      if (old[j].tag == 0) continue;
      size_t i = homeOf(old[j].tag);
      while (index_[i].tag != 0) i = (i + 1) & mask_;
      index_[i] = old[j];
    }
  }

  std::unique_ptr<Slot[]> index_;
  size_t mask_ = 0;
  unsigned bits_ = 0;  // log2 of the index's capacity
  uint64_t seed_;
  size_t size_ = 0;
  uint64_t head_ = 0, tail_ = 0;  // places: the first queued, one past the last
  std::deque<std::unique_ptr<Entry[]>> chunks_;  // chunks_[0] holds place head_ (if any)
  std::unique_ptr<Entry[]> spare_;
};

}  // namespace handoff::store
