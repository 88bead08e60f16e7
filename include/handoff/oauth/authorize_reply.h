// How /authorize answers once client_id and redirect_uri are validated: the authorization
// response (query redirect or form_post page, with state and iss), error responses to the
// redirect_uri, and the detour to the hosted login page. Shared by authorize.cc and the session
// transfer redemption. `extra` headers (Set-Cookie) go out with every kind of answer.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "handoff/http/message.h"
#include "handoff/http/params.h"

namespace handoff::oauth {

class Provider;

enum class ResponseMode : uint8_t { kQuery, kFormPost };

// An error the application receives at its redirect_uri (RFC 6749 §4.1.2.1).
struct AuthzError {
  std::string_view error;
  std::string_view description;
};

inline constexpr AuthzError kLoginRequired{"login_required", "Login required"};

// Where and how the answer goes.
struct Reply {
  std::string redirectUri;
  std::string state;
  ResponseMode mode = ResponseMode::kQuery;
};

// Sends the authorization response: `fields`, then state (when the request had one) and iss.
void respond(const Provider& p, http::Response& res, const Reply& r, std::initializer_list<http::Param> fields,
             std::span<const http::Header> extra = {});
void respondError(const Provider& p, http::Response& res, const Reply& r, const AuthzError& e,
                  std::span<const http::Header> extra = {});
// To the hosted login page with the authorization request's query, which it keeps and returns
// to /authorize with after the login.
void toLoginPage(http::Response& res, std::string_view query, std::span<const http::Header> extra = {});

}  // namespace handoff::oauth
