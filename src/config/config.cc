#include "handoff/config/config.h"

// Debian's toml++ is a shared library built with exceptions: parse errors arrive as
// toml::parse_error. Config loading runs once at start-up, never on the request path.
#include <toml++/toml.h>

#include <arpa/inet.h>

#include <charconv>
#include <sstream>

namespace handoff::config {

using core::Errc;
using core::Error;

namespace {

// Reads typed values out of a TOML table, remembering the first error with file:line and the
// dotted key. Every accessor marks its key as known, so leftover keys can be reported.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  void fail(const toml::node& n, const std::string& key, const std::string& what) {
    if (failed()) return;
    error_ = file_ + ":" + std::to_string(n.source().begin.line) + ": " + key + ": " + what;
  }

  template <class F>
  void each(const toml::table& t, const std::string& prefix, F&& onKey) {
    for (auto&& [k, v] : t) {
      if (failed()) return;
      std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      if (!onKey(std::string(k.str()), v, key)) fail(v, key, "unknown key");
    }
  }

  void str(const toml::node& v, const std::string& key, std::string& out) {
    if (auto s = v.value<std::string>(); s && v.is_string()) out = *s; else fail(v, key, "expected a string");
  }
  void boolean(const toml::node& v, const std::string& key, bool& out) {
    if (auto b = v.value<bool>(); b && v.is_boolean()) out = *b; else fail(v, key, "expected true or false");
  }
  void integer(const toml::node& v, const std::string& key, int64_t& out, int64_t lo, int64_t hi) {
    auto i = v.value<int64_t>();
    if (!i || !v.is_integer()) return fail(v, key, "expected an integer");
    if (*i < lo || *i > hi) return fail(v, key, "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    out = *i;
  }
  template <class U>
  void unsignedInt(const toml::node& v, const std::string& key, U& out, int64_t lo, int64_t hi) {
    int64_t x = static_cast<int64_t>(out);
    integer(v, key, x, lo, hi);
    out = static_cast<U>(x);
  }
  void strings(const toml::node& v, const std::string& key, std::vector<std::string>& out) {
    const toml::array* a = v.as_array();
    if (a == nullptr) return fail(v, key, "expected an array of strings");
    out.clear();
    for (const toml::node& e : *a) {
      if (!e.is_string()) return fail(e, key, "expected an array of strings");
      out.push_back(*e.value<std::string>());
    }
  }
  void oneOf(const toml::node& v, const std::string& key, std::string& out, std::initializer_list<const char*> allowed) {
    str(v, key, out);
    if (failed()) return;
    std::string list;
    for (const char* a : allowed) {
      if (out == a) return;
      list += list.empty() ? a : std::string(", ") + a;
    }
    fail(v, key, "must be one of: " + list);
  }
  const toml::table* table(const toml::node& v, const std::string& key) {
    const toml::table* t = v.as_table();
    if (t == nullptr) fail(v, key, "expected a table");
    return t;
  }

 private:
  std::string file_;
  std::string error_;
};

// A TOML value as JSON text, for keys we keep without interpreting.
std::string asJson(const toml::node& v) {
  std::string out;
  if (auto s = v.as_string()) {
    core::appendJsonString(out, s->get());
  } else if (auto b = v.as_boolean()) {
    out = b->get() ? "true" : "false";
  } else if (auto i = v.as_integer()) {
    out = std::to_string(i->get());
  } else if (auto f = v.as_floating_point()) {
    out = std::to_string(f->get());
  } else {
    std::ostringstream os;
    if (auto t = v.as_table()) os << toml::json_formatter{*t};
    else if (auto a = v.as_array()) os << toml::json_formatter{*a};
    out = os.str();
  }
  return out;
}

void readServer(Reader& r, const toml::table& t, Config& c) {
  bool plain = false;
  r.each(t, "server", [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "listen") r.strings(v, key, c.listen), plain = true;
    else if (k == "listen_proxy") r.strings(v, key, c.listenProxy);
    else if (k == "listen_tls") r.strings(v, key, c.listenTls);
    else if (k == "threads") r.unsignedInt(v, key, c.threads, 0, 1024);
    else if (k == "pin") r.boolean(v, key, c.pin);
    else if (k == "data_dir") r.str(v, key, c.dataDir);
    else if (k == "log_level") {
      std::string s;
      r.oneOf(v, key, s, {"debug", "info", "warn", "error"});
      if (!r.failed()) core::parseLogLevel(s, &c.logLevel);
    } else return false;
    return true;
  });
  if (plain) c.listenIsDefault = false;
  // No default plain listener beside PROXY or TLS ones.
  if (!plain && (!c.listenProxy.empty() || !c.listenTls.empty())) c.listen.clear();
}

