// The management API's JSON: Auth0's client and user objects, out and in.
#include "handoff/oauth/mgmt_shapes.h"

#include <ctime>

namespace handoff::oauth {
namespace {

using http::JsonValue;

void appendBool(std::string& out, bool v) { out.append(v ? "true" : "false"); }

void appendKey(std::string& out, std::string_view key) {
  if (out.back() != '{') out.push_back(',');
  core::appendJsonString(out, key);
  out.push_back(':');
}

void appendStringArray(std::string& out, const std::vector<std::string>& list) {
  out.push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i != 0) out.push_back(',');
    core::appendJsonString(out, list[i]);
  }
  out.push_back(']');
}

bool fail(ShapeError& err, std::string message) {
  err.message = "Payload validation error: " + std::move(message);
  return false;
}

bool typeError(ShapeError& err, std::string_view key, std::string_view expected) {
  return fail(err, "'Expected type " + std::string(expected) + "' on property " + std::string(key) + ".");
}

bool unknownKey(ShapeError& err, std::string_view key) {
  return fail(err, "'Additional properties not allowed: " + std::string(key) + "'.");
}

bool readString(const JsonValue& v, std::string_view key, std::string& out, ShapeError& err) {
  if (!v.isString()) return typeError(err, key, "string");
  out = std::string(v.text);
  return true;
}

bool readBool(const JsonValue& v, std::string_view key, bool& out, ShapeError& err) {
  if (!v.isBool()) return typeError(err, key, "boolean");
  out = v.boolean;
  return true;
}

bool readStringArray(const JsonValue& v, std::string_view key, std::vector<std::string>& out, ShapeError& err) {
  if (!v.isArray()) return typeError(err, key, "array");
  out.clear();
  for (const JsonValue& e : v.array()) {
    if (!e.isString()) return typeError(err, std::string(key) + " items", "string");
    out.emplace_back(e.text);
  }
  return true;
}

bool oneOf(std::string_view s, std::initializer_list<std::string_view> allowed) {
  for (std::string_view a : allowed) {
    if (a == s) return true;
  }
  return false;
}

bool applyRefreshToken(const JsonValue& v, config::RefreshTokenConfig& rt, ShapeError& err) {
  if (!v.isObject()) return typeError(err, "refresh_token", "object");
  for (const http::JsonMember& m : v.object()) {
    if (m.key == "rotation_type") {
      if (!readString(m.value, "refresh_token.rotation_type", rt.rotationType, err)) return false;
      if (!oneOf(rt.rotationType, {"rotating", "non-rotating"})) {
        return fail(err, "'No enum match for: \"" + rt.rotationType + "\"' on property refresh_token.rotation_type.");
      }
    } else if (m.key == "leeway") {
      int64_t n = 0;
      if (!m.value.asInt64(&n) || n < 0 || n > 86400) return typeError(err, "refresh_token.leeway", "integer 0..86400");
      rt.leeway = n;
    } else {
      return unknownKey(err, "refresh_token." + std::string(m.key));
    }
  }
  return true;
}

