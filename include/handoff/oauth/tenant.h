// The tenant: its clients (applications) and users, as the OAuth endpoints see them.
//
// A Tenant is an immutable snapshot, shared as std::shared_ptr<const Tenant>. The control thread
// builds one from a config::Config at start-up (and on reload) and hands the pointer to the
// shards; every const member is then thread-safe, and the Clients and Users it returns live as
// long as the snapshot. build() validates everything and refuses a partial tenant: its errors
// name the client or user and the offending value (never a secret or a password).
//
// Users' plain-text passwords are hashed by build() (crypto.h) and not kept: a User holds only
// its passwordHash.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "handoff/config/config.h"
#include "handoff/core/result.h"
#include "handoff/oauth/crypto.h"

namespace handoff::oauth {

// How a client authenticates at the token and revocation endpoints (token_endpoint_auth_method).
enum class AuthMethod : uint8_t {
  kNone,               // "none": a public client, identified by client_id alone
  kClientSecretPost,   // "client_secret_post": client_id and client_secret in the body
  kClientSecretBasic,  // "client_secret_basic": HTTP Basic (RFC 6749 §2.3.1)
};

// "none", "client_secret_post", "client_secret_basic".
std::string_view authMethodName(AuthMethod method);
std::optional<AuthMethod> parseAuthMethod(std::string_view name);

// The grant types a client may be allowed (Auth0's `grant_types` values).
enum class Grant : uint8_t {
  kAuthorizationCode,  // "authorization_code"
  kRefreshToken,       // "refresh_token"
  kPassword,           // "password"
  kPasswordRealm,      // "http://auth0.com/oauth/grant-type/password-realm"
  kClientCredentials,  // "client_credentials"
  kTokenExchange,      // "urn:ietf:params:oauth:grant-type:token-exchange"
};

std::string_view grantName(Grant grant);
// The grant with exactly that name (case-sensitive); nullopt for any other.
std::optional<Grant> parseGrant(std::string_view name);

// One registered application. `config` keeps every configured field under Auth0's names
// (client_id, client_secret, app_type, grant_types, callbacks, allowed_logout_urls,
// refresh_token, session_transfer, ...: see config::ClientConfig); the other members are those
// fields parsed once for the request path.
struct Client {
  config::ClientConfig config;
  AuthMethod authMethod = AuthMethod::kClientSecretPost;  // token_endpoint_auth_method
  uint32_t grants = 0;                                    // bit (1 << Grant) per grant_types entry

  const std::string& id() const { return config.clientId; }
  bool allowsGrant(Grant grant) const { return (grants >> static_cast<unsigned>(grant)) & 1u; }
  // False for any name parseGrant does not know.
  bool allowsGrant(std::string_view grantType) const;
  // A public client (token_endpoint_auth_method "none") holds no secret it could keep.
  bool isPublic() const { return authMethod == AuthMethod::kNone; }
  // Exact byte-for-byte match with one of `callbacks` (SECURITY.md): no prefix, no wildcard, no
  // case folding, no normalisation of slashes, ports, dots or percent escapes.
  bool hasCallback(std::string_view uri) const;
  // Exact match with one of `allowed_logout_urls`, as for callbacks.
  bool allowsLogoutUrl(std::string_view uri) const;
  // Exact match of a request's Origin header with one of `web_origins` or `allowed_origins`.
  bool allowsOrigin(std::string_view origin) const;
};

struct User {
  std::string userId;        // user_id, e.g. "auth0|demo"
  std::string email;         // as configured; looked up case-insensitively
  std::string name;
  bool emailVerified = false;  // email_verified
  bool blocked = false;
  std::string passwordHash;  // crypto.h's stored form; empty: the user has no password
  // ISO 8601 (Auth0's created_at, updated_at); empty for users seeded by the config file.
  std::string createdAt;
  std::string updatedAt;
};

class Tenant {
 public:
  Tenant(const Tenant&) = delete;
  Tenant& operator=(const Tenant&) = delete;

  // Validates `config`'s clients and users and hashes every password with `passwordIterations`
  // (1..kMaxPasswordIterations; tests use a handful). Refused with kInvalidArgument:
  //  - a client with an empty or duplicate client_id, an unknown token_endpoint_auth_method, or
  //    no client_secret unless the method is "none";
  //  - a grant type outside authorization_code, refresh_token, password, Auth0's password-realm,
  //    client_credentials and token-exchange; client_credentials on a public client;
  //    session_transfer.can_create_session_transfer_token without refresh_token;
  //  - a callback or allowed logout URL that is not an absolute URL (scheme ":" and more; for
  //    http and https "//" and a host), that holds a fragment, a space or a control character,
  //    or whose scheme is javascript, data or vbscript;
  //  - a web_origins or allowed_origins entry that is not an origin: http or https, "//", a
  //    host, an optional port, nothing after it (no path, not even "/");
  //  - a user with an empty or duplicate user_id, an empty or duplicate email (emails compare
  //    ASCII case-insensitively), or a password holding a NUL byte (see verifyPassword).
  // A user without a password gets an empty passwordHash and can never log in with one.
  static core::Result<std::shared_ptr<const Tenant>> build(const config::Config& config,
                                                           uint32_t passwordIterations = kDefaultPasswordIterations);

  // A tenant from clients and users already hashed (the management API's changes, tenant_admin.h):
  // the same checks as build() except the passwords', and no hashing.
  static core::Result<std::shared_ptr<const Tenant>> assemble(std::vector<config::ClientConfig> clients,
                                                              std::vector<User> users, uint32_t passwordIterations);

  // Why `url` cannot be a registered callback or logout URL; nullptr when it can.
  static const char* urlProblem(std::string_view url);

  // nullptr when unknown. Client ids and user ids compare exactly; emails ASCII
  // case-insensitively. Each is one hash lookup and allocates nothing.
  const Client* client(std::string_view clientId) const;
  const User* userByEmail(std::string_view email) const;
  const User* userById(std::string_view userId) const;

  // True when `user` is not null, has a password, and `password` is it. With a null user or one
  // without a password it does the same work as a wrong password (verifyAgainstDummy), so the
  // login page answers unknown users and wrong passwords in the same time. Blocked users are the
  // caller's business.
  bool checkPassword(const User* user, std::string_view password) const;

  // True when some client lists `origin` (Client::allowsOrigin): the token endpoint's CORS.
  bool allowsOrigin(std::string_view origin) const;

  std::span<const Client> clients() const { return clients_; }
  std::span<const User> users() const { return users_; }
  uint32_t passwordIterations() const { return passwordIterations_; }

 private:
  Tenant() = default;
  static core::Result<std::shared_ptr<Tenant>> assembleMutable(const std::vector<config::ClientConfig>& clients,
                                                               std::vector<User> users, uint32_t passwordIterations);

  // ASCII case-insensitive hashing and equality, for the email index.
  struct FoldHash {
    size_t operator()(std::string_view s) const;
  };
  struct FoldEqual {
    bool operator()(std::string_view a, std::string_view b) const;
  };

  std::vector<Client> clients_;
  std::vector<User> users_;
  // Keys are views into clients_ and users_, which never change after build().
  std::unordered_map<std::string_view, const Client*> clientsById_;
  std::unordered_map<std::string_view, const User*> usersById_;
  std::unordered_map<std::string_view, const User*, FoldHash, FoldEqual> usersByEmail_;
  uint32_t passwordIterations_ = kDefaultPasswordIterations;
};

}  // namespace handoff::oauth
