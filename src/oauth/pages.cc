#include "handoff/oauth/pages.h"

#include "handoff/oauth/crypto.h"

namespace handoff::oauth {
namespace {

// default-src 'none': a page of ours loads nothing; its only style is inline. No form-action:
// Chrome applies it to every redirect after the login form's POST (/authorize, then the
// application's callback on another origin), which would block the login.
constexpr std::string_view kPageCsp =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

constexpr std::string_view kFormPostScript = "document.forms[0].submit()";

constexpr std::string_view kStyle =
    "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}"
    "main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.15)}"
    "h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .3rem}"
    "input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem}"
    "button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem}"
    ".error{color:#b00020}.code{color:#666;font-size:.8rem}";

// The CSP of the form_post page: the one inline script, by its hash (CSP wants standard base64).
const std::string& formPostCsp() {
  static const std::string csp = [] {
    std::string b64 = sha256Base64Url(kFormPostScript);
    for (char& c : b64) {
      if (c == '-') c = '+';
      if (c == '_') c = '/';
    }
    while (b64.size() % 4 != 0) b64.push_back('=');
    return "default-src 'none'; script-src 'sha256-" + b64 + "'; frame-ancestors 'none'; base-uri 'none'";
  }();
  return csp;
}

void commonHeaders(http::Response& res) {
  res.header("X-Frame-Options", "DENY");
  res.header("Referrer-Policy", "no-referrer");
  res.header("Cache-Control", "no-store");
  res.header("Pragma", "no-cache");
  res.header("X-Content-Type-Options", "nosniff");
}

}  // namespace

void appendHtmlEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&quot;"); break;
      case '\'': out.append("&#39;"); break;
      default: out.push_back(c);
    }
  }
}

void startPage(http::Response& res, int status) {
  res.start(status);
  res.header("Content-Security-Policy", kPageCsp);
  commonHeaders(res);
}

void finishPage(http::Response& res, std::string_view title, std::string_view bodyHtml) {
  std::string html;
  html.reserve(kStyle.size() + bodyHtml.size() + 256);
  html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
  appendHtmlEscaped(html, title);
  html.append("</title><style>").append(kStyle).append("</style></head><body><main>");
  html.append(bodyHtml);
  html.append("</main></body></html>\n");
  res.finish("text/html; charset=utf-8", html);
}

void sendErrorPage(http::Response& res, int status, std::string_view error, std::string_view message) {
  std::string body = "<h1>Something went wrong</h1><p class=\"error\">";
  appendHtmlEscaped(body, message);
  body.append("</p><p class=\"code\">");
  appendHtmlEscaped(body, error);
  body.append("</p>");
  startPage(res, status);
  if (status == 503) res.header("Retry-After", "5");
  finishPage(res, "Error", body);
}

void sendFormPost(http::Response& res, std::string_view action, std::span<const http::Param> fields,
                  std::span<const http::Header> extra) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Submit This Form</title>"
                     "</head><body><form method=\"post\" action=\"";
  appendHtmlEscaped(html, action);
  html.append("\">");
  for (const http::Param& f : fields) {
    html.append("<input type=\"hidden\" name=\"");
    appendHtmlEscaped(html, f.name);
    html.append("\" value=\"");
    appendHtmlEscaped(html, f.value);
    html.append("\">");
  }
  html.append("<noscript><button type=\"submit\">Continue</button></noscript></form><script>");
  html.append(kFormPostScript).append("</script></body></html>\n");
  res.start(200);
  res.header("Content-Security-Policy", formPostCsp());
  commonHeaders(res);
  for (const http::Header& h : extra) res.header(h.name, h.value);
  res.finish("text/html; charset=utf-8", html);
}

std::string_view findCookie(const http::Request& req, std::string_view name) {
  http::ParamList cookies;
  for (const http::Header& h : req.headers) {
    if (!http::equalsIgnoreCase(h.name, "cookie")) continue;
    http::decodeCookies(h.value, cookies);
    if (const http::Param* c = cookies.find(name)) return c->value;  // a view into the header
  }
  return {};
}

std::string clearCookie(std::string_view name, bool https) {
  std::string c(name);
  c.append("=; Max-Age=0; Path=/; HttpOnly");
  c.append(https ? "; Secure; SameSite=None" : "; SameSite=Lax");
  return c;
}

bool isHttpsIssuer(std::string_view issuer) { return issuer.substr(0, 8) == "https://"; }

bool secureCookies(std::string_view issuer, const http::Request& req) { return req.secure || isHttpsIssuer(issuer); }

// Browsers refuse SameSite=None without Secure, and Secure cookies are not sent over plain http.
// So over https (the real deployment) the session cookie is SameSite=None; Secure, which lets it
// reach /authorize in every cross-site flow, a silent prompt=none request from an application's
// iframe included; over plain http (the demo on 127.0.0.1) it is SameSite=Lax without Secure:
// it still rides along the top-level navigations of the code flow, but not into cross-site
// iframes.
std::string sessionCookie(std::string_view token, bool https, int64_t maxAgeS) {
  std::string c(kSessionCookie);
  c.append("=").append(token).append("; Max-Age=").append(std::to_string(maxAgeS));
  c.append(https ? "; Path=/; HttpOnly; SameSite=None; Secure" : "; Path=/; HttpOnly; SameSite=Lax");
  return c;
}

std::string clearSessionCookie(bool https) {
  std::string c(kSessionCookie);
  c.append("=; Max-Age=0");
  c.append(https ? "; Path=/; HttpOnly; SameSite=None; Secure" : "; Path=/; HttpOnly; SameSite=Lax");
  return c;
}

// The login transaction's cookie is Lax (SECURITY.md): it only has to come back with the
// same-origin POST of the form.
std::string csrfCookie(std::string_view token, bool https) {
  std::string c(kCsrfCookie);
  c.append("=").append(token).append("; Path=/u/login; HttpOnly; SameSite=Lax");
  if (https) c.append("; Secure");
  return c;
}

}  // namespace handoff::oauth