// Known keys set their field; unknown keys are kept as JSON text (SPEC.md §6);
// a null removes an unknown key or resets a known one to its default.
bool applySessionTransfer(const JsonValue& v, config::SessionTransferConfig& st, ShapeError& err) {
  if (v.isNull()) {
    st = config::SessionTransferConfig{};
    return true;
  }
  if (!v.isObject()) return typeError(err, "session_transfer", "object");
  const config::SessionTransferConfig defaults;
  for (const http::JsonMember& m : v.object()) {
    std::string key = "session_transfer." + std::string(m.key);
    bool reset = m.value.isNull();
    if (m.key == "can_create_session_transfer_token") {
      if (reset)
        st.canCreateSessionTransferToken = defaults.canCreateSessionTransferToken;
      else if (!readBool(m.value, key, st.canCreateSessionTransferToken, err))
        return false;
    } else if (m.key == "enforce_cascade_revocation") {
      if (reset)
        st.enforceCascadeRevocation = defaults.enforceCascadeRevocation;
      else if (!readBool(m.value, key, st.enforceCascadeRevocation, err))
        return false;
    } else if (m.key == "allow_refresh_token") {
      if (reset)
        st.allowRefreshToken = defaults.allowRefreshToken;
      else if (!readBool(m.value, key, st.allowRefreshToken, err))
        return false;
    } else if (m.key == "enforce_online_refresh_tokens") {
      if (reset)
        st.enforceOnlineRefreshTokens = defaults.enforceOnlineRefreshTokens;
      else if (!readBool(m.value, key, st.enforceOnlineRefreshTokens, err))
        return false;
    } else if (m.key == "allowed_authentication_methods") {
      if (reset)
        st.allowedAuthenticationMethods.clear();
      else if (!readStringArray(m.value, key, st.allowedAuthenticationMethods, err))
        return false;
      for (const std::string& a : st.allowedAuthenticationMethods) {
        if (!oneOf(a, {"cookie", "query"}))
          return fail(err, "'No enum match for: \"" + a + "\"' on property " + key + ".");
      }
    } else if (m.key == "enforce_device_binding") {
      if (reset)
        st.enforceDeviceBinding = defaults.enforceDeviceBinding;
      else if (!readString(m.value, key, st.enforceDeviceBinding, err))
        return false;
      if (!oneOf(st.enforceDeviceBinding, {"ip", "asn", "none"})) {
        return fail(err, "'No enum match for: \"" + st.enforceDeviceBinding + "\"' on property " + key + ".");
      }
    } else if (reset) {
      st.unknown.erase(std::string(m.key));
    } else {
      std::string text;
      appendJsonValue(text, m.value);
      st.unknown[std::string(m.key)] = std::move(text);
    }
  }
  return true;
}

}  // namespace

void appendJsonValue(std::string& out, const JsonValue& v) {
  switch (v.type) {
    case http::JsonType::kNull:
      out.append("null");
      return;
    case http::JsonType::kBool:
      appendBool(out, v.boolean);
      return;
    case http::JsonType::kNumber:
      out.append(v.text);
      return;
    case http::JsonType::kString:
      core::appendJsonString(out, v.text);
      return;
    case http::JsonType::kArray: {
      out.push_back('[');
      bool first = true;
      for (const JsonValue& e : v.array()) {
        if (!first) out.push_back(',');
        first = false;
        appendJsonValue(out, e);
      }
      out.push_back(']');
      return;
    }
    case http::JsonType::kObject: {
      out.push_back('{');
      bool first = true;
      for (const http::JsonMember& m : v.object()) {
        if (!first) out.push_back(',');
        first = false;
        core::appendJsonString(out, m.key);
        out.push_back(':');
        appendJsonValue(out, m.value);
      }
      out.push_back('}');
      return;
    }
  }
}

std::string isoTime(int64_t unixMs) {
  time_t secs = static_cast<time_t>(unixMs / 1000);
  tm t{};
  ::gmtime_r(&secs, &t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(unixMs % 1000));
  return buf;
}

std::string clientJson(const config::ClientConfig& c, bool withSecret) {
  std::string out = "{";
  appendKey(out, "client_id");
  core::appendJsonString(out, c.clientId);
  if (withSecret && !c.clientSecret.empty()) {
    appendKey(out, "client_secret");
    core::appendJsonString(out, c.clientSecret);
  }
  appendKey(out, "name");
  core::appendJsonString(out, c.name);
  appendKey(out, "app_type");
  core::appendJsonString(out, c.appType);
  appendKey(out, "global");
  out.append("false");
  appendKey(out, "oidc_conformant");
  out.append("true");
  appendKey(out, "is_first_party");
  appendBool(out, c.isFirstParty);
  appendKey(out, "is_token_endpoint_ip_header_trusted");
  appendBool(out, c.isTokenEndpointIpHeaderTrusted);
  appendKey(out, "grant_types");
  appendStringArray(out, c.grantTypes);
  appendKey(out, "callbacks");
  appendStringArray(out, c.callbacks);
  appendKey(out, "allowed_logout_urls");
  appendStringArray(out, c.allowedLogoutUrls);
  appendKey(out, "web_origins");
  appendStringArray(out, c.webOrigins);
  appendKey(out, "allowed_origins");
  appendStringArray(out, c.allowedOrigins);
  appendKey(out, "token_endpoint_auth_method");
  core::appendJsonString(out, c.tokenEndpointAuthMethod);
  appendKey(out, "refresh_token");
  out.append("{\"rotation_type\":");
  core::appendJsonString(out, c.refreshToken.rotationType);
  out.append(",\"leeway\":").append(std::to_string(c.refreshToken.leeway)).append("}");
  const config::SessionTransferConfig& st = c.sessionTransfer;
  appendKey(out, "session_transfer");
  out.append("{\"can_create_session_transfer_token\":");
  appendBool(out, st.canCreateSessionTransferToken);
  out.append(",\"enforce_cascade_revocation\":");
  appendBool(out, st.enforceCascadeRevocation);
  out.append(",\"allowed_authentication_methods\":");
  appendStringArray(out, st.allowedAuthenticationMethods);
  out.append(",\"enforce_device_binding\":");
  core::appendJsonString(out, st.enforceDeviceBinding);
  out.append(",\"allow_refresh_token\":");
  appendBool(out, st.allowRefreshToken);
  out.append(",\"enforce_online_refresh_tokens\":");
  appendBool(out, st.enforceOnlineRefreshTokens);
  for (const auto& [k, text] : st.unknown) {
    out.push_back(',');
    core::appendJsonString(out, k);
    out.push_back(':');
    out.append(text);
  }
  out.append("}}");
  return out;
}

