// GET /authorize: the authorization code flow (RFC 6749 §4.1, OIDC Core §3.1.2) with PKCE S256
// (RFC 7636), the iss response parameter (RFC 9207), response_mode query or form_post, and SSO
// from the browser session cookie.
//
// The request is checked here, on the connection's shard. Until client_id and redirect_uri are
// known good, every error is a page: redirecting anywhere else would make us an open redirector.
// With a session cookie the request hops to the session's owner shard, which checks the session
// and mints the code in its own table (codes, sessions and the refresh families they produce
// share that shard); the answer is written back here.
#include <charconv>
#include <optional>
#include <string>

#include "handoff/oauth/authorize_reply.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/pages.h"
#include "handoff/oauth/provider.h"
#include "handoff/oauth/session_transfer.h"
#include "handoff/oauth/token_response.h"

namespace handoff::oauth {
namespace {

using store::TokenKind;

constexpr AuthzError kMalformed{"invalid_request", "a parameter is repeated or malformed"};
constexpr AuthzError kNoResponseType{"invalid_request", "missing response_type"};
constexpr AuthzError kResponseType{"unsupported_response_type", "only response_type=code is supported"};
constexpr AuthzError kResponseMode{"invalid_request", "unsupported response_mode"};
constexpr AuthzError kNotCodeClient{"unauthorized_client", "the client may not use the authorization code flow"};
constexpr AuthzError kPlainPkce{"invalid_request", "code_challenge_method must be S256"};
constexpr AuthzError kBadChallenge{"invalid_request",
                                   "code_challenge must be an S256 challenge (43 base64url characters)"};
constexpr AuthzError kNoChallenge{"invalid_request", "code_challenge_method without code_challenge"};
constexpr AuthzError kPkceRequired{"invalid_request", "a public client must send a PKCE code_challenge"};
constexpr AuthzError kPromptNone{"invalid_request", "prompt=none cannot be combined with other values"};
constexpr AuthzError kMaxAge{"invalid_request", "max_age must be a non-negative integer"};
constexpr AuthzError kAudience{"access_denied", "Service not found"};

// The decoded value of `name` when it occurs exactly once in `query`; for a query that failed to
// decode as a whole (a repeated or malformed parameter), to find out whether the error can still
// go back to a validated redirect_uri. Pairs that do not decode are skipped.
std::optional<std::string_view> singleParam(std::string_view query, std::string_view name, core::Arena& arena) {
  std::optional<std::string_view> found;
  http::ParamList one;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (http::decodeForm(pair, arena, one, 1) != http::DecodeStatus::kOk || one.empty() || one[0].name != name) {
      continue;
    }
    if (found) return std::nullopt;
    found = one[0].value;
  }
  return found;
}

void malformedRequest(const Provider& p, http::Exchange& ex) {
  core::Arena& arena = *ex.request.arena;
  std::string_view query = ex.request.query;
  auto clientId = singleParam(query, "client_id", arena);
  auto redirectUri = singleParam(query, "redirect_uri", arena);
  const Client* client = clientId ? p.tenant().client(*clientId) : nullptr;
  if (client == nullptr || !redirectUri || !client->hasCallback(*redirectUri)) {
    return sendErrorPage(ex.response, 400, kMalformed.error,
                         "The authorization request is malformed: a parameter is repeated or badly encoded.");
  }
  Reply r{std::string(*redirectUri), std::string(singleParam(query, "state", arena).value_or("")),
          ResponseMode::kQuery};
  if (singleParam(query, "response_mode", arena).value_or("") == "form_post") r.mode = ResponseMode::kFormPost;
  respondError(p, ex.response, r, kMalformed);
}

bool isS256Challenge(std::string_view c) {
  if (c.size() != 43) return false;
  for (char ch : c) {
    bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if (!alnum && ch != '-' && ch != '_') return false;
  }
  return true;
}

// The checks after client and redirect_uri, in RFC order; fills `code` with what the code keeps.
std::optional<AuthzError> checkRequest(const Provider& p, const Client& client, const http::ParamList& in,
                                       store::CodeRecord& code, bool& promptNone, bool& promptLogin,
                                       int64_t& maxAge) {
  std::string_view responseType = in.get("response_type");
  if (responseType.empty()) return kNoResponseType;
  if (responseType != "code") return kResponseType;
  if (!client.allowsGrant(Grant::kAuthorizationCode)) return kNotCodeClient;

  std::string_view challenge = in.get("code_challenge"), method = in.get("code_challenge_method");
  if (!method.empty() && method != "S256") return kPlainPkce;  // "plain" and anything else
  if (!challenge.empty() && method.empty()) return kPlainPkce;  // RFC 7636 §4.3: absent means plain
  if (!method.empty() && challenge.empty()) return kNoChallenge;
  if (!challenge.empty() && !isS256Challenge(challenge)) return kBadChallenge;
  if (challenge.empty() && client.isPublic()) return kPkceRequired;

  // prompt is a space-separated list; only none and login change anything here.
  std::string_view prompt = in.get("prompt");
  promptNone = hasScope(prompt, "none");
  promptLogin = hasScope(prompt, "login");
  if (promptNone && prompt != "none") return kPromptNone;

  maxAge = -1;
  if (in.has("max_age")) {
    std::string_view text = in.get("max_age");
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0) return kMaxAge;
    maxAge = v;
  }

