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
// The arrays are zero-filled memory (calloc, or mmap for large ones) and records are
// constructed only in the slots they occupy: a new array costs no pass over its memory (fresh
// pages come zeroed from the kernel, and a zero state byte is an empty slot), where constructing
// every slot of a 2 M-slot session table stopped the shard for 0.5–1.8 s.
//
// Growth is incremental, so that no request waits for a whole table to be copied (a 1 M-record
// table took 100–200 ms, the longest pause of a durable run): the full array becomes the old one
// and a twice larger one the current; every insert then moves the records of kMigrateSlots old
// slots into the current array, and the old one is freed once it is empty. Meanwhile lookups try
// the current array, then the old; inserts go to the current one; an erase in the old array
// leaves a tombstone (no shift: the old array only empties). Each insert moves at most
// kMigrateSlots records, and the migration ends long before the current array could fill.
//
// Thread-bound: one table per shard, touched only by its owner shard.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <type_traits>

#include <sys/mman.h>
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
// turns the array being walked into the old one). One scan at a time per table. While a table
// grows the scan walks the old array first, then the whole current one (which holds whatever
// left the old array); records visited twice are allowed.
struct TableScan {
  size_t next = 0;              // the first slot not yet visited
  bool walkingOld = false;      // `next` is a slot of the old array of a growing table
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
  static constexpr size_t kMigrateSlots = 32;  // old slots emptied per insert while growing

  explicit TokenTable(size_t initialCapacity = 1024) : seed_(nextTableSeed()) {
    size_t cap = 4;
    while (cap < initialCapacity) cap *= 2;
    cur_.allocate(cap);
  }

  size_t size() const { return size_; }
  size_t capacity() const { return cur_.mask + 1; }
  bool growing() const { return old_.slots != nullptr; }
  // The longest run of occupied slots of the current array: what the worst lookup probes (tests,
  // diagnostics).
  size_t longestRun() const {
    size_t best = 0, run = 0;
    for (size_t i = 0; i <= 2 * cur_.mask + 1; ++i) {  // twice round: a run may wrap
      run = cur_.slots[i & cur_.mask].state == kUsed ? run + 1 : 0;
      best = std::max(best, run);
    }
    return std::min(best, cur_.mask + 1);
  }

  V* find(const TokenKey& k) {
    if (size_t i = indexOf(cur_, k); i != kNone) return &cur_.slots[i].value();
    if (growing()) {
      if (size_t i = indexOf(old_, k); i != kNone) return &old_.slots[i].value();
    }
    return nullptr;
  }

  // Inserts a new record; false if the key is already present (a 2^-128 event for random keys,
  // reported rather than overwritten).
  bool insert(const TokenKey& k, V value) {
    if (growing()) {
      if (indexOf(old_, k) != kNone) return false;
      migrate(kMigrateSlots);
    }
    if ((size_ - oldLive_ + 1) * 8 > capacity() * 7) {
      if (indexOf(cur_, k) != kNone) return false;
      if (growing()) migrate(old_.mask + 1);  // not reached while kMigrateSlots keeps pace
      grow();
    }
    if (!place(cur_, k, std::move(value))) return false;
    ++size_;
    return true;
  }

  // Removes and returns the record: the one step that makes a token single-use.
  std::optional<V> take(const TokenKey& k) {
    if (size_t i = indexOf(cur_, k); i != kNone) {
      std::optional<V> out(std::move(cur_.slots[i].value()));
      eraseAt(i);
      return out;
    }
    if (growing()) {
      if (size_t i = indexOf(old_, k); i != kNone) {
        std::optional<V> out(std::move(old_.slots[i].value()));
        buryOld(i);
        return out;
      }
    }
    return std::nullopt;
  }

  bool erase(const TokenKey& k) {
    if (size_t i = indexOf(cur_, k); i != kNone) {
      eraseAt(i);
      return true;
    }
    if (growing()) {
      if (size_t i = indexOf(old_, k); i != kNone) {
        buryOld(i);
        return true;
      }
    }
    return false;
  }

  // Removes every record for which pred(key, value) is true; returns how many.
  template <class Pred>
  size_t eraseIf(Pred&& pred) {
    size_t removed = 0;
    for (size_t i = 0; i <= cur_.mask;) {
      Slot& s = cur_.slots[i];
      if (s.state == kUsed && pred(s.key, s.value())) {
        eraseAt(i);  // shifts a later record into i: look at i again
        ++removed;
      } else {
        ++i;
      }
    }
    // No record is missed: a shift moves records into slot i (checked again) or, once the run
    // wraps past the end of the array, moves already-checked records only.
    for (size_t i = 0; growing() && i <= old_.mask; ++i) {
      Slot& s = old_.slots[i];
      if (s.state == kUsed && pred(s.key, s.value())) {
        buryOld(i);
        ++removed;
      }
    }
    return removed;
  }