void readLimits(Reader& r, const toml::table& t, http::Limits& l) {
  r.each(t, "limits", [&](const std::string& k, const toml::node& v, const std::string& key) {
    constexpr int64_t kMaxBytes = 64 << 20, kMaxMs = 3600 * 1000;
    if (k == "max_request_line") r.unsignedInt(v, key, l.maxRequestLine, 64, kMaxBytes);
    else if (k == "max_header_bytes") r.unsignedInt(v, key, l.maxHeaderBytes, 256, kMaxBytes);
    else if (k == "max_header_line") r.unsignedInt(v, key, l.maxHeaderLine, 64, kMaxBytes);
    else if (k == "max_headers") r.unsignedInt(v, key, l.maxHeaders, 1, 10000);
    else if (k == "max_body_bytes") r.unsignedInt(v, key, l.maxBodyBytes, 0, kMaxBytes);
    else if (k == "header_timeout_ms") r.unsignedInt(v, key, l.headerTimeoutMs, 1, kMaxMs);
    else if (k == "body_timeout_ms") r.unsignedInt(v, key, l.bodyTimeoutMs, 1, kMaxMs);
    else if (k == "idle_timeout_ms") r.unsignedInt(v, key, l.idleTimeoutMs, 1, kMaxMs);
    else if (k == "max_pipelined") r.unsignedInt(v, key, l.maxPipelined, 1, 10000);
    else if (k == "max_output_bytes") r.unsignedInt(v, key, l.maxOutputBytes, 4096, kMaxBytes);
    else if (k == "max_connections") r.unsignedInt(v, key, l.maxConnections, 0, 10000000);
    else if (k == "max_connections_per_ip") r.unsignedInt(v, key, l.maxConnectionsPerIp, 0, 10000000);
    else if (k == "max_password_checks") r.unsignedInt(v, key, l.maxPasswordChecks, 1, 100000);
    else return false;
    return true;
  });
}

void readRateLimits(Reader& r, const toml::table& t, RateLimitsConfig& rl) {
  r.each(t, "rate_limits", [&](const std::string& k, const toml::node& v, const std::string& key) {
    // At most 60000 a minute: one request back per millisecond, the limiter's resolution.
    if (k == "login_burst") r.unsignedInt(v, key, rl.login.burst, 1, 1000000);
    else if (k == "login_per_minute") r.unsignedInt(v, key, rl.login.perMinute, 0, 60000);
    else if (k == "token_burst") r.unsignedInt(v, key, rl.token.burst, 1, 1000000);
    else if (k == "token_per_minute") r.unsignedInt(v, key, rl.token.perMinute, 0, 60000);
    else if (k == "max_keys") r.unsignedInt(v, key, rl.maxKeys, 64, 10000000);
    else return false;
    return true;
  });
  // A limit turned on without a burst allows a minute's worth at once.
  for (RateLimitConfig* one : {&rl.login, &rl.token}) {
    if (one->perMinute != 0 && one->burst == 0) one->burst = one->perMinute;
  }
}

