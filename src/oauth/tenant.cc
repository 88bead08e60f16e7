#include "handoff/oauth/tenant.h"

#include <array>

namespace handoff::oauth {

using core::Errc;
using core::Error;

namespace {

constexpr std::array<std::string_view, 6> kGrantNames = {
    "authorization_code",
    "refresh_token",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:token-exchange",
};

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool equalsFolded(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

bool isAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Why `url` cannot be a registered redirect or logout URL, or nullptr when it can. Registered
// URLs are compared byte for byte with what clients send, so they must be complete absolute URLs
// (RFC 3986 §4.3) in plain ASCII; custom schemes of native apps (com.example.app://callback)
// qualify. A fragment is forbidden by RFC 6749 §3.1.2.
const char* urlProblem(std::string_view url) {
  if (url.empty()) return "is empty";
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return "holds a space, a control character or a non-ASCII byte";
    if (c == '#') return "holds a fragment";
  }
  size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0 || !isAlpha(url[0])) return "is not an absolute URL";
  std::string_view scheme = url.substr(0, colon);
  for (char c : scheme) {
    if (!isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.') return "is not an absolute URL";
  }
  std::string_view rest = url.substr(colon + 1);
  if (rest.empty()) return "is not an absolute URL";
  if (equalsFolded(scheme, "javascript") || equalsFolded(scheme, "data") || equalsFolded(scheme, "vbscript")) {
    return "uses a forbidden scheme";
  }
  if (equalsFolded(scheme, "http") || equalsFolded(scheme, "https")) {
    if (!rest.starts_with("//")) return "is not an absolute URL";
    std::string_view authority = rest.substr(2, rest.find_first_of("/?", 2) - 2);
    if (authority.find('@') != std::string_view::npos) return "holds user information";
    if (authority.empty() || authority[0] == ':') return "has no host";
  }
  return nullptr;
}

// What a browser sends as Origin: scheme "://" host [":" port], nothing more.
const char* originProblem(std::string_view origin) {
  if (const char* why = urlProblem(origin)) return why;
  size_t colon = origin.find(':');
  std::string_view scheme = origin.substr(0, colon);
  if (!equalsFolded(scheme, "http") && !equalsFolded(scheme, "https")) return "is not an http or https origin";
  if (origin.find_first_of("/?", colon + 3) != std::string_view::npos) return "is not an origin (a path or query follows the host)";
  return nullptr;
}

bool exactlyOneOf(const std::vector<std::string>& list, std::string_view s) {
  for (const std::string& item : list) {
    if (item == s) return true;
  }
  return false;
}

Error clientError(const config::ClientConfig& c, std::string_view field, std::string_view what) {
  std::string msg = "client '";
  msg.append(c.clientId).append("': ").append(field).append(": ").append(what);
  return Error(Errc::kInvalidArgument, std::move(msg));
}

Error userError(std::string_view userId, std::string_view what) {
  std::string msg = "user '";
  msg.append(userId).append("': ").append(what);
  return Error(Errc::kInvalidArgument, std::move(msg));
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

core::Result<Client> buildClient(const config::ClientConfig& c) {
  Client client;
  client.config = c;
  if (c.clientId.empty()) return Error(Errc::kInvalidArgument, "client: client_id is required");
  std::optional<AuthMethod> method = parseAuthMethod(c.tokenEndpointAuthMethod);
  if (!method) {
    return clientError(c, "token_endpoint_auth_method", quoted(c.tokenEndpointAuthMethod) + " is not supported");
  }
  client.authMethod = *method;
  if (*method != AuthMethod::kNone && c.clientSecret.empty()) {
    return clientError(c, "client_secret", "required unless token_endpoint_auth_method is \"none\"");
  }
  for (const std::string& g : c.grantTypes) {
    std::optional<Grant> grant = parseGrant(g);
    if (!grant) return clientError(c, "grant_types", quoted(g) + " is not supported");
    client.grants |= 1u << static_cast<unsigned>(*grant);
  }
  if (client.isPublic() && client.allowsGrant(Grant::kClientCredentials)) {
    return clientError(c, "grant_types",
                       "'client_credentials' needs a confidential client (token_endpoint_auth_method is \"none\")");
  }
  if (c.sessionTransfer.canCreateSessionTransferToken && !client.allowsGrant(Grant::kRefreshToken)) {
    return clientError(c, "session_transfer.can_create_session_transfer_token", "needs the 'refresh_token' grant type");
  }
  for (const std::string& url : c.callbacks) {
    if (const char* why = urlProblem(url)) return clientError(c, "callbacks", quoted(url) + " " + why);
  }
  for (const std::string& url : c.allowedLogoutUrls) {
    if (const char* why = urlProblem(url)) return clientError(c, "allowed_logout_urls", quoted(url) + " " + why);
  }
  for (const std::string& o : c.webOrigins) {
    if (const char* why = originProblem(o)) return clientError(c, "web_origins", quoted(o) + " " + why);
  }
  for (const std::string& o : c.allowedOrigins) {
    if (const char* why = originProblem(o)) return clientError(c, "allowed_origins", quoted(o) + " " + why);
  }
  return client;
}

}  // namespace

std::string_view authMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kNone: return "none";
    case AuthMethod::kClientSecretPost: return "client_secret_post";
    case AuthMethod::kClientSecretBasic: return "client_secret_basic";
  }
  return "none";
}

std::optional<AuthMethod> parseAuthMethod(std::string_view name) {
  if (name == "none") return AuthMethod::kNone;
  if (name == "client_secret_post") return AuthMethod::kClientSecretPost;
  if (name == "client_secret_basic") return AuthMethod::kClientSecretBasic;
  return std::nullopt;
}

