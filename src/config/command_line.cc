// handoffd's flags (SPEC.md §8). Flags override the file, whatever their order on the line.
#include <charconv>
#include <cstring>

#include "handoff/config/config.h"

namespace handoff::config {

using core::Errc;
using core::Error;

std::string usage() {
  return "usage: handoffd [options]\n"
         "  --config FILE        TOML configuration (default: the built-in demo tenant)\n"
         "  --listen HOST:PORT   listening address, repeatable; port 0 picks a free port\n"
         "  --listen-proxy HOST:PORT\n"
         "                       the same for connections that begin with a PROXY protocol header\n"
         "                       (v1 or v2) from a [proxy] trusted peer; repeatable\n"
         "  --listen-tls HOST:PORT\n"
         "                       an HTTPS listener, repeatable; needs --tls-cert and --tls-key (or [tls])\n"
         "  --tls-cert FILE      PEM certificate chain (leaf first) of the TLS listeners\n"
         "  --tls-key FILE       PEM private key of that certificate\n"
         "  --threads N          shards (event-loop threads); default: one per core\n"
         "  --no-pin             do not pin shards to cores\n"
         "  --data-dir DIR       data directory (default ./handoff-data)\n"
         "  --store redis-cluster://IP:PORT[,IP:PORT...]\n"
         "                       keep the store in a Redis Cluster (seed nodes) instead of the data directory\n"
         "  --geo-asn FILE       MaxMind GeoLite2-ASN-format database (hot reloaded)\n"
         "  --geo-country FILE   MaxMind GeoLite2-Country/City-format database (hot reloaded)\n"
         "  --log-level LEVEL    debug | info | warn | error\n"
         "  --test-clock         serve POST /test/clock (loopback only) to move the OAuth clock: tests only\n"
         "  --version, --help\n";
}

bool parseStoreUrl(std::string_view url, std::vector<std::string>& seeds) {
  constexpr std::string_view kScheme = "redis-cluster://";
  if (url.substr(0, kScheme.size()) != kScheme) return false;
  url.remove_prefix(kScheme.size());
  std::vector<std::string> out;
  while (!url.empty()) {
    size_t comma = url.find(',');
    std::string_view seed = url.substr(0, comma);
    size_t colon = seed.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == seed.size()) return false;
    for (char ch : seed.substr(colon + 1)) {
      if (ch < '0' || ch > '9') return false;
    }
    out.emplace_back(seed);
    url = comma == std::string_view::npos ? std::string_view() : url.substr(comma + 1);
    if (comma != std::string_view::npos && url.empty()) return false;
  }
  if (out.empty()) return false;
  seeds = std::move(out);
  return true;
}

core::Result<CommandLine> parseCommandLine(int argc, char** argv) {
  CommandLine cl;
  std::string configFile;
  std::vector<std::string> listen, listenProxy, listenTls;
  std::optional<unsigned> threads;
  std::optional<std::string> dataDir, geoAsn, geoCountry, logLevel, tlsCert, tlsKey, storeUrl;
  bool noPin = false, testClock = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> const char* {
      return i + 1 < argc ? argv[++i] : nullptr;
      (void)flag;
    };
    if (a == "--help" || a == "-h") {
      cl.help = true;
    } else if (a == "--version") {
      cl.version = true;
    } else if (a == "--no-pin") {
      noPin = true;
    } else if (a == "--test-clock") {
      testClock = true;
    } else if (a == "--config" || a == "--listen" || a == "--listen-proxy" || a == "--listen-tls" ||
               a == "--tls-cert" || a == "--tls-key" || a == "--threads" || a == "--data-dir" ||
               a == "--geo-asn" || a == "--geo-country" || a == "--log-level" || a == "--store") {
      const char* v = value(a);
      if (v == nullptr) return Error(Errc::kInvalidArgument, std::string(a) + " needs a value");
      if (a == "--config") configFile = v;
      else if (a == "--listen") listen.push_back(v);
      else if (a == "--listen-proxy") listenProxy.push_back(v);
      else if (a == "--listen-tls") listenTls.push_back(v);
      else if (a == "--tls-cert") tlsCert = v;
      else if (a == "--tls-key") tlsKey = v;
      else if (a == "--data-dir") dataDir = v;
      else if (a == "--geo-asn") geoAsn = v;
      else if (a == "--geo-country") geoCountry = v;
      else if (a == "--log-level") logLevel = v;
      else if (a == "--store") storeUrl = v;
      else {
        unsigned n = 0;
        auto r = std::from_chars(v, v + std::strlen(v), n);
        if (r.ec != std::errc() || *r.ptr != '\0' || n == 0 || n > 1024) {
          return Error(Errc::kInvalidArgument, "--threads takes a number from 1 to 1024");
        }
        threads = n;
      }
    } else {
      return Error(Errc::kInvalidArgument, "unknown argument '" + std::string(a) + "'\n" + usage());
    }
  }
  if (configFile.empty()) {
    cl.config = demoConfig();
  } else {
    auto loaded = loadConfigFile(configFile);
    if (!loaded) return loaded.error();
    cl.config = std::move(loaded).value();
  }
  Config& c = cl.config;
  if (!listen.empty()) {
    c.listen = listen;
    c.listenIsDefault = false;
  }
  if (!listenProxy.empty()) c.listenProxy = listenProxy;
  if (!listenTls.empty()) c.listenTls = listenTls;
  // `handoffd --listen-tls …` alone serves HTTPS only: the built-in plain 127.0.0.1:8080 is a
  // default for a server that names no listener at all.
  if (c.listenIsDefault && (!c.listenProxy.empty() || !c.listenTls.empty())) c.listen.clear();
  if (tlsCert) c.tls.cert = *tlsCert;
  if (tlsKey) c.tls.key = *tlsKey;
  if (threads) c.threads = *threads;
  if (dataDir) c.dataDir = *dataDir;
  if (geoAsn) c.geoAsn = *geoAsn;
  if (geoCountry) c.geoCountry = *geoCountry;
  if (noPin) c.pin = false;
  if (storeUrl && !parseStoreUrl(*storeUrl, c.store.redisCluster)) {
    return Error(Errc::kInvalidArgument, "--store takes redis-cluster://IP:PORT[,IP:PORT...]");
  }
  c.testClock = testClock;
  if (logLevel && !core::parseLogLevel(*logLevel, &c.logLevel)) {
    return Error(Errc::kInvalidArgument, "--log-level must be debug, info, warn or error");
  }
  if (!c.listenProxy.empty() && c.proxy.trusted.empty()) {
    return Error(Errc::kInvalidArgument,
                 "listen_proxy needs proxy.trusted: a PROXY protocol header is accepted only from a trusted peer");
  }
  if (!c.listenTls.empty() && (c.tls.cert.empty() || c.tls.key.empty())) {
    return Error(Errc::kInvalidArgument, "listen_tls needs a certificate and its key: tls.cert and tls.key (--tls-cert, --tls-key)");
  }
  return cl;
}

}  // namespace handoff::config
