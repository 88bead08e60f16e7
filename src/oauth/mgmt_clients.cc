// The management API's clients (Auth0's /api/v2/clients): list, create, read,
// update, delete, rotate the secret. Changes go through TenantAdmin: durable
// and on every shard before the answer.
#include <string>

#include "handoff/oauth/crypto.h"
#include "handoff/oauth/mgmt_shapes.h"
#include "handoff/oauth/token_response.h"
#include "mgmt_common.h"

namespace handoff::oauth::mgmt {
namespace {

constexpr std::string_view kClientsPrefix = "/api/v2/clients/";

// Auth0's client ids: 32 characters of [A-Za-z0-9], 190 bits from the CSPRNG.
std::string newClientId() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  while (id.size() < 32) {
    std::array<uint8_t, 48> bytes;
    randomBytes(bytes);
    for (uint8_t b : bytes) {
      if (b < 248 && id.size() < 32) id.push_back(kAlphabet[b % 62]);  // 248 = 4 × 62: no bias
    }
  }
  return id;
}

// 48 random bytes, base64url: 64 characters, as long as Auth0's secrets.
std::string newClientSecret() { return randomToken(48); }

TenantChange notFound() { return changeError(404, "The client does not exist", "inexistent_client"); }

std::string clientRecord(const config::ClientConfig& c) { return clientJson(c, true); }

// Defaults for a new client where the body is silent: Auth0's, minus the
// implicit grant.
void applyCreateDefaults(config::ClientConfig& c, bool methodGiven, bool grantsGiven) {
  bool publicApp = c.appType == "native" || c.appType == "spa";
  if (!methodGiven && publicApp) c.tokenEndpointAuthMethod = "none";
  if (!grantsGiven) {
    c.grantTypes = {"authorization_code", "refresh_token"};
    if (c.appType == "non_interactive")
      c.grantTypes = {"client_credentials"};
    else if (c.tokenEndpointAuthMethod != "none")
      c.grantTypes.push_back("client_credentials");
  }
}

bool withSecrets(const ManagementCaller& caller) { return hasScope(caller.scope, "read:client_keys"); }

void listClients(Provider& p, http::Exchange& ex, const ManagementCaller& caller) {
  http::ParamList q;
  if (http::decodeForm(ex.request.query, *ex.request.arena, q) != http::DecodeStatus::kOk) {
    return sendManagementError(ex.response, 400, "Query validation error: malformed query string",
                               "invalid_query_string");
  }
  int64_t page = 0, perPage = 50;
  auto number = [&](std::string_view name, int64_t& out, int64_t max) {
    std::string_view text = q.get(name);
    if (text.empty()) return true;
    int64_t n = 0;
    for (char c : text) {
      if (c < '0' || c > '9' || n > max) return false;
      n = n * 10 + (c - '0');
    }
    if (n > max) return false;
    out = n;
    return true;
  };
  if (!number("page", page, 1000000) || !number("per_page", perPage, 100)) {
    return sendManagementError(ex.response, 400,
                               "Query validation error: page and per_page must "
                               "be integers (per_page ≤ 100)",
                               "invalid_query_string");
  }
  std::string_view totals = q.get("include_totals");
  if (!totals.empty() && totals != "true" && totals != "false") {
    return sendManagementError(ex.response, 400, "Query validation error: include_totals must be true or false",
                               "invalid_query_string");
  }
  auto clients = p.tenant().clients();
  size_t start = static_cast<size_t>(page * perPage);
  std::string list = "[";
  for (size_t i = start; i < clients.size() && i < start + static_cast<size_t>(perPage); ++i) {
    if (list.size() > 1) list.push_back(',');
    list.append(clientJson(clients[i].config, withSecrets(caller)));
  }
  list.push_back(']');
  if (totals != "true") return sendJson(ex.response, 200, list);
  std::string body =
      "{\"start\":" + std::to_string(start) + ",\"limit\":" + std::to_string(perPage) + ",\"length\":" +
      std::to_string(
          list == "[]" ? 0 : std::min(clients.size() - std::min(start, clients.size()), static_cast<size_t>(perPage))) +
      ",\"total\":" + std::to_string(clients.size()) + ",\"clients\":" + list + "}";
  sendJson(ex.response, 200, body);
}

void createClient(Provider& p, http::Exchange& ex, const ManagementCaller& caller) {
  const http::JsonValue* body = nullptr;
  if (!readJsonBody(ex, &body)) return;
  config::ClientConfig c;
  c.appType = "regular_web";
  ShapeError err;
  if (!applyClientBody(*body, c, ShapeMode::kCreate, err)) {
    return sendManagementError(ex.response, 400, err.message, "invalid_body");
  }
  if (body->find("name") == nullptr) {
    return sendManagementError(ex.response, 400, "Payload validation error: 'Missing required property: name'.",
                               "invalid_body");
  }
  applyCreateDefaults(c, body->find("token_endpoint_auth_method") != nullptr, body->find("grant_types") != nullptr);
  if (c.clientId.empty()) c.clientId = newClientId();
  if (c.clientSecret.empty() && c.tokenEndpointAuthMethod != "none") c.clientSecret = newClientSecret();
  submitChange(p, ex, caller, "Create a client", [c = std::move(c)](const Tenant& t) {
    if (t.client(c.clientId) != nullptr)
      return changeError(409, "A client with this client_id already exists", "conflict");
    TenantChange ch;
    ch.status = 201;
    ch.body = clientJson(c, true);
    ch.records.emplace_back(store::RecordType::kTenantClientPut, clientRecord(c));
    return ch;
  });
}

}  // namespace

