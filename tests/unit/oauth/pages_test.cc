// Page and cookie writers: HTML escaping, the cookie attributes for https and plain-http issuers.
#include "handoff/oauth/pages.h"

#include <gtest/gtest.h>

namespace handoff::oauth {
namespace {

TEST(Pages, HtmlEscapingCoversMarkupAndBothQuotes) {
  std::string out;
  appendHtmlEscaped(out, R"(<a href="x" title='y'>&</a>)");
  EXPECT_EQ(out, "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(Pages, SessionCookieIsSameSiteNoneSecureOverHttpsAndLaxOverHttp) {
  EXPECT_TRUE(isHttpsIssuer("https://tenant.example/"));
  EXPECT_FALSE(isHttpsIssuer("http://127.0.0.1:8080/"));
  EXPECT_EQ(sessionCookie("sid_0_x", true, 60), "handoff_session=sid_0_x; Max-Age=60; Path=/; HttpOnly; SameSite=None; Secure");
  EXPECT_EQ(sessionCookie("sid_0_x", false, 60), "handoff_session=sid_0_x; Max-Age=60; Path=/; HttpOnly; SameSite=Lax");
  EXPECT_EQ(clearSessionCookie(true), "handoff_session=; Max-Age=0; Path=/; HttpOnly; SameSite=None; Secure");
}

TEST(Pages, CookiesAreSecureForAnHttpsIssuerOrATlsConnection) {
  http::Request plain, overTls;
  overTls.secure = true;
  EXPECT_FALSE(secureCookies("http://127.0.0.1:8080/", plain));
  EXPECT_TRUE(secureCookies("http://127.0.0.1:8080/", overTls));  // a TLS listener beside a plain first one
  EXPECT_TRUE(secureCookies("https://127.0.0.1:8443/", plain));   // TLS ends in front of us
  EXPECT_TRUE(secureCookies("https://tenant.example/", overTls));
}

TEST(Pages, CsrfCookieIsLaxAndScopedToTheLoginForm) {
  EXPECT_EQ(csrfCookie("t", true), "handoff_csrf=t; Path=/u/login; HttpOnly; SameSite=Lax; Secure");
  EXPECT_EQ(csrfCookie("t", false), "handoff_csrf=t; Path=/u/login; HttpOnly; SameSite=Lax");
}

}  // namespace
}  // namespace handoff::oauth
