// Issue 5, hot reload of the GeoIP ASN database against a real handoffd: the server is started
// with --geo-asn naming a copy in a temporary directory of the test's own, a background thread
// keeps minting session transfer tokens (one non-rotating refresh token, one keep-alive
// connection with a fresh one now and then) and every answer must be 200 while the file is
// replaced by an atomic rename, overwritten in place with garbage, truncated, rewritten slowly in
// place, replaced by an older or a wrong-type database, deleted, missing at start, or reloaded by
// SIGHUP. Which ASN the server sees is read from the tenant log (the sertft event's details.asn),
// the reload outcome from /metrics. At the end of every test the server still runs and exits 0
// on SIGTERM.
//
// The databases are built at test time with tools/build-geo-db ($HANDOFF_BUILD_GEO_DB, set by
// tests/meson.build) from CSV text held here: the same ranges as geo-data/test-asn.csv with the
// build's epoch (base), a newer one where 127.0.0.0/25 is AS64510, an older one where it is
// AS64520, and a country database (the wrong type for the ASN path).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kEpoch0 = 1704067200;        // geo-data's test databases (SOURCE_DATE_EPOCH)
constexpr uint64_t kEpochNewer = kEpoch0 + 86400;
constexpr uint64_t kEpochOlder = kEpoch0 - 86400;

const Millis kSettle(5000);  // reload visible: debounce 150 ms + load + publish, generous for ASan

// 127.0.0.0/25 → `asnA`; the rest as in geo-data/test-asn.csv.
std::string asnCsv(uint32_t asnA) {
  return "network,autonomous_system_number,autonomous_system_organization\n"
         "127.0.0.0/25," + std::to_string(asnA) + ",Handoff Test Network A\n"
         "127.0.0.128/25,64501,Handoff Test Network B\n"
         "::1/128,64502,Handoff Test Loopback v6\n"
         "192.0.2.0/24,64496,\"Documentation Net 1, Inc.\"\n"
         "2001:db8::/32,64499,Documentation Net v6\n";
}
const std::string kCountryCsv = "network,country_iso_code\n127.0.0.0/25,XA\n127.0.0.128/25,XB\n::1/128,XA\n";

