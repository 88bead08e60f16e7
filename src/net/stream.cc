#include "handoff/net/stream.h"

#include <unistd.h>

#include <utility>

#include "handoff/core/log.h"
#include "handoff/net/refusal.h"

namespace handoff::net {
namespace {

uv_handle_t* H(void* p) { return reinterpret_cast<uv_handle_t*>(p); }

void bump(std::atomic<uint64_t>& c, int64_t d) {
  c.store(c.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
}

}  // namespace

// ── Stream ──────────────────────────────────────────────────────────────────────────────────

Stream::Stream(TcpServer& server, uint64_t id) : server_(server), id_(id) {
  uv_tcp_init(server.loop_, &tcp_);
  uv_timer_init(server.loop_, &timer_);
  tcp_.data = this;
  timer_.data = this;
  writeReq_.data = this;
  handlesOpen_ = 2;
}

Stream::~Stream() = default;

void Stream::flush() {
  if (closing_ || writing_ || filling_.empty()) return;
  // Most answers fit in the socket's buffer: written now, without a write request. (A completed
  // uv_write costs an epoll_ctl: libuv re-arms the socket once its write queue drains.) The
  // handler hears of it on the next loop turn, as it would from a write request.
  uv_buf_t b = uv_buf_init(filling_.data(), static_cast<unsigned>(filling_.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
  if (n == static_cast<int>(filling_.size())) {
    filling_.clear();
    writtenPending_ = true;
    startIdle();
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    close();
    return;
  }
  if (n > 0) filling_.erase(0, static_cast<size_t>(n));
  startWrite();
}

void Stream::startWrite() {
  writingBuf_.swap(filling_);
  filling_.clear();
  uv_buf_t b = uv_buf_init(writingBuf_.data(), static_cast<unsigned>(writingBuf_.size()));
  if (uv_write(&writeReq_, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, onWriteCb) != 0) {
    close();
    return;
  }
  writing_ = true;
}

void Stream::onWriteCb(uv_write_t* req, int status) {
  Stream* s = static_cast<Stream*>(req->data);
  s->writing_ = false;
  s->writingBuf_.clear();
  if (s->closing_) return;
  if (status != 0) {
    s->close();
    return;
  }
  s->afterWrite();
}

void Stream::afterWrite() {
  if (!filling_.empty()) {
    flush();
    return;
  }
  if (closeAfterFlush_) {
    close();
    return;
  }
  handler_->onWritten();
}

void Stream::pauseReading() {
  if (reading_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  reading_ = false;
}

void Stream::resumeReading() {
  if (reading_ || closing_) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), onAlloc, onReadCb) == 0) reading_ = true;
}

void Stream::onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  Stream* s = static_cast<Stream*>(h->data);
  (void)suggested;
  std::span<char> space = s->handler_->readSpace();
  *buf = uv_buf_init(space.data(), static_cast<unsigned>(space.size()));
}

void Stream::onReadCb(uv_stream_t* st, ssize_t nread, const uv_buf_t* buf) {
  Stream* s = static_cast<Stream*>(st->data);
  (void)buf;
  if (nread > 0) {
    s->handler_->onRead(static_cast<size_t>(nread));
  } else if (nread == UV_ENOBUFS) {
    s->pauseReading();  // the handler has no room: it resumes once it has consumed its buffer
  } else if (nread < 0) {
    s->pauseReading();
    s->handler_->onEof();
  }
}

// A connection moves its deadline two or three times a request (header, answer owed, idle):
// restarting the uv timer each time was a heap removal and insertion per move. The timer is
// restarted only to bring it earlier; one that would fire too early finds the later deadline
// and sleeps again for the rest, and one that finds no deadline does nothing.
void Stream::armTimer(uint64_t ms) {
  if (closing_) return;
  uint64_t now = uv_now(server_.loop_);
  deadline_ = now + ms;
  if (timerDue_ != 0 && timerDue_ <= deadline_) return;
  timerDue_ = deadline_;
  uv_timer_start(&timer_, onTimerCb, ms, 0);
}

void Stream::disarmTimer() { deadline_ = 0; }

void Stream::onTimerCb(uv_timer_t* t) {
  Stream* s = static_cast<Stream*>(t->data);
  s->timerDue_ = 0;
  if (s->closing_ || s->deadline_ == 0) return;
  uint64_t now = uv_now(s->server_.loop_);
  if (now < s->deadline_) {
    s->timerDue_ = s->deadline_;
    uv_timer_start(&s->timer_, onTimerCb, s->deadline_ - now, 0);
    return;
  }
  s->deadline_ = 0;
  s->handler_->onTimeout();
}

void Stream::wakeSoon() {
  if (closing_) return;
  wakePending_ = true;
  startIdle();
}

void Stream::startIdle() {
  if (!idle_) {
    idle_ = std::make_unique<uv_idle_t>();
    uv_idle_init(server_.loop_, idle_.get());
    idle_->data = this;
    ++handlesOpen_;
  }
  uv_idle_start(idle_.get(), onIdleCb);  // idempotent while active
}

void Stream::onIdleCb(uv_idle_t* h) {
  Stream* s = static_cast<Stream*>(h->data);
  uv_idle_stop(h);
  bool written = std::exchange(s->writtenPending_, false);
  bool wake = std::exchange(s->wakePending_, false);
  if (written && !s->closing_) s->afterWrite();
  if (wake && !s->closing_) s->handler_->onWake();
}

void Stream::closeAfterFlush() {
  if (closing_) return;
  pauseReading();
  if (writeIdle()) {
    close();
  } else {
    closeAfterFlush_ = true;
    flush();
    if (!closing_ && writeIdle()) close();  // the kernel took it all at once
  }
}

void Stream::close() {
  if (closing_) return;
  closing_ = true;
  uv_close(H(&tcp_), onCloseCb);
  uv_close(H(&timer_), onCloseCb);
  if (idle_) uv_close(H(idle_.get()), onCloseCb);
}

bool Stream::admitPeer() {
  ConnectionLimiter* limiter = server_.admission_.limiter;
  if (limiter == nullptr || limiter->caps().maxPerIp == 0) return true;
  if (ipHeld_) {
    limiter->releaseIp(*ipHeld_);
    ipHeld_.reset();
  }
  std::optional<IpKey> key = IpKey::of(peer_);
  if (!key) return true;  // not an IP peer: nothing to count it under
  if (!limiter->tryAcquireIp(*key)) {
    bump(server_.counters_.refusedPerIp, 1);
    return false;
  }
  ipHeld_ = key;
  return true;
}

void Stream::onCloseCb(uv_handle_t* h) {
  Stream* s = static_cast<Stream*>(h->data);
  if (--s->handlesOpen_ == 0) s->server_.release(s);
}

// ── TcpServer ───────────────────────────────────────────────────────────────────────────────

TcpServer::TcpServer(uv_loop_t* loop, int listenFd, HandlerFactory factory, ConnectionCounters& counters,
                     Admission admission)
    : loop_(loop), factory_(std::move(factory)), counters_(counters), admission_(admission) {
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  if (uv_tcp_open(&listener_, listenFd) != 0 ||
      uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, onConnection) != 0) {
    core::logError("net: cannot listen on the inherited socket");
    uv_close(H(&listener_), nullptr);
    return;
  }
  listening_ = true;
}