bool applyClientBody(const JsonValue& body, config::ClientConfig& c, ShapeMode mode, ShapeError& err) {
  if (!body.isObject())
    return fail(err, "'Expected type object but found type " + std::string(body.isArray() ? "array" : "other") + "'.");
  for (const http::JsonMember& m : body.object()) {
    std::string_view k = m.key;
    const JsonValue& v = m.value;
    bool ok = true;
    if (k == "client_id" && mode != ShapeMode::kPatch) {
      ok = readString(v, k, c.clientId, err);
      if (ok && (c.clientId.empty() || c.clientId.size() > 128))
        return fail(err, "'String length out of range' on property client_id.");
    } else if (k == "client_secret") {
      ok = readString(v, k, c.clientSecret, err);
      if (ok && mode != ShapeMode::kJournal && c.clientSecret.size() < 16) {
        return fail(err, "'String is too short (" + std::to_string(c.clientSecret.size()) +
                             " chars), minimum 16' on property client_secret.");
      }
    } else if (k == "name") {
      ok = readString(v, k, c.name, err);
      if (ok && c.name.empty() && mode != ShapeMode::kJournal)
        return fail(err, "'String is too short (0 chars), minimum 1' on property name.");
    } else if (k == "app_type") {
      ok = readString(v, k, c.appType, err);
      // Config-file clients may have none; the API sets one.
      bool none = c.appType.empty() && mode == ShapeMode::kJournal;
      if (ok && !none && !oneOf(c.appType, {"native", "spa", "regular_web", "non_interactive"})) {
        return fail(err, "'No enum match for: \"" + c.appType + "\"' on property app_type.");
      }
    } else if (k == "grant_types") {
      ok = readStringArray(v, k, c.grantTypes, err);
    } else if (k == "callbacks") {
      ok = readStringArray(v, k, c.callbacks, err);
    } else if (k == "allowed_logout_urls") {
      ok = readStringArray(v, k, c.allowedLogoutUrls, err);
    } else if (k == "web_origins") {
      ok = readStringArray(v, k, c.webOrigins, err);
    } else if (k == "allowed_origins") {
      ok = readStringArray(v, k, c.allowedOrigins, err);
    } else if (k == "token_endpoint_auth_method") {
      ok = readString(v, k, c.tokenEndpointAuthMethod, err);
      if (ok && !parseAuthMethod(c.tokenEndpointAuthMethod)) {
        return fail(
            err, "'No enum match for: \"" + c.tokenEndpointAuthMethod + "\"' on property token_endpoint_auth_method.");
      }
    } else if (k == "is_first_party") {
      ok = readBool(v, k, c.isFirstParty, err);
    } else if (k == "is_token_endpoint_ip_header_trusted") {
      ok = readBool(v, k, c.isTokenEndpointIpHeaderTrusted, err);
    } else if (k == "refresh_token") {
      ok = applyRefreshToken(v, c.refreshToken, err);
    } else if (k == "session_transfer") {
      ok = applySessionTransfer(v, c.sessionTransfer, err);
    } else if (mode != ShapeMode::kCreate && (k == "global" || k == "oidc_conformant")) {
      // Read-only fields we return; a client that PATCHes back what it read is
      // not refused.
    } else {
      return unknownKey(err, k);
    }
    if (!ok) return false;
  }
  return true;
}

