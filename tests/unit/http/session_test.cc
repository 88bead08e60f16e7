// The session's deferred answers, on real shards and a real loopback socket: an endpoint that
// asks another shard answers later, pipelined responses stay in order, and an answer that
// arrives after the client left is dropped without harm.
#include "handoff/http/session.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>

#include "handoff/core/shard_set.h"
#include "handoff/net/listener.h"
#include "handoff/net/stream.h"

namespace handoff::http {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  core::ShardSet shards{2};
  Router router;
  Limits limits;
  HttpStats stats;
  net::ConnectionCounters counters;
  std::unique_ptr<net::TcpServer> server;
  net::ListenerGroup listener;
  Deferred parked;                       // owned by shard 0
  std::promise<void> parkedSignal;

  static void hop(void* ctx, Exchange& ex) {
    auto* f = static_cast<Fixture*>(ctx);
    Deferred d = ex.defer();
    f->shards.call(
        1, [] { return core::Shard::current()->id(); },
        [d = std::move(d)](unsigned ranOn) mutable {
          d.complete([ranOn](Response& r) {
            r.start(200);
            r.finish("text/plain", "hop" + std::to_string(ranOn));
          });
        });
  }
  static void inlineDefer(void*, Exchange& ex) {
    Deferred d = ex.defer();
    d.complete([](Response& r) {
      r.start(200);
      r.finish("text/plain", "inline");
    });
  }
  static void sync(void*, Exchange& ex) {
    ex.response.start(200);
    ex.response.finish("text/plain", "sync");
  }
  static void park(void* ctx, Exchange& ex) {
    auto* f = static_cast<Fixture*>(ctx);
    f->parked = ex.defer();
    f->parkedSignal.set_value();
  }

  Fixture() {
    router.add({.path = "/hop", .name = "hop", .methods = kGet, .fn = hop, .ctx = this});
    router.add({.path = "/sync", .name = "sync", .methods = kGet, .fn = sync, .ctx = this});
    router.add({.path = "/inline", .name = "inline", .methods = kGet, .fn = inlineDefer, .ctx = this});
    router.add({.path = "/park", .name = "park", .methods = kGet, .fn = park, .ctx = this});
    auto addr = net::SocketAddress::parse("127.0.0.1:0");
    auto g = net::openListenerGroup(*addr, 1);
    EXPECT_TRUE(g.ok());
    listener = std::move(g).value();
    shards.start([](core::Shard&) {}, false);
    std::promise<void> ready;
    shards.post(0, [this, &ready] {
      server = std::make_unique<net::TcpServer>(shards.shard(0).loop(), listener.fds[0],
                                                sessionFactory(router, limits, stats), counters);
      ready.set_value();
    });
    ready.get_future().wait();
  }
  ~Fixture() {
    std::promise<void> drained;
    shards.post(0, [this, &drained] { server->drain([&drained] { drained.set_value(); }); });
    drained.get_future().wait_for(5s);
    for (unsigned i = 0; i < 2; ++i) shards.shard(i).stop();
    shards.joinUntil(std::chrono::steady_clock::now() + 5s);
  }

  int connect() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    EXPECT_EQ(::connect(fd, listener.bound.sa(), listener.bound.len()), 0);
    return fd;
  }
};

// Reads until `n` responses' bodies have arrived (bodies are short and end each response).
std::string readUntil(int fd, const std::string& needle, int count) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto occurrences = [&] {
    int c = 0;
    for (size_t p = got.find(needle); p != std::string::npos; p = got.find(needle, p + 1)) ++c;
    return c;
  };
  while (occurrences() < count && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST(SessionDeferred, AnswerFromAnotherShardArrives) {
  Fixture f;
  int fd = f.connect();
  std::string req = "GET /hop HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string got = readUntil(fd, "HTTP/1.1 200", 1);
  EXPECT_NE(got.find("hop1"), std::string::npos) << got;
  ::close(fd);
}

TEST(SessionDeferred, CompletedBeforeTheHandlerReturnsIsAnsweredAtOnce) {
  Fixture f;
  int fd = f.connect();
  std::string req = "GET /inline HTTP/1.1\r\nHost: t\r\n\r\nGET /sync HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string got = readUntil(fd, "HTTP/1.1 200", 2);
  size_t a = got.find("inline"), b = got.find("sync");
  ASSERT_NE(a, std::string::npos) << got;
  ASSERT_NE(b, std::string::npos) << got;
  EXPECT_LT(a, b);
  ::close(fd);
}

TEST(SessionDeferred, PipelinedAnswersStayInOrder) {
  Fixture f;
  int fd = f.connect();
  std::string req;
  for (const char* p : {"/hop", "/sync", "/hop", "/sync", "/sync", "/hop"}) {
    req += std::string("GET ") + p + " HTTP/1.1\r\nHost: t\r\n\r\n";
  }
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string got = readUntil(fd, "HTTP/1.1 200", 6);
  std::string order;
  for (size_t p = 0; (p = got.find("\r\n\r\n", p)) != std::string::npos; p += 4) {
    order += got.substr(p + 4, 4) == "sync" ? 's' : 'h';
  }
  EXPECT_EQ(order, "hshssh") << got;
  ::close(fd);
}

TEST(SessionDeferred, AnswerAfterTheClientLeftIsDropped) {
  Fixture f;
  int fd = f.connect();
  std::string req = "GET /park HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  ASSERT_EQ(f.parkedSignal.get_future().wait_for(5s), std::future_status::ready);
  ::close(fd);
  // Wait (on the shard's own terms) until the server has seen the close.
  for (int i = 0; i < 500 && f.counters.open.load() != 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(f.counters.open.load(), 0u);
  std::promise<bool> result;
  f.shards.post(0, [&f, &result] {
    bool wasConnected = f.parked.connected();
    f.parked.complete([](Response& r) {
      r.start(200);
      r.finish("text/plain", "late");
    });
    result.set_value(wasConnected);
  });
  auto r = result.get_future();
  ASSERT_EQ(r.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(r.get());
}

}  // namespace
}  // namespace handoff::http