std::string shq(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// tools/build-geo-db: $HANDOFF_BUILD_GEO_DB, else next to the build tree that holds $HANDOFFD
// (build/src/handoffd → tools/build-geo-db), else relative to the working directory.
std::string buildGeoDbTool() {
  if (const char* p = std::getenv("HANDOFF_BUILD_GEO_DB"); p != nullptr && *p != '\0') return p;
  fs::path guess = fs::path(handoffdPath()).parent_path() / ".." / ".." / "tools" / "build-geo-db";
  std::error_code ec;
  if (fs::exists(guess, ec)) return guess.string();
  return "tools/build-geo-db";
}

// Runs the tool on `csv`; "" on success, else what it said.
std::string buildDb(const std::string& type, uint64_t epoch, const std::string& csv, const std::string& out) {
  std::string in = out + ".csv";
  std::ofstream(in) << csv;
  std::string cmd = shq(buildGeoDbTool()) + " --type " + type + " --epoch " + std::to_string(epoch) + " --quiet --out " +
                    shq(out) + " " + shq(in) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed: " + cmd;
  std::string said;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) said.append(buf, n);
  int st = ::pclose(p);
  if (st != 0 || !fs::exists(out)) return "`" + cmd + "` failed (" + std::to_string(st) + "): " + said;
  return "";
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Writes `bytes` over the file at `path` in place (O_TRUNC on the same inode, no rename).
void overwriteInPlace(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

// ── the log ─────────────────────────────────────────────────────────────────────────────────

// ── the background minter ───────────────────────────────────────────────────────────────────

// Mints over and over with one refresh token until stopped: a keep-alive connection, replaced
// by a fresh one every 8th mint (the listener spreads connections over the shards) or when the
// server closes it. Any answer but 200, and any transport failure, is a failure.
class Minter {
 public:
  Minter(uint16_t port, std::string request) : port_(port), request_(std::move(request)) {}
  ~Minter() { stop(); }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t ok() const { return ok_.load(); }
  uint64_t failures() const { return failures_.load(); }
  std::string firstFailure() {
    std::lock_guard<std::mutex> g(mu_);
    return first_;
  }
  // Waits until `n` more mints than now have succeeded.
  bool advance(uint64_t n, Millis timeout = Millis(10000)) {
    uint64_t target = ok() + n;
    return eventually([&] { return ok() >= target; }, timeout);
  }

 private:
  void fail(const std::string& why) {
    failures_.fetch_add(1);
    std::lock_guard<std::mutex> g(mu_);
    if (first_.empty()) first_ = why;
  }
  void run() {
    std::unique_ptr<Client> c;
    for (uint64_t i = 0; !stop_; ++i) {
      if (!c || !c->connected() || i % 8 == 0) c = std::make_unique<Client>(port_);
      if (!c->connected()) {
        fail("connect: " + c->error());
        c.reset();
        std::this_thread::sleep_for(Millis(10));
        continue;
      }
      auto r = c->roundTrip(request_, Millis(5000));
      if (!r) {
        fail("mint #" + std::to_string(i) + ": " + c->error());
        c.reset();
      } else if (r->status != 200 || jsonField(r->body, "access_token").rfind("stt_", 0) != 0) {
        fail("mint #" + std::to_string(i) + ": " + r->raw);
      } else {
        ok_.fetch_add(1);
        if (r->closes()) c.reset();
      }
      std::this_thread::sleep_for(Millis(2));
    }
  }

  uint16_t port_;
  std::string request_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ok_{0}, failures_{0};
  std::mutex mu_;
  std::string first_;
};

// ── the fixture ─────────────────────────────────────────────────────────────────────────────

// A non-rotating native client (one refresh token serves every mint) and a log reader.
std::string reloadTenant() {
  return tenantConfig(
      "[[clients]]\nclient_id = \"geo-native\"\napp_type = \"native\"\ntoken_endpoint_auth_method = \"none\"\n"
      "grant_types = [\"refresh_token\", \"password\"]\ncallbacks = [\"com.example.handoff://callback\"]\n"
      "refresh_token = { rotation_type = \"non-rotating\" }\n"
      "[clients.session_transfer]\ncan_create_session_transfer_token = true\n\n"
      "[[clients]]\nclient_id = \"geo-m2m\"\nclient_secret = \"geo-m2m-secret\"\napp_type = \"non_interactive\"\n"
      "grant_types = [\"client_credentials\"]\n\n");
}

class GeoReload : public N2wTest {
 protected:
  // The four candidate databases, built once for the suite.
  static void SetUpTestSuite() {
    std::string dir = fs::temp_directory_path().string() + "/handoff-geo-dbs-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      buildError() = "mkdtemp failed";
      return;
    }
    dbDir() = dir;
    for (const auto& [name, type, epoch, csv] :
         std::vector<std::tuple<std::string, std::string, uint64_t, std::string>>{
             {"base.mmdb", "asn", kEpoch0, asnCsv(64500)},
             {"newer.mmdb", "asn", kEpochNewer, asnCsv(64510)},
             {"older.mmdb", "asn", kEpochOlder, asnCsv(64520)},
             {"country.mmdb", "country", kEpochNewer, kCountryCsv}}) {
      std::string why = buildDb(type, epoch, csv, dir + "/" + name);
      if (!why.empty()) {
        buildError() = why;
        return;
      }
    }
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dbDir().empty()) fs::remove_all(dbDir(), ec);
  }
  static std::string& dbDir() {
    static std::string d;
    return d;
  }
  static std::string& buildError() {
    static std::string e;
    return e;
  }
  static std::string db(const std::string& name) { return dbDir() + "/" + name; }

  void SetUp() override {
    ASSERT_TRUE(buildError().empty()) << buildError();
    std::string dir = fs::temp_directory_path().string() + "/handoff-geo-watch-XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    watchDir_ = dir;
    asnPath_ = dir + "/asn.mmdb";
  }
  void TearDown() override {
    if (minter_) minter_->stop();
    std::error_code ec;
    if (!watchDir_.empty()) fs::remove_all(watchDir_, ec);
  }

  // Starts handoffd on reloadTenant() with --geo-asn asnPath_ (a copy of base.mmdb unless
  // `withFile` is false), gets a refresh token and starts the minter.
  void startMinting(bool withFile = true) {
    if (withFile) fs::copy_file(db("base.mmdb"), asnPath_);
    server_ = std::make_unique<Server>(ServerOptions{.config = reloadTenant(), .extraArgs = {"--geo-asn", asnPath_}});
    ASSERT_TRUE(server_->start()) << server_->failure();
    std::string rt = nativeRt("geo-native", "alice@example.com", "alice-password");
    ASSERT_FALSE(rt.empty());
    std::string body = "{\"client_id\":\"geo-native\",\"grant_type\":\"refresh_token\",\"audience\":\"urn:" + hostPort() +
                       ":session_transfer\",\"refresh_token\":\"" + rt + "\"}";
    std::string request = "POST /oauth/token HTTP/1.1\r\nHost: " + hostPort() +
                          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body;
    minter_ = std::make_unique<Minter>(port(), request);
    minter_->start();
    ASSERT_TRUE(minter_->advance(5)) << "the minter does not get going: " << minter_->firstFailure();
  }

  // Replaces the watched file by renaming `source`'s copy over it (what a careful updater does).
  void renameIn(const std::string& source) {
    std::string tmp = watchDir_ + "/asn.mmdb.tmp-" + std::to_string(++renames_);
    fs::copy_file(source, tmp);
    fs::rename(tmp, asnPath_);
  }

  uint64_t metric(const std::string& series) {
    auto v = metricValue(fetchMetrics(port()), series);
    EXPECT_TRUE(v) << series << " missing from /metrics";
    return v.value_or(~0ull);
  }
  uint64_t reloads() { return metric("handoff_geo_reloads_total"); }
  uint64_t refused() { return metric("handoff_geo_reloads_refused_total"); }
  uint64_t asnEpoch() { return metric("handoff_geo_asn_build_epoch"); }

  // details.asn of the newest sertft in the tenant log; -1 when there is none.
  long long latestMintAsn() {
    if (mgmt_.empty()) {
      HttpResponse r = token(form({{"grant_type", "client_credentials"}, {"client_id", "geo-m2m"},
                                   {"client_secret", "geo-m2m-secret"}, {"audience", issuer() + "api/v2/"},
                                   {"scope", "read:logs"}}));
      EXPECT_EQ(r.status, 200) << r.body;
      mgmt_ = jsonField(r.body, "access_token");
    }
    Client c(port());
    auto r = c.roundTrip("GET /api/v2/logs?per_page=1&q=" + enc("type:sertft") + " HTTP/1.1\r\nHost: " + hostPort() +
                             "\r\nAuthorization: Bearer " + mgmt_ + "\r\n\r\n",
                         Millis(5000));
    if (!r || r->status != 200) return -1;
    std::vector<std::string> events = jsonObjects(r->body);
    if (events.empty()) return -1;
    std::string asn = jsonField(eventDetails(events.front()), "asn");
    return asn.empty() ? -1 : std::stoll(asn);
  }
  // The newest mint, after `n` more from the minter, was made with `asn`.
  void expectMintsAnswer(long long asn, const std::string& when) {
    ASSERT_TRUE(minter_->advance(5)) << when << ": the minter stalled: " << minter_->firstFailure();
    EXPECT_EQ(latestMintAsn(), asn) << when;
  }
  bool eventuallyMintsAnswer(long long asn) {
    return eventually([&] { return latestMintAsn() == asn; }, kSettle);
  }

  // Waits until the refused counter reaches `n`, then past the debounce, and checks it stays.
  void expectRefusedSettles(uint64_t n, const std::string& what) {
    EXPECT_TRUE(eventually([&] { return refused() >= n; }, kSettle)) << what << " was not refused\n"
                                                                     << server_->stderrText();
    std::this_thread::sleep_for(Millis(500));
    EXPECT_EQ(refused(), n) << what;
  }

  // No mint failed, the server still runs, and SIGTERM ends it with 0.
  void finish() {
    ASSERT_TRUE(minter_->advance(5)) << "the minter stalled: " << minter_->firstFailure();
    minter_->stop();
    EXPECT_EQ(minter_->failures(), 0u) << "first failure: " << minter_->firstFailure();
    EXPECT_GT(minter_->ok(), 20u);
    EXPECT_TRUE(server_->running()) << server_->stderrText();
    EXPECT_EQ(server_->stop(), 0) << server_->stderrText();
  }

  std::string watchDir_, asnPath_, mgmt_;
  std::unique_ptr<Minter> minter_;
  unsigned renames_ = 0;
};

