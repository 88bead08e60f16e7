// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) for the log's frames: the SSE4.2 crc32
// instruction, 8 bytes at a time, where the CPU has it (checked once); a byte-wise table
// otherwise. Both give the same values (tests/unit/store/wal_frame_test.cc checks known ones).
#include "handoff/store/wire.h"

#include <array>
#include <cstring>

namespace handoff::store {
namespace {

constexpr std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = makeTable();

uint32_t crcTable(const uint8_t* p, size_t n, uint32_t crc) {
  for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crcSse42(const uint8_t* p, size_t n, uint32_t crc) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = __builtin_ia32_crc32qi(c32, *p);
  return c32;
}
const bool kHaveSse42 = [] {
  __builtin_cpu_init();  // may run before libgcc's own constructor
  return __builtin_cpu_supports("sse4.2") != 0;
}();
#endif

}  // namespace

uint32_t crc32c(const void* data, size_t n, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
#if defined(__x86_64__)
  if (kHaveSse42) return ~crcSse42(p, n, ~crc);
#endif
  return ~crcTable(p, n, ~crc);
}

uint32_t crc32cPortable(const void* data, size_t n, uint32_t crc) {
  return ~crcTable(static_cast<const uint8_t*>(data), n, ~crc);
}

}  // namespace handoff::store