void readTenant(Reader& r, const toml::table& t, TenantConfig& tc) {
  r.each(t, "tenant", [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "domain") r.str(v, key, tc.domain);
    else if (k == "custom_domains") r.strings(v, key, tc.customDomains);
    else if (k == "signing_alg") r.oneOf(v, key, tc.signingAlg, {"RS256", "ES256", "EdDSA"});
    else return false;
    return true;
  });
}

void readClient(Reader& r, const toml::table& t, const std::string& prefix, ClientConfig& c) {
  r.each(t, prefix, [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "client_id") r.str(v, key, c.clientId);
    else if (k == "client_secret") r.str(v, key, c.clientSecret);
    else if (k == "name") r.str(v, key, c.name);
    else if (k == "app_type") r.oneOf(v, key, c.appType, {"native", "regular_web", "spa", "non_interactive"});
    else if (k == "grant_types") r.strings(v, key, c.grantTypes);
    else if (k == "callbacks") r.strings(v, key, c.callbacks);
    else if (k == "allowed_logout_urls") r.strings(v, key, c.allowedLogoutUrls);
    else if (k == "web_origins") r.strings(v, key, c.webOrigins);
    else if (k == "allowed_origins") r.strings(v, key, c.allowedOrigins);
    else if (k == "token_endpoint_auth_method") r.oneOf(v, key, c.tokenEndpointAuthMethod, {"none", "client_secret_post", "client_secret_basic"});
    else if (k == "is_first_party") r.boolean(v, key, c.isFirstParty);
    else if (k == "is_token_endpoint_ip_header_trusted") r.boolean(v, key, c.isTokenEndpointIpHeaderTrusted);
    else if (k == "refresh_token") {
      const toml::table* rt = r.table(v, key);
      if (rt == nullptr) return true;
      r.each(*rt, key, [&](const std::string& k2, const toml::node& v2, const std::string& key2) {
        if (k2 == "rotation_type") r.oneOf(v2, key2, c.refreshToken.rotationType, {"rotating", "non-rotating"});
        else if (k2 == "leeway") r.integer(v2, key2, c.refreshToken.leeway, 0, 3600);
        else return false;
        return true;
      });
    } else if (k == "session_transfer") {
      const toml::table* st = r.table(v, key);
      if (st == nullptr) return true;
      SessionTransferConfig& s = c.sessionTransfer;
      r.each(*st, key, [&](const std::string& k2, const toml::node& v2, const std::string& key2) {
        if (k2 == "can_create_session_transfer_token") r.boolean(v2, key2, s.canCreateSessionTransferToken);
        else if (k2 == "enforce_cascade_revocation") r.boolean(v2, key2, s.enforceCascadeRevocation);
        else if (k2 == "allowed_authentication_methods") {
          r.strings(v2, key2, s.allowedAuthenticationMethods);
          for (const std::string& m : s.allowedAuthenticationMethods) {
            if (m != "cookie" && m != "query") r.fail(v2, key2, "methods are \"cookie\" and \"query\"");
          }
        } else if (k2 == "enforce_device_binding") r.oneOf(v2, key2, s.enforceDeviceBinding, {"ip", "asn", "none"});
        else if (k2 == "allow_refresh_token") r.boolean(v2, key2, s.allowRefreshToken);
        else if (k2 == "enforce_online_refresh_tokens") r.boolean(v2, key2, s.enforceOnlineRefreshTokens);
        else {
          s.unknown[k2] = asJson(v2);  // kept and returned unchanged by the management API
        }
        return true;
      });
    } else return false;
    return true;
  });
  if (!r.failed() && c.clientId.empty()) r.fail(t, prefix, "client_id is required");
  if (!r.failed() && c.tokenEndpointAuthMethod != "none" && c.clientSecret.empty()) {
    r.fail(t, prefix, "client_secret is required unless token_endpoint_auth_method is \"none\"");
  }
}

