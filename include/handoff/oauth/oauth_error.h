// OAuth 2.0 error answers (RFC 6749 §5.2) as plain values, shared by the token, revocation and
// other JSON endpoints, and the writer that sends one.
//
// OAuthError holds only views into string literals (static storage), so it is trivially
// copyable and never allocates; an endpoint picks one from its table and returns it.
// OAuthResult<T> is a T or an OAuthError, with the shape of core::Result. Both are plain values
// with no thread affinity; sendOAuthError is thread-bound like the Response it writes to.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "handoff/core/text.h"
#include "handoff/http/message.h"

namespace handoff::oauth {

struct OAuthError {
  int status = 400;
  std::string_view error;        // "invalid_request", "invalid_client", ... (a literal)
  std::string_view description;  // error_description (a literal; never a token, code or secret)
  bool wwwAuthenticate = false;  // add `WWW-Authenticate: Basic realm="handoff"` (status 401)
};

// A value or an OAuthError. Access to the wrong alternative is a broken invariant (asserts).
template <class T>
class [[nodiscard]] OAuthResult {
 public:
  OAuthResult(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  OAuthResult(OAuthError error) : v_(error) {}    // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const OAuthError& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, OAuthError> v_;
};

// Writes `e` as the whole response: its status, `Cache-Control: no-store`, `Pragma: no-cache`
// (RFC 6749 §5.1), `WWW-Authenticate: Basic realm="handoff"` when e.wwwAuthenticate, and the
// body {"error":..,"error_description":..} as application/json.
// The durable store cannot write now (disk full, I/O error): retry shortly.
inline constexpr OAuthError kStoreDown{503, "temporarily_unavailable", "the store cannot write now; try again shortly"};
// The store (Redis) did not answer: nothing is known to have happened; retry shortly.
inline constexpr OAuthError kStoreUnreachable{503, "temporarily_unavailable", "the store cannot be reached now; try again shortly"};
inline constexpr std::string_view kStoreDownPage = "The service cannot save sessions right now. Try again in a few seconds.";

// Overload (oauth/overload.cc): a client over its rate limit, a password check the server has no
// room for now. Both are sent with a Retry-After of the caller's choosing.
inline constexpr OAuthError kTooManyRequests{429, "too_many_requests",
                                             "too many requests from this address; retry after the Retry-After delay"};
inline constexpr OAuthError kPasswordChecksBusy{503, "temporarily_unavailable",
                                                "too many logins in progress; try again shortly"};

// retryAfterS != 0 sends `Retry-After: retryAfterS`; otherwise a 503 says 30 seconds.
inline void sendOAuthError(http::Response& res, const OAuthError& e, uint64_t retryAfterS = 0) {
  std::string body;
  body.reserve(48 + e.error.size() + e.description.size());
  body.append("{\"error\":");
  core::appendJsonString(body, e.error);
  body.append(",\"error_description\":");
  core::appendJsonString(body, e.description);
  body.push_back('}');
  res.start(e.status);
  res.header("Cache-Control", "no-store");
  res.header("Pragma", "no-cache");
  if (e.wwwAuthenticate) res.header("WWW-Authenticate", "Basic realm=\"handoff\"");
  if (retryAfterS != 0) res.header("Retry-After", std::to_string(retryAfterS));
  else if (e.status == 503) res.header("Retry-After", "30");  // temporarily_unavailable: try again later
  res.finish("application/json", body);
}

}  // namespace handoff::oauth
