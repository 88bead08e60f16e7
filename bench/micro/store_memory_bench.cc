// Memory per live session transfer token and per live authorization code (issue 7;
// PERFORMANCE.md: ≤ 256 bytes per live STT or code, 10 M live STTs in ≤ 3 GiB).
//
//   store_memory_bench [N=1000000] [stt|code|both=both] [distinct-ua]
//
// Fills one ShardStore with N STTs, then (in a fresh process, so the allocator starts clean) a
// ShardStore with N codes, and prints the resident set growth (VmRSS from /proc/self/status)
// divided by N. The binary links mimalloc as handoffd does, so the figure includes the
// allocator's size classes and the tables' own load factor. Nothing expires meanwhile (the
// clock stands still) and nothing is reaped.
//
// The records are shaped like the ones the endpoints store:
//   STT (session_transfer.cc): user "auth0|" + 24 hex, one of 4 native clients (32 characters),
//     scope "openid profile email offline_access", no organization, the minting IP as normalised
//     text (70 % IPv4, 30 % IPv6), an ASN, a country of 20, a 100–130 character User-Agent from a
//     pool of 500 (app/OS/device versions; `distinct-ua` gives every STT its own), the parent
//     family's key, auth and mint times, cascade on.
//   code (authorize.cc, session_transfer_redeem.cc): one of 4 web clients and its callback URL,
//     user "auth0|" + 24 hex, a 22-character sid, scope "openid profile email offline_access",
//     no audience, a 43-character nonce (auth0-spa-js's alphabet, with '~' and '.'), a PKCE S256
//     challenge (43 base64url characters of a SHA-256), auth time.
#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "handoff/core/base64.h"
#include "handoff/store/shard_store.h"

using namespace handoff::store;
using Clock = std::chrono::steady_clock;

namespace {

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::array<uint8_t, 16> bytes16() {
    std::array<uint8_t, 16> b;
    uint64_t a = next(), c = next();
    std::memcpy(b.data(), &a, 8);
    std::memcpy(b.data() + 8, &c, 8);
    return b;
  }
  std::string chars(size_t n, std::string_view alphabet) {
    std::string out;
    out.reserve(n);
    while (out.size() < n) {
      uint64_t v = next();
      for (int i = 0; i < 8 && out.size() < n; ++i, v >>= 8) out.push_back(alphabet[(v & 0xFF) % alphabet.size()]);
    }
    return out;
  }
  std::string base64Url(size_t bytes) {
    std::vector<uint8_t> b(bytes);
    for (auto& x : b) x = static_cast<uint8_t>(next());
    std::string out(handoff::core::base64UrlEncodedLength(bytes), '\0');
    handoff::core::encodeBase64Url(b.data(), bytes, out.data());
    return out;
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kSpaJs = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_~.";

long statusKb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  }
  return -1;
}

// What a client IP looks like after Provider::clientIp: normalised text.
std::string randomIp(Rng& rng) {
  char text[INET6_ADDRSTRLEN];
  if (rng.below(10) < 7) {
    uint32_t v4 = static_cast<uint32_t>(rng.next());
    inet_ntop(AF_INET, &v4, text, sizeof text);
  } else {
    std::array<uint8_t, 16> v6 = rng.bytes16();
    v6[0] = 0x20;  // 2000::/3, global unicast; the host half random (privacy addresses)
    v6[1] = static_cast<uint8_t>(0x01 + rng.below(0x0F));
    inet_ntop(AF_INET6, v6.data(), text, sizeof text);
  }
  return text;
}

std::vector<std::string> userAgents(Rng& rng, size_t n) {
  static const char* apps[] = {"Acme%20Bank", "ShopNow", "Fitly", "TravelMate", "NewsHub"};
  static const char* devices[] = {"iPhone15,2", "iPhone14,7", "iPhone16,1", "iPad13,18", "Pixel 8", "SM-S918B",
                                  "SM-A546B", "Pixel 7a"};
  std::vector<std::string> out;
  char buf[256];
  for (size_t i = 0; i < n; ++i) {
    const char* app = apps[rng.below(5)];
    unsigned major = 3 + static_cast<unsigned>(rng.below(3)), minor = static_cast<unsigned>(rng.below(20)),
             patch = static_cast<unsigned>(rng.below(10));
    size_t d = rng.below(8);
    if (d < 4) {
      std::snprintf(buf, sizeof buf,
                    "%s/%u.%u.%u (com.example.app; build:%u%02u%u; iOS 17.%zu.%zu) %s CFNetwork/1494.0.7 Darwin/23.4.0",
                    app, major, minor, patch, major, minor, patch, rng.below(6), rng.below(3), devices[d]);
    } else {
      std::snprintf(buf, sizeof buf,
                    "Mozilla/5.0 (Linux; Android 14; %s Build/UQ1A.240205.004; wv) %s/%u.%u.%u okhttp/4.12.0 Auth0.Android/2.10.2",
                    devices[d], app, major, minor, patch);
    }
    out.emplace_back(buf);
  }
  return out;
}

struct Shape {
  std::vector<std::string> nativeClients, webClients, callbacks, countries, agents;
};

