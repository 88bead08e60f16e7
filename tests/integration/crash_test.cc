// Crash test of the durable store (issue 6): refresh-token grants, revocations, reuse detection,
// STT mints, redemptions and code exchanges run under load from several client threads against
// a handoffd with several shards, which is killed with SIGKILL at random moments (≥ 10 times)
// and restarted on the same data directory each time, with a thread count drawn from 2..4 and
// snapshots every MiB of log so that some kills land around a snapshot. After each restart
// every client thread checks its own bookkeeping against the server:
//  - every refresh token answered 200 still works, unless a later acknowledged use rotated it
//    away (then presenting it is reuse: checked on purpose now and then);
//  - every acknowledged revocation holds, with its cascade (the web families and STT-born
//    sessions that descend from a revoked native family stay dead);
//  - no code or STT from before the kill works, consumed or not (they are memory only).
// A request whose answer never arrived (the kill came first) is "unknown": its family is
// uncertain until the next check, which accepts either outcome and then knows again.
//
// HANDOFF_CRASH_SEED picks the seed (printed; default: from the clock), HANDOFF_CRASH_KILLS
// the number of kills (default 15). Bounded: about 13 s in a release build, 20 s with ASan (2 cores).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kConfig = R"([server]
listen = ["127.0.0.1:0"]

[store]
snapshot_after_mb = 1

[[clients]]
client_id = "crash-native"
app_type = "native"
token_endpoint_auth_method = "none"
grant_types = ["refresh_token", "password"]
callbacks = ["com.example.handoff://callback"]
refresh_token = { rotation_type = "rotating", leeway = 0 }
[clients.session_transfer]
can_create_session_transfer_token = true

[[clients]]
client_id = "crash-native-nr"
app_type = "native"
token_endpoint_auth_method = "none"
grant_types = ["refresh_token", "password"]
callbacks = ["com.example.handoff://callback"]
refresh_token = { rotation_type = "non-rotating" }

[[clients]]
client_id = "crash-web"
client_secret = "crash-web-secret"
app_type = "regular_web"
grant_types = ["authorization_code", "refresh_token"]
callbacks = ["http://127.0.0.1:3000/callback"]
refresh_token = { rotation_type = "rotating", leeway = 0 }
[clients.session_transfer]
allowed_authentication_methods = ["query"]
allow_refresh_token = true

[[users]]
user_id = "auth0|crash-@LONG@"
email = "crash@example.com"
password = "crash-password"
name = "Crash"
email_verified = true
)";

// A long user id makes most records ~8 KiB, so that the 1 MiB of log between snapshots comes
// within a round of load and some kills land around a snapshot.
std::string config() {
  std::string c = kConfig;
  c.replace(c.find("@LONG@"), 6, std::string(8000, 'x'));
  return c;
}

// One keep-alive connection, reopened after any failure and every few requests (so that a
// worker's requests reach every shard). nullopt: no answer (unknown outcome); `sent` tells
// whether any byte of the request may have reached the server.
class Conn {
 public:
  std::optional<HttpResponse> send(uint16_t port, const std::string& request, bool* sent) {
    *sent = false;
    if (!c_ || port != port_ || ++uses_ > 16) {
      c_ = std::make_unique<Client>(port);
      port_ = port;
      uses_ = 0;
      if (!c_->connected()) {
        c_.reset();
        return std::nullopt;  // refused: nothing was sent
      }
    }
    *sent = true;
    auto r = c_->roundTrip(request, Millis(10000));
    if (!r || r->closes()) c_.reset();
    return r;
  }
  void drop() { c_.reset(); }

 private:
  std::unique_ptr<Client> c_;
  uint16_t port_ = 0;
  int uses_ = 0;
};

struct Family {
  std::string client;
  bool rotating = false;
  std::string current;
  std::vector<std::string> older;  // rotated away by acknowledged uses
  bool revoked = false;            // acknowledged (revocation, reuse, or the cascade of either)
  bool unsure = false;             // an operation on it got no answer
  int parent = -1;                 // web family: the native family its STT came from
  int deadChecks = 0;              // restarts it has been checked at since it was revoked
};

constexpr int kDeadChecks = 2;  // a revoked family (or ended session) is checked at 2 restarts, then retired

struct Born {
  int parent;           // the native family the STT came from
  std::string cookie;   // the STT-born session's cookie value
  int deadChecks = 0;
};

struct Stats {
  uint64_t acked = 0, unknown = 0, checked = 0, resolved = 0, stts = 0, codes = 0, cascades = 0, reuses = 0;
};

