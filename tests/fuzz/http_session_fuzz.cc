// The HTTP/1.1 session (http::Session over llhttp) fed untrusted bytes in pieces the fuzzer
// chooses, with pipelining, deferred answers, back-pressure and a drain or EOF at the end.
//
// Input: byte 0 = flags, bytes 1..2 = seed of the split points, the rest = what the client sends
// (so a seed file is three header bytes and then a raw request stream). The session runs over a
// fake transport: writes complete when the harness says so, timers never fire on their own.
// With flag 128 the connection is a PROXY protocol listener's (net/proxy_handler.h): the bytes
// start with a PROXY header, from a trusted peer, and the session is created after it.
//
// Invariants checked (abort on violation, so libFuzzer reports them):
//  - once the session asked to close, no handler runs and no byte is appended to the output;
//  - readSpace never hands out room the session later overruns (ASan checks the writes);
//  - every output begins with a status line, and nothing is answered after the close;
//  - no response follows one that says "Connection: close". (Handlers answer with fixed text, so
//    the output holds no client-chosen bytes that could look like a status line.)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "handoff/core/arena.h"
#include "handoff/http/json.h"
#include "handoff/http/params.h"
#include "handoff/http/router.h"
#include "handoff/http/session.h"
#include "handoff/net/cidr.h"
#include "handoff/net/proxy_handler.h"
#include "handoff/net/transport.h"

namespace {

using namespace handoff;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "http_session_fuzz: invariant violated: %s\n", what);
  std::abort();
}

class FakeTransport final : public net::Transport {
 public:
  std::string& out() override { return out_; }
  void flush() override {}
  bool writeIdle() const override { return out_.empty(); }
  void pauseReading() override { paused = true; }
  void resumeReading() override { paused = false; }
  void armTimer(uint64_t) override { timerArmed = true; }
  void disarmTimer() override { timerArmed = false; }
  void wakeSoon() override {}
  void close() override { closeRequested = true; }
  void closeAfterFlush() override { closeRequested = true; }
  bool closing() const override { return closeRequested; }
  const net::SocketAddress& peer() const override { return peer_; }
  void setPeer(const net::SocketAddress& p) override { peer_ = p; }
  bool secure() const override { return false; }

  std::string out_;
  net::SocketAddress peer_;
  bool paused = false;
  bool timerArmed = false;
  bool closeRequested = false;
};

struct World {
  FakeTransport* transport = nullptr;
  int handlerRuns = 0;
  http::Deferred parked;
  core::Arena arena{1024};
  http::ParamList params;
};
World* g_world = nullptr;

void checkOpen() {
  if (g_world->transport->closeRequested) violated("a handler ran after the session closed");
  ++g_world->handlerRuns;
}

// Decodes what a real endpoint would (query, cookies, form or JSON body), then answers.
void echo(void*, http::Exchange& ex) {
  checkOpen();
  World& w = *g_world;
  w.arena.reset();
  (void)http::decodeForm(ex.request.query, w.arena, w.params);
  http::decodeCookies(ex.request.header("cookie"), w.params);
  if (ex.request.mediaType() == "application/json") {
    const http::JsonValue* root = nullptr;
    (void)http::parseJson(ex.request.body, w.arena, &root);
  } else {
    (void)http::decodeForm(ex.request.body, w.arena, w.params);
  }
  ex.response.start(200);
  ex.response.header("X-Path-Bytes", std::to_string(ex.request.path.size()));
  ex.response.header("X-Peer", ex.request.peer->ip());
  ex.response.header("X-Body-Bytes", std::to_string(ex.request.body.size()));
  ex.response.finish("text/plain", "echo");
}

// Answers later: the harness completes the parked Deferred between reads.
void later(void*, http::Exchange& ex) {
  checkOpen();
  g_world->parked = ex.defer();
}

// Answers before returning, through the Deferred (an owner on the same shard).
void inlineDeferred(void*, http::Exchange& ex) {
  checkOpen();
  http::Deferred d = ex.defer();
  d.complete([](http::Response& r) {
    r.start(204);
    r.finish("", "");
  });
}

// Forgets to answer: the session must answer 500 itself.
void silent(void*, http::Exchange&) { checkOpen(); }

