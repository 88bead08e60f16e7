// An open-addressing hash table for single-use and short-lived records (codes, session transfer
// tokens, refresh-token handles), keyed by the token's own 128 random bits.
//
// The key is CSPRNG output chosen by the server, so it needs no hash of a string: the home slot is
// the top bits of one multiplication of its low word xor a per-table seed (Fibonacci hashing).
// The seed matters: iterating a table visits keys in its own home order, and re-inserting them in
// that order into another table with the same hash (recovery from a snapshot, into a small table
// that grows) would pile them into a few long runs — quadratic. With a seed per table the orders
// of two tables are unrelated. A client presenting made-up tokens can only cause lookups, never
// clustering. Linear probing in a power-of-two array with
// backward-shift deletion (no tombstones), so lookups stay short after any number of erases.
// Grows at 7/8 load; never shrinks.
//
// Thread-bound: one table per shard, touched only by its owner shard.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace handoff::store {

struct TokenKey {
  uint64_t lo = 0, hi = 0;
  friend bool operator==(const TokenKey&, const TokenKey&) = default;
};

// For std::unordered_map keyed by tokens: the bits are random already.
struct TokenKeyHash {
  size_t operator()(const TokenKey& k) const { return static_cast<size_t>(k.lo ^ (k.hi * 0x9E3779B97F4A7C15ull)); }
};

// A scan that may be spread over many steps while the table keeps changing between them (a
// snapshot built across loop turns). Every record present when the scan begins and still
// present when it ends is visited at least once (with its value as of the visit); some may be
// visited twice; records inserted meanwhile may or may not be. It walks the slots in order; the
// two things that could carry an unvisited record behind the cursor report the record instead:
// an erase's backward shift out of the unvisited part into the visited one, and a growth (which
// hands over every unvisited record and ends the walk). One scan at a time per table.
struct TableScan {
  size_t next = 0;              // the first slot not yet visited
  std::vector<TokenKey> moved;  // records carried behind the cursor: visited by key
};