// The client side of one thread: its own families, sessions, codes and STTs.
class Worker {
 public:
  Worker(int id, uint64_t seed) : id_(id), rng_(seed * 1000003u + static_cast<uint64_t>(id)) {}

  // Load until `stop`.
  void load(uint16_t port, const std::atomic<bool>& stop) {
    port_ = port;
    while (!stop.load(std::memory_order_relaxed)) {
      int dice = pick(100);
      std::vector<int> live = liveFamilies();
      if (live.size() < 6 || (dice < 12 && live.size() < 40)) newFamily();
      else if (dice < 55) refresh(live[pick(live.size())]);
      else if (dice < 67) revoke(live[pick(live.size())]);
      else if (dice < 75) reuse(live);
      else sessionTransfer(live);
    }
    conn_.drop();
  }

  // After a restart: what the server says must match what was acknowledged.
  void check(uint16_t port) {
    port_ = port;
    conn_.drop();
    // Codes and STTs from before the kill: none works, consumed or not.
    for (const std::string& stt : stts_) {
      auto r = call(redeemRequest(stt, ""));
      if (!r) return fail("no answer while checking an STT");
      ++stats_.checked;
      if (!codeOf(*r).empty()) fail("an STT from before the kill still works: " + stt);
    }
    for (const std::string& code : codes_) {
      auto r = call(exchangeRequest(code));
      if (!r) return fail("no answer while checking a code");
      ++stats_.checked;
      if (r->status != 403) fail("a code from before the kill: " + std::to_string(r->status) + " " + r->body);
    }
    stts_.clear();
    codes_.clear();
    // Families in creation order: a parent is settled before its web families.
    for (size_t i = 0; i < fams_.size(); ++i) {
      Family& f = fams_[i];
      if (f.parent >= 0 && fams_[f.parent].revoked) {
        f.revoked = true;  // the cascade of an acknowledged (or now settled) revocation
        f.unsure = false;
        ++stats_.cascades;
      }
      if (f.revoked && !f.unsure && ++f.deadChecks > kDeadChecks) continue;
      auto r = call(refreshRequest(f, f.current));
      if (!r) return fail("no answer while checking a family");
      ++stats_.checked;
      bool ok = r->status == 200;
      if (!ok && (r->status != 403 || jsonField(r->body, "error") != "invalid_grant")) {
        fail("unexpected answer to " + f.current + ": " + std::to_string(r->status) + " " + r->body);
        continue;
      }
      if (f.unsure) {
        ++stats_.resolved;
        f.unsure = false;
        if (ok) advance(f, *r);
        else markRevoked(static_cast<int>(i));
        continue;
      }
      if (f.revoked && ok) fail("an acknowledged revocation was lost: " + f.client + " " + f.current);
      if (!f.revoked && !ok) fail("a refresh token answered 200 no longer works: " + f.client + " " + f.current + " " + r->body);
      if (ok) advance(f, *r);
    }
    // STT-born sessions live exactly as long as their native family.
    for (Born& b : borns_) {
      const Family& p = fams_[b.parent];
      if (p.revoked && ++b.deadChecks > kDeadChecks) continue;
      auto r = call(promptNoneRequest(b.cookie));
      if (!r) return fail("no answer while checking a session");
      ++stats_.checked;
      std::string code = codeOf(*r);
      if (!code.empty()) codes_.push_back(code);  // issued now: must not outlive the next kill
      if (p.revoked && !code.empty()) fail("an STT-born session outlived its family's revocation: " + b.cookie);
      if (!p.revoked && code.empty()) fail("an STT-born session was lost: " + b.cookie + " " + r->raw);
    }
  }

  const std::vector<std::string>& failures() const { return failures_; }
  const Stats& stats() const { return stats_; }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  int pick(int n) { return static_cast<int>(pick(static_cast<size_t>(n))); }
  void fail(const std::string& what) {
    if (failures_.size() < 20) failures_.push_back("worker " + std::to_string(id_) + ": " + what);
  }

  bool usable(int i) const {
    const Family& f = fams_[i];
    if (f.revoked || f.unsure) return false;
    return f.parent < 0 || (!fams_[f.parent].revoked && !fams_[f.parent].unsure);
  }
  std::vector<int> liveFamilies() const {
    std::vector<int> out;
    for (size_t i = 0; i < fams_.size(); ++i) {
      if (usable(static_cast<int>(i))) out.push_back(static_cast<int>(i));
    }
    return out;
  }
  void markRevoked(int i) {
    fams_[i].revoked = true;
    for (Family& c : fams_) {
      if (c.parent == i) c.revoked = true, c.unsure = false;
    }
  }
  void advance(Family& f, const HttpResponse& r) {
    std::string next = jsonField(r.body, "refresh_token");
    if (f.rotating && !next.empty()) {
      f.older.push_back(f.current);
      f.current = next;
    }
  }