struct Fixture {
  http::Router router;
  http::Limits roomy;
  http::Limits tight;
  http::HttpStats stats;
  net::TrustedProxies trusted = *net::TrustedProxies::parse({"127.0.0.0/8"});
  net::ProxyProtocolCounters proxyCounters;
  net::HandlerFactory roomyProxy, tightProxy;
  net::SocketAddress loopbackPeer = net::SocketAddress::parse("127.0.0.1:40000").value();
  Fixture() {
    router.add({.path = "/echo", .name = "echo", .methods = http::kGet | http::kPost, .fn = echo});
    router.add({.path = "/later", .name = "later", .methods = http::kGet | http::kPost, .fn = later});
    router.add({.path = "/inline", .name = "inline", .methods = http::kGet, .fn = inlineDeferred});
    router.add({.path = "/silent", .name = "silent", .methods = http::kGet, .fn = silent});
    router.add({.path = "/api/", .name = "api", .methods = http::kGet | http::kPost | http::kDelete,
                .fn = echo, .maxBody = 256, .prefix = true});
    // Small limits make every 4xx path reachable with short inputs.
    tight.maxRequestLine = 64;
    tight.maxHeaderBytes = 128;
    tight.maxHeaderLine = 64;
    tight.maxHeaders = 4;
    tight.maxBodyBytes = 32;
    tight.maxPipelined = 2;
    tight.maxOutputBytes = 512;
    roomyProxy = net::proxyProtocolFactory(http::sessionFactory(router, roomy, stats), trusted, 1000, proxyCounters);
    tightProxy = net::proxyProtocolFactory(http::sessionFactory(router, tight, stats), trusted, 1000, proxyCounters);
  }
};

// xorshift32: the split points, from the input's seed bytes.
uint32_t nextRandom(uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

// The kernel takes everything written so far.
void drainOutput(FakeTransport& t, net::StreamHandler& handler, std::string& all) {
  if (t.out_.empty()) return;
  all += t.out_;
  t.out_.clear();
  handler.onWritten();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  if (size < 3) return 0;
  const uint8_t flags = data[0];
  uint32_t seed = (uint32_t{data[1]} << 8 | data[2]) * 2654435761u | 1u;
  const char* in = reinterpret_cast<const char*>(data + 3);
  size_t left = size - 3;

  // Split granularity: whole reads, 1 byte, up to 8, up to 512.
  static constexpr size_t kMaxPiece[4] = {1u << 20, 1, 8, 512};
  const size_t maxPiece = kMaxPiece[flags & 3];
  const bool tight = flags & 4;
  const bool eofAtEnd = flags & 8;
  const bool drainMidway = flags & 16;
  const bool timeoutAtEnd = flags & 32;
  const bool slowWriter = flags & 64;  // writes complete only every other read
  const bool proxied = flags & 128;

  World world;
  FakeTransport transport;
  world.transport = &transport;
  g_world = &world;
  transport.peer_ = fixture->loopbackPeer;
  std::unique_ptr<net::StreamHandler> session;
  if (proxied) {
    session = (tight ? fixture->tightProxy : fixture->roomyProxy)(transport);
  } else {
    session = std::make_unique<http::Session>(transport, fixture->router, tight ? fixture->tight : fixture->roomy,
                                              fixture->stats);
  }
  net::StreamHandler& handler = *session;
  std::string all;
  size_t reads = 0;
  size_t closedAt = std::string::npos;  // output bytes when the session asked to close
  auto noteClose = [&] {
    if (transport.closeRequested && closedAt == std::string::npos) closedAt = all.size() + transport.out_.size();
  };

  while (left > 0 && !transport.closeRequested) {
    if (world.parked.connected() && (nextRandom(seed) & 1)) {
      world.parked.complete([](http::Response& r) {
        r.start(200);
        r.finish("text/plain", "later");
      });
    }
    std::span<char> room = handler.readSpace();
    if (room.empty()) {
      // Back-pressure or a full buffer: writing out must make room, or nothing ever will.
      if (transport.closeRequested) break;
      if (transport.out_.empty() && !world.parked.connected()) violated("no read space and nothing pending");
      drainOutput(transport, handler, all);
      if (world.parked.connected()) {
        world.parked.complete([](http::Response& r) {
          r.start(200);
          r.finish("text/plain", "later");
        });
      }
      if (handler.readSpace().empty() && transport.out_.empty() && !transport.closeRequested &&
          !world.parked.connected()) {
        violated("read space stays empty after the output drained");
      }
      continue;
    }
    size_t piece = std::min({left, room.size(), 1 + size_t{nextRandom(seed)} % maxPiece});
    std::memcpy(room.data(), in, piece);
    in += piece;
    left -= piece;
    handler.onRead(piece);
    noteClose();
    if (drainMidway && ++reads == 3) handler.onDrain();
    noteClose();
    if (!slowWriter || (reads & 1)) drainOutput(transport, handler, all);
  }
  if (timeoutAtEnd) handler.onTimeout();
  noteClose();
  if (eofAtEnd) handler.onEof();
  noteClose();
  if (world.parked.connected()) {
    world.parked.complete([](http::Response& r) {
      r.start(200);
      r.finish("text/plain", "late");
    });
  }
  all += transport.out_;
  transport.out_.clear();
  session.reset();

  if (closedAt != std::string::npos && all.size() != closedAt) violated("output grew after the session closed");
  if (!all.empty() && all.rfind("HTTP/1.1 ", 0) != 0) violated("output does not start with a status line");
  size_t closeAt = all.find("\r\nConnection: close\r\n");
  if (closeAt != std::string::npos && all.find("HTTP/1.1 ", closeAt) != std::string::npos) {
    violated("a response follows one that announced the close");
  }
  return 0;
}
