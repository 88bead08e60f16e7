// Limits of the HTTP/1.1 edge (config section [limits]). Each has an exact answer (SECURITY.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace handoff::http {

struct Limits {
  size_t maxRequestLine = 8192;    // method + target + version → 414
  size_t maxHeaderBytes = 16384;   // the whole header section → 431
  size_t maxHeaderLine = 8192;     // one "name: value" → 431
  size_t maxHeaders = 64;          // count → 431
  size_t maxBodyBytes = 65536;     // default per route → 413
  uint64_t headerTimeoutMs = 10000;  // first byte (or connect) to end of headers → 408
  uint64_t bodyTimeoutMs = 10000;    // end of headers to end of body → 408
  uint64_t idleTimeoutMs = 60000;    // keep-alive with nothing in flight → silent close
  size_t maxPipelined = 64;          // requests answered but not yet written before reading stops
  size_t maxOutputBytes = 1 << 20;   // unwritten response bytes before reading stops

  // Overload (README "Limits and overload"). Enforced below and above this layer — connection
  // caps by net/connection_limits.h at accept, password checks by the OAuth endpoints — but
  // configured here, with the rest of [limits].
  size_t maxConnections = 10000;      // admitted connections, all shards → 503 + Retry-After; 0: no cap
  size_t maxConnectionsPerIp = 1024;  // from one client IP (IPv6: its /64) → the same; 0: no cap
  size_t maxPasswordChecks = 4;       // PBKDF2 checks queued or running, all shards → 503 + Retry-After
};

}  // namespace handoff::http
