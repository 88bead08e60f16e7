#include "handoff/store/intern.h"

#include <cstdlib>
#include <cstring>

namespace handoff::store {

InternTable::Handle InternTable::acquire(std::string_view s) {
  if (s.empty()) return kEmpty;
  if (auto it = index_.find(s); it != index_.end()) {
    ++entries_[it->second - 1].refs;
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