std::string_view grantName(Grant grant) { return kGrantNames[static_cast<size_t>(grant)]; }

std::optional<Grant> parseGrant(std::string_view name) {
  for (size_t i = 0; i < kGrantNames.size(); ++i) {
    if (kGrantNames[i] == name) return static_cast<Grant>(i);
  }
  return std::nullopt;
}

bool Client::allowsGrant(std::string_view grantType) const {
  std::optional<Grant> grant = parseGrant(grantType);
  return grant && allowsGrant(*grant);
}

bool Client::hasCallback(std::string_view uri) const { return exactlyOneOf(config.callbacks, uri); }

bool Client::allowsLogoutUrl(std::string_view uri) const { return exactlyOneOf(config.allowedLogoutUrls, uri); }

bool Client::allowsOrigin(std::string_view origin) const {
  return exactlyOneOf(config.webOrigins, origin) || exactlyOneOf(config.allowedOrigins, origin);
}

bool Tenant::allowsOrigin(std::string_view origin) const {
  if (origin.empty()) return false;
  for (const Client& c : clients_) {
    if (c.allowsOrigin(origin)) return true;
  }
  return false;
}

size_t Tenant::FoldHash::operator()(std::string_view s) const {
  // FNV-1a over the folded bytes. The table is fixed at build(); requests only look up, so
  // chosen collisions cannot grow it.
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(lowerAscii(c));
    h *= 0x100000001b3ull;
  }
  return static_cast<size_t>(h);
}

bool Tenant::FoldEqual::operator()(std::string_view a, std::string_view b) const { return equalsFolded(a, b); }

core::Result<std::shared_ptr<Tenant>> Tenant::assembleMutable(const std::vector<config::ClientConfig>& clients,
                                                              std::vector<User> users, uint32_t passwordIterations) {
  if (passwordIterations == 0 || passwordIterations > kMaxPasswordIterations) {
    return Error(Errc::kInvalidArgument, "password iterations must lie in 1.." + std::to_string(kMaxPasswordIterations));
  }
  std::shared_ptr<Tenant> t(new Tenant());
  t->passwordIterations_ = passwordIterations;
  t->clients_.reserve(clients.size());
  for (const config::ClientConfig& c : clients) {
    core::Result<Client> client = buildClient(c);
    if (!client) return client.error();
    t->clients_.push_back(std::move(client).value());
  }
  for (const User& u : users) {
    if (u.userId.empty()) return Error(Errc::kInvalidArgument, "user: user_id is required");
    if (u.email.empty()) return userError(u.userId, "email is required");
  }
  t->users_ = std::move(users);

  // The vectors are complete and never change again: views into them are stable keys.
  for (const Client& c : t->clients_) {
    if (!t->clientsById_.emplace(c.id(), &c).second) return clientError(c.config, "client_id", "duplicate");
  }
  for (const User& u : t->users_) {
    if (!t->usersById_.emplace(u.userId, &u).second) return userError(u.userId, "user_id: duplicate");
    auto [it, inserted] = t->usersByEmail_.emplace(u.email, &u);
    if (!inserted) {
      return userError(u.userId, "email " + quoted(u.email) + " is already used by user " + quoted(it->second->userId));
    }
  }
  return t;
}

core::Result<std::shared_ptr<const Tenant>> Tenant::assemble(std::vector<config::ClientConfig> clients,
                                                            std::vector<User> users, uint32_t passwordIterations) {
  auto t = assembleMutable(clients, std::move(users), passwordIterations);
  if (!t) return t.error();
  return std::shared_ptr<const Tenant>(std::move(t).value());
}

const char* Tenant::urlProblem(std::string_view url) { return oauth::urlProblem(url); }

core::Result<std::shared_ptr<const Tenant>> Tenant::build(const config::Config& config,
                                                         uint32_t passwordIterations) {
  // Everything is validated before the first (slow) password hash, so a bad file fails fast.
  std::vector<User> users;
  users.reserve(config.users.size());
  for (const config::UserConfig& u : config.users) {
    if (u.password.find('\0') != std::string::npos) return userError(u.userId, "password: holds a NUL byte");
    users.push_back(User{.userId = u.userId, .email = u.email, .name = u.name, .emailVerified = u.emailVerified,
                         .blocked = u.blocked, .passwordHash = {}, .createdAt = {}, .updatedAt = {}});
  }
  auto t = assembleMutable(config.clients, std::move(users), passwordIterations);
  if (!t) return t.error();
  for (size_t i = 0; i < (*t)->users_.size(); ++i) {
    const std::string& password = config.users[i].password;
    if (!password.empty()) (*t)->users_[i].passwordHash = hashPassword(password, passwordIterations);
  }
  return std::shared_ptr<const Tenant>(std::move(t).value());
}

const Client* Tenant::client(std::string_view clientId) const {
  auto it = clientsById_.find(clientId);
  return it == clientsById_.end() ? nullptr : it->second;
}

const User* Tenant::userByEmail(std::string_view email) const {
  auto it = usersByEmail_.find(email);
  return it == usersByEmail_.end() ? nullptr : it->second;
}

const User* Tenant::userById(std::string_view userId) const {
  auto it = usersById_.find(userId);
  return it == usersById_.end() ? nullptr : it->second;
}

bool Tenant::checkPassword(const User* user, std::string_view password) const {
  if (user == nullptr || user->passwordHash.empty()) return verifyAgainstDummy(password, passwordIterations_);
  return verifyPassword(password, user->passwordHash);
}

}  // namespace handoff::oauth
