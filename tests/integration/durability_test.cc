// The durable store end to end (issue 6), with a real handoffd on a data directory kept across
// restarts: what was acknowledged before a SIGTERM or a SIGKILL is there after the restart
// (browser sessions and their end, refresh tokens and every rotation, revocations, STT-born
// sessions and the cascade, opaque access tokens), also with another --threads (4 → 2 → 3);
// codes and STTs are memory only.
#include "durability_fixture.h"

namespace handoff::it::n2w {
namespace {

// nothing about the session's end being durable.
struct Holdings {
  std::string nativeRt, nativeRotatedOut, revokedRt, webRt, at;
  std::string bornParentRt, bornWebRt;  // a live STT-born tree (cascade on)
  std::string cutParentRt, cutWebRt;    // a tree whose parent was revoked: cascade done
  std::string onlineRt;                 // the born session's online web token, logged out
  std::map<std::string, std::string> live, born, cut, loggedOut, bornLoggedOut;  // browser cookie jars
};

TEST_F(Durability, SessionsRefreshTokensRevocationsAndCascadesSurviveSigtermAndSigkill) {
  boot(2);
  Holdings h;
  {
    Browser live(port()), born(port()), cut(port()), out(port()), bornOut(port());
    std::string tokens = pageLogin(live);
    h.live = live.jar();
    h.webRt = jsonField(tokens, "refresh_token");
    h.at = jsonField(tokens, "access_token");
    ASSERT_EQ(h.at.rfind("at_", 0), 0u) << tokens;
    std::string r0 = nativeRt();
    h.nativeRotatedOut = refreshOk(r0, "demo-native");
    h.nativeRt = refreshOk(h.nativeRotatedOut, "demo-native");
    h.revokedRt = nativeRt();
    revoke(h.revokedRt, "demo-native");
    // A live STT-born tree, and one cut by the cascade before the restart.
    h.bornWebRt = jsonField(sttLogin(born, stt(nativeRt(), "demo-native", "", &h.bornParentRt)), "refresh_token");
    h.born = born.jar();
    h.cutWebRt = jsonField(sttLogin(cut, stt(nativeRt(), "demo-native", "", &h.cutParentRt)), "refresh_token");
    h.cut = cut.jar();
    ASSERT_FALSE(h.bornWebRt.empty());
    ASSERT_FALSE(h.cutWebRt.empty());
    revoke(h.cutParentRt, "demo-native");
    expectNoSession(cut, "cascade before the restart");
    // A logout of a regular session, and of a born session with an online web token.
    pageLogin(out);
    h.loggedOut = out.jar();
    logout(out);
    std::string p2;
    h.onlineRt = jsonField(sttLogin(bornOut, stt(nativeRt(), "demo-native", "", &p2)), "refresh_token");
    h.bornLoggedOut = bornOut.jar();
    logout(bornOut);
    expectRefused(h.onlineRt, "demo-web");
    for (auto* jar : {&h.live, &h.born, &h.cut, &h.loggedOut, &h.bornLoggedOut}) ASSERT_EQ(jar->count("handoff_session"), 1u);
  }
  auto browser = [&](const std::map<std::string, std::string>& jar) {
    Browser b(port());
    b.jar() = jar;
    return b;
  };
  for (int sig : {SIGTERM, SIGKILL, SIGKILL}) {
    SCOPED_TRACE("after " + std::string(sig == SIGTERM ? "SIGTERM" : "SIGKILL") + ", restart #" + std::to_string(boots_));
    halt(sig);
    boot(2);
    EXPECT_NE(server_->stderrText().find("\"store: recovered\""), std::string::npos) << server_->stderrText();
    Browser live = browser(h.live), born = browser(h.born), cut = browser(h.cut), out = browser(h.loggedOut),
            bornOut = browser(h.bornLoggedOut);
    expectSession(live, "a browser session");
    expectSession(born, "an STT-born session");
    expectNoSession(cut, "an STT-born session ended by the cascade");
    expectNoSession(out, "a logged-out session");
    expectNoSession(bornOut, "a logged-out STT-born session");
    h.nativeRt = refreshOk(h.nativeRt, "demo-native");
    h.webRt = refreshOk(h.webRt, "demo-web");
    h.bornWebRt = refreshOk(h.bornWebRt, "demo-web");
    h.bornParentRt = refreshOk(h.bornParentRt, "demo-native");
    expectRefused(h.revokedRt, "demo-native");
    expectRefused(h.cutParentRt, "demo-native");
    expectRefused(h.cutWebRt, "demo-web");
    expectRefused(h.onlineRt, "demo-web");
    HttpResponse ui = userinfo(h.at);
    EXPECT_EQ(ui.status, 200) << ui.raw;
    EXPECT_EQ(jsonField(ui.body, "sub"), "auth0|demo") << ui.body;
  }
  // Made after restarts, and lasting through the next: a cascade, a reuse detection, a logout.
  revoke(h.bornParentRt, "demo-native");
  Browser born = browser(h.born);
  expectNoSession(born, "cascade after restarts");
  expectRefused(h.nativeRotatedOut, "demo-native");  // reuse: the whole family goes
  Browser live = browser(h.live);
  logout(live);
  halt(SIGKILL);
  boot(2);
  Browser born2 = browser(h.born), live2 = browser(h.live);
  expectNoSession(born2, "cascade after restarts, after one more");
  expectRefused(h.bornWebRt, "demo-web");
  expectRefused(h.nativeRt, "demo-native");  // its family was revoked by the reuse
  expectNoSession(live2, "logout after restarts");
  // The regular session's web token is not online: it outlives the logout.
  h.webRt = refreshOk(h.webRt, "demo-web");
}

TEST_F(Durability, EveryTokenKeepsWorkingAcrossThreadCounts4To2To3) {
  boot(4);
  struct Family {
    std::string rt, client;
  };
  std::vector<Family> live;
  std::vector<Family> dead;
  std::vector<std::map<std::string, std::string>> sessions;
  std::vector<std::string> access;
  std::set<std::string> shards;  // the shard numbers the tokens name
  auto shardOf = [](const std::string& token) {
    size_t a = token.find('_'), b = token.find('_', a + 1);
    return token.substr(a + 1, b - a - 1);
  };
  struct Tree {
    std::string parent, web;
    std::map<std::string, std::string> jar;
  };
  std::vector<Tree> trees;
  for (int i = 0; i < 12; ++i) {
    // Each login from a client IP of its own: twelve from one would exceed the login rate limit
    // (10 at once per IP, one budget across the shards).
    Browser b(port(), "127.0.0." + std::to_string(40 + i));
    std::string tokens = pageLogin(b);
    sessions.push_back(b.jar());
    shards.insert(shardOf(b.jar()["handoff_session"]));
    live.push_back({jsonField(tokens, "refresh_token"), "demo-web"});
    access.push_back(jsonField(tokens, "access_token"));
    std::string rt = nativeRt();
    shards.insert(shardOf(rt));
    live.push_back({refreshOk(rt, "demo-native"), "demo-native"});
    if (i % 3 == 0) {
      std::string gone = nativeRt();
      revoke(gone, "demo-native");
      dead.push_back({gone, "demo-native"});
    }
    if (i % 2 == 0) {
      Tree t;
      Browser bb(port());
      t.web = jsonField(sttLogin(bb, stt(nativeRt(), "demo-native", "", &t.parent)), "refresh_token");
      t.jar = bb.jar();
      trees.push_back(t);
    }
  }
  EXPECT_GE(shards.size(), 3u) << "the tokens should name most of the 4 shards";
  EXPECT_TRUE(shards.count("3") != 0 || shards.count("2") != 0) << "no token names a shard beyond the next count";
  auto check = [&](unsigned threads) {
    SCOPED_TRACE("with --threads " + std::to_string(threads));
    for (Family& f : live) f.rt = refreshOk(f.rt, f.client);
    for (const Family& f : dead) expectRefused(f.rt, f.client);
    for (const auto& jar : sessions) {
      Browser b(port());
      b.jar() = jar;
      expectSession(b, "session " + jar.at("handoff_session"));
    }
    for (const std::string& at : access) EXPECT_EQ(userinfo(at).status, 200) << at;
    for (Tree& t : trees) {
      Browser b(port());
      b.jar() = t.jar;
      expectSession(b, "born session " + t.jar.at("handoff_session"));
      t.web = refreshOk(t.web, "demo-web");
      t.parent = refreshOk(t.parent, "demo-native");
    }
    auto metrics = fetchMetrics(port());
    EXPECT_EQ(metricValue(metrics, "handoff_store_down"), 0u);
  };
  check(4);
  halt(SIGTERM);
  boot(2);
  EXPECT_NE(server_->stderrText().find("\"previous_shards\":4"), std::string::npos) << server_->stderrText();
  check(2);
  halt(SIGKILL);
  boot(3);
  EXPECT_NE(server_->stderrText().find("\"previous_shards\":2"), std::string::npos) << server_->stderrText();
  check(3);
  // The cascade reaches re-homed trees: revoke every parent, every born session ends.
  for (const Tree& t : trees) revoke(t.parent, "demo-native");
  for (const Tree& t : trees) {
    Browser b(port());
    b.jar() = t.jar;
    expectNoSession(b, "born session after its parent's revocation");
    expectRefused(t.web, "demo-web");
  }
  halt(SIGKILL);
  boot(4);
  for (const Tree& t : trees) {
    Browser b(port());
    b.jar() = t.jar;
    expectNoSession(b, "born session after its parent's revocation, back on 4 threads");
  }
  for (Family& f : live) {
    if (f.client == "demo-native") f.rt = refreshOk(f.rt, f.client);
  }
  EXPECT_EQ(newestSegments().size(), 4u);
}

// SIGTERM while clients are refreshing: the drain answers or drops what is in flight, closes the
// logs, and exits 0 (under ASan: without a report); every answered rotation is there afterwards.
TEST_F(Durability, SigtermUnderLoadExitsCleanlyAndKeepsEveryAnsweredRotation) {
  boot(3);
  struct Fam {
    std::string rt;
    bool unsure = false;
    int answered = 0;
  };
  const int kThreads = 4, kPerThread = 6;
  std::vector<std::vector<Fam>> fams(kThreads);
  for (auto& v : fams) {
    for (int i = 0; i < kPerThread; ++i) v.push_back({nativeRt()});
  }
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  uint16_t p = port();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; !stop.load(); ++n) {
        Fam& f = fams[t][n % kPerThread];
        if (f.unsure) continue;
        std::string body = form({{"grant_type", "refresh_token"}, {"client_id", "demo-native"}, {"refresh_token", f.rt}});
        Client c(p);
        if (!c.connected()) continue;  // refused: nothing sent
        auto r = c.roundTrip("POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded"
                             "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
                             Millis(10000));
        if (!r) {
          f.unsure = true;  // no answer: the rotation may or may not have happened
          continue;
        }
        if (r->status == 503) continue;  // draining: refused before anything changed
        if (r->status != 200) {
          ++bad;
          f.unsure = true;
          continue;
        }
        f.rt = jsonField(r->body, "refresh_token");
        ++f.answered;
      }
    });
  }
  std::this_thread::sleep_for(Millis(700));
  ASSERT_TRUE(server_->signal(SIGTERM));
  auto code = server_->waitExit(Millis(15000));
  stop = true;
  for (auto& th : threads) th.join();
  ASSERT_TRUE(code.has_value()) << "handoffd did not end after SIGTERM under load";
  EXPECT_EQ(*code, 0) << server_->stderrText();
  EXPECT_EQ(bad.load(), 0) << "a live token was refused during the load";
  server_.reset();
  boot(3);
  int answered = 0, checked = 0;
  for (auto& v : fams) {
    for (Fam& f : v) {
      answered += f.answered;
      HttpResponse r = refresh(f.rt, "demo-native");
      if (f.unsure) {
        EXPECT_TRUE(r.status == 200 || r.status == 403) << r.raw;
        continue;
      }
      ++checked;
      EXPECT_EQ(r.status, 200) << "an answered rotation was lost: " << f.rt << " " << r.body;
    }
  }
  EXPECT_GT(answered, 50) << "too little load to mean anything";
  EXPECT_GT(checked, 0);
}

TEST_F(Durability, CodesAndSessionTransferTokensAreMemoryOnly) {
  boot(2);
  std::string parent;
  std::string unredeemed = stt(nativeRt(), "demo-native", "", &parent);
  std::string consumed = stt(parent, "demo-native", "", &parent);
  Browser b(port());
  std::string usedCode = codeOf(redeemQuery(b, consumed));
  ASSERT_FALSE(usedCode.empty());
  ASSERT_EQ(exchange(usedCode).status, 200);
  std::string openCode = codeOf(promptNone(b));  // issued, never exchanged
  ASSERT_FALSE(openCode.empty());
  halt(SIGKILL);
  boot(2);
  Browser fresh(port());
  expectLoginPage(redeemQuery(fresh, unredeemed), unredeemed);
  Browser fresh2(port());
  expectLoginPage(redeemQuery(fresh2, consumed), consumed);
  expectOAuthError(exchange(usedCode), 403, "invalid_grant");
  expectOAuthError(exchange(openCode), 403, "invalid_grant");
  // What the STT led to is durable: the born session, and the parent family.
  Browser again = rebind(b);
  expectSession(again, "the STT-born session");
  refreshOk(parent, "demo-native");
}

}  // namespace
}  // namespace handoff::it::n2w
