// What the browser-facing endpoints (/authorize, /u/login, the logouts) send besides JSON: HTML
// pages with the security headers of SECURITY.md, the form_post auto-submitting page, and the
// cookies of the browser session and of the login form's CSRF token.
//
// Every value that comes from a request or the tenant is HTML-escaped before it reaches a page.
// Pure writers over a Response; thread-bound like the Response they write to.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "handoff/http/message.h"
#include "handoff/http/params.h"

namespace handoff::oauth {

// The browser session cookie: its value is the session token ("sid_<shard>_…").
inline constexpr std::string_view kSessionCookie = "handoff_session";
// The login form's double-submit CSRF token.
inline constexpr std::string_view kCsrfCookie = "handoff_csrf";

// Appends `s` with &, <, >, " and ' replaced by character references: safe in element content
// and in double- or single-quoted attribute values.
void appendHtmlEscaped(std::string& out, std::string_view s);

// Writes the status line and the headers every page carries: a Content-Security-Policy with
// frame-ancestors 'none', X-Frame-Options DENY, Referrer-Policy no-referrer, Cache-Control
// no-store, X-Content-Type-Options nosniff. The caller may add headers (Set-Cookie, Retry-After)
// and then calls finishPage.
void startPage(http::Response& res, int status);
// Finishes the response with a small HTML document titled `title` (escaped) around `bodyHtml`
// (already HTML: the caller escaped what it put in).
void finishPage(http::Response& res, std::string_view title, std::string_view bodyHtml);
// A whole error page: the title, `message` and the OAuth error code, all escaped.
void sendErrorPage(http::Response& res, int status, std::string_view error, std::string_view message);

// The OAuth 2.0 Form Post Response Mode page: 200, a form posting `fields` to `action` and a
// script that submits it (allowed by its hash in the page's CSP; a button for browsers without
// scripts). Cache-Control no-store like every page.
// `extra` headers (Set-Cookie) go out with the page.
void sendFormPost(http::Response& res, std::string_view action, std::span<const http::Param> fields,
                  std::span<const http::Header> extra = {});

// The value of the first cookie called `name` in the request's Cookie headers; empty if none.
std::string_view findCookie(const http::Request& req, std::string_view name);

// True for an "https://" issuer: cookies then carry Secure.
bool isHttpsIssuer(std::string_view issuer);
// Whether the cookies of an answer to `req` carry Secure (and SameSite=None): an https issuer
// (TLS ends in front of us, or here), or a request that came over one of our TLS listeners.
bool secureCookies(std::string_view issuer, const http::Request& req);

// Set-Cookie values. The session cookie lasts `maxAgeS` seconds; clearSessionCookie expires it
// (Max-Age=0) with the same attributes, so the browser replaces the one it holds. The CSRF
// cookie is a browser-session cookie scoped to the login form; it outlives a login, so that a
// second open login tab still works.
std::string sessionCookie(std::string_view token, bool https, int64_t maxAgeS);
std::string clearSessionCookie(bool https);
std::string csrfCookie(std::string_view token, bool https);
// Expires a session transfer token cookie called `name` (Max-Age=0, Path=/).
std::string clearCookie(std::string_view name, bool https);

}  // namespace handoff::oauth
