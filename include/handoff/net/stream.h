// A TCP connection on one shard's loop, and the per-shard server that accepts them.
//
// A Stream is the bottom Transport of a connection (net/transport.h): it owns the socket, a
// timer and two output buffers (one being written by the kernel, one being filled); the handler
// on top owns the input buffer, so that parsed header views can point straight into it.
// Everything here is thread-bound to the shard whose loop accepted the connection.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "handoff/net/address.h"
#include "handoff/net/connection_limits.h"
#include "handoff/net/transport.h"

namespace handoff::net {

class TcpServer;

class Stream final : public Transport {
 public:
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  std::string& out() override { return filling_; }
  // Writes everything appended: at once when the socket takes it all (the handler's onWritten
  // follows on the next loop turn), else by one uv_write; if a write is in flight, it follows it.
  void flush() override;
  bool writeIdle() const override { return !writing_ && filling_.empty(); }

  void pauseReading() override;
  void resumeReading() override;
  void armTimer(uint64_t ms) override;
  void disarmTimer() override;
  // A uv_idle handle, created on first use (it also tells the handler of writes done at once).
  void wakeSoon() override;

  void close() override;
  void closeAfterFlush() override;
  bool closing() const override { return closing_; }

  const SocketAddress& peer() const override { return peer_; }
  void setPeer(const SocketAddress& peer) override { peer_ = peer; }
  bool admitPeer() override;
  bool secure() const override { return false; }
  const SocketAddress& local() const { return local_; }
  uint64_t id() const { return id_; }

 private:
  friend class TcpServer;
  Stream(TcpServer& server, uint64_t id);
  ~Stream();
  void startWrite();
  void afterWrite();  // everything handed over has been written: more, close, or tell the handler
  void startIdle();   // runs onIdleCb on the next loop turn (wakeSoon, and writes done at once)
  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWriteCb(uv_write_t* req, int status);
  static void onTimerCb(uv_timer_t* t);
  static void onCloseCb(uv_handle_t* h);
  static void onIdleCb(uv_idle_t* h);

  TcpServer& server_;
  uint64_t id_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_write_t writeReq_;
  std::unique_ptr<uv_idle_t> idle_;  // wakeSoon's handle, once asked for
  std::unique_ptr<StreamHandler> handler_;
  std::string filling_;
  std::string writingBuf_;
  SocketAddress peer_, local_;
  std::optional<IpKey> ipHeld_;  // counted against this IP's cap until the stream is released
  bool holdsSlot_ = false;       // counted against the global cap
  bool writing_ = false;
  bool reading_ = false;
  bool closing_ = false;
  bool closeAfterFlush_ = false;
  uint64_t deadline_ = 0;  // loop time at which onTimeout is due; 0: none
  uint64_t timerDue_ = 0;  // loop time at which the uv timer fires; 0: not running
  bool writtenPending_ = false;  // a write completed in flush(): afterWrite on the next turn
  bool wakePending_ = false;     // wakeSoon was asked
  int handlesOpen_ = 0;
  Stream* prev_ = nullptr;  // the server's list of live streams
  Stream* next_ = nullptr;
};

// Connection counters of one shard. Written only by that shard's servers (relaxed load + store);
// read by /metrics from any thread.
struct ConnectionCounters {
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refusedGlobal{0};  // over max_connections: answered 503 (or closed)
  std::atomic<uint64_t> refusedPerIp{0};   // over max_connections_per_ip: answered 503 (or closed)
};

// How a server admits connections (net/connection_limits.h, net/refusal.h).
struct Admission {
  ConnectionLimiter* limiter = nullptr;  // shared by every shard; null: no caps
  // Count the per-IP cap at accept. False on PROXY protocol listeners, where the client IP is
  // known only from the header (net/proxy_handler.h calls Transport::admitPeer then).
  bool perIpAtAccept = true;
  // Refused connections get the canned 503; false (TLS listeners) closes them at once.
  bool answerRefusals = true;
};

// Accepts connections on one listening socket for one shard's loop.
class TcpServer {
 public:
  using HandlerFactory = net::HandlerFactory;

  TcpServer(uv_loop_t* loop, int listenFd, HandlerFactory factory, ConnectionCounters& counters,
            Admission admission = {});
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Stops accepting, asks every connection to finish, and calls `done` once none is left.
  void drain(std::function<void()> done);
  // Closes every connection now.
  void closeAll();


 private:
  friend class Stream;
  static void onConnection(uv_stream_t* server, int status);
  void release(Stream* s);
  void maybeDrained();

  uv_loop_t* loop_;
  uv_tcp_t listener_;
  bool listening_ = false;
  HandlerFactory factory_;
  Stream* streams_ = nullptr;
  uint64_t nextId_ = 1;
  std::function<void()> drained_;
  ConnectionCounters& counters_;
  Admission admission_;
};

}  // namespace handoff::net