// Distinct, well-mixed seeds for the tables' hashes (splitmix64 of a counter): tables differ,
// runs are repeatable.
inline uint64_t nextTableSeed() {
  static std::atomic<uint64_t> counter{0};
  uint64_t z = counter.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <class V>
class TokenTable {
 public:
  explicit TokenTable(size_t initialCapacity = 1024) : seed_(nextTableSeed()) {
    size_t cap = 16;
    while (cap < initialCapacity) cap *= 2;
    allocate(cap);
  }

  size_t size() const { return size_; }
  size_t capacity() const { return mask_ + 1; }
  // The longest run of occupied slots: what the worst lookup probes (tests, diagnostics).
  size_t longestRun() const {
    size_t best = 0, run = 0;
    for (size_t i = 0; i <= 2 * mask_ + 1; ++i) {  // twice round: a run may wrap
      run = slots_[i & mask_].used ? run + 1 : 0;
      best = std::max(best, run);
    }
    return std::min(best, mask_ + 1);
  }

  V* find(const TokenKey& k) {
    size_t i = indexOf(k);
    return i == kNone ? nullptr : &slots_[i].value;
  }

  // Inserts a new record; false if the key is already present (a 2^-128 event for random keys,
  // reported rather than overwritten).
  bool insert(const TokenKey& k, V value) {
    if ((size_ + 1) * 8 > capacity() * 7) rehash(capacity() * 2);
    for (size_t i = home(k);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used) {
        s.key = k;
        s.value = std::move(value);
        s.used = true;
        ++size_;
        return true;
      }
      if (s.key == k) return false;
    }
  }

  // Removes and returns the record: the one step that makes a token single-use.
  std::optional<V> take(const TokenKey& k) {
    size_t i = indexOf(k);
    if (i == kNone) return std::nullopt;
    std::optional<V> out(std::move(slots_[i].value));
    eraseAt(i);
    return out;
  }

  bool erase(const TokenKey& k) {
    size_t i = indexOf(k);
    if (i == kNone) return false;
    eraseAt(i);
    return true;
  }

  // Removes every record for which pred(key, value) is true; returns how many.
  template <class Pred>
  size_t eraseIf(Pred&& pred) {
    size_t removed = 0;
    for (size_t i = 0; i <= mask_;) {
      Slot& s = slots_[i];
      if (s.used && pred(s.key, s.value)) {
        eraseAt(i);  // shifts a later record into i: look at i again
        ++removed;
      } else {
        ++i;
      }
    }
    // No record is missed: a shift moves records into slot i (checked again) or, once the run
    // wraps past the end of the array, moves already-checked records only.
    return removed;
  }

  // eraseIf over a window of `budget` slots from `cursor`, which moves on (wrapping round) so
  // that successive calls sweep the whole table a piece at a time. Records shifted across the
  // cursor meanwhile are met on a later round. Returns how many were removed.
  template <class Pred>
  size_t sweep(size_t& cursor, size_t budget, Pred&& pred) {
    size_t removed = 0;
    size_t i = cursor & mask_;
    for (size_t passed = 0; passed < budget && passed <= mask_;) {  // erases are bounded by size()
      Slot& s = slots_[i];
      if (s.used && pred(s.key, s.value)) {
        eraseAt(i);  // a later record may have moved into i: look at it again
        ++removed;
        continue;
      }
      i = (i + 1) & mask_;
      ++passed;
    }
    cursor = i;
    return removed;
  }

  template <class F>
  void forEach(F&& f) {
    for (size_t i = 0; i <= mask_; ++i) {
      if (slots_[i].used) f(slots_[i].key, slots_[i].value);
    }
  }

  // A scan spread over many steps while the table keeps changing (TableScan above).
  using Scan = TableScan;
  void beginScan(Scan& s) {
    s.next = 0;
    s.moved.clear();
    scan_ = &s;
  }
  // Visits up to `budget` slots or moved records; true once the scan is complete (and ended).
  template <class F>
  bool scanStep(Scan& s, size_t budget, F&& f) {
    for (; s.next <= mask_ && budget > 0; ++s.next, --budget) {
      if (slots_[s.next].used) f(slots_[s.next].key, slots_[s.next].value);
    }
    while (s.next > mask_ && !s.moved.empty() && budget > 0) {
      TokenKey k = s.moved.back();
      s.moved.pop_back();
      --budget;
      if (V* v = find(k)) f(k, *v);
    }
    bool done = s.next > mask_ && s.moved.empty();
    if (done) endScan(s);
    return done;
  }
  void endScan(Scan& s) {
    if (scan_ == &s) scan_ = nullptr;
  }
  bool scanning() const { return scan_ != nullptr; }

 private:
  static constexpr size_t kNone = ~size_t{0};
  struct Slot {
    TokenKey key;
    V value{};
    bool used = false;
  };

  size_t home(const TokenKey& k) const { return static_cast<size_t>(((k.lo ^ seed_) * 0x9E3779B97F4A7C15ull) >> shift_); }

  size_t indexOf(const TokenKey& k) const {
    for (size_t i = home(k);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.used) return kNone;
      if (s.key == k) return i;
    }
  }

  // Backward-shift deletion: pull later records of the same probe run into the hole, so no
  // tombstone is needed and every run stays gap-free.
  void eraseAt(size_t hole) {
    slots_[hole].used = false;
    slots_[hole].value = V{};
    --size_;
    for (size_t i = (hole + 1) & mask_; slots_[i].used; i = (i + 1) & mask_) {
      size_t h = home(slots_[i].key);
      // Move slot i into the hole unless its home lies cyclically in (hole, i].
      bool homeBetween = hole <= i ? (h > hole && h <= i) : (h > hole || h <= i);
      if (homeBetween) continue;
      if (scan_ != nullptr && hole < scan_->next && i >= scan_->next) scan_->moved.push_back(slots_[i].key);
      slots_[hole] = std::move(slots_[i]);
      slots_[i].used = false;
      slots_[i].value = V{};
      hole = i;
    }
  }

  void allocate(size_t cap) {
    slots_ = std::make_unique<Slot[]>(cap);
    mask_ = cap - 1;
    shift_ = 64;
    for (size_t c = cap; c > 1; c >>= 1) --shift_;
  }

  void rehash(size_t cap) {
    std::unique_ptr<Slot[]> old = std::move(slots_);
    size_t oldCap = mask_ + 1;
    if (scan_ != nullptr) {  // the new order is unrelated to the old: hand over what is unvisited
      for (size_t i = scan_->next; i < oldCap; ++i) {
        if (old[i].used) scan_->moved.push_back(old[i].key);
      }
    }
    allocate(cap);
    if (scan_ != nullptr) scan_->next = cap;
    size_ = 0;
    for (size_t i = 0; i < oldCap; ++i) {
      if (old[i].used) insert(old[i].key, std::move(old[i].value));
    }
  }

  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0;
  unsigned shift_ = 64;  // 64 - log2(capacity)
  uint64_t seed_;
  size_t size_ = 0;
  Scan* scan_ = nullptr;
};

}  // namespace handoff::store
