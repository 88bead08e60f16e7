// The tenant snapshot: built from the demo config, looked up, and refused for every invalid
// client or user. Passwords are hashed with a single iteration: the tests check behaviour, not
// cost.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "handoff/config/config.h"
#include "handoff/oauth/tenant.h"

namespace handoff::oauth {
namespace {

constexpr uint32_t kFast = 1;

std::shared_ptr<const Tenant> demo() {
  auto t = Tenant::build(config::demoConfig(), kFast);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  return t.ok() ? *t : nullptr;
}

// Builds the demo config after `edit`, expecting a refusal whose message holds every one of
// `mentions`.
void expectRefused(const std::function<void(config::Config&)>& edit, std::initializer_list<std::string_view> mentions) {
  config::Config c = config::demoConfig();
  edit(c);
  auto t = Tenant::build(c, kFast);
  ASSERT_FALSE(t.ok()) << "built, but expected a refusal mentioning " << *mentions.begin();
  EXPECT_EQ(t.error().code(), core::Errc::kInvalidArgument);
  for (std::string_view m : mentions) {
    EXPECT_NE(t.error().message().find(m), std::string::npos) << t.error().message() << " lacks " << m;
  }
}

config::ClientConfig& clientNamed(config::Config& c, std::string_view id) {
  for (config::ClientConfig& cc : c.clients) {
    if (cc.clientId == id) return cc;
  }
  abort();
}

TEST(Tenant, DemoTenantBuilds) {
  auto t = demo();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->clients().size(), 4u);
  EXPECT_EQ(t->users().size(), 1u);
  EXPECT_EQ(t->passwordIterations(), kFast);
  for (std::string_view id : {"demo-native", "demo-web", "demo-web-asn", "demo-m2m"}) {
    const Client* c = t->client(id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_EQ(c->id(), id);
  }
}

TEST(Tenant, ClientLookupIsExact) {
  auto t = demo();
  EXPECT_EQ(t->client("DEMO-WEB"), nullptr);
  EXPECT_EQ(t->client("demo-web "), nullptr);
  EXPECT_EQ(t->client("demo"), nullptr);
  EXPECT_EQ(t->client(""), nullptr);
}

TEST(Tenant, ClientHelpersReflectTheConfig) {
  auto t = demo();
  const Client* native = t->client("demo-native");
  const Client* web = t->client("demo-web");
  const Client* m2m = t->client("demo-m2m");
  EXPECT_TRUE(native->isPublic());
  EXPECT_EQ(native->authMethod, AuthMethod::kNone);
  EXPECT_FALSE(web->isPublic());
  EXPECT_EQ(web->authMethod, AuthMethod::kClientSecretPost);
  EXPECT_TRUE(native->allowsGrant("authorization_code"));
  EXPECT_TRUE(native->allowsGrant("refresh_token"));
  EXPECT_TRUE(native->allowsGrant("password"));
  EXPECT_TRUE(native->allowsGrant(Grant::kPassword));
  EXPECT_FALSE(native->allowsGrant("client_credentials"));
  EXPECT_FALSE(native->allowsGrant("http://auth0.com/oauth/grant-type/password-realm"));
  EXPECT_FALSE(web->allowsGrant("password"));
  EXPECT_TRUE(m2m->allowsGrant("client_credentials"));
  EXPECT_FALSE(m2m->allowsGrant("authorization_code"));
  EXPECT_FALSE(native->allowsGrant("Authorization_Code"));
  EXPECT_FALSE(native->allowsGrant("implicit"));
  EXPECT_FALSE(native->allowsGrant(""));
  EXPECT_TRUE(native->config.sessionTransfer.canCreateSessionTransferToken);
  EXPECT_EQ(web->config.clientSecret, "demo-web-secret");
}

TEST(Tenant, GrantNamesRoundTrip) {
  for (Grant g : {Grant::kAuthorizationCode, Grant::kRefreshToken, Grant::kPassword, Grant::kPasswordRealm,
                  Grant::kClientCredentials, Grant::kTokenExchange}) {
    EXPECT_EQ(parseGrant(grantName(g)), g);
  }
  for (AuthMethod m : {AuthMethod::kNone, AuthMethod::kClientSecretPost, AuthMethod::kClientSecretBasic}) {
    EXPECT_EQ(parseAuthMethod(authMethodName(m)), m);
  }
  EXPECT_EQ(parseAuthMethod("private_key_jwt"), std::nullopt);
}

TEST(Tenant, CallbacksMatchExactly) {
  auto t = demo();
  const Client* web = t->client("demo-web");
  EXPECT_TRUE(web->hasCallback("http://127.0.0.1:3000/callback"));
  EXPECT_TRUE(web->hasCallback("http://localhost:3000/callback"));
  for (std::string_view bad : {
           "http://127.0.0.1:3000/callback/",         // trailing slash
           "http://127.0.0.1:3000/Callback",          // case in the path
           "HTTP://127.0.0.1:3000/callback",          // case in the scheme
           "http://LOCALHOST:3000/callback",          // case in the host
           "http://127.0.0.1:3000/callback?x=1",      // query added
           "http://127.0.0.1:3000/callback?",         // empty query
           "http://127.0.0.1:3000/callback#",         // empty fragment
           "http://127.0.0.1:3000/callbac",           // prefix
           "http://127.0.0.1:3000/callbackx",         // extension
           "http://127.0.0.1:3000/callback/../callback",
           "http://127.0.0.1:3000//callback",
           "http://127.0.0.1:3000/%63allback",        // percent-encoded 'c'
           "http://127.0.0.1:03000/callback",         // port spelled differently
           "http://127.0.0.1/callback",               // port dropped
           "https://127.0.0.1:3000/callback",         // other scheme
           "http://127.0.0.1:3000/callback ",
           " http://127.0.0.1:3000/callback",
           "http://127.0.0.1:3000.evil.com/callback",
           "http://127.0.0.1:3000@evil.com/callback",
           "",
       }) {
    EXPECT_FALSE(web->hasCallback(bad)) << bad;
  }
  const Client* native = t->client("demo-native");
  EXPECT_TRUE(native->hasCallback("com.example.handoff://callback"));
  EXPECT_FALSE(native->hasCallback("com.example.handoff://callback/"));
  EXPECT_FALSE(native->hasCallback("com.example.handoff://Callback"));
  EXPECT_FALSE(native->hasCallback("http://127.0.0.1:3000/callback"));  // another client's
  EXPECT_FALSE(t->client("demo-m2m")->hasCallback("http://127.0.0.1:3000/callback"));
}

TEST(Tenant, LogoutUrlsMatchExactly) {
  auto t = demo();
  const Client* web = t->client("demo-web");
  EXPECT_TRUE(web->allowsLogoutUrl("http://127.0.0.1:3000/"));
  EXPECT_TRUE(web->allowsLogoutUrl("http://localhost:3000/"));
  EXPECT_FALSE(web->allowsLogoutUrl("http://127.0.0.1:3000"));
  EXPECT_FALSE(web->allowsLogoutUrl("http://127.0.0.1:3000/x"));
  EXPECT_FALSE(web->allowsLogoutUrl("http://127.0.0.1:3000/?returnTo=x"));
  EXPECT_FALSE(t->client("demo-native")->allowsLogoutUrl("http://127.0.0.1:3000/"));
}

TEST(Tenant, UsersAreFoundByIdExactlyAndByEmailInAnyCase) {
  auto t = demo();
  const User* u = t->userById("auth0|demo");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->email, "demo@example.com");
  EXPECT_EQ(u->name, "Demo User");
  EXPECT_TRUE(u->emailVerified);
  EXPECT_FALSE(u->blocked);
  EXPECT_EQ(t->userById("AUTH0|demo"), nullptr);
  EXPECT_EQ(t->userById("auth0|dem"), nullptr);
  EXPECT_EQ(t->userByEmail("demo@example.com"), u);
  EXPECT_EQ(t->userByEmail("DEMO@EXAMPLE.COM"), u);
  EXPECT_EQ(t->userByEmail("Demo@Example.Com"), u);
  EXPECT_EQ(t->userByEmail("demo@example.co"), nullptr);
  EXPECT_EQ(t->userByEmail("demo@example.com "), nullptr);
  EXPECT_EQ(t->userByEmail(""), nullptr);
}

TEST(Tenant, PasswordsAreHashedNotKept) {
  auto t = demo();
  const User* u = t->userByEmail("demo@example.com");
  EXPECT_TRUE(u->passwordHash.starts_with("pbkdf2-sha256$1$")) << u->passwordHash;
  EXPECT_EQ(u->passwordHash.find("demo-password"), std::string::npos);
  EXPECT_TRUE(t->checkPassword(u, "demo-password"));
  EXPECT_FALSE(t->checkPassword(u, "demo-passwor"));
  EXPECT_FALSE(t->checkPassword(u, "DEMO-PASSWORD"));
  EXPECT_FALSE(t->checkPassword(nullptr, "demo-password"));
}

TEST(Tenant, UserWithoutPasswordCannotLogIn) {
  config::Config c = config::demoConfig();
  c.users.push_back({.userId = "auth0|nopw", .email = "nopw@example.com", .password = "", .name = "",
                     .emailVerified = false, .blocked = false});
  auto t = Tenant::build(c, kFast);
  ASSERT_TRUE(t.ok()) << t.error().message();
  const User* u = (*t)->userById("auth0|nopw");
  ASSERT_NE(u, nullptr);
  EXPECT_TRUE(u->passwordHash.empty());
  EXPECT_FALSE((*t)->checkPassword(u, ""));
}

TEST(Tenant, PasswordIterationsMustBeInRange) {
  EXPECT_FALSE(Tenant::build(config::demoConfig(), 0).ok());
  EXPECT_FALSE(Tenant::build(config::demoConfig(), kMaxPasswordIterations + 1).ok());
}

TEST(Tenant, AcceptsEveryKnownGrantAndCustomSchemes) {
  config::Config c = config::demoConfig();
  config::ClientConfig& web = clientNamed(c, "demo-web");
  web.grantTypes = {"authorization_code", "refresh_token", "password",
                    "http://auth0.com/oauth/grant-type/password-realm", "client_credentials",
                    "urn:ietf:params:oauth:grant-type:token-exchange"};
  web.callbacks = {"https://app.example.com/cb?tenant=1", "my-app+v2.x:/oauth", "https://[::1]:8443/cb"};
  web.tokenEndpointAuthMethod = "client_secret_basic";
  auto t = Tenant::build(c, kFast);
  ASSERT_TRUE(t.ok()) << t.error().message();
  const Client* built = (*t)->client("demo-web");
  EXPECT_EQ(built->authMethod, AuthMethod::kClientSecretBasic);
  EXPECT_TRUE(built->allowsGrant(Grant::kTokenExchange));
  EXPECT_TRUE(built->hasCallback("my-app+v2.x:/oauth"));
}

TEST(TenantValidation, UnknownGrantTypeNamesClientAndValue) {
  expectRefused([](config::Config& c) { clientNamed(c, "demo-web").grantTypes.push_back("implicit"); },
                {"demo-web", "implicit", "grant_types"});
  expectRefused([](config::Config& c) { clientNamed(c, "demo-m2m").grantTypes = {"Client_Credentials"}; },
                {"demo-m2m", "Client_Credentials"});
  expectRefused([](config::Config& c) { clientNamed(c, "demo-native").grantTypes.push_back(""); },
                {"demo-native", "grant_types"});
}

TEST(TenantValidation, CallbacksMustBeAbsoluteUrlsWithoutFragment) {
  for (std::string_view bad : {
           "/callback",
           "callback",
           "127.0.0.1:3000/callback",
           "http://127.0.0.1:3000/callback#frag",
           "http://127.0.0.1:3000/callback#",
           "com.example.handoff://callback#x",
           "http:/127.0.0.1/callback",
           "http:127.0.0.1/callback",
           "https://",
           "https:///callback",
           "https://:443/callback",
           "https://user@app.example.com/callback",
           "com.example.handoff:",
           ":callback",
           "javascript:alert(1)",
           "JavaScript://x/%0aalert(1)",
           "data:text/html,hi",
           "vbscript:x",
           "http://app.example.com/call back",
           "http://app.example.com/callback\n",
           "http://app.example.com/caf\xc3\xa9",
           "",
       }) {
    std::string url(bad);
    expectRefused([&](config::Config& c) { clientNamed(c, "demo-web").callbacks.push_back(url); },
                  {"demo-web", "callbacks"});
  }
  expectRefused([](config::Config& c) { clientNamed(c, "demo-web").callbacks.push_back("/cb"); }, {"'/cb'"});
}

TEST(TenantValidation, LogoutUrlsMustBeAbsoluteUrlsWithoutFragment) {
  expectRefused([](config::Config& c) { clientNamed(c, "demo-web").allowedLogoutUrls.push_back("/logged-out"); },
                {"demo-web", "allowed_logout_urls", "/logged-out"});
  expectRefused([](config::Config& c) { clientNamed(c, "demo-web").allowedLogoutUrls.push_back("http://x/#top"); },
                {"demo-web", "allowed_logout_urls", "fragment"});
}

TEST(TenantValidation, WebOriginsMustBeOrigins) {
  for (std::string_view bad : {"http://127.0.0.1:3000/", "https://app.example.com/path", "https://app.example.com?x",
                               "app.example.com", "ftp://app.example.com", "com.example.app://cb", "https://",
                               "https://app.example.com#x", ""}) {
    std::string origin(bad);
    expectRefused([&](config::Config& c) { clientNamed(c, "demo-web").webOrigins.push_back(origin); },
                  {"demo-web", "web_origins"});
    expectRefused([&](config::Config& c) { clientNamed(c, "demo-web").allowedOrigins.push_back(origin); },
                  {"demo-web", "allowed_origins"});
  }
  config::Config c = config::demoConfig();
  clientNamed(c, "demo-web").webOrigins = {"http://127.0.0.1:3000", "https://[::1]:8443"};
  clientNamed(c, "demo-native").allowedOrigins = {"https://app.example.com"};
  auto t = Tenant::build(c, kFast);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_TRUE((*t)->client("demo-web")->allowsOrigin("http://127.0.0.1:3000"));
  EXPECT_FALSE((*t)->client("demo-web")->allowsOrigin("https://app.example.com"));
  EXPECT_TRUE((*t)->allowsOrigin("https://app.example.com"));
  EXPECT_TRUE((*t)->allowsOrigin("https://[::1]:8443"));
  EXPECT_FALSE((*t)->allowsOrigin("http://127.0.0.1:3000/"));
  EXPECT_FALSE((*t)->allowsOrigin("HTTP://127.0.0.1:3000"));
  EXPECT_FALSE((*t)->allowsOrigin(""));
}

TEST(TenantValidation, PublicClientCannotUseClientCredentials) {
  expectRefused([](config::Config& c) { clientNamed(c, "demo-native").grantTypes.push_back("client_credentials"); },
                {"demo-native", "client_credentials"});
  expectRefused([](config::Config& c) { clientNamed(c, "demo-m2m").tokenEndpointAuthMethod = "none"; },
                {"demo-m2m", "client_credentials"});
}

TEST(TenantValidation, SessionTransferMinterNeedsRefreshToken) {
  expectRefused([](config::Config& c) { clientNamed(c, "demo-native").grantTypes = {"authorization_code"}; },
                {"demo-native", "can_create_session_transfer_token", "refresh_token"});
}

TEST(TenantValidation, ClientIdentityAndAuthMethod) {
  expectRefused([](config::Config& c) { c.clients.push_back(c.clients[1]); }, {"demo-web", "duplicate"});
  expectRefused([](config::Config& c) { clientNamed(c, "demo-web").clientId = ""; }, {"client_id"});
  expectRefused([](config::Config& c) { clientNamed(c, "demo-web").tokenEndpointAuthMethod = "private_key_jwt"; },
                {"demo-web", "token_endpoint_auth_method", "private_key_jwt"});
  expectRefused([](config::Config& c) { clientNamed(c, "demo-web").clientSecret = ""; },
                {"demo-web", "client_secret"});
}

TEST(TenantValidation, UsersNeedUniqueIdsAndEmails) {
  config::UserConfig other{.userId = "auth0|other", .email = "other@example.com", .password = "pw",
                           .name = "", .emailVerified = false, .blocked = false};
  expectRefused([&](config::Config& c) {
    c.users.push_back(other);
    c.users.back().userId = "auth0|demo";
  }, {"auth0|demo", "user_id", "duplicate"});
  expectRefused([&](config::Config& c) {
    c.users.push_back(other);
    c.users.back().email = "DEMO@example.COM";
  }, {"auth0|other", "DEMO@example.COM", "auth0|demo"});
  expectRefused([&](config::Config& c) {
    c.users.push_back(other);
    c.users.back().userId = "";
  }, {"user_id"});
  expectRefused([&](config::Config& c) {
    c.users.push_back(other);
    c.users.back().email = "";
  }, {"auth0|other", "email"});
  expectRefused([&](config::Config& c) {
    c.users.push_back(other);
    c.users.back().password = std::string("pw\0", 3);
  }, {"auth0|other", "password", "NUL"});
}

TEST(TenantValidation, ErrorsNeverCarrySecretsOrPasswords) {
  config::Config c = config::demoConfig();
  clientNamed(c, "demo-web").grantTypes.push_back("implicit");
  auto t = Tenant::build(c, kFast);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message().find("demo-web-secret"), std::string::npos);
  c = config::demoConfig();
  c.users.push_back(c.users[0]);
  t = Tenant::build(c, kFast);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message().find("demo-password"), std::string::npos);
}

}  // namespace
}  // namespace handoff::oauth