  // eraseIf over a window of `budget` slots of the current array from `cursor`, which moves on
  // (wrapping round) so that successive calls sweep the whole table a piece at a time. Records
  // shifted across the cursor meanwhile, or still in the old array of a growth, are met on a
  // later round. Returns how many were removed.
  template <class Pred>
  size_t sweep(size_t& cursor, size_t budget, Pred&& pred) {
    size_t removed = 0;
    size_t i = cursor & cur_.mask;
    for (size_t passed = 0; passed < budget && passed <= cur_.mask;) {  // erases are bounded by size()
      Slot& s = cur_.slots[i];
      if (s.state == kUsed && pred(s.key, s.value())) {
        eraseAt(i);  // a later record may have moved into i: look at it again
        ++removed;
        continue;
      }
      i = (i + 1) & cur_.mask;
      ++passed;
    }
    cursor = i;
    return removed;
  }

  template <class F>
  void forEach(F&& f) {
    for (Array* a : {&old_, &cur_}) {
      for (size_t i = 0; a->slots != nullptr && i <= a->mask; ++i) {
        if (a->slots[i].state == kUsed) f(a->slots[i].key, a->slots[i].value());
      }
    }
  }

  // A scan spread over many steps while the table keeps changing (TableScan above).
  using Scan = TableScan;
  void beginScan(Scan& s) {
    s.next = 0;
    s.walkingOld = growing();
    s.moved.clear();
    scan_ = &s;
  }
  // Visits up to `budget` slots or moved records; true once the scan is complete (and ended).
  template <class F>
  bool scanStep(Scan& s, size_t budget, F&& f) {
    while (budget > 0) {
      if (s.walkingOld) {
        if (!growing() || s.next > old_.mask) {  // the old array is done: now all of the current
          s.walkingOld = false;
          s.next = 0;
          continue;
        }
        Slot& slot = old_.slots[s.next++];
        if (slot.state == kUsed) f(slot.key, slot.value());
      } else if (s.next <= cur_.mask) {
        Slot& slot = cur_.slots[s.next++];
        if (slot.state == kUsed) f(slot.key, slot.value());
      } else if (!s.moved.empty()) {
        TokenKey k = s.moved.back();
        s.moved.pop_back();
        if (V* v = find(k)) f(k, *v);
      } else {
        break;
      }
      --budget;
    }
    bool done = !s.walkingOld && s.next > cur_.mask && s.moved.empty();
    if (done) endScan(s);
    return done;
  }
  void endScan(Scan& s) {
    if (scan_ == &s) scan_ = nullptr;
  }
  bool scanning() const { return scan_ != nullptr; }

