// The fixture of the durable store's end-to-end tests (durability_test.cc, store_faults_test.cc):
// a real handoffd on a data directory kept across restarts, started, stopped (SIGTERM) and killed
// (SIGKILL) as a test needs.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <atomic>
#include <thread>
#include <string>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {

namespace fs = std::filesystem;

class Durability : public N2wTest {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "handoff-durable-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string dataDir() const { return dir_ + "/data"; }

  // The bytes of a log segment that hold records: the log keeps a segment zero-filled past its
  // last record (Wal::kZeroAhead), so this is not its file size. Frames are
  // [u32 length][u32 crc][u8 type][payload], little-endian; the first all-zero header ends them.
  static uint64_t loggedBytes(const std::string& segment) {
    std::ifstream in(segment, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    uint64_t at = 0;
    while (at + 9 <= data.size() && data.compare(at, 9, std::string(9, '\0')) != 0) {
      uint32_t len = 0;
      std::memcpy(&len, data.data() + at, 4);
      at += 9 + len;
    }
    return at;
  }
  std::string storeDir() const { return dataDir() + "/store"; }

  // Starts handoffd on this test's data directory (the demo tenant unless `config`).
  void boot(unsigned threads = 2, const std::string& config = "") {
    server_ = std::make_unique<Server>(ServerOptions{.config = config, .threads = threads, .dataDir = dataDir()});
    ASSERT_TRUE(server_->start(Millis(20000))) << server_->failure();
    // And the shards serve.
    ASSERT_TRUE(eventually([&] { return !fetchMetrics(port()).empty(); }, Millis(20000))) << server_->stderrText();
    ++boots_;
  }
  // Stops the server with `sig`: SIGTERM must end it cleanly, SIGKILL just ends it.
  void halt(int sig) {
    auto code = server_->stop(sig, Millis(10000));
    ASSERT_TRUE(code.has_value()) << "handoffd did not end after signal " << sig;
    EXPECT_EQ(*code, sig == SIGTERM ? 0 : 128 + SIGKILL) << server_->stderrText();
    lastStderr_ = server_->stderrText();
    server_.reset();
  }

  // A refresh that must work: the token to hold next (the rotated one, or the same).
  std::string refreshOk(const std::string& rt, const std::string& clientId) {
    HttpResponse r = refresh(rt, clientId);
    EXPECT_EQ(r.status, 200) << clientId << " " << rt << ": " << r.body;
    std::string next = jsonField(r.body, "refresh_token");
    return next.empty() ? rt : next;
  }
  void expectRefused(const std::string& rt, const std::string& clientId) {
    HttpResponse r = refresh(rt, clientId);
    EXPECT_EQ(r.status, 403) << clientId << " " << rt << " still works: " << r.body;
    EXPECT_EQ(jsonField(r.body, "error"), "invalid_grant") << r.body;
  }
  HttpResponse userinfo(const std::string& at) {
    Client c(port());
    auto r = c.roundTrip("GET /userinfo HTTP/1.1\r\nHost: " + hostPort() + "\r\nAuthorization: Bearer " + at + "\r\n\r\n",
                         Millis(5000));
    EXPECT_TRUE(r) << c.error();
    return r ? *r : HttpResponse{};
  }
  void expectSession(Browser& b, const std::string& what) {
    HttpResponse r = promptNone(b);
    EXPECT_FALSE(codeOf(r).empty()) << what << ": the session is gone: " << r.raw;
  }
  void expectNoSession(Browser& b, const std::string& what) {
    HttpResponse r = promptNone(b);
    EXPECT_EQ(param(r.header("location"), "error"), "login_required") << what << ": " << r.raw;
  }
  HttpResponse logout(Browser& b) {
    HttpResponse r = b.get("/v2/logout?client_id=demo-web&returnTo=" + enc("http://127.0.0.1:3000/"));
    EXPECT_EQ(r.status, 302) << r.raw;
    return r;
  }
  // Browsers must follow the server to its new port after a restart.
  Browser rebind(Browser old) {
    Browser b(port());
    b.jar() = old.jar();
    return b;
  }

  // The newest .wal of each shard directory.
  std::vector<std::string> newestSegments() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& d : fs::directory_iterator(storeDir(), ec)) {
      std::string newest;
      for (const auto& f : fs::directory_iterator(d.path(), ec)) {
        std::string p = f.path().string();
        if (p.size() > 4 && p.substr(p.size() - 4) == ".wal" && p > newest) newest = p;
      }
      if (!newest.empty()) out.push_back(newest);
    }
    return out;
  }

  std::string dir_;
  std::string lastStderr_;
  int boots_ = 0;
};

// Everything a user and their apps hold, made on a running server. Cookie jars are copied right
// after each login, before any logout or cascade: a browser that forgot its cookie would prove

}  // namespace handoff::it::n2w
