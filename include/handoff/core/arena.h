// A bump allocator for memory whose lifetime is one request (decoded parameters, JSON values,
// response scratch). reset() frees everything at once and keeps the first block, so a
// connection's arena stops touching the heap once it has seen its largest request.
//
// Thread-bound: an Arena belongs to one connection on one shard.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace handoff::core {

class Arena {
 public:
  explicit Arena(size_t firstBlock = 4096) : blockSize_(firstBlock) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `n` bytes aligned to `align` (a power of two no larger than alignof(max_align_t)).
  void* allocate(size_t n, size_t align = alignof(std::max_align_t)) {
    size_t p = (used_ + align - 1) & ~(align - 1);
    if (blocks_.empty() || p + n > capacity_) return grow(n);
    used_ = p + n;
    return blocks_.back().get() + p;
  }

  // Copies `s` into the arena; the view lives until reset().
  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* d = static_cast<char*>(allocate(s.size(), 1));
    std::memcpy(d, s.data(), s.size());
    return {d, s.size()};
  }

  template <class T>
  T* allocateArray(size_t n) {
    return static_cast<T*>(allocate(sizeof(T) * n, alignof(T)));
  }

  // Frees everything. Keeps the largest block so steady state allocates nothing.
  void reset() {
    if (blocks_.size() > 1) {
      std::unique_ptr<char[]> keep = std::move(blocks_.back());
      blocks_.clear();
      blocks_.push_back(std::move(keep));
    }
    used_ = 0;
  }

  size_t bytesInUse() const { return used_; }

 private:
  void* grow(size_t n) {
    size_t size = blockSize_;
    while (size < n) size *= 2;
    blockSize_ = size * 2;  // next block larger: few blocks even for a large request
    blocks_.push_back(std::make_unique<char[]>(size));
    capacity_ = size;
    used_ = n;
    return blocks_.back().get();
  }

  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t blockSize_;
  size_t capacity_ = 0;
  size_t used_ = 0;
};

}  // namespace handoff::core
