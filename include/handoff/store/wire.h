// The byte layout of durable records: little-endian integers, length-prefixed strings, 16-byte
// token keys, and CRC-32C (Castagnoli) for the log's frames. Writer appends to a std::string;
// Reader never reads past its input and turns every short or malformed read into a sticky
// failure (ok() false), so a damaged record can never be half-applied.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "handoff/store/token_table.h"

namespace handoff::store {

// CRC-32C of `data`, continuing from `crc` (the CRC of what came before). The hardware
// instruction where the CPU has one; crc32cPortable is the table-driven reference (tests).
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);
uint32_t crc32cPortable(const void* data, size_t n, uint32_t crc = 0);

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { put(&v, 2); }
  void u32(uint32_t v) { put(&v, 4); }
  void u64(uint64_t v) { put(&v, 8); }
  void i64(int64_t v) { put(&v, 8); }
  void flag(bool v) { u8(v ? 1 : 0); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void key(const TokenKey& k) {
    u64(k.lo);
    u64(k.hi);
  }

 private:
  void put(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }  // x86-64: little-endian
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }
  uint8_t u8() {
    uint8_t v = 0;
    get(&v, 1);
    return v;
  }
  uint16_t u16() {
    uint16_t v = 0;
    get(&v, 2);
    return v;
  }
  uint32_t u32() {
    uint32_t v = 0;
    get(&v, 4);
    return v;
  }
  uint64_t u64() {
    uint64_t v = 0;
    get(&v, 8);
    return v;
  }
  int64_t i64() {
    int64_t v = 0;
    get(&v, 8);
    return v;
  }
  bool flag() { return u8() != 0; }
  std::string str() {
    uint32_t n = u32();
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  TokenKey key() {
    TokenKey k;
    k.lo = u64();
    k.hi = u64();
    return k;
  }

 private:
  void get(void* p, size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return;
    }
    std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace handoff::store
