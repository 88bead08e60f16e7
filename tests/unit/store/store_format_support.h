// Helpers shared by the durable store format tests (wal_frame_test.cc, journal_replay_test.cc,
// recovery_test.cc): a Journal that captures records, frame helpers, a deterministic token
// source, the journal scenario a ShardStore is driven through and what it observes, and
// temporary data directories.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "handoff/store/journal.h"
#include "handoff/store/recovery.h"
#include "handoff/store/shard_store.h"
#include "handoff/store/token_codec.h"
#include "handoff/store/wal.h"
#include "handoff/store/wire.h"


namespace handoff::store::formats {

namespace fs = std::filesystem;

using Rec = std::pair<RecordType, std::string>;

constexpr uint64_t kT0 = 1'790'000'000'000;  // wall-clock milliseconds, as records keep them

// What a store reports, in order.
struct Capture final : Journal {
  std::vector<Rec> recs;
  void append(RecordType type, std::string_view payload) override { recs.emplace_back(type, std::string(payload)); }
};

inline std::string framed(const std::vector<Rec>& recs, size_t from = 0, size_t to = SIZE_MAX) {
  std::string out;
  for (size_t i = from; i < recs.size() && i < to; ++i) Wal::frame(out, recs[i].first, recs[i].second);
  return out;
}

inline std::vector<Rec> readAll(std::string_view data, size_t* good = nullptr) {
  std::vector<Rec> out;
  size_t g = readFrames(data, [&](RecordType t, std::string_view p) {
    out.emplace_back(t, std::string(p));
    return true;
  });
  if (good != nullptr) *good = g;
  return out;
}

struct Rand {
  uint32_t n = 0;
  std::array<uint8_t, 16> next() {
    std::array<uint8_t, 16> b{};
    ++n;
    for (size_t i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>((n * 2654435761u >> (i % 4 * 8)) + i * 29 + n);
    return b;
  }
};

// ── frames ──────────────────────────────────────────────────────────────────────────────────

// ── journal: a store's records replayed ─────────────────────────────────────────────────────

struct Tokens {
  std::vector<TokenKey> refresh;   // every refresh token ever handed out
  std::vector<TokenKey> sessions;
  std::vector<TokenKey> access;
  std::vector<std::string> clients;
};

inline RefreshFamily fam(const std::string& client, bool rotating, const std::string& sid = "", bool online = false) {
  RefreshFamily f;
  f.clientId = client;
  f.userId = "auth0|u-" + client;
  f.scope = "openid offline_access";
  f.audience = client == "api-client" ? "https://api" : "";
  f.sessionId = sid;
  f.authTime = 1'790'000'000;
  f.rotating = rotating;
  f.online = online;
  return f;
}

inline SessionRecord sess(const std::string& user, const std::string& sid) {
  SessionRecord s;
  s.userId = user;
  s.sid = sid;
  s.authTime = 1'790'000'000;
  return s;
}

inline std::string hex(const TokenKey& k) {
  char b[40];
  std::snprintf(b, sizeof b, "%016llx%016llx", static_cast<unsigned long long>(k.hi), static_cast<unsigned long long>(k.lo));
  return b;
}

// Everything a store answers about `t`, without changing it (findSession restarts an idle timer,
// to the same `now` in every store compared; no journal is attached while observing). A revoked
// family and an unknown token read the same ("dead"): the token endpoint answers them alike, and
// a snapshot leaves revoked families out.
inline std::string observe(ShardStore& s, const Tokens& t, uint64_t now) {
  std::ostringstream o;
  for (const TokenKey& k : t.refresh) {
    TokenKey fk;
    const RefreshFamily* f = s.familyOf(k, &fk);
    o << "rt " << hex(k) << ": ";
    if (f == nullptr || f->revoked) {
      o << "dead\n";
      continue;
    }
    o << hex(fk) << " cur=" << hex(f->current) << " prev=" << hex(f->previous) << " at=" << f->rotatedAtMs
      << " home=" << f->home << " " << f->clientId << " " << f->userId << " " << f->scope << " " << f->audience << " sid="
      << f->sessionId << " auth=" << f->authTime << " created=" << f->createdAtMs << " rot=" << f->rotating
      << " born=" << f->bornFromSessionTransfer << " online=" << f->online << "\n";
  }
  for (const TokenKey& k : t.sessions) {
    SessionRecord* r = s.findSession(k, now);
    o << "sid " << hex(k) << ": ";
    if (r == nullptr) {
      o << "none\n";
      continue;
    }
    o << r->userId << " " << r->sid << " home=" << r->home << " auth=" << r->authTime << " created=" << r->createdAtMs
      << " expires=" << r->expiresAtMs << " born=" << r->bornFromSessionTransfer << " parent=" << hex(r->parentFamily)
      << " cascade=" << r->cascade << " caps=" << r->absoluteCapMs << "/" << r->idleCapMs << "\n";
  }
  for (const TokenKey& k : t.access) {
    const AccessRecord* a = s.findAccess(k, now);
    o << "at " << hex(k) << ": ";
    if (a == nullptr) o << "none\n";
    else o << a->clientId << " " << a->userId << " " << a->scope << " home=" << a->home << " exp=" << a->expiresAtMs << "\n";
  }
  return o.str();
}

// Uses every refresh token once, in order, with the same random bytes in every store: outcomes
// (revoked and unknown alike read "refused") and the tokens rotations made. Changes the store.
inline std::string probeUses(ShardStore& s, const Tokens& t, uint64_t now) {
  std::ostringstream o;
  Rand r;
  r.n = 1000;
  for (const TokenKey& k : t.refresh) {
    TokenKey fk;
    const RefreshFamily* f = s.familyOf(k, &fk);
    std::string client = f != nullptr ? f->clientId : "native";
    auto use = s.useRefresh(k, client, r.next(), 0, now);
    int out = static_cast<int>(use.outcome);
    if (use.outcome == RefreshOutcome::kRevoked || use.outcome == RefreshOutcome::kUnknown) out = -1;
    o << hex(k) << " -> " << out << (use.rotatedTo ? " new " + hex(use.rotatedTo->key) : std::string()) << "\n";
  }
  return o.str();
}

// A store's life: the records it journaled, and the tokens a client would hold.
struct Scenario {
  std::vector<Rec> recs;
  Tokens tokens;
  uint64_t end = kT0;
  TokenKey liveParent;  // a family with a cascading born session still alive at the end
  TokenKey liveBorn;
  TokenKey liveBornFamily;
};

inline Scenario runScenario(ShardStore& s, uint16_t home = kNoHome) {
  Scenario sc;
  Capture cap;
  s.setJournal(&cap);
  Rand r;
  r.n = static_cast<uint32_t>(s.shard()) * 100'000 + (home == kNoHome ? 0 : home * 1000u);
  uint64_t now = kT0;
  auto issue = [&](RefreshFamily f) {
    f.home = home;
    TokenId id = s.issueRefresh(r.next(), std::move(f), now);
    sc.tokens.refresh.push_back(id.key);
    return id.key;
  };
  auto use = [&](const TokenKey& k, const std::string& client) {
    auto u = s.useRefresh(k, client, r.next(), 0, now);
    if (u.rotatedTo) sc.tokens.refresh.push_back(u.rotatedTo->key);
    return u;
  };
  auto session = [&](SessionRecord rec) {
    rec.home = home;
    TokenId id = s.putSession(r.next(), std::move(rec), now);
    sc.tokens.sessions.push_back(id.key);
    return id.key;
  };
  auto access = [&](const std::string& client) {
    AccessRecord a{.clientId = client, .userId = "auth0|u-" + client, .scope = "openid", .home = home};
    TokenId id = s.putAccess(r.next(), a, now);
    sc.tokens.access.push_back(id.key);
    return id.key;
  };

  // A rotating family rotated twice; a non-rotating one used twice (no records).
  TokenKey f1 = issue(fam("native", true, "s-native"));
  now += 1000;
  auto u1 = use(f1, "native");
  now += 1000;
  use(u1.rotatedTo->key, "native");
  TokenKey f2 = issue(fam("native2", false));
  use(f2, "native2");
  use(f2, "native2");
  // A family revoked by RFC 7009; another by reuse of a rotated-out token.
  TokenKey f3 = issue(fam("native", true));
  s.revokeRefresh(f3, "native");
  TokenKey f5 = issue(fam("native", true));
  now += 500;
  use(f5, "native");
  use(f5, "native");  // reuse: the family goes
  // A browser session whose online family dies with its logout; another touched after 2 min.
  TokenKey sa = session(sess("auth0|a", "sid-a"));
  issue(fam("web", true, "sid-a", true));
  s.endSession(sa);
  TokenKey sb = session(sess("auth0|b", "sid-b"));
  issue(fam("web", true, "sid-b", true));
  now += 120'000;
  s.findSession(sb, now);
  // Access tokens, one revoked.
  access("web");
  TokenKey a2 = access("web");
  s.revokeAccess(a2);
  // A cascade: parent P, a born session C (cascade) with a family W in it, a born session D
  // (no cascade); revoking P ends C and revokes W, D stays.
  TokenKey p = issue(fam("native", true, "s-p"));
  SessionRecord c = sess("auth0|u-native", "sid-c");
  c.bornFromSessionTransfer = true;
  c.parentFamily = p;
  c.cascade = true;
  c.absoluteCapMs = 3'600'000;
  c.idleCapMs = 600'000;
  session(c);
  RefreshFamily w = fam("web", true, "sid-c");
  w.bornFromSessionTransfer = true;
  issue(w);
  SessionRecord d = sess("auth0|u-native", "sid-d");
  d.bornFromSessionTransfer = true;
  d.parentFamily = p;
  d.cascade = false;
  session(d);
  now += 1000;
  s.revokeRefresh(p, "native");
  // A second tree left alive: revoking its parent later must still cascade.
  TokenKey q = issue(fam("native", true, "s-q"));
  SessionRecord e = sess("auth0|u-native", "sid-e");
  e.bornFromSessionTransfer = true;
  e.parentFamily = q;
  e.cascade = true;
  TokenKey ek = session(e);
  RefreshFamily w2 = fam("web", false, "sid-e");
  w2.bornFromSessionTransfer = true;
  w2.online = true;
  TokenKey w2k = issue(w2);
  issue(fam("api-client", false));
  sc.liveParent = q;
  sc.liveBorn = ek;
  sc.liveBornFamily = w2k;
  sc.end = now;
  s.setJournal(nullptr);
  sc.recs = std::move(cap.recs);
  return sc;
}

inline void replay(ShardStore& s, const std::vector<Rec>& recs, size_t from = 0) {
  for (size_t i = from; i < recs.size(); ++i) ASSERT_TRUE(s.apply(recs[i].first, recs[i].second)) << "record " << i;
}


// ── recovery ────────────────────────────────────────────────────────────────────────────────

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "handoff-walfmt-XXXXXX").string();
    path_ = ::mkdtemp(t.data()) != nullptr ? t : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void writeFile(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// A directory's files and folders: name → "size crc" (short enough for a failure message).
inline std::map<std::string, std::string> tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) {
      std::string bytes = readFile(e.path().string());
      out[fs::relative(e.path(), dir).string()] =
          std::to_string(bytes.size()) + " " + std::to_string(crc32c(bytes.data(), bytes.size()));
    } else {
      out[fs::relative(e.path(), dir).string() + "/"] = "";
    }
  }
  return out;
}

inline std::vector<ShardStore*> ptrs(std::vector<std::unique_ptr<ShardStore>>& v) {
  std::vector<ShardStore*> out;
  for (auto& s : v) out.push_back(s.get());
  return out;
}

inline std::vector<std::unique_ptr<ShardStore>> makeStores(unsigned n) {
  std::vector<std::unique_ptr<ShardStore>> v;
  for (unsigned i = 0; i < n; ++i) v.push_back(std::make_unique<ShardStore>(static_cast<uint16_t>(i)));
  return v;
}


}  // namespace handoff::store::formats
