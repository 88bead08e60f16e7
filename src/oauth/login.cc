// GET/POST /u/login: the hosted login page. GET renders the form for an authorization request
// (kept whole in a hidden field); POST checks the CSRF token, the rate limit and the password,
// then starts a browser session on this shard and sends the browser back to /authorize, which
// issues the code.
//
// CSRF: double submit. The token is random, set in a cookie scoped to /u/login and echoed in a
// hidden field; the POST must carry both, equal (compared in constant time). A login CSRF would
// otherwise let another site log the victim's browser into the attacker's account.
//
// Unknown users, wrong passwords and blocked users get the same page, status and text; the
// password check (PBKDF2, ~40 ms; a dummy hash for unknown users) runs on libuv's pool.
#include <string>

#include "handoff/oauth/crypto.h"
#include "handoff/oauth/pages.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/session_transfer.h"
#include "handoff/oauth/tenant_events.h"

namespace handoff::oauth {
namespace {

constexpr std::string_view kWrongCredentials = "Wrong email or password.";
constexpr std::string_view kInvalidLink = "This login link is not valid: start again from the application.";
constexpr std::string_view kCsrfFailed =
    "The login form expired or was not sent by this site. Go back to the application and try again.";

// A CSRF token as randomToken(16) writes it: 22 base64url characters.
bool wellFormedCsrf(std::string_view t) {
  if (t.size() != 22) return false;
  for (char c : t) {
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_') return false;
  }
  return true;
}

// The client of a kept authorization request, for the page's "to continue to ..." line; nullptr
// when the request does not decode, names no known client, or has a redirect_uri that is not
// one of the client's callbacks: a request /authorize would answer with its error page gets that
// page here too, never a form to type a password into (SECURITY.md, redirect_uri).
const Client* clientOf(const Provider& p, std::string_view query, core::Arena& arena) {
  http::ParamList params;
  if (http::decodeForm(query, arena, params) != http::DecodeStatus::kOk) return nullptr;
  const Client* client = p.tenant().client(params.get("client_id"));
  if (client == nullptr || !client->hasCallback(params.get("redirect_uri"))) return nullptr;
  return client;
}

// The login page. Nothing the user typed is echoed, so that every failed attempt with the same
// form renders the same bytes.
void sendLoginPage(http::Response& res, int status, const Client& client, std::string_view query,
                   std::string_view csrf, std::string_view error, const std::string* setCookie,
                   std::string_view ssoRef = {}) {
  std::string body = "<h1>Log in</h1><p>to continue to <b>";
  appendHtmlEscaped(body, client.config.name.empty() ? client.id() : client.config.name);
  body.append("</b></p>");
  if (!ssoRef.empty()) {
    // A session transfer token came and was refused: the reference finds the `w` event that says why.
    body.append("<p class=\"notice\">Single sign-on from the app did not complete. Reference: <code id=\"sso-ref\">");
    appendHtmlEscaped(body, ssoRef);
    body.append("</code></p>");
  }
  if (!error.empty()) {
    body.append("<p class=\"error\" role=\"alert\">");
    appendHtmlEscaped(body, error);
    body.append("</p>");
  }
  body.append("<form method=\"post\" action=\"/u/login\"><input type=\"hidden\" name=\"csrf\" value=\"");
  appendHtmlEscaped(body, csrf);
  body.append("\"><input type=\"hidden\" name=\"q\" value=\"");
  appendHtmlEscaped(body, query);
  body.append(
      "\"><label for=\"email\">Email</label><input id=\"email\" type=\"email\" name=\"email\" "
      "autocomplete=\"username\" required autofocus><label for=\"password\">Password</label>"
      "<input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>"
      "<button type=\"submit\">Continue</button></form>");
  startPage(res, status);
  if (setCookie != nullptr) res.header("Set-Cookie", *setCookie);
  finishPage(res, "Log in", body);
}

// "/authorize?" + the kept request without prompt and max_age: the user has just logged in, which
// is what those asked for, and keeping them would send the browser straight back here.
bool returnLocation(std::string_view query, core::Arena& arena, std::string& out) {
  http::ParamList params;
  if (http::decodeForm(query, arena, params) != http::DecodeStatus::kOk) return false;
  out = "/authorize?";
  bool first = true;
  for (const http::Param& prm : params) {
    if (prm.name == "prompt" || prm.name == "max_age") continue;
    if (!first) out.push_back('&');
    first = false;
    http::appendUrlEncoded(out, prm.name);
    out.push_back('=');
    http::appendUrlEncoded(out, prm.value);
  }
  return true;
}

// Starts the browser session on this shard and sends the browser back to /authorize.
void sessionStarted(http::Deferred& d, const std::string& token, const std::string& location, bool https) {
  int64_t maxAgeS = static_cast<int64_t>(store::StoreLimits{}.sessionAbsoluteMs / 1000);
  d.complete([&](http::Response& res) {
    res.start(302);
    res.header("Location", location);
    res.header("Set-Cookie", sessionCookie(token, https, maxAgeS));
    res.header("Cache-Control", "no-store");
    res.header("Referrer-Policy", "no-referrer");
    res.finish("", "");
  });
}

void storeUnreachable(http::Deferred& d) {
  d.complete([](http::Response& res) { sendErrorPage(res, 503, "temporarily_unavailable", kStoreDownPage); });
}

void startSession(Provider& p, http::Deferred d, const User& user, const std::string& location, bool https) {
  store::SessionRecord rec;
  rec.userId = user.userId;
  rec.sid = p.randomSid();  // the public `sid` claim: not the cookie value
  rec.authTime = Provider::unixNow();
  if (p.redis()) {  // at the user's home: every node finds it, and its tree grows beside it
    return p.redis()->putSession(rec, p.random16(), static_cast<uint64_t>(Provider::unixNowMs()),
                                 [d = std::make_shared<http::Deferred>(std::move(d)), https, location](
                                     store::redis::Answer<store::TokenId> a) {
      if (!a.ok()) return storeUnreachable(*d);
      sessionStarted(*d, store::encodeToken(a.value), location, https);
    });
  }
  std::string token = store::encodeToken(p.store().putSession(p.random16(), std::move(rec), p.nowMs()));
  p.afterDurable([d = std::move(d), token = std::move(token), https, location]() mutable {
    sessionStarted(d, token, location, https);
  });
}

// The tenant log: `s` or `f` for a password login on the hosted page (Auth0 logs the name typed).
void logLogin(Provider& p, const Client& client, const std::string& ip, std::string_view userAgent, const User* user,
              std::string_view email) {
  bool ok = user != nullptr && !user->blocked;
  events::Event e = clientEvent(ok ? "s" : "f", &client, ip, userAgent);
  e.description = ok ? "Successful login" : std::string(kWrongCredentials);
  e.userName = std::string(email.substr(0, 256));
  if (user != nullptr) e.userId = user->userId;
  Details d;
  d.flag("triggered_by_session_transfer_token", false).str("connection", "Username-Password-Authentication");
  if (!ok) d.str("reason", user == nullptr ? "wrong_email_or_password" : "user_blocked");
  e.detailsJson = d.take();
  p.emit(std::move(e));
}

void showForm(Provider& p, http::Exchange& ex) {
  const http::Request& req = ex.request;
  const Client* client = clientOf(p, req.query, *req.arena);
  if (client == nullptr) {
    return sendErrorPage(ex.response, 400, "invalid_request", kInvalidLink);
  }
  // Reuse the browser's token if it has one, so that two open login tabs both work.
  std::string_view existing = findCookie(req, kCsrfCookie);
  std::string csrf = wellFormedCsrf(existing) ? std::string(existing) : randomToken(16);
  std::string cookie = csrfCookie(csrf, secureCookies(p.shared().issuer, req));
  // The pointer to a refused STT's warning is shown, not kept: the form returns to /authorize without it.
  http::ParamList params;
  std::string_view ssoRef;
  if (http::decodeForm(req.query, *req.arena, params) == http::DecodeStatus::kOk &&
      events::parseLogId(params.get(kSsoRefParam))) {
    ssoRef = params.get(kSsoRefParam);
  }
  std::string query = withoutParam(req.query, kSsoRefParam);
  sendLoginPage(ex.response, 200, *client, query, csrf, {}, &cookie, ssoRef);
}

}  // namespace

void Provider::serveLogin(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  const http::Request& req = ex.request;
  if (req.method != http::Method::kPost) return showForm(p, ex);
  if (p.storeDown()) return sendErrorPage(ex.response, 503, "temporarily_unavailable", kStoreDownPage);

  if (!http::equalsIgnoreCase(req.mediaType(), "application/x-www-form-urlencoded") ||
      http::decodeForm(req.body, *req.arena, p.params_) != http::DecodeStatus::kOk) {
    return sendErrorPage(ex.response, 400, "invalid_request", "The login form was malformed.");
  }
  const http::ParamList& form = p.params_;
  std::string_view cookieToken = findCookie(req, kCsrfCookie), formToken = form.get("csrf");
  if (!wellFormedCsrf(cookieToken) || !constantTimeEquals(formToken, cookieToken)) {
    return sendErrorPage(ex.response, 403, "access_denied", kCsrfFailed);
  }
  // Then the rate limit, before the password check whose CPU it also protects. After the CSRF
  // check, so that another site cannot spend a victim's attempts by posting from their browser.
  // The budget is the client IP's across every shard ([rate_limits] login_*).
  std::string ip = p.clientIp(req);
  if (p.shared_.loginLimiter != nullptr) {
    if (uint64_t waitMs = p.shared_.loginLimiter->take(ip, p.nowMs()); waitMs != 0) {
      p.overload_.loginLimited.add();
      uint64_t seconds = retryAfterSeconds(waitMs);
      std::string body = "<h1>Too many login attempts</h1><p class=\"error\">Wait " + std::to_string(seconds) +
                         " seconds, then try again.</p>";
      startPage(ex.response, 429);
      ex.response.header("Retry-After", std::to_string(seconds));
      return finishPage(ex.response, "Too many attempts", body);
    }
  }

  std::string query(form.get("q"));
  const Client* client = clientOf(p, query, *req.arena);
  std::string location;
  if (client == nullptr || !returnLocation(query, *req.arena, location)) {
    return sendErrorPage(ex.response, 400, "invalid_request", kInvalidLink);
  }

  // Then a slot on the thread pool, which the store's log shares (oauth/overload.cc).
  if (!p.startPasswordCheck()) {
    startPage(ex.response, 503);
    ex.response.header("Retry-After", "1");
    return finishPage(ex.response, "Try again",
                      "<h1>Too many logins right now</h1><p class=\"error\">Wait a second, then try again.</p>");
  }
  http::Deferred d = ex.defer();
  std::shared_ptr<const Tenant> tenant = p.tenantPtr();
  std::string previous(findCookie(req, kSessionCookie));
  bool https = secureCookies(p.shared_.issuer, req);
  p.shared_.shards->shard(p.shard_).offload(
      [tenant, email = std::string(form.get("email")), password = std::string(form.get("password"))]() -> const User* {
        const User* u = tenant->userByEmail(email);
        return tenant->checkPassword(u, password) ? u : nullptr;
      },
      [&p, client, tenant, d = std::move(d), https, query = std::move(query), csrf = std::string(cookieToken),
       location = std::move(location), previous = std::move(previous), ip = std::move(ip),
       userAgent = std::string(req.header("user-agent")), email = std::string(form.get("email"))](const User* user) mutable {
        p.endPasswordCheck();
        logLogin(p, *client, ip, userAgent, user, email);
        if (user == nullptr || user->blocked) {
          return d.complete([&](http::Response& res) {
            sendLoginPage(res, 401, *client, query, csrf, kWrongCredentials, nullptr);
          });
        }
        // Rotation: a login always gets a new session token, and the browser's previous session
        // has ended on its owner before the answer leaves (a replay of the old cookie right after
        // finds nothing).
        store::TokenId old;
        if (!store::decodeToken(previous, store::TokenKind::kSession, p.tokenShards(),
                                &old)) {
          return startSession(p, std::move(d), *user, location, https);
        }
        if (p.redis()) {
          // `tenant` keeps `user` alive while the store answers (a tenant change may swap it).
          return p.redis()->endSession(old, [&p, d = std::make_shared<http::Deferred>(std::move(d)), tenant, user,
                                             location, https](store::redis::Answer<std::optional<store::SessionRecord>> a) {
            if (!a.ok()) return storeUnreachable(*d);
            startSession(p, std::move(*d), *user, location, https);
          });
        }
        p.onOwner(old.shard, [key = old.key](Provider& owner) { return owner.store().endSession(key).has_value(); },
                  [&p, d = std::move(d), tenant, user, location = std::move(location), https](bool) mutable {
                    startSession(p, std::move(d), *user, location, https);
                  });
      });
}

}  // namespace handoff::oauth
