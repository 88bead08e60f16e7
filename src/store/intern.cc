#include "handoff/store/intern.h"

#include <cstdlib>
#include <cstring>
#include <random>

namespace handoff::store {
namespace {

uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  uint64_t v0, v1, v2, v3;
  void rounds(int n) {
    for (int i = 0; i < n; ++i) {
      v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
      v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
      v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
      v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
    }
  }
};

uint64_t randomWord() {
  std::random_device rd;  // the kernel's CSPRNG (getrandom) on Linux
  return uint64_t{rd()} << 32 | rd();
}

}  // namespace

uint64_t sipHash(uint64_t k0, uint64_t k1, std::string_view s, int cRounds, int dRounds) {
  SipState st{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull, k0 ^ 0x6c7967656e657261ull,
              k1 ^ 0x7465646279746573ull};
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), full = n & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m;
    std::memcpy(&m, p + i, 8);  // the specification's little-endian words on x86-64
    st.v3 ^= m;
    st.rounds(cRounds);
    st.v0 ^= m;
  }
  uint64_t last = uint64_t{n & 0xFF} << 56;
  for (size_t i = full; i < n; ++i) last |= uint64_t{p[i]} << (8 * (i - full));
  st.v3 ^= last;
  st.rounds(cRounds);
  st.v0 ^= last;
  st.v2 ^= 0xFF;
  st.rounds(dRounds);
  return st.v0 ^ st.v1 ^ st.v2 ^ st.v3;
}

InternTable::InternTable() : index_(16, KeyedHash{randomWord(), randomWord()}) {}

// A quick unkeyed mix of every byte: it only places a cache entry, which is confirmed by
// comparing the string, so a collision costs a miss and nothing else.
size_t InternTable::recentSlot(std::string_view s) {
  uint64_t h = s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
  }
  for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h >> 58);  // kRecent = 64 slots
}

InternTable::Handle InternTable::acquire(std::string_view s) {
  if (s.empty()) return kEmpty;
  Handle& recent = recent_[recentSlot(s)];
  if (recent != kEmpty) {  // it may have been released, or reused for another string since
    Entry& e = entries_[recent - 1];
    if (e.refs != 0 && std::string_view(e.text.get(), e.size) == s) {
      ++e.refs;
      return recent;
    }
  }
  if (auto it = index_.find(s); it != index_.end()) {
    ++entries_[it->second - 1].refs;
    recent = it->second;
    return it->second;
  }
  Handle h;
  if (!free_.empty()) {
    h = free_.back();
    free_.pop_back();
  } else {
    entries_.emplace_back();
    h = static_cast<Handle>(entries_.size());
  }
  Entry& e = entries_[h - 1];
  e.text = std::make_unique_for_overwrite<char[]>(s.size());
  std::memcpy(e.text.get(), s.data(), s.size());
  e.size = static_cast<uint32_t>(s.size());
  e.refs = 1;
  index_.emplace(std::string_view(e.text.get(), e.size), h);
  recent = h;
  return h;
}

void InternTable::release(Handle h) {
  if (h == kEmpty) return;
  Entry& e = const_cast<Entry&>(entry(h));
  if (--e.refs != 0) return;
  index_.erase(std::string_view(e.text.get(), e.size));
  e.text.reset();
  e.size = 0;
  free_.push_back(h);
}

std::string_view InternTable::view(Handle h) const {
  if (h == kEmpty) return {};
  const Entry& e = entry(h);
  return {e.text.get(), e.size};
}

uint32_t InternTable::references(Handle h) const {
  if (h == kEmpty || h > entries_.size()) return 0;
  return entries_[h - 1].refs;
}

// A handle that was never acquired, or whose string is gone, is a broken invariant of the
// store that owns both: abort rather than read freed memory.
const InternTable::Entry& InternTable::entry(Handle h) const {
  if (h == kEmpty || h > entries_.size() || entries_[h - 1].refs == 0) std::abort();
  return entries_[h - 1];
}

}  // namespace handoff::store
