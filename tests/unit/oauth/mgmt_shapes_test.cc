// The management API's JSON (oauth/mgmt_shapes.h) and the tenant journal's
// replay over the config file's tenant (oauth/tenant_admin.h): a client and a
// user survive the journal's encoding field for field (unknown session_transfer
// keys too); bodies are refused where Auth0 refuses them; TenantAdmin::open
// replays puts and deletes over the base tenant, and a record that no longer
// assembles into a valid tenant refuses the start.
#include "handoff/oauth/mgmt_shapes.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "handoff/core/arena.h"
#include "handoff/oauth/tenant_admin.h"

namespace handoff::oauth {
namespace {

namespace fs = std::filesystem;
constexpr uint32_t kFast = 2;

const http::JsonValue* parse(core::Arena& arena, std::string_view text) {
  const http::JsonValue* v = nullptr;
  EXPECT_EQ(http::parseJson(text, arena, &v), http::JsonError::kNone) << text;
  return v;
}

TEST(MgmtShapes, ClientRoundTripsThroughTheJournal) {
  config::ClientConfig c;
  c.clientId = "cid";
  c.clientSecret = "0123456789abcdef-secret";
  c.name = "N \"quoted\"";
  c.appType = "native";
  c.grantTypes = {"refresh_token", "password"};
  c.callbacks = {"com.example://cb"};
  c.allowedLogoutUrls = {"https://example.com/"};
  c.webOrigins = {"https://app.example.com"};
  c.allowedOrigins = {"http://localhost:3000"};
  c.tokenEndpointAuthMethod = "none";
  c.isFirstParty = false;
  c.isTokenEndpointIpHeaderTrusted = true;
  c.refreshToken = {.rotationType = "rotating", .leeway = 7};
  c.sessionTransfer.canCreateSessionTransferToken = true;
  c.sessionTransfer.enforceCascadeRevocation = false;
  c.sessionTransfer.allowedAuthenticationMethods = {"cookie"};
  c.sessionTransfer.enforceDeviceBinding = "asn";
  c.sessionTransfer.unknown["future"] = "{\"x\":[1,2.5e3,\"s\"]}";
  std::string text = clientJson(c, true);
  core::Arena arena;
  config::ClientConfig back;
  ShapeError err;
  ASSERT_TRUE(applyClientBody(*parse(arena, text), back, ShapeMode::kJournal, err)) << err.message;
  EXPECT_EQ(clientJson(back, true), text);
  EXPECT_EQ(back.sessionTransfer.unknown.at("future"), "{\"x\":[1,2.5e3,\"s\"]}");
  EXPECT_EQ(back.refreshToken.leeway, 7);
  EXPECT_EQ(clientJson(c, false).find("client_secret"), std::string::npos);
}

TEST(MgmtShapes, ClientBodiesAreCheckedLikeAuth0s) {
  core::Arena arena;
  auto refused = [&](std::string_view body, ShapeMode mode) {
    config::ClientConfig c;
    ShapeError err;
    bool ok = applyClientBody(*parse(arena, body), c, mode, err);
    if (!ok) {
      EXPECT_EQ(err.message.rfind("Payload validation error: ", 0), 0u) << err.message;
    }
    return !ok;
  };
  EXPECT_TRUE(refused("{\"unknown\":1}", ShapeMode::kPatch));
  EXPECT_TRUE(refused("{\"client_id\":\"x\"}", ShapeMode::kPatch));
  EXPECT_FALSE(refused("{\"client_id\":\"x\"}", ShapeMode::kCreate));
  EXPECT_TRUE(refused("{\"name\":3}", ShapeMode::kCreate));
  EXPECT_TRUE(refused("{\"callbacks\":[1]}", ShapeMode::kCreate));
  EXPECT_TRUE(refused("{\"client_secret\":\"short\"}", ShapeMode::kCreate));
  EXPECT_TRUE(refused("{\"refresh_token\":{\"leeway\":-1}}", ShapeMode::kPatch));
  EXPECT_TRUE(refused("{\"refresh_token\":{\"expiration_type\":\"x\"}}", ShapeMode::kPatch));
  EXPECT_TRUE(
      refused("{\"session_transfer\":{\"allowed_authentication_"
              "methods\":[\"header\"]}}",
              ShapeMode::kPatch));
  EXPECT_TRUE(refused("{\"global\":false}", ShapeMode::kCreate));
  EXPECT_FALSE(refused("{\"global\":false,\"oidc_conformant\":true}", ShapeMode::kPatch));

  // session_transfer merges: a null resets a known key to its default and
  // removes an unknown one.
  config::ClientConfig c;
  c.sessionTransfer.enforceDeviceBinding = "none";
  c.sessionTransfer.unknown["old"] = "1";
  ShapeError err;
  ASSERT_TRUE(applyClientBody(*parse(arena,
                                     "{\"session_transfer\":{\"enforce_device_binding\":null,"
                                     "\"old\":null,\"new\":true}}"),
                              c, ShapeMode::kPatch, err));
  EXPECT_EQ(c.sessionTransfer.enforceDeviceBinding, "ip");
  EXPECT_EQ(c.sessionTransfer.unknown.count("old"), 0u);
  EXPECT_EQ(c.sessionTransfer.unknown.at("new"), "true");
}

TEST(MgmtShapes, UserRoundTripsAndHidesTheHash) {
  User u{.userId = "auth0|abc",
         .email = "u@example.com",
         .name = "",
         .emailVerified = true,
         .blocked = true,
         .passwordHash = "pbkdf2$stuff",
         .createdAt = "2026-01-01T00:00:00.000Z",
         .updatedAt = "2026-01-02T00:00:00.000Z"};
  std::string journal = userJson(u, true);
  EXPECT_EQ(userJson(u, false).find("pbkdf2"), std::string::npos);
  EXPECT_NE(userJson(u, false).find("\"name\":\"u@example.com\""),
            std::string::npos);  // Auth0: name defaults to email
  core::Arena arena;
  User back;
  UserBodyExtras extras;
  ShapeError err;
  ASSERT_TRUE(applyUserBody(*parse(arena, journal), back, ShapeMode::kJournal, extras, err)) << err.message;
  EXPECT_EQ(userJson(back, true), journal);
  EXPECT_EQ(back.name, "");
  // A body cannot set the hash or the dates; PATCH cannot set the user_id.
  for (std::string_view body : {"{\"password_hash\":\"x\"}", "{\"created_at\":\"x\"}", "{\"user_id\":\"x\"}",
                                "{\"email\":\"no-at-sign\"}", "{\"blocked\":\"true\"}", "{\"connection\":\"other\"}"}) {
    User scratch;
    EXPECT_FALSE(applyUserBody(*parse(arena, body), scratch, ShapeMode::kPatch, extras, err)) << body;
  }
}

TEST(TenantAdminReplay, JournalAppliesOverTheConfigTenant) {
  std::string dir = (fs::temp_directory_path() / "handoff-admin-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string path = dir + "/tenant.journal";
  auto base = Tenant::build(config::demoConfig(), kFast);
  ASSERT_TRUE(base);
  {
    auto j = store::TenantJournal::open(path, [](store::RecordType, std::string_view) { return true; });
    ASSERT_TRUE(j);
    config::ClientConfig c;
    c.clientId = "api-made";
    c.clientSecret = "api-made-secret-0123456789";
    c.name = "API";
    c.grantTypes = {"client_credentials"};
    User u{.userId = "auth0|new",
           .email = "new@example.com",
           .name = "New",
           .emailVerified = false,
           .blocked = false,
           .passwordHash = hashPassword("pw", kFast),
           .createdAt = {},
           .updatedAt = {}};
    ASSERT_TRUE((*j)->append({{store::RecordType::kTenantClientPut, clientJson(c, true)},
                              {store::RecordType::kTenantUserPut, userJson(u, true)},
                              {store::RecordType::kTenantClientDeleted, "demo-web-asn"},
                              {store::RecordType::kTenantUserDeleted, "auth0|demo"}}));
  }
  auto admin = TenantAdmin::open(*base, path);
  ASSERT_TRUE(admin) << admin.error().message();
  std::shared_ptr<const Tenant> t = (*admin)->current();
  ASSERT_NE(t->client("api-made"), nullptr);
  EXPECT_EQ(t->client("api-made")->config.clientSecret, "api-made-secret-0123456789");
  EXPECT_EQ(t->client("demo-web-asn"), nullptr);
  EXPECT_NE(t->client("demo-web"), nullptr);
  EXPECT_EQ(t->userById("auth0|demo"), nullptr);
  ASSERT_NE(t->userByEmail("NEW@example.com"), nullptr);
  EXPECT_TRUE(t->checkPassword(t->userByEmail("new@example.com"), "pw"));
  EXPECT_EQ((*admin)->journalRecords(), 4u);

  // A record the tenant refuses (a second user with an existing email) refuses
  // the start.
  {
    auto j = store::TenantJournal::open(path, [](store::RecordType, std::string_view) { return true; });
    User dup{.userId = "auth0|dup",
             .email = "new@example.com",
             .name = "",
             .emailVerified = false,
             .blocked = false,
             .passwordHash = {},
             .createdAt = {},
             .updatedAt = {}};
    ASSERT_TRUE((*j)->append({{store::RecordType::kTenantUserPut, userJson(dup, true)}}));
  }
  EXPECT_FALSE(TenantAdmin::open(*base, path));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace handoff::oauth
