// handoffd as a process: start-up refusals (a port held by another server, unknown or mistyped
// config keys naming file, line and key, a data directory in use) and signals (SIGTERM drains
// in-flight requests and closes idle connections, a stop right after start, SIGHUP reloads).
#include "http_edge_fixture.h"

namespace handoff::it {
namespace {

// ── start-up refusals ───────────────────────────────────────────────────────────────────────

TEST(Startup, PortHeldByAnotherHandoffdIsRefusedWithExit1) {
  Server first;
  ASSERT_TRUE(first.start()) << first.failure();
  std::string addr = "127.0.0.1:" + std::to_string(first.port());
  ServerOptions o;
  o.listen = addr;
  Server second(o);
  EXPECT_FALSE(second.start()) << "a second handoffd started on " << addr;
  EXPECT_EQ(second.waitExit(5s), 1) << second.stderrText();
  EXPECT_THAT(second.stderrText(), HasSubstr(addr));
  EXPECT_THAT(second.stderrText(), HasSubstr("in use"));
  // The first one still serves.
  for (int i = 0; i < 4; ++i) {
    Client c(first.port());
    auto r = c.roundTrip(kGetHealthz);
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 200);
  }
}

TEST(Startup, PortHeldByAReuseportListenerIsRefusedWithExit1) {
  // Another program (nginx with `reuseport`) listening with SO_REUSEPORT must not be joined:
  // the kernel would split that program's connections with handoffd.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  int one = 1;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  std::string addr = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));

  ServerOptions o;
  o.listen = addr;
  Server s(o);
  EXPECT_FALSE(s.start()) << "handoffd joined a foreign SO_REUSEPORT listener on " << addr;
  EXPECT_EQ(s.waitExit(5s), 1) << s.stderrText();
  EXPECT_THAT(s.stderrText(), HasSubstr(addr));
  ::close(fd);
}

TEST(Startup, UnknownConfigKeyExits2NamingFileLineAndKey) {
  ServerOptions o;
  o.config = "# handoff\n[server]\nlisten = [\"127.0.0.1:0\"]\n\n[limits]\nmax_headers = 8\nmax_headrs = 10\n";
  Server s(o);
  EXPECT_FALSE(s.start());
  EXPECT_EQ(s.waitExit(5s), 2) << s.stderrText();
  EXPECT_THAT(s.stderrText(), HasSubstr(s.configPath() + ":7: limits.max_headrs"));
  EXPECT_THAT(s.stderrText(), HasSubstr("unknown key"));
}

TEST(Startup, WrongConfigTypeExits2NamingFileLineAndKey) {
  {
    ServerOptions o;
    o.config = "[server]\nlisten = [\"127.0.0.1:0\"]\n[limits]\nmax_headers = \"eight\"\n";
    Server s(o);
    EXPECT_FALSE(s.start());
    EXPECT_EQ(s.waitExit(5s), 2) << s.stderrText();
    EXPECT_THAT(s.stderrText(), HasSubstr(s.configPath() + ":4: limits.max_headers"));
    EXPECT_THAT(s.stderrText(), HasSubstr("integer"));
  }
  {
    ServerOptions o;
    o.config = "[server]\nlisten = [\"127.0.0.1:0\"]\nthreads = 2\npin = \"yes\"\n";
    Server s(o);
    EXPECT_FALSE(s.start());
    EXPECT_EQ(s.waitExit(5s), 2) << s.stderrText();
    EXPECT_THAT(s.stderrText(), HasSubstr(s.configPath() + ":4: server.pin"));
  }
  {
    // A TOML syntax error also names the file and the line.
    ServerOptions o;
    o.config = "[server]\nlisten = [\"127.0.0.1:0\"]\n[limits\n";
    Server s(o);
    EXPECT_FALSE(s.start());
    EXPECT_EQ(s.waitExit(5s), 2) << s.stderrText();
    EXPECT_THAT(s.stderrText(), HasSubstr(s.configPath() + ":3"));
  }
}

TEST(Startup, DataDirInUseIsRefusedWithExit1) {
  Server first;
  ASSERT_TRUE(first.start()) << first.failure();
  ServerOptions o;
  o.dataDir = first.dataDir();
  {
    Server second(o);
    EXPECT_FALSE(second.start()) << "two handoffd share " << first.dataDir();
    EXPECT_EQ(second.waitExit(5s), 1) << second.stderrText();
    EXPECT_THAT(second.stderrText(), HasSubstr("in use"));
  }
  // The lock goes with the process, however it ends.
  ASSERT_EQ(first.stop(SIGKILL), 128 + SIGKILL);
  Server third(o);
  ASSERT_TRUE(third.start()) << third.failure();
}

// ── signals ─────────────────────────────────────────────────────────────────────────────────

TEST(Lifecycle, SigtermFinishesInFlightRequestWithConnectionCloseAndExits0) {
  Server s;
  ASSERT_TRUE(s.start()) << s.failure();
  Client c(s.port());
  // Expect: 100-continue tells us the server has the headers and waits for the body.
  ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"))
      << c.error();
  auto interim = c.readResponse(2s);
  ASSERT_TRUE(interim) << c.error();
  ASSERT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("hello")) << c.error();
  auto t0 = Clock::now();
  ASSERT_TRUE(s.signal(SIGTERM));
  // Draining has begun once nothing accepts connections any more.
  ASSERT_TRUE(eventually([&] { return connectRefused(s.port()); }, 3s)) << "still accepting after SIGTERM";
  EXPECT_TRUE(s.running()) << "exited with a request in flight";
  ASSERT_TRUE(c.send("world")) << c.error();
  auto r = c.readResponse(3s);
  ASSERT_TRUE(r) << "in-flight request not answered: " << c.error();
  EXPECT_EQ(r->status, 405) << r->raw;
  EXPECT_TRUE(r->closes()) << r->raw;
  EXPECT_TRUE(c.readUntilEof(3s)) << "connection left open after the drained response";
  auto code = s.waitExit(5s - std::chrono::duration_cast<Millis>(Clock::now() - t0));
  ASSERT_TRUE(code) << "still running 5 s after SIGTERM\n" << s.stderrText();
  EXPECT_EQ(*code, 0) << s.stderrText();
}