// ── the cases ───────────────────────────────────────────────────────────────────────────────

TEST_F(GeoReload, AtomicRenameOfANewerDatabaseIsSwappedIn) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  EXPECT_EQ(asnEpoch(), kEpoch0);
  EXPECT_EQ(reloads(), 0u);
  expectMintsAnswer(64500, "before the change");

  renameIn(db("newer.mmdb"));
  // The keep-alive connection sees the new answer too: its memo is keyed by the snapshot.
  EXPECT_TRUE(eventuallyMintsAnswer(64510)) << "latest mint asn " << latestMintAsn() << "\n" << server_->stderrText();
  EXPECT_TRUE(eventually([&] { return reloads() == 1; }, kSettle));
  EXPECT_EQ(asnEpoch(), kEpochNewer);
  std::this_thread::sleep_for(Millis(400));
  EXPECT_EQ(reloads(), 1u) << "one rename, one reload (debounced)";
  EXPECT_EQ(refused(), 0u);
  EXPECT_GT(metric("handoff_geo_last_load_microseconds"), 0u);
  expectMintsAnswer(64510, "after the swap");
  finish();
}

TEST_F(GeoReload, InPlaceGarbageIsRefusedAndTheOldDatabaseServes) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  std::string garbage;
  uint32_t x = 2463534242u;
  for (int i = 0; i < 4096; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    garbage.push_back(static_cast<char>(x));
  }
  overwriteInPlace(asnPath_, garbage);
  expectRefusedSettles(1, "garbage written in place");
  EXPECT_EQ(reloads(), 0u);
  EXPECT_EQ(asnEpoch(), kEpoch0);
  expectMintsAnswer(64500, "after the garbage");
  finish();
}