void readUser(Reader& r, const toml::table& t, const std::string& prefix, UserConfig& u) {
  r.each(t, prefix, [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "user_id") r.str(v, key, u.userId);
    else if (k == "email") r.str(v, key, u.email);
    else if (k == "password") r.str(v, key, u.password);
    else if (k == "name") r.str(v, key, u.name);
    else if (k == "email_verified") r.boolean(v, key, u.emailVerified);
    else if (k == "blocked") r.boolean(v, key, u.blocked);
    else return false;
    return true;
  });
  if (!r.failed() && (u.userId.empty() || u.email.empty())) r.fail(t, prefix, "user_id and email are required");
}

void readEvents(Reader& r, const toml::table& t, EventsConfig& e) {
  r.each(t, "events", [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "ring_capacity") r.unsignedInt(v, key, e.ringCapacity, 16, 1000000);
    else if (k == "sink") r.str(v, key, e.sink);
    else return false;
    return true;
  });
}

// "a.b.c.d", "a.b.c.d/n", "v6" or "v6/n" with n within the family's bits.
bool validCidr(const std::string& text) {
  size_t slash = text.find('/');
  std::string ip = text.substr(0, slash);
  unsigned char buf[16];
  int bits = 0;
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) bits = 32;
  else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) bits = 128;
  else return false;
  if (slash == std::string::npos) return true;
  std::string len = text.substr(slash + 1);
  if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoi(len) <= bits;
}

void readPolicy(Reader& r, const toml::table& t, PolicyConfig& p) {
  r.each(t, "policy", [&](const std::string& k, const toml::node& v, const std::string& key) {
    constexpr int64_t kYear = 366LL * 24 * 3600;
    if (k == "session_transfer_max_lifetime_s") r.integer(v, key, p.sessionTransferMaxLifetimeS, 0, kYear);
    else if (k == "session_transfer_idle_timeout_s") r.integer(v, key, p.sessionTransferIdleTimeoutS, 0, kYear);
    else if (k == "deny_country_change") r.boolean(v, key, p.denyCountryChange);
    else if (k == "deny_asns") {
      const toml::array* a = v.as_array();
      if (a == nullptr) {
        r.fail(v, key, "expected an array of ASNs");
        return true;
      }
      for (const toml::node& e : *a) {
        int64_t asn = 0;
        r.integer(e, key, asn, 1, 4294967295LL);
        p.denyAsns.push_back(static_cast<uint32_t>(asn));
      }
    } else return false;
    return true;
  });
}

void readStore(Reader& r, const toml::table& t, StoreConfig& s) {
  r.each(t, "store", [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "durable") r.boolean(v, key, s.durable);
    else if (k == "sync") r.boolean(v, key, s.sync);
    else if (k == "snapshot_after_mb") r.unsignedInt(v, key, s.snapshotAfterMb, 1, 1 << 20);
    else if (k == "redis_cluster") r.strings(v, key, s.redisCluster);
    else if (k == "redis_deadline_ms") {
      uint64_t ms = s.redisDeadlineMs;
      r.unsignedInt(v, key, ms, 10, 60000);
      s.redisDeadlineMs = static_cast<uint32_t>(ms);
    }
    else return false;
    return true;
  });
}

void readProxy(Reader& r, const toml::table& t, ProxyConfig& p) {
  r.each(t, "proxy", [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k != "trusted") return false;
    r.strings(v, key, p.trusted);
    for (const std::string& c : p.trusted) {
      if (!validCidr(c)) r.fail(v, key, "'" + c + "' is not an IP address or CIDR");
    }
    return true;
  });
}

template <class T, class F>
void readArrayOfTables(Reader& r, const toml::node& v, const std::string& key, std::vector<T>& out, F&& readOne);

