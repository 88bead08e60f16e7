// handoffd's configuration: the TOML file (SPEC.md §8), the command-line flags that override it,
// and the built-in demo tenant used when no file is given.
//
// Loaded once on the control thread; the result is immutable and shared by every shard.
// Unknown keys are errors (a typo must not silently change security behaviour), except inside a
// client's `session_transfer`, whose unknown keys are kept and returned as Auth0 does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "handoff/core/log.h"
#include "handoff/core/result.h"
#include "handoff/http/limits.h"

namespace handoff::config {

struct SessionTransferConfig {
  bool canCreateSessionTransferToken = false;
  bool enforceCascadeRevocation = true;
  std::vector<std::string> allowedAuthenticationMethods;  // "cookie", "query"
  std::string enforceDeviceBinding = "ip";                 // "ip" | "asn" | "none"
  bool allowRefreshToken = false;
  bool enforceOnlineRefreshTokens = true;
  std::map<std::string, std::string> unknown;              // kept as JSON text
};

struct RefreshTokenConfig {
  std::string rotationType = "non-rotating";  // "rotating" | "non-rotating"
  int64_t leeway = 0;                         // seconds a rotated-out token is still accepted
};

struct ClientConfig {
  std::string clientId;
  std::string clientSecret;
  std::string name;
  std::string appType;  // "native" | "regular_web" | "spa" | "non_interactive"
  std::vector<std::string> grantTypes;
  std::vector<std::string> callbacks;
  std::vector<std::string> allowedLogoutUrls;
  // Browser origins ("https://app.example.com") whose JavaScript may call /oauth/token (CORS),
  // as auth0-spa-js does: Auth0's "Allowed Web Origins" and "Allowed Origins (CORS)".
  std::vector<std::string> webOrigins;
  std::vector<std::string> allowedOrigins;
  std::string tokenEndpointAuthMethod = "client_secret_post";  // | "client_secret_basic" | "none"
  bool isFirstParty = true;
  bool isTokenEndpointIpHeaderTrusted = false;
  RefreshTokenConfig refreshToken;
  SessionTransferConfig sessionTransfer;
};

struct UserConfig {
  std::string userId;
  std::string email;
  std::string password;  // plain text in the file; hashed with a per-user salt when loaded
  std::string name;
  bool emailVerified = false;
  bool blocked = false;
};

struct TenantConfig {
  std::string domain;  // empty: the first listener's HOST:PORT (demo mode)
  std::vector<std::string> customDomains;
  std::string signingAlg = "RS256";  // "RS256" | "ES256" | "EdDSA"
};

// [events]: the tenant log (SPEC.md §7).
struct EventsConfig {
  size_t ringCapacity = 10000;  // events kept in memory per shard, for GET /api/v2/logs
  std::string sink;             // a JSON-lines file the events are appended to; empty: none
};

// [policy]: our stand-in for Auth0 Actions on STT-born sessions (SPEC.md §3).
struct PolicyConfig {
  int64_t sessionTransferMaxLifetimeS = 0;   // absolute cap of an STT-born session; 0: none
  int64_t sessionTransferIdleTimeoutS = 0;   // idle cap of an STT-born session; 0: none
  bool denyCountryChange = false;            // refuse when the redeeming country differs from the minting one
  std::vector<uint32_t> denyAsns;            // refuse a mint or redemption from these ASNs
};

// [proxy]: peers whose X-Forwarded-For names the client (SPEC.md §3).
struct ProxyConfig {
  std::vector<std::string> trusted;  // CIDRs, "10.0.0.0/8", "::1/128", or single addresses
};

// [tls]: certificates for the listen_tls listeners (README "TLS"). PEM files: the chain (leaf
// first, then intermediates) and its private key. Re-read on SIGHUP.
struct TlsCertificateConfig {
  std::string cert;                // chain file
  std::string key;                 // private key file
  std::vector<std::string> names;  // SNI names it answers; empty: the DNS names of its subjectAltName
};
struct TlsConfig {
  std::string cert;  // the default certificate: any name no [[tls.certificates]] entry claims
  std::string key;
  std::vector<TlsCertificateConfig> certificates;  // picked by the client's SNI name
  uint32_t ticketRotationS = 3600;  // session ticket keys: a new one this often, the previous kept
};

// [rate_limits]: requests per client IP, counted across every shard (oauth/rate_limit.h). A
// client may send `burst` requests at once, then `perMinute` a minute; perMinute = 0 turns the
// limit off. Over it: 429 with Retry-After.
struct RateLimitConfig {
  uint32_t burst = 0;
  uint32_t perMinute = 0;
};
struct RateLimitsConfig {
  RateLimitConfig login{10, 10};  // POST /u/login: 10 at once, then 10 a minute
  RateLimitConfig token{0, 0};    // POST /oauth/token: off (machine clients behind one IP, benchmarks)
  size_t maxKeys = 65536;         // client IPs remembered per limit (the oldest is forgotten first)
};

// [store]: the embedded durable store (DESIGN.md §1) in DATA_DIR/store, or Redis Cluster.
struct StoreConfig {
  bool durable = true;              // false: memory only (benchmarks; a restart loses everything)
  bool sync = true;                 // fdatasync each group commit
  uint64_t snapshotAfterMb = 64;    // log bytes per shard between snapshots
  // Seed nodes ("ip:port") of a Redis Cluster that holds the store instead (docs/REDIS-STORE.md):
  // `redis_cluster = [...]` or --store redis-cluster://IP:PORT,IP:PORT. Empty: embedded.
  std::vector<std::string> redisCluster;
  uint32_t redisDeadlineMs = 1000;  // per Redis command; past it the request answers 503
};

// Parses "redis-cluster://IP:PORT[,IP:PORT...]" into seed addresses; false if malformed.
bool parseStoreUrl(std::string_view url, std::vector<std::string>& seeds);

struct Config {
  std::string sourceFile;  // empty for the demo tenant
  std::vector<std::string> listen{"127.0.0.1:8080"};
  // Listeners whose connections begin with a PROXY protocol header (v1 or v2) from a peer in
  // proxy.trusted. A file that names these and no `listen` has no plain listener.
  std::vector<std::string> listenProxy;
  // HTTPS listeners (certificates in `tls`). A file that names these and no `listen` has no
  // plain listener either.
  std::vector<std::string> listenTls;
  bool listenIsDefault = true;  // `listen` is the built-in default, named by no file or flag
  unsigned threads = 0;  // 0: one per core
  bool pin = true;
  std::string dataDir = "./handoff-data";
  std::string geoAsn;      // GeoLite2-ASN-format database (the demo: the bundled test one)
  std::string geoCountry;  // GeoLite2-Country/City-format database; empty: none
  core::LogLevel logLevel = core::LogLevel::kInfo;
  http::Limits limits;
  RateLimitsConfig rateLimits;
  TenantConfig tenant;
  std::vector<ClientConfig> clients;
  std::vector<UserConfig> users;
  EventsConfig events;
  PolicyConfig policy;
  ProxyConfig proxy;
  StoreConfig store;
  TlsConfig tls;
  bool demo = false;
  bool testClock = false;  // --test-clock: POST /test/clock moves the OAuth clock (tests only)
};

// The built-in demo tenant (SPEC.md §8, the OAuth issue's list), exactly.
Config demoConfig();

// Parses a TOML file. Errors name the file, the line and the key.
core::Result<Config> loadConfigFile(const std::string& path);

// Command-line: `handoffd [--config FILE] [--listen HOST:PORT]... [--listen-proxy HOST:PORT]...
// [--listen-tls HOST:PORT]... [--tls-cert FILE] [--tls-key FILE] [--threads N] [--data-dir DIR]
// [--geo-asn FILE] [--log-level LEVEL] [--no-pin]`. Flags override the file. PROXY protocol
// listeners without any proxy.trusted entry are refused, TLS listeners without a certificate and
// key too. TLS or PROXY listeners and no `listen` anywhere leave no default plain listener.
struct CommandLine {
  bool help = false;
  bool version = false;
  Config config;
};
core::Result<CommandLine> parseCommandLine(int argc, char** argv);

std::string usage();

}  // namespace handoff::config