TEST_F(GeoReload, TruncatedToHalfIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  auto size = fs::file_size(asnPath_);
  fs::resize_file(asnPath_, size / 2);
  expectRefusedSettles(1, "truncation to half");
  EXPECT_EQ(reloads(), 0u);
  expectMintsAnswer(64500, "after the truncation");
  finish();
}

TEST_F(GeoReload, OlderBuildEpochIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  renameIn(db("older.mmdb"));
  expectRefusedSettles(1, "a database with an older build_epoch");
  EXPECT_EQ(reloads(), 0u);
  EXPECT_EQ(asnEpoch(), kEpoch0);
  expectMintsAnswer(64500, "after the older database");  // not 64520
  finish();
}

TEST_F(GeoReload, CountryDatabaseAtTheAsnPathIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  renameIn(db("country.mmdb"));  // newer epoch: refused for its type alone
  expectRefusedSettles(1, "a country database at the ASN path");
  EXPECT_EQ(reloads(), 0u);
  EXPECT_EQ(asnEpoch(), kEpoch0);
  expectMintsAnswer(64500, "after the wrong-type database");
  EXPECT_NE(server_->stderrText().find("is not an ASN database"), std::string::npos) << server_->stderrText();
  finish();
}

// A slow in-place rewrite: the first half of a newer database, a pause longer than the debounce,
// then the rest. The half-written file is refused; the completed one is swapped in.
TEST_F(GeoReload, HalfWrittenInPlaceIsRefusedThenTheCompleteFileIsTaken) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  std::string bytes = readFile(db("newer.mmdb"));
  {
    std::ofstream f(asnPath_, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    f.flush();
    std::this_thread::sleep_for(Millis(1000));
    f.write(bytes.data() + bytes.size() / 2, static_cast<std::streamsize>(bytes.size() - bytes.size() / 2));
  }
  EXPECT_TRUE(eventuallyMintsAnswer(64510)) << server_->stderrText();
  EXPECT_TRUE(eventually([&] { return reloads() >= 1; }, kSettle));
  EXPECT_GE(refused(), 1u) << "the half-written file was taken?\n" << server_->stderrText();
  EXPECT_EQ(asnEpoch(), kEpochNewer);
  finish();
}

// Deleting the file: the reload finds nothing, counts a refusal, and the snapshot in service
// keeps answering. The same file renamed back in (same epoch: not older) is taken again.
TEST_F(GeoReload, DeletedFileIsRefusedAndTheOldDatabaseServes) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  fs::remove(asnPath_);
  expectRefusedSettles(1, "the deleted file");
  EXPECT_EQ(reloads(), 0u);
  expectMintsAnswer(64500, "after the deletion");
  renameIn(db("base.mmdb"));
  EXPECT_TRUE(eventually([&] { return reloads() == 1; }, kSettle)) << server_->stderrText();
  expectMintsAnswer(64500, "after the file came back");
  finish();
}