void readTlsCertificate(Reader& r, const toml::table& t, const std::string& prefix, TlsCertificateConfig& c) {
  r.each(t, prefix, [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "cert") r.str(v, key, c.cert);
    else if (k == "key") r.str(v, key, c.key);
    else if (k == "names") r.strings(v, key, c.names);
    else return false;
    return true;
  });
  if (!r.failed() && (c.cert.empty() || c.key.empty())) r.fail(t, prefix, "cert and key are required");
}

void readTls(Reader& r, const toml::table& t, TlsConfig& tls) {
  r.each(t, "tls", [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "cert") r.str(v, key, tls.cert);
    else if (k == "key") r.str(v, key, tls.key);
    else if (k == "ticket_rotation_s") r.unsignedInt(v, key, tls.ticketRotationS, 1, 7 * 24 * 3600);
    else if (k == "certificates") readArrayOfTables(r, v, key, tls.certificates, readTlsCertificate);
    else return false;
    return true;
  });
}

template <class T, class F>
void readArrayOfTables(Reader& r, const toml::node& v, const std::string& key, std::vector<T>& out, F&& readOne) {
  const toml::array* a = v.as_array();
  if (a == nullptr) return r.fail(v, key, "expected [[" + key + "]] tables");
  for (size_t i = 0; i < a->size() && !r.failed(); ++i) {
    const toml::table* t = (*a)[i].as_table();
    std::string k = key + "[" + std::to_string(i) + "]";
    if (t == nullptr) return r.fail((*a)[i], k, "expected a table");
    out.emplace_back();
    readOne(r, *t, k, out.back());
  }
}

}  // namespace

core::Result<Config> loadConfigFile(const std::string& path) {
  toml::table parsed;
  try {
    parsed = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string where = e.source().begin.line != 0 ? ":" + std::to_string(e.source().begin.line) : "";
    return Error(Errc::kInvalidArgument, path + where + ": " + std::string(e.description()));
  }
  Config c;
  c.sourceFile = path;
  Reader r(path);
  r.each(parsed, "", [&](const std::string& k, const toml::node& v, const std::string& key) {
    if (k == "server" || k == "limits" || k == "tenant" || k == "geo" || k == "events" ||
        k == "policy" || k == "proxy" || k == "store" || k == "tls" || k == "rate_limits") {
      const toml::table* t = r.table(v, key);
      if (t == nullptr) return true;
      if (k == "server") readServer(r, *t, c);
      else if (k == "limits") readLimits(r, *t, c.limits);
      else if (k == "rate_limits") readRateLimits(r, *t, c.rateLimits);
      else if (k == "tenant") readTenant(r, *t, c.tenant);
      else if (k == "events") readEvents(r, *t, c.events);
      else if (k == "policy") readPolicy(r, *t, c.policy);
      else if (k == "proxy") readProxy(r, *t, c.proxy);
      else if (k == "store") readStore(r, *t, c.store);
      else if (k == "tls") readTls(r, *t, c.tls);
      else r.each(*t, "geo", [&](const std::string& k2, const toml::node& v2, const std::string& key2) {
        if (k2 == "asn") r.str(v2, key2, c.geoAsn);
        else if (k2 == "country") r.str(v2, key2, c.geoCountry);
        else return false;
        return true;
      });
    } else if (k == "clients") {
      readArrayOfTables(r, v, key, c.clients, readClient);
    } else if (k == "users") {
      readArrayOfTables(r, v, key, c.users, readUser);
    } else {
      return false;
    }
    return true;
  });
  if (r.failed()) return Error(Errc::kInvalidArgument, r.error());
  if (c.listen.empty() && c.listenProxy.empty() && c.listenTls.empty()) {
    return Error(Errc::kInvalidArgument, path + ": server.listen: at least one address is required");
  }
  for (size_t i = 0; i < c.clients.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (c.clients[i].clientId == c.clients[j].clientId) {
        return Error(Errc::kInvalidArgument, path + ": clients[" + std::to_string(i) + "].client_id: duplicate '" + c.clients[i].clientId + "'");
      }
    }
  }
  return c;
}

}  // namespace handoff::config
