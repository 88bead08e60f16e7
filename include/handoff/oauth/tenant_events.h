// Building tenant log events (SPEC.md §7) from requests: who (client, user), from where (client
// IP, user agent) and a `details` object. Provider::emit hands them to the events::EventLog.
//
// Never put a token, code, secret or cookie value into an event: tokenHash() gives a short,
// one-way handle that lets a mint event and its redemption be matched.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "handoff/events/event_log.h"

namespace handoff::oauth {

struct Client;

// A JSON object, built key by key (keys are ours, values escaped).
class Details {
 public:
  Details();
  Details& str(std::string_view key, std::string_view value);
  Details& num(std::string_view key, int64_t value);
  Details& flag(std::string_view key, bool value);
  std::string take();

 private:
  void key(std::string_view k);
  std::string out_ = "{";
};

// An event of `type` for `client` (may be null) from `ip` with this user agent (truncated).
events::Event clientEvent(std::string_view type, const Client* client, std::string_view ip, std::string_view userAgent);

// The first 16 characters of the base64url SHA-256 of a token: enough to match, useless to replay.
std::string tokenHash(std::string_view token);

// "ipv4" / "ipv6" for a normalised IP text; "" when empty.
std::string_view ipFamily(std::string_view ip);

}  // namespace handoff::oauth