  std::string_view audience = in.get("audience");
  if (!audience.empty() && audience != p.shared().managementAudience) return kAudience;

  code.clientId = client.id();
  code.scope = in.has("scope") && !in.get("scope").empty() ? in.get("scope") : "openid";
  code.audience = audience;
  code.nonce = in.get("nonce");
  code.codeChallenge = challenge;
  return std::nullopt;
}

// HEAD requests and browser prefetches must have no side effect: they are answered as if there
// were no session, so they never mint a code.
bool isProbe(const http::Request& req) {
  if (req.method == http::Method::kHead) return true;
  return req.header("sec-purpose").find("prefetch") != std::string_view::npos ||
         req.header("purpose").find("prefetch") != std::string_view::npos;
}

}  // namespace

void respond(const Provider& p, http::Response& res, const Reply& r, std::initializer_list<http::Param> fields,
             std::span<const http::Header> extra) {
  if (r.mode == ResponseMode::kFormPost) {
    std::vector<http::Param> all(fields);
    if (!r.state.empty()) all.push_back({"state", r.state});
    all.push_back({"iss", p.shared().issuer});
    return sendFormPost(res, r.redirectUri, all, extra);
  }
  std::string location;
  location.reserve(r.redirectUri.size() + r.state.size() + p.shared().issuerEncoded.size() + 96);
  location = r.redirectUri;
  char last = location.back();  // callbacks are absolute URLs: never empty
  if (last != '?' && last != '&') location.push_back(location.find('?') == std::string::npos ? '?' : '&');
  for (const http::Param& f : fields) {
    http::appendUrlEncoded(location, f.name);
    location.push_back('=');
    http::appendUrlEncoded(location, f.value);
    location.push_back('&');
  }
  if (!r.state.empty()) {
    location.append("state=");
    http::appendUrlEncoded(location, r.state);
    location.push_back('&');
  }
  location.append("iss=").append(p.shared().issuerEncoded);  // encoded once, at start
  res.start(302);
  res.header("Location", location);
  res.header("Cache-Control", "no-store");
  res.header("Referrer-Policy", "no-referrer");
  for (const http::Header& h : extra) res.header(h.name, h.value);
  res.finish("", "");
}

void respondError(const Provider& p, http::Response& res, const Reply& r, const AuthzError& e,
                  std::span<const http::Header> extra) {
  respond(p, res, r, {{"error", e.error}, {"error_description", e.description}}, extra);
}

std::string loginQuery(std::string_view query) { return withoutParam(withoutParam(query, kSttParam), kSsoRefParam); }

void toLoginPage(http::Response& res, std::string_view query, std::span<const http::Header> extra) {
  std::string location = "/u/login?";
  location.append(query);  // the request target's own bytes: no CR, LF or space can be in them
  res.start(302);
  res.header("Location", location);
  res.header("Cache-Control", "no-store");
  res.header("Referrer-Policy", "no-referrer");
  for (const http::Header& h : extra) res.header(h.name, h.value);
  res.finish("", "");
}

