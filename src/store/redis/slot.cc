#include "handoff/store/redis/slot.h"

#include <array>

namespace handoff::store::redis {

namespace {

// One table entry per high byte, computed at compile time from the polynomial.
constexpr std::array<uint16_t, 256> makeTable() {
  std::array<uint16_t, 256> table{};
  for (unsigned hi = 0; hi < 256; ++hi) {
    uint16_t crc = static_cast<uint16_t>(hi << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
    }
    table[hi] = crc;
  }
  return table;
}

constexpr std::array<uint16_t, 256> kTable = makeTable();

}  // namespace

uint16_t crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (unsigned char b : bytes) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ b) & 0xff]);
  }
  return crc;
}

std::string_view hashTagOf(std::string_view key) {
  size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  size_t close = key.find('}', open + 1);
  // No closing brace, or "{}" right away: the whole key is hashed (cluster spec, "Hash tags").
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

uint16_t slotOf(std::string_view key) { return crc16(hashTagOf(key)) & (kSlotCount - 1); }

}  // namespace handoff::store::redis
