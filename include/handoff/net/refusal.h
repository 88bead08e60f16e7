// The handler of a connection refused for overload (net/connection_limits.h): one preformatted
// `503 Service Unavailable` with `Retry-After: 1` and `Connection: close`, written at once, then
// the connection is closed.
//
// The request the client may already have sent is read and thrown away until the client closes
// (or kRefusalLingerMs passes): closing a socket with unread bytes would send a reset, which can
// destroy the answer before the client reads it. The lingering is bounded per shard
// (kMaxLingeringRefusals); beyond it, and where no plain-text answer is possible (TLS listeners),
// the connection is closed at once without an answer. Thread-bound like the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "handoff/net/transport.h"

namespace handoff::net {

inline constexpr std::string_view kOverloadedResponse =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 78\r\n"
    "Retry-After: 1\r\n"
    "Cache-Control: no-store\r\n"
    "Connection: close\r\n"
    "\r\n"
    "{\"error\":\"temporarily_unavailable\",\"error_description\":\"too many connections\"}";

inline constexpr uint64_t kRefusalLingerMs = 1000;
inline constexpr size_t kMaxLingeringRefusals = 512;  // per shard

// Creates the handler for a refused connection on `below`. answer = false: close at once.
std::unique_ptr<StreamHandler> refusalHandler(Transport& below, bool answer);

// Refused connections of this shard's thread still lingering (tests, metrics).
size_t lingeringRefusals();

}  // namespace handoff::net
