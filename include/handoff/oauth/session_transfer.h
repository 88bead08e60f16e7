// Native to Web SSO (SPEC.md §2–§5): minting a session transfer token (STT) from a native refresh
// token at /oauth/token, and redeeming it at /authorize.
//
// An STT lives on the shard of its parent refresh-token family, and the web session it creates
// is placed there too, with the refresh tokens issued in that session: the whole tree a native
// login grows stays on one shard, so cascade revocation never crosses shards.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "handoff/oauth/authorize_reply.h"
#include "handoff/oauth/provider.h"
#include "handoff/store/records.h"

namespace handoff::oauth {

inline constexpr std::string_view kSttTokenType = "urn:auth0:params:oauth:token-type:session_transfer_token";
inline constexpr std::string_view kRefreshTokenType = "urn:ietf:params:oauth:token-type:refresh_token";
inline constexpr std::string_view kSttCookie = "auth0_session_transfer_token";
inline constexpr std::string_view kSttCookieAlt = "session_transfer_token";
inline constexpr std::string_view kSttParam = "session_transfer_token";
inline constexpr std::string_view kSsoRefParam = "sso_ref";  // the login page's pointer to the `w` event

// "urn:<host>:session_transfer", whatever the host: the switch that selects the mint.
bool isSessionTransferAudience(std::string_view audience);

// The mint: a refresh-token grant whose audience is the STT URN for this request's host (or the
// RFC 8693 form, which the token endpoint maps onto the same call). The client is authenticated
// and allowed the refresh_token grant already.
void mintSessionTransfer(Provider& p, http::Exchange& ex, const Client& client, std::string_view refreshToken,
                         std::string_view audience);

// What the browser brought to /authorize.
struct SttPresentation {
  std::string text;         // the token evaluated (query wins when the client allows query)
  std::string other;        // the token of the other transport, not evaluated: consumed too
  bool present = false;
  bool allowed = false;     // by a transport the web client accepts
  bool cookieSent = false;  // an STT cookie came: the answer expires it
};
SttPresentation findSessionTransferToken(const http::Request& req, const http::ParamList& query, const Client& web);

struct RedeemRequest {
  Reply reply;
  store::CodeRecord code;   // the code to mint on success (client, redirect, scope, PKCE, nonce)
  bool promptNone = false;
  std::string query;        // the /authorize query as sent (a failure's login page drops the STT)
  std::optional<store::TokenId> session;  // the browser's existing session cookie, if any
  std::string ip;           // the redeeming client's IP, normalised
  uint32_t asn = 0;         // its ASN; 0 when unknown (no ASN database yet: asn binding fails closed)
  std::string country;      // its country (ISO code); empty when unknown
  std::string userAgent;
  std::string organization;
  SttPresentation stt;
};

// Evaluates the STT against the browser's session (SPEC.md §3 table) and answers: a code, or
// the login page (login_required for prompt=none). Every failure is a `w` event, never an OAuth
// error about the token; the login page gets the event's log_id as `sso_ref` and shows it.
void redeemSessionTransfer(Provider& p, http::Exchange& ex, const Client& web, RedeemRequest rq);

// The /authorize query without `name=...` pairs (the login page must not carry the STT).
std::string withoutParam(std::string_view query, std::string_view name);
// The query the login page keeps: never an STT (a probe leaves it unconsumed, and it must not
// travel further in URLs), never a stale sso_ref.
std::string loginQuery(std::string_view query);

}  // namespace handoff::oauth
