// Redis Cluster key slots: CRC16-XMODEM of the key (or of its hash tag) modulo 16384.
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace handoff::store::redis {

inline constexpr uint16_t kSlotCount = 16384;

// CRC16 with polynomial 0x1021 and initial value 0 (the XMODEM variant Redis Cluster uses).
uint16_t crc16(std::string_view bytes);

// The part of `key` that is hashed: the hash tag when the key holds a '{' followed later by a
// '}' with at least one byte between the first '{' and the first '}' after it; else the key.
std::string_view hashTagOf(std::string_view key);

// The cluster slot of `key`, exactly as the server's CLUSTER KEYSLOT computes it.
uint16_t slotOf(std::string_view key);

}  // namespace handoff::store::redis
