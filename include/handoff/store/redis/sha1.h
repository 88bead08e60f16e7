// SHA-1 as lowercase hex, for the script names of EVALSHA (Redis names a script by the SHA-1
// of its text). Not for security: only to name scripts the way the server does. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace handoff::store::redis {

std::string sha1Hex(std::string_view data);

}  // namespace handoff::store::redis