TEST(Lifecycle, SigtermClosesIdleKeepAliveConnections) {
  Server s;
  ASSERT_TRUE(s.start()) << s.failure();
  std::vector<Client> idle;
  for (int i = 0; i < 4; ++i) {
    idle.emplace_back(s.port());
    auto r = idle.back().roundTrip(kGetHealthz);
    ASSERT_TRUE(r) << idle.back().error();
    ASSERT_FALSE(r->closes());
  }
  auto t0 = Clock::now();
  ASSERT_TRUE(s.signal(SIGTERM));
  for (auto& c : idle) {
    auto rest = c.readUntilEof(5s);
    ASSERT_TRUE(rest) << "idle keep-alive connection not closed by the drain";
    EXPECT_EQ(*rest, "");
  }
  auto code = s.waitExit(5s - std::chrono::duration_cast<Millis>(Clock::now() - t0));
  ASSERT_TRUE(code) << "still running 5 s after SIGTERM";
  EXPECT_EQ(*code, 0) << s.stderrText();
  EXPECT_LT(msSince(t0), 2000) << "drain waited although every connection was idle";
}

TEST(Lifecycle, StopSignalRightAfterStartExitsWithoutWaitingForTheDrainDeadline) {
  // SIGTERM or SIGINT as soon as "listening on" is printed, when the shards may still be
  // starting: with no connection to finish, the process must exit 0 at once, not after the
  // 4.5 s drain deadline. Repeated because the window is narrow.
  for (int i = 0; i < 8; ++i) {
    int sig = i % 2 == 0 ? SIGTERM : SIGINT;
    Server s;
    ASSERT_TRUE(s.start()) << s.failure();
    auto t0 = Clock::now();
    ASSERT_TRUE(s.signal(sig));
    auto code = s.waitExit(6s);
    ASSERT_TRUE(code) << "still running 6 s after " << sigabbrev_np(sig);
    EXPECT_EQ(*code, 0) << s.stderrText();
    ASSERT_LT(msSince(t0), 1000) << "attempt " << i << ": SIG" << sigabbrev_np(sig) << " right after start took "
                                 << msSince(t0) << " ms\n" << s.stderrText();
  }
}

TEST(Lifecycle, SighupReloadsWithoutStopping) {
  Server s;
  ASSERT_TRUE(s.start()) << s.failure();
  Client c(s.port());
  auto reloads = [&]() -> std::optional<uint64_t> {
    auto r = c.roundTrip(kGetMetrics);
    return r ? metricValue(r->body, "handoff_reloads_total") : std::nullopt;
  };
  EXPECT_EQ(reloads(), 0u);
  ASSERT_TRUE(s.signal(SIGHUP));
  EXPECT_TRUE(eventually([&] { return reloads() == 1u; })) << "handoff_reloads_total did not reach 1";
  ASSERT_TRUE(s.signal(SIGHUP));
  EXPECT_TRUE(eventually([&] { return reloads() == 2u; })) << "handoff_reloads_total did not reach 2";
  EXPECT_TRUE(s.running());
  auto r = c.roundTrip(kGetHealthz);  // the same connection still works
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(s.stop(), 0);
}

}  // namespace
}  // namespace handoff::it