  std::string hostPort() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string post(const std::string& path, const std::string& body, const std::string& type = "application/x-www-form-urlencoded") {
    return "POST " + path + " HTTP/1.1\r\nHost: " + hostPort() + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  std::string refreshRequest(const Family& f, const std::string& rt) {
    Params kv = {{"grant_type", "refresh_token"}, {"client_id", f.client}, {"refresh_token", rt}};
    if (f.client == "crash-web") kv.push_back({"client_secret", "crash-web-secret"});
    return post("/oauth/token", form(kv));
  }
  std::string webQuery(const Params& extra) {
    Params kv = {{"client_id", "crash-web"}, {"redirect_uri", kWebCallback}, {"response_type", "code"},
                 {"scope", "openid offline_access"}, {"state", "st"}, {"code_challenge", kChallenge},
                 {"code_challenge_method", "S256"}};
    kv.insert(kv.end(), extra.begin(), extra.end());
    return form(kv);
  }
  std::string redeemRequest(const std::string& stt, const std::string& cookie) {
    return "GET /authorize?" + webQuery({{"session_transfer_token", stt}}) + " HTTP/1.1\r\nHost: " + hostPort() +
           "\r\n" + (cookie.empty() ? "" : "Cookie: handoff_session=" + cookie + "\r\n") + "\r\n";
  }
  std::string promptNoneRequest(const std::string& cookie) {
    return "GET /authorize?" + webQuery({{"prompt", "none"}}) + " HTTP/1.1\r\nHost: " + hostPort() +
           "\r\nCookie: handoff_session=" + cookie + "\r\n\r\n";
  }
  std::string exchangeRequest(const std::string& code) {
    return post("/oauth/token", form({{"grant_type", "authorization_code"}, {"client_id", "crash-web"},
                                      {"client_secret", "crash-web-secret"}, {"code", code},
                                      {"redirect_uri", kWebCallback}, {"code_verifier", kVerifier}}));
  }

  // One request: the answer, or nullopt when it never came. `unknown` is set when the request
  // may have reached the server (its outcome is then unknown); a refused connection sent nothing.
  std::optional<HttpResponse> call(const std::string& request, bool* unknown = nullptr) {
    bool sent = false;
    auto r = conn_.send(port_, request, &sent);
    if (r) ++stats_.acked;
    else if (sent) ++stats_.unknown;
    if (unknown != nullptr) *unknown = !r && sent;
    return r;
  }
  // An answer that a live token must never get during the load: recorded.
  void unexpected(const std::string& what, const HttpResponse& r) {
    fail(what + ": " + std::to_string(r.status) + " " + r.body);
  }

  void newFamily() {
    bool rotating = pick(3) != 0;
    std::string client = rotating ? "crash-native" : "crash-native-nr";
    bool unknown = false;
    auto r = call(post("/oauth/token", form({{"grant_type", "password"}, {"client_id", client},
                                             {"username", "crash@example.com"}, {"password", "crash-password"},
                                             {"scope", "offline_access"}})),
                  &unknown);
    if (!r) return;  // never known: nothing to check
    if (r->status != 200) return unexpected("password grant", *r);
    fams_.push_back({client, rotating, jsonField(r->body, "refresh_token"), {}, false, false, -1});
  }
  void refresh(int i) {
    Family& f = fams_[i];
    bool unknown = false;
    auto r = call(refreshRequest(f, f.current), &unknown);
    if (!r) {
      f.unsure = f.unsure || unknown;
      return;
    }
    if (r->status != 200) {
      unexpected("refresh of a live token " + f.current, *r);
      markRevoked(i);
      return;
    }
    advance(f, *r);
  }
  void revoke(int i) {
    Family& f = fams_[i];
    Params kv = {{"client_id", f.client}, {"token", f.current}};
    if (f.client == "crash-web") kv.push_back({"client_secret", "crash-web-secret"});
    bool unknown = false;
    auto r = call(post("/oauth/revoke", form(kv)), &unknown);
    if (!r) {
      f.unsure = f.unsure || unknown;
      return;
    }
    if (r->status != 200) return unexpected("revocation", *r);
    markRevoked(i);
  }
  // A rotated-out token presented again: refused, and the whole family (with its cascade) goes.
  void reuse(const std::vector<int>& live) {
    std::vector<int> rotated;
    for (int i : live) {
      if (!fams_[i].older.empty()) rotated.push_back(i);
    }
    if (rotated.empty()) return;
    int i = rotated[pick(rotated.size())];
    Family& f = fams_[i];
    bool unknown = false;
    auto r = call(refreshRequest(f, f.older[pick(f.older.size())]), &unknown);
    if (!r) {
      f.unsure = f.unsure || unknown;
      return;
    }
    ++stats_.reuses;
    if (r->status != 403) unexpected("reuse of a rotated-out token", *r);
    markRevoked(i);
  }
  // Mint an STT from a native rotating family (it rotates), maybe redeem it, maybe exchange the
  // code: every STT and code seen goes on the list that must fail after the next kill.
  void sessionTransfer(const std::vector<int>& live) {
    std::vector<int> natives;
    for (int i : live) {
      if (fams_[i].client == "crash-native") natives.push_back(i);
    }
    if (natives.empty()) return;
    int i = natives[pick(natives.size())];
    bool unknown = false;
    std::string body = "{\"client_id\":\"crash-native\",\"grant_type\":\"refresh_token\",\"audience\":\"urn:" + hostPort() +
                       ":session_transfer\",\"refresh_token\":\"" + fams_[i].current + "\"}";
    auto r = call(post("/oauth/token", body, "application/json"), &unknown);
    if (!r) {
      fams_[i].unsure = fams_[i].unsure || unknown;
      return;
    }
    if (r->status != 200) {
      unexpected("STT mint", *r);
      markRevoked(i);
      return;
    }
    advance(fams_[i], *r);
    std::string stt = jsonField(r->body, "access_token");
    stts_.push_back(stt);
    ++stats_.stts;
    if (pick(4) == 0) return;  // left unredeemed
    auto a = call(redeemRequest(stt, ""));
    if (!a) return;
    std::string code = codeOf(*a);
    if (code.empty()) return unexpected("STT redemption", *a);
    codes_.push_back(code);
    std::string sc = setCookie(*a, "handoff_session");
    std::string cookie = sc.substr(sc.find('=') + 1, sc.find(';') - sc.find('=') - 1);
    if (!cookie.empty()) borns_.push_back({i, cookie});
    if (pick(4) == 0) return;  // code left unexchanged
    auto t = call(exchangeRequest(code));
    if (!t) return;
    ++stats_.codes;
    if (t->status != 200) return unexpected("code exchange", *t);
    std::string rt = jsonField(t->body, "refresh_token");
    if (!rt.empty()) fams_.push_back({"crash-web", true, rt, {}, false, false, i});
  }

  int id_;
  std::mt19937_64 rng_;
  uint16_t port_ = 0;
  Conn conn_;
  std::vector<Family> fams_;
  std::vector<Born> borns_;
  std::vector<std::string> stts_;   // seen since the last kill
  std::vector<std::string> codes_;  // seen since the last kill
  std::vector<std::string> failures_;
  Stats stats_;
};

// Runs `fn(worker)` on every worker's thread at once and waits for all of them.
class Crew {
 public:
  explicit Crew(std::vector<std::unique_ptr<Worker>>& workers) : workers_(workers) {
    for (size_t i = 0; i < workers_.size(); ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~Crew() {
    {
      std::lock_guard lk(mu_);
      quit_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void start(std::function<void(Worker&)> fn) {
    {
      std::lock_guard lk(mu_);
      fn_ = std::move(fn);
      done_ = 0;
      ++gen_;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return done_ == workers_.size(); });
  }

 private:
  void loop(size_t i) {
    uint64_t seen = 0;
    for (;;) {
      std::function<void(Worker&)> fn;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return gen_ != seen; });
        seen = gen_;
        if (quit_) return;
        fn = fn_;
      }
      fn(*workers_[i]);
      {
        std::lock_guard lk(mu_);
        ++done_;
      }
      cv_.notify_all();
    }
  }
  std::vector<std::unique_ptr<Worker>>& workers_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void(Worker&)> fn_;
  uint64_t gen_ = 0;
  size_t done_ = 0;
  bool quit_ = false;
};

TEST(Crash, AcknowledgedTokensAndRevocationsSurviveRepeatedKill9) {
  uint64_t seed = std::getenv("HANDOFF_CRASH_SEED") != nullptr
                      ? std::strtoull(std::getenv("HANDOFF_CRASH_SEED"), nullptr, 10)
                      : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000007u;
  int kills = std::getenv("HANDOFF_CRASH_KILLS") != nullptr ? std::atoi(std::getenv("HANDOFF_CRASH_KILLS")) : 15;
  std::printf("crash test: seed %llu (HANDOFF_CRASH_SEED=%llu to repeat), %d kills\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills);
  std::fflush(stdout);
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  std::string t = (fs::temp_directory_path() / "handoff-crash-XXXXXX").string();
  ASSERT_NE(::mkdtemp(t.data()), nullptr);
  std::string dataDir = t + "/data";
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{t};

  const int nWorkers = 4;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < nWorkers; ++i) workers.push_back(std::make_unique<Worker>(i, seed));
  Crew crew(workers);
  std::atomic<bool> stop{false};
  std::unique_ptr<Server> server;
  auto boot = [&](unsigned threads) {
    server = std::make_unique<Server>(ServerOptions{.config = config(), .threads = threads, .dataDir = dataDir});
    if (!server->start(Millis(30000))) return false;
    return eventually([&] { return !fetchMetrics(server->port()).empty(); }, Millis(30000));
  };
  auto failures = [&] {
    std::string out;
    for (auto& w : workers) {
      for (const std::string& f : w->failures()) out += f + "\n";
    }
    return out;
  };
  auto started = Clock::now();
  uint64_t tornCuts = 0, snapshots = 0;
  auto count = [](const std::string& text, const std::string& what) {
    uint64_t n = 0;
    for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
    return n;
  };
  for (int round = 0; round <= kills; ++round) {
    unsigned threads = 2 + static_cast<unsigned>(rng() % 3);
    ASSERT_TRUE(boot(threads)) << "round " << round << ": " << server->failure();
    uint16_t port = server->port();
    EXPECT_EQ(count(server->stderrText(), "\"store: recovered\""), 1u) << server->stderrText();
    tornCuts += count(server->stderrText(), "store: torn log tail cut");
    crew.start([port](Worker& w) { w.check(port); });
    crew.wait();
    ASSERT_EQ(failures(), "") << "after kill " << round << " (seed " << seed << ", --threads " << threads << ")\n"
                              << server->stderrText();
    if (round == kills) break;
    int loadMs = 150 + static_cast<int>(rng() % 1000);
    stop = false;
    crew.start([port, &stop](Worker& w) { w.load(port, stop); });
    std::this_thread::sleep_for(Millis(loadMs));
    snapshots += metricValue(fetchMetrics(port), "handoff_store_snapshots_total").value_or(0);
    ASSERT_TRUE(server->signal(SIGKILL));
    auto code = server->waitExit(Millis(10000));
    stop = true;
    crew.wait();
    ASSERT_EQ(code, 128 + SIGKILL) << server->stderrText();
    ASSERT_EQ(failures(), "") << "during load " << round << " (seed " << seed << ")\n" << server->stderrText();
    std::printf("round %2d: --threads %u, killed after %4d ms\n", round, threads, loadMs);
    std::fflush(stdout);
    server.reset();
  }
  EXPECT_EQ(server->stop(SIGTERM, Millis(10000)), 0) << server->stderrText();
  Stats total;
  for (auto& w : workers) {
    const Stats& s = w->stats();
    total.acked += s.acked, total.unknown += s.unknown, total.checked += s.checked, total.resolved += s.resolved;
    total.stts += s.stts, total.codes += s.codes, total.cascades += s.cascades, total.reuses += s.reuses;
  }
  double secs = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("crash test: seed %llu, %d kills in %.1f s: %llu answered requests, %llu unknown (killed in flight), "
              "%llu checks after restarts (%llu uncertain families settled), %llu STTs and %llu code exchanges, "
              "%llu reuse detections, %llu cascade checks, %llu snapshots, %llu torn tails cut\n",
              static_cast<unsigned long long>(seed), kills, secs, static_cast<unsigned long long>(total.acked),
              static_cast<unsigned long long>(total.unknown), static_cast<unsigned long long>(total.checked),
              static_cast<unsigned long long>(total.resolved), static_cast<unsigned long long>(total.stts),
              static_cast<unsigned long long>(total.codes), static_cast<unsigned long long>(total.reuses),
              static_cast<unsigned long long>(total.cascades), static_cast<unsigned long long>(snapshots),
              static_cast<unsigned long long>(tornCuts));
  EXPECT_GT(total.unknown, 0u) << "no kill landed on a request in flight";
  EXPECT_GT(total.checked, 100u);
}

}  // namespace
}  // namespace handoff::it::n2w
