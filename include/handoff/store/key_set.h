// A set of token keys, for the store's indexes (the families issued in a session, the sessions
// born of a family, a user's sessions and families). It is the open-addressed TokenTable with no
// value: adding or removing a key allocates nothing, a small set is small, and a very large one
// (a native login that gave birth to 300 k sessions) grows a piece at a time rather than
// rehashing every node at once.
#pragma once
#include <vector>

#include "handoff/store/token_table.h"

namespace handoff::store {

class KeySet {
 public:
  KeySet() : table_(kInitialCapacity) {}

  bool insert(const TokenKey& k) { return table_.insert(k, Present{}); }  // false if already there
  bool erase(const TokenKey& k) { return table_.erase(k); }
  size_t size() const { return table_.size(); }
  bool empty() const { return table_.size() == 0; }

  template <class F>
  void forEach(F&& f) {
    table_.forEach([&](const TokenKey& k, Present&) { f(k); });
  }
  // A copy, for a caller that changes the set while it goes through the keys.
  std::vector<TokenKey> keys() {
    std::vector<TokenKey> out;
    out.reserve(size());
    forEach([&](const TokenKey& k) { out.push_back(k); });
    return out;
  }

 private:
  static constexpr size_t kInitialCapacity = 4;  // most sets hold one or two keys
  struct Present {};
  TokenTable<Present> table_;
};

}  // namespace handoff::store