Shape shape(Rng& rng, size_t distinctAgents) {
  Shape s;
  for (int i = 0; i < 4; ++i) {
    s.nativeClients.push_back(rng.chars(32, kAlnum));
    s.webClients.push_back(rng.chars(32, kAlnum));
    s.callbacks.push_back("https://app" + std::to_string(i) + ".example.com/api/auth/callback");
  }
  for (const char* c : {"US", "DE", "FR", "GB", "NL", "SE", "ES", "IT", "PL", "BR", "IN", "JP", "KR", "AU", "CA", "MX",
                        "CH", "AT", "BE", "IE"}) {
    s.countries.emplace_back(c);
  }
  s.agents = userAgents(rng, distinctAgents);
  return s;
}

constexpr uint64_t kNowMs = 1'000'000;
constexpr int64_t kUnixNow = 1'790'000'000;

SttRecord makeStt(Rng& rng, const Shape& s, size_t i, bool distinctUa) {
  SttRecord r;
  r.userId = "auth0|" + rng.chars(24, kHex);
  r.clientId = s.nativeClients[rng.below(s.nativeClients.size())];
  r.scope = "openid profile email offline_access";
  r.ip = randomIp(rng);
  r.asn = 1000 + static_cast<uint32_t>(rng.below(60000));
  r.country = s.countries[rng.below(s.countries.size())];
  if (distinctUa) {
    r.userAgent = s.agents[i % s.agents.size()] + " #" + std::to_string(i);
  } else {
    r.userAgent = s.agents[rng.below(s.agents.size())];
  }
  std::array<uint8_t, 16> parent = rng.bytes16();
  std::memcpy(&r.parentFamily.lo, parent.data(), 8);
  std::memcpy(&r.parentFamily.hi, parent.data() + 8, 8);
  r.authTime = kUnixNow - static_cast<int64_t>(rng.below(86'400 * 30));
  r.mintedAt = kUnixNow;
  r.cascade = true;
  return r;
}

CodeRecord makeCode(Rng& rng, const Shape& s) {
  CodeRecord c;
  size_t client = rng.below(s.webClients.size());
  c.clientId = s.webClients[client];
  c.redirectUri = s.callbacks[client];
  c.userId = "auth0|" + rng.chars(24, kHex);
  c.sessionId = rng.base64Url(16);
  c.scope = "openid profile email offline_access";
  c.nonce = rng.chars(43, kSpaJs);
  c.codeChallenge = rng.base64Url(32);
  c.authTime = kUnixNow - static_cast<int64_t>(rng.below(3'600));
  return c;
}

void report(const char* what, size_t n, long before, long after, double seconds) {
  double perRecord = static_cast<double>(after - before) * 1024.0 / static_cast<double>(n);
  std::printf("%-5s N=%zu  VmRSS %ld -> %ld KiB  delta %.1f MiB  %.1f bytes per %s  (VmHWM %ld KiB, fill %.2f s)\n",
              what, n, before, after, static_cast<double>(after - before) / 1024.0, perRecord, what,
              statusKb("VmHWM:"), seconds);
}

int runStts(size_t n, bool distinctUa) {
  Rng rng{0x9E3779B97F4A7C15ull};
  Shape s = shape(rng, 500);
  ShardStore store(0);
  long before = statusKb("VmRSS:");
  auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) store.putStt(rng.bytes16(), makeStt(rng, s, i, distinctUa), kNowMs);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  long after = statusKb("VmRSS:");
  if (store.sessionTransferTokens() != n) {
    std::fprintf(stderr, "stored %zu of %zu STTs\n", store.sessionTransferTokens(), n);
    return 1;
  }
  report("STT", n, before, after, secs);
  std::printf("      interned strings: %zu\n", store.internedStrings());
  return 0;
}

int runCodes(size_t n) {
  Rng rng{0xD1B54A32D192ED03ull};
  Shape s = shape(rng, 1);
  ShardStore store(0);
  long before = statusKb("VmRSS:");
  auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) store.putCode(rng.bytes16(), makeCode(rng, s), kNowMs);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  long after = statusKb("VmRSS:");
  if (store.codes() != n) {
    std::fprintf(stderr, "stored %zu of %zu codes\n", store.codes(), n);
    return 1;
  }
  report("code", n, before, after, secs);
  std::printf("      interned strings: %zu\n", store.internedStrings());
  return 0;
}

// Runs `f` in a child process: each measurement starts from a fresh heap.
template <class F>
int inChild(F&& f) {
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return 1;
  }
  if (pid == 0) std::_Exit(f());
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 1;
  return WEXITSTATUS(status);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  std::string which = argc > 2 ? argv[2] : "both";
  bool distinctUa = argc > 3 && std::string(argv[3]) == "distinct-ua";
  if (n == 0 || (which != "stt" && which != "code" && which != "both")) {
    std::fprintf(stderr, "usage: store_memory_bench [N] [stt|code|both] [distinct-ua]\n");
    return 2;
  }
  std::printf("sizeof: SttRecord %zu, CodeRecord %zu (what callers see); stored: TtlTable entry STT %zu, code %zu, "
              "index slot 8\n",
              sizeof(SttRecord), sizeof(CodeRecord), sizeof(TtlTable<StoredStt>::Entry),
              sizeof(TtlTable<StoredCode>::Entry));
  int rc = 0;
  if (which != "code") rc |= inChild([&] { return runStts(n, distinctUa); });
  if (which != "stt") rc |= inChild([&] { return runCodes(n); });
  return rc;
}