void serveClients(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  ManagementCaller caller;
  if (ex.request.method == http::Method::kGet || ex.request.method == http::Method::kHead) {
    if (!authorizeManagement(p, ex, "read:clients", &caller)) return;
    return listClients(p, ex, caller);
  }
  if (!authorizeManagement(p, ex, "create:clients", &caller)) return;
  createClient(p, ex, caller);
}

void serveClient(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  http::Method m = ex.request.method;
  std::string id, rest;
  if (!splitPath(ex, kClientsPrefix, id, rest)) return;
  ManagementCaller caller;
  if (rest == "rotate-secret") {
    if (m != http::Method::kPost) return sendMethodNotAllowed(ex.response);
    if (!authorizeManagement(p, ex, "update:clients", &caller)) return;
    std::string secret = newClientSecret();
    return submitChange(p, ex, caller, "Rotate a client secret", [id, secret](const Tenant& t) {
      const Client* c = t.client(id);
      if (c == nullptr) return notFound();
      config::ClientConfig next = c->config;
      next.clientSecret = secret;
      TenantChange ch;
      ch.body = clientJson(next, true);
      ch.records.emplace_back(store::RecordType::kTenantClientPut, clientRecord(next));
      return ch;
    });
  }
  if (!rest.empty()) return sendManagementError(ex.response, 404, "Not Found", "");
  if (m == http::Method::kGet || m == http::Method::kHead) {
    if (!authorizeManagement(p, ex, "read:clients", &caller)) return;
    const Client* c = p.tenant().client(id);
    if (c == nullptr) return sendManagementError(ex.response, 404, "The client does not exist", "inexistent_client");
    return sendJson(ex.response, 200, clientJson(c->config, withSecrets(caller)));
  }
  if (m == http::Method::kDelete) {
    if (!authorizeManagement(p, ex, "delete:clients", &caller)) return;
    return submitChange(p, ex, caller, "Delete a client", [id](const Tenant& t) {
      if (t.client(id) == nullptr) return notFound();
      TenantChange ch;
      ch.status = 204;
      ch.records.emplace_back(store::RecordType::kTenantClientDeleted, id);
      return ch;
    });
  }
  if (m != http::Method::kPatch) return sendMethodNotAllowed(ex.response);
  if (!authorizeManagement(p, ex, "update:clients", &caller)) return;
  const http::JsonValue* body = nullptr;
  if (!readJsonBody(ex, &body)) return;
  // Checked here against a scratch client for a quick 400; applied again on
  // shard 0 to the client as it is when the change runs.
  config::ClientConfig scratch;
  ShapeError err;
  if (!applyClientBody(*body, scratch, ShapeMode::kPatch, err)) {
    return sendManagementError(ex.response, 400, err.message, "invalid_body");
  }
  submitChange(p, ex, caller, "Update a client",
               [id, text = std::string(ex.request.body), secrets = withSecrets(caller)](const Tenant& t) {
                 const Client* c = t.client(id);
                 if (c == nullptr) return notFound();
                 config::ClientConfig next = c->config;
                 core::Arena arena;
                 const http::JsonValue* v = nullptr;
                 ShapeError e;
                 if (http::parseJson(text, arena, &v, 16) != http::JsonError::kNone ||
                     !applyClientBody(*v, next, ShapeMode::kPatch, e)) {
                   return changeError(400, e.message, "invalid_body");
                 }
                 TenantChange ch;
                 ch.body = clientJson(next, secrets);
                 ch.records.emplace_back(store::RecordType::kTenantClientPut, clientRecord(next));
                 return ch;
               });
}

}  // namespace handoff::oauth::mgmt