TcpServer::~TcpServer() {
  // The owner stops the server (drain or closeAll) and lets the loop run the close callbacks
  // before destroying it.
}

void TcpServer::onConnection(uv_stream_t* server, int status) {
  TcpServer* self = static_cast<TcpServer*>(server->data);
  if (status != 0) {
    core::logWarn("net: accept failed", {{"error", uv_strerror(status)}});
    return;
  }
  Stream* s = new Stream(*self, self->nextId_++);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&s->tcp_)) != 0) {
    s->close();
    return;
  }
  uv_tcp_nodelay(&s->tcp_, 1);
  sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&s->tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    s->peer_ = SocketAddress(reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(len));
  }
  len = sizeof ss;
  if (uv_tcp_getsockname(&s->tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    s->local_ = SocketAddress(reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(len));
  }
  s->next_ = self->streams_;
  if (self->streams_) self->streams_->prev_ = s;
  self->streams_ = s;
  bump(self->counters_.open, 1);
  bump(self->counters_.accepted, 1);
  // Admission: the global cap, then (unless a PROXY header will name the client) the peer's.
  // A refused connection gets the canned 503 and holds no slot.
  bool admitted = true;
  if (ConnectionLimiter* limiter = self->admission_.limiter) {
    if (!limiter->tryAcquire()) {
      bump(self->counters_.refusedGlobal, 1);
      admitted = false;
    } else {
      s->holdsSlot_ = true;
      admitted = !self->admission_.perIpAtAccept || s->admitPeer();
    }
  }
  s->handler_ = admitted ? self->factory_(*s) : refusalHandler(*s, self->admission_.answerRefusals);
  s->resumeReading();
}

void TcpServer::release(Stream* s) {
  if (s->prev_ || s->next_ || streams_ == s) {  // accepted streams are linked
    if (s->prev_) s->prev_->next_ = s->next_; else streams_ = s->next_;
    if (s->next_) s->next_->prev_ = s->prev_;
    bump(counters_.open, -1);
  }
  if (ConnectionLimiter* limiter = admission_.limiter) {
    if (s->ipHeld_) limiter->releaseIp(*s->ipHeld_);
    if (s->holdsSlot_) limiter->release();
  }
  delete s;
  maybeDrained();
}

void TcpServer::drain(std::function<void()> done) {
  drained_ = std::move(done);
  if (listening_) {
    uv_close(H(&listener_), nullptr);
    listening_ = false;
  }
  for (Stream* s = streams_; s != nullptr;) {
    Stream* next = s->next_;  // onDrain may close and unlink s (release runs later, in a callback)
    if (!s->closing_) s->handler_->onDrain();
    s = next;
  }
  maybeDrained();
}

void TcpServer::closeAll() {
  for (Stream* s = streams_; s != nullptr; s = s->next_) s->close();
}

void TcpServer::maybeDrained() {
  if (drained_ && streams_ == nullptr) {
    auto done = std::move(drained_);
    drained_ = nullptr;
    done();
  }
}

}  // namespace handoff::net