 private:
  static constexpr size_t kNone = ~size_t{0};
  static constexpr uint8_t kEmpty = 0, kUsed = 1, kGone = 2;  // kGone: erased from an old array
  // The record lives in `raw` while the state is kUsed, and only then.
  struct Slot {
    TokenKey key;
    uint8_t state;
    alignas(V) unsigned char raw[sizeof(V)];
    V& value() { return *std::launder(reinterpret_cast<V*>(raw)); }
    void put(const TokenKey& k, V&& v) {
      key = k;
      new (raw) V(std::move(v));
      state = kUsed;
    }
    void clear(uint8_t to) {  // destroys the record; the slot becomes `to`
      value().~V();
      state = to;
    }
  };
  static_assert(alignof(Slot) <= alignof(std::max_align_t), "calloc'ed slots must be aligned for V");
  struct Array {
    Slot* slots = nullptr;
    size_t mask = 0;
    unsigned shift = 64;  // 64 - log2(capacity)
    Array() = default;
    Array(const Array&) = delete;
    Array& operator=(const Array&) = delete;
    Array(Array&& o) noexcept { *this = std::move(o); }
    Array& operator=(Array&& o) noexcept {
      if (this != &o) {
        release();
        slots = std::exchange(o.slots, nullptr);
        mask = std::exchange(o.mask, 0);
        shift = std::exchange(o.shift, 64);
      }
      return *this;
    }
    ~Array() { release(); }
    // Large arrays come straight from mmap: the allocator's calloc may clear (or recycle and
    // clear) a block of hundreds of MiB at once, which stopped the shard for 0.3 s.
    static constexpr size_t kMapBytes = size_t{1} << 20;
    void allocate(size_t cap) {
      release();
      size_t bytes = cap * sizeof(Slot);
      void* p = nullptr;
      if (bytes >= kMapBytes) {
        p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) p = nullptr;
      } else {
        p = std::calloc(cap, sizeof(Slot));
      }
      if (p == nullptr) throw std::bad_alloc();
      slots = static_cast<Slot*>(p);  // zero bytes: every state kEmpty
      mask = cap - 1;
      shift = 64;
      for (size_t c = cap; c > 1; c >>= 1) --shift;
    }
    void release() {
      if (slots == nullptr) return;
      if constexpr (!std::is_trivially_destructible_v<V>) {
        for (size_t i = 0; i <= mask; ++i) {
          if (slots[i].state == kUsed) slots[i].value().~V();
        }
      }
      releaseEmptied();
    }
    void releaseEmptied() {  // every record has left: no slot to look at
      size_t bytes = (mask + 1) * sizeof(Slot);
      if (bytes >= kMapBytes) {
        ::munmap(slots, bytes);
      } else {
        std::free(slots);
      }
      slots = nullptr;
      mask = 0;
      shift = 64;
    }
  };

  size_t home(const Array& a, const TokenKey& k) const {
    return static_cast<size_t>(((k.lo ^ seed_) * 0x9E3779B97F4A7C15ull) >> a.shift);
  }

  size_t indexOf(const Array& a, const TokenKey& k) const {
    for (size_t i = home(a, k);; i = (i + 1) & a.mask) {
      const Slot& s = a.slots[i];
      if (s.state == kEmpty) return kNone;
      if (s.state == kUsed && s.key == k) return i;
    }
  }

  // Puts a record into `a` (never full: the load stays under 7/8); false if the key is there.
  bool place(Array& a, const TokenKey& k, V&& value) {
    for (size_t i = home(a, k);; i = (i + 1) & a.mask) {
      Slot& s = a.slots[i];
      if (s.state == kEmpty) {
        s.put(k, std::move(value));
        return true;
      }
      if (s.key == k) return false;
    }
  }

  // Backward-shift deletion in the current array: pull later records of the same probe run into
  // the hole, so no tombstone is needed and every run stays gap-free.
  void eraseAt(size_t hole) {
    Slot* slots = cur_.slots;
    slots[hole].clear(kEmpty);
    --size_;
    bool hook = scan_ != nullptr && !scan_->walkingOld;
    for (size_t i = (hole + 1) & cur_.mask; slots[i].state == kUsed; i = (i + 1) & cur_.mask) {
      size_t h = home(cur_, slots[i].key);
      // Move slot i into the hole unless its home lies cyclically in (hole, i].
      bool homeBetween = hole <= i ? (h > hole && h <= i) : (h > hole || h <= i);
      if (homeBetween) continue;
      if (hook && hole < scan_->next && i >= scan_->next) scan_->moved.push_back(slots[i].key);
      slots[hole].put(slots[i].key, std::move(slots[i].value()));
      slots[i].clear(kEmpty);
      hole = i;
    }
  }

  // An erase in the old array: a tombstone, which lookups probe past (the array only empties).
  void buryOld(size_t i) {
    old_.slots[i].clear(kGone);
    --oldLive_;
    --size_;
    if (oldLive_ == 0) endGrowth();
  }

  // The current array becomes the old one, and a twice larger one the current.
  void grow() {
    if (scan_ != nullptr && !scan_->walkingOld) scan_->walkingOld = true;  // its slots keep their places
    old_ = std::move(cur_);
    cur_.allocate((old_.mask + 1) * 2);
    migrateNext_ = 0;
    oldLive_ = size_;
    if (oldLive_ == 0) endGrowth();
  }

  // Moves the records of up to `budget` old slots into the current array. A scan walking the
  // old array needs no report of them: it walks all of the current array afterwards.
  void migrate(size_t budget) {
    for (; budget > 0 && migrateNext_ <= old_.mask; --budget, ++migrateNext_) {
      Slot& s = old_.slots[migrateNext_];
      if (s.state != kUsed) continue;
      place(cur_, s.key, std::move(s.value()));
      s.clear(kGone);
      if (--oldLive_ == 0) break;
    }
    if (oldLive_ == 0 || migrateNext_ > old_.mask) endGrowth();
  }

  void endGrowth() {
    old_.releaseEmptied();  // every record has moved on or been erased
    oldLive_ = 0;
    migrateNext_ = 0;
    if (scan_ != nullptr && scan_->walkingOld) {  // the rest of the old walk was handed over
      scan_->walkingOld = false;
      scan_->next = 0;
    }
  }

  Array cur_;
  Array old_;                // while growing: the array being emptied into cur_
  size_t migrateNext_ = 0;   // the first old slot not yet emptied
  size_t oldLive_ = 0;       // records still in old_
  uint64_t seed_;
  size_t size_ = 0;
  Scan* scan_ = nullptr;
};

}  // namespace handoff::store