std::string userJson(const User& u, bool withHash) {
  std::string out = "{";
  appendKey(out, "user_id");
  core::appendJsonString(out, u.userId);
  appendKey(out, "email");
  core::appendJsonString(out, u.email);
  appendKey(out, "email_verified");
  appendBool(out, u.emailVerified);
  appendKey(out, "name");
  core::appendJsonString(out, u.name.empty() && !withHash ? u.email : u.name);
  appendKey(out, "blocked");
  appendBool(out, u.blocked);
  if (!u.createdAt.empty()) {
    appendKey(out, "created_at");
    core::appendJsonString(out, u.createdAt);
  }
  if (!u.updatedAt.empty()) {
    appendKey(out, "updated_at");
    core::appendJsonString(out, u.updatedAt);
  }
  std::string_view id = u.userId;
  size_t bar = id.find('|');
  appendKey(out, "identities");
  out.append("[{\"connection\":");
  core::appendJsonString(out, kDatabaseConnection);
  out.append(",\"provider\":");
  core::appendJsonString(out, bar == std::string_view::npos ? std::string_view("auth0") : id.substr(0, bar));
  out.append(",\"user_id\":");
  core::appendJsonString(out, bar == std::string_view::npos ? id : id.substr(bar + 1));
  out.append(",\"isSocial\":false}]");
  if (withHash) {
    appendKey(out, "password_hash");
    core::appendJsonString(out, u.passwordHash);
  }
  out.push_back('}');
  return out;
}

bool applyUserBody(const JsonValue& body, User& u, ShapeMode mode, UserBodyExtras& extras, ShapeError& err) {
  if (!body.isObject()) return fail(err, "'Expected type object'.");
  for (const http::JsonMember& m : body.object()) {
    std::string_view k = m.key;
    const JsonValue& v = m.value;
    bool ok = true;
    if (k == "email") {
      ok = readString(v, k, u.email, err);
      if (ok && (u.email.size() < 3 || u.email.find('@') == std::string::npos || u.email.size() > 254)) {
        return fail(err, "'Object didn't pass validation for format email: " + u.email + "' on property email.");
      }
    } else if (k == "name") {
      ok = readString(v, k, u.name, err);
    } else if (k == "email_verified") {
      ok = readBool(v, k, u.emailVerified, err);
    } else if (k == "blocked") {
      ok = readBool(v, k, u.blocked, err);
    } else if (k == "password" && mode != ShapeMode::kJournal) {
      ok = readString(v, k, extras.password, err);
      if (ok && extras.password.empty())
        return fail(err, "'String is too short (0 chars), minimum 1' on property password.");
      if (ok && extras.password.find('\0') != std::string::npos) return fail(err, "'password holds a NUL byte'.");
      extras.hasPassword = ok;
    } else if (k == "connection" && mode != ShapeMode::kJournal) {
      std::string conn;
      ok = readString(v, k, conn, err);
      if (ok && conn != kDatabaseConnection) {
        return fail(err,
                    "'connection \"" + conn + "\" does not exist; only " + std::string(kDatabaseConnection) + "'.");
      }
      extras.hasConnection = ok;
    } else if ((k == "verify_email" || k == "verify_password") && mode != ShapeMode::kJournal) {
      bool ignored = false;
      ok = readBool(v, k, ignored,
                    err);  // no mail is ever sent: accepted and ignored
    } else if (k == "user_id" && mode != ShapeMode::kPatch) {
      std::string id;
      ok = readString(v, k, id, err);
      if (ok && mode == ShapeMode::kJournal)
        u.userId = id;
      else if (ok)
        extras.userId = id.starts_with("auth0|") ? id.substr(6) : id;
      if (ok && (id.empty() || id.size() > 128)) return fail(err, "'String length out of range' on property user_id.");
    } else if (mode == ShapeMode::kJournal && k == "password_hash") {
      ok = readString(v, k, u.passwordHash, err);
    } else if (mode == ShapeMode::kJournal && k == "created_at") {
      ok = readString(v, k, u.createdAt, err);
    } else if (mode == ShapeMode::kJournal && k == "updated_at") {
      ok = readString(v, k, u.updatedAt, err);
    } else if (mode == ShapeMode::kJournal && k == "identities") {
      // Derived from user_id.
    } else {
      return unknownKey(err, k);
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace handoff::oauth