void Provider::serveAuthorize(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  const http::Request& req = ex.request;
  if (p.storeDown()) return sendErrorPage(ex.response, 503, "temporarily_unavailable", kStoreDownPage);
  if (http::decodeForm(req.query, *req.arena, p.params_) != http::DecodeStatus::kOk) return malformedRequest(p, ex);
  const http::ParamList& in = p.params_;

  const Client* client = p.tenant().client(in.get("client_id"));
  if (client == nullptr) {
    return sendErrorPage(ex.response, 400, "invalid_request", "Unknown client: the application is not registered.");
  }
  std::string_view redirectUri = in.get("redirect_uri");
  if (!client->hasCallback(redirectUri)) {
    return sendErrorPage(ex.response, 400, "invalid_request",
                         "The redirect_uri is not one of the application's allowed callback URLs.");
  }
  Reply reply{std::string(redirectUri), std::string(in.get("state")), ResponseMode::kQuery};
  std::string_view mode = in.get("response_mode");
  if (mode == "form_post") reply.mode = ResponseMode::kFormPost;
  else if (!mode.empty() && mode != "query") return respondError(p, ex.response, reply, kResponseMode);

  store::CodeRecord code;
  bool promptNone = false, promptLogin = false;
  int64_t maxAge = -1;
  if (auto e = checkRequest(p, *client, in, code, promptNone, promptLogin, maxAge)) {
    return respondError(p, ex.response, reply, *e);
  }
  code.redirectUri = reply.redirectUri;

  // Native to Web SSO: a session transfer token decides the session (SPEC.md §3). A probe
  // (HEAD, prefetch) never consumes one and goes the usual way.
  SttPresentation stt = findSessionTransferToken(req, in, *client);
  if (stt.present && !isProbe(req)) {
    RedeemRequest rq;
    rq.reply = std::move(reply);
    rq.code = std::move(code);
    rq.promptNone = promptNone;
    rq.query = std::string(req.query);  // copied: loginQuery is needed only if the redemption fails
    store::TokenId current;
    if (store::decodeToken(findCookie(req, kSessionCookie), TokenKind::kSession,
                           p.tokenShards(), &current)) {
      rq.session = current;
    }
    rq.ip = p.clientIp(req);
    geo::Answer where = p.geoOf(req, rq.ip);
    rq.asn = where.asn;
    rq.country = where.country;
    rq.userAgent = std::string(req.header("user-agent"));
    rq.organization = in.get("organization");
    rq.stt = std::move(stt);
    return redeemSessionTransfer(p, ex, *client, std::move(rq));
  }

  store::TokenId session;
  bool haveSession = !promptLogin && !isProbe(req) &&
                     store::decodeToken(findCookie(req, kSessionCookie), TokenKind::kSession,
                                        p.tokenShards(), &session);
  if (!haveSession) {
    if (promptNone) return respondError(p, ex.response, reply, kLoginRequired);
    return toLoginPage(ex.response, loginQuery(req.query));
  }

  http::Deferred d = ex.defer();
  if (p.redis()) {
    // The code is made with the session's touch in one script; one the checks below refuse is
    // never handed out and expires unused.
    return p.redis()->ssoCode(session, {}, code, p.random16(), static_cast<uint64_t>(Provider::unixNowMs()),
                              [&p, d = std::make_shared<http::Deferred>(std::move(d)), reply = std::move(reply), promptNone,
                               maxAge, query = loginQuery(req.query), tenant = p.tenantPtr()](
                                  store::redis::Answer<store::redis::RedisStore::SsoResult> a) {
      if (!a.ok()) {
        return d->complete([](http::Response& res) { sendErrorPage(res, 503, "temporarily_unavailable", kStoreDownPage); });
      }
      std::string minted;
      if (a.value.outcome == store::redis::RedisStore::Sso::kOk) {
        const User* user = tenant->userById(a.value.userId);
        int64_t age = Provider::unixNow() - a.value.authTime;
        bool fresh = !(maxAge == 0 || (maxAge > 0 && age > maxAge));  // OIDC Core §3.1.2.1: max_age=0 is prompt=login
        if (user != nullptr && !user->blocked && fresh) minted = store::encodeToken(a.value.code);
      }
      d->complete([&](http::Response& res) {
        if (!minted.empty()) return respond(p, res, reply, {{"code", minted}});
        if (promptNone) return respondError(p, res, reply, kLoginRequired);
        toLoginPage(res, query);
      });
    });
  }
  p.onOwnerEager(  // a code is memory-only, and the session was durable before its cookie left
      session.shard,
      [key = session.key, code = std::move(code), maxAge, tenant = p.tenantPtr()](Provider& owner) mutable {
        uint64_t now = owner.nowMs();
        const store::SessionRecord* s = owner.store().findSession(key, now);
        if (s == nullptr) return std::string();
        const User* user = tenant->userById(s->userId);
        if (user == nullptr || user->blocked) return std::string();
        // OIDC Core §3.1.2.1 (errata): max_age=0 is prompt=login.
        int64_t age = Provider::unixNow() - s->authTime;
        if (maxAge == 0 || (maxAge > 0 && age > maxAge)) return std::string();
        code.userId = s->userId;
        code.sessionId = s->sid;
        code.authTime = s->authTime;
        code.home = s->home;  // the code exchange issues its tokens beside the session
        return store::encodeToken(owner.store().putCode(owner.random16(), std::move(code), now));
      },
      [&p, d = std::move(d), reply = std::move(reply), promptNone,
       query = loginQuery(req.query)](std::string minted) mutable {
        d.complete([&](http::Response& res) {
          if (!minted.empty()) return respond(p, res, reply, {{"code", minted}});
          if (promptNone) return respondError(p, res, reply, kLoginRequired);
          toLoginPage(res, query);
        });
      });
}

}  // namespace handoff::oauth