TEST_F(GeoReload, MissingAtStartThenRenamedIn) {
  ASSERT_NO_FATAL_FAILURE(startMinting(/*withFile=*/false));  // the server starts without it
  EXPECT_EQ(asnEpoch(), 0u);
  expectMintsAnswer(0, "without a database");  // no ASN database: asn 0, and the mint succeeds
  EXPECT_NE(server_->stderrText().find("geo: database not loaded"), std::string::npos) << server_->stderrText();

  renameIn(db("base.mmdb"));
  EXPECT_TRUE(eventuallyMintsAnswer(64500)) << server_->stderrText();
  EXPECT_TRUE(eventually([&] { return reloads() == 1; }, kSettle));
  EXPECT_EQ(asnEpoch(), kEpoch0);
  EXPECT_EQ(refused(), 0u);
  finish();
}

// SIGHUP with the file unchanged. What the code does (GeoService::reload, Database::open): the
// candidate's build_epoch is compared with `< minEpoch`, so the same epoch is "not older" and is
// accepted — the same database is loaded again, swapped in as a new snapshot and counted as a
// reload (not refused). The answers do not change.
TEST_F(GeoReload, SighupWithAnUnchangedFileReloadsTheSameEpoch) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  ASSERT_TRUE(server_->signal(SIGHUP));
  EXPECT_TRUE(eventually([&] { return reloads() == 1; }, kSettle)) << server_->stderrText();
  std::this_thread::sleep_for(Millis(300));
  EXPECT_EQ(reloads(), 1u);
  EXPECT_EQ(refused(), 0u);
  EXPECT_EQ(asnEpoch(), kEpoch0);
  expectMintsAnswer(64500, "after SIGHUP");
  // A second SIGHUP after an older database was renamed in: refused, like the watch's reload.
  renameIn(db("older.mmdb"));
  expectRefusedSettles(1, "the older database");
  ASSERT_TRUE(server_->signal(SIGHUP));
  expectRefusedSettles(2, "the older database on SIGHUP");
  EXPECT_EQ(reloads(), 1u);
  expectMintsAnswer(64500, "after the refused SIGHUP");
  finish();
}

// SIGTERM while a reload may be in flight (before, during and after the debounce): the process
// ends with 0 every time.
TEST_F(GeoReload, SigtermDuringAReloadExitsCleanly) {
  for (int delayMs : {0, 100, 150, 170, 200, 300}) {
    std::error_code ec;
    fs::remove(asnPath_, ec);
    fs::copy_file(db("base.mmdb"), asnPath_);
    Server s(ServerOptions{.config = reloadTenant(), .extraArgs = {"--geo-asn", asnPath_}});
    ASSERT_TRUE(s.start()) << s.failure();
    renameIn(db("newer.mmdb"));
    std::this_thread::sleep_for(Millis(delayMs));
    EXPECT_EQ(s.stop(), 0) << "SIGTERM " << delayMs << " ms after the rename\n" << s.stderrText();
  }
}

// A FIFO renamed over the database path is not a database: it is refused at once (opened
// non-blocking, then not a regular file), like garbage — a blocking open would wait forever for a
// writer on the pool, wedge every later reload and hold up SIGTERM behind the pending work.
TEST_F(GeoReload, FifoAtThePathIsRefusedAndDoesNotWedgeReloads) {
  ASSERT_NO_FATAL_FAILURE(startMinting());
  std::string fifo = watchDir_ + "/asn.mmdb.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  fs::rename(fifo, asnPath_);
  EXPECT_TRUE(eventually([&] { return refused() >= 1; }, kSettle))
      << "a FIFO at the database path must be refused";
  expectMintsAnswer(64500, "after the FIFO");

  renameIn(db("newer.mmdb"));
  EXPECT_TRUE(eventuallyMintsAnswer(64510))
      << "after the FIFO, a good newer database must still load\n"
      << "handoff_geo_reloads_total " << reloads() << ", refused " << refused();

  ASSERT_TRUE(minter_->advance(5)) << minter_->firstFailure();
  minter_->stop();
  EXPECT_EQ(minter_->failures(), 0u) << "first failure: " << minter_->firstFailure();
  EXPECT_TRUE(server_->running()) << server_->stderrText();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->stop(SIGTERM, Millis(10000)), 0) << server_->stderrText();
  auto tookMs = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(tookMs, 2000) << "SIGTERM must not wait behind a blocked load\n"
                          << server_->stderrText();
}

}  // namespace
}  // namespace handoff::it::n2w
