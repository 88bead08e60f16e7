// One TLS connection: an SSL over two memory BIOs between the stream and the HTTP session.
#include "handoff/tls/transport.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <climits>

#include "handoff/core/log.h"
#include "ssl_hooks.h"

namespace handoff::tls {
namespace {

void bump(std::atomic<uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

// BoringSSL's reason for the last failure, with the thread's error queue emptied (a queue left
// behind would be blamed on the next connection of this shard).
std::string takeSslError() {
  uint32_t e = ERR_peek_last_error();
  const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return r != nullptr ? r : "closed";
}

class TlsTransport final : public net::StreamHandler, public net::Transport {
 public:
  TlsTransport(net::Transport& below, ShardTls& shard, const net::HandlerFactory& inner)
      : below_(below), shard_(shard), context_(shard.context) {
    ssl_.reset(SSL_new(context_->initial()));
    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    if (!ssl_ || rbio == nullptr || wbio == nullptr) {  // out of memory: refuse this connection
      BIO_free(rbio);
      BIO_free(wbio);
      ssl_.reset();
      ERR_clear_error();
      below_.close();
    } else {
      BIO_set_mem_eof_return(rbio, -1);  // empty: "want more", never end of file
      SSL_set_bio(ssl_.get(), rbio, wbio);
      rbio_ = rbio;
      wbio_ = wbio;
      SSL_set_accept_state(ssl_.get());
      SSL_set_ex_data(ssl_.get(), shardSlot(), &shard_);
    }
    // The handler starts now, so its header timeout runs from the connect: the handshake is
    // part of the first request's time.
    inner_ = inner(*this);
  }

  // ── From the stream below ──

  std::span<char> readSpace() override {
    if (!ssl_ || failed_) return {};
    return {shard_.readBuffer.get(), ShardTls::kReadBufferBytes};
  }

  void onRead(size_t n) override {
    if (!ssl_ || failed_) return;
    received_ = true;
    readDry_ = false;
    if (BIO_write(rbio_, shard_.readBuffer.get(), static_cast<int>(n)) != static_cast<int>(n)) {
      return fail(established_ ? shard_.counters.errorsAfterHandshake : shard_.counters.failedProtocol);
    }
    advance();
  }

  void onEof() override {
    if (!ssl_ || failed_) return below_.close();
    if (!established_) {
      if (received_) bump(shard_.counters.failedClosed);  // a bare connect-and-close is a probe, not a failure
      return inner_->onEof();
    }
    // The requests already received go up before the end of stream: what is waiting in the SSL
    // is handed up now if the handler has room (a wake-up may be due for it, but only after this
    // loop turn's reads), and the end waits behind whatever still does not fit.
    if (SSL_pending(ssl_.get()) > 0 || BIO_pending(rbio_) > 0) {
      if (!paused_ && !starved_) {
        deliver();
        sendPending();
      }
      if (failed_ || below_.closing()) return;
      if ((paused_ || starved_) && (SSL_pending(ssl_.get()) > 0 || BIO_pending(rbio_) > 0)) {
        eofPending_ = true;  // told once the requests already received have been handed up
        return;
      }
    }
    inner_->onEof();
  }

  void onWritten() override {
    if (!plain_.empty() && !closingSoon_ && !failed_) return encrypt();  // the batch that waited
    inner_->onWritten();
  }

  void onTimeout() override {
    if (ssl_ && !established_ && !failed_) bump(shard_.counters.failedTimeout);
    inner_->onTimeout();
  }

  void onDrain() override { inner_->onDrain(); }

  void onWake() override {
    if (wakePending_) {
      wakePending_ = false;
      if (ssl_ && established_ && !failed_ && !paused_) {
        deliver();
        sendPending();
      }
    }
    if (innerWake_) {
      innerWake_ = false;
      inner_->onWake();
    }
  }

  // ── To the handler above ──

  std::string& out() override { return plain_; }

  void flush() override {
    if (!ssl_ || !established_ || failed_ || closingSoon_ || plain_.empty() || below_.closing()) return;
    if (!below_.writeIdle()) return;  // sealed with whatever follows when the write in flight is done
    encrypt();
  }

  bool writeIdle() const override { return plain_.empty() && below_.writeIdle(); }

  void pauseReading() override {
    paused_ = true;
    below_.pauseReading();
  }

  void resumeReading() override {
    paused_ = false;
    if (!ssl_ || failed_ || closingSoon_) return;
    below_.resumeReading();
    if (delivering_) {
      starved_ = false;  // the delivery loop under us goes on by itself
      return;
    }
    if (established_ && (starved_ || eofPending_ || SSL_pending(ssl_.get()) > 0 || (!readDry_ && BIO_pending(rbio_) > 0))) {
      // Decrypted or received bytes that no socket event will announce: hand them up from the
      // loop, not from inside the caller.
      starved_ = false;
      wakePending_ = true;
      below_.wakeSoon();
    }
  }

  void armTimer(uint64_t ms) override { below_.armTimer(ms); }
  void disarmTimer() override { below_.disarmTimer(); }

  void wakeSoon() override {
    innerWake_ = true;
    below_.wakeSoon();
  }

  void close() override {
    closingSoon_ = true;
    below_.close();
  }

  void closeAfterFlush() override {
    if (closingSoon_) return;
    closingSoon_ = true;
    if (ssl_ && established_ && !failed_ && !below_.closing()) {
      if (!plain_.empty()) encrypt();
      SSL_shutdown(ssl_.get());  // close_notify: the answer ended here, not cut off
      ERR_clear_error();
      sendPending();
    }
    below_.closeAfterFlush();
  }

  bool closing() const override { return below_.closing(); }
  const net::SocketAddress& peer() const override { return below_.peer(); }
  void setPeer(const net::SocketAddress& peer) override { below_.setPeer(peer); }
  bool secure() const override { return true; }

 private:
  // Runs the handshake with what has arrived, then hands decrypted bytes up.
  void advance() {
    if (!established_) {
      int r = SSL_do_handshake(ssl_.get());
      if (r != 1) {
        int e = SSL_get_error(ssl_.get(), r);
        if (e == SSL_ERROR_WANT_READ) return sendPending();
        return fail(shard_.counters.failedProtocol);
      }
      established_ = true;
      bump(SSL_version(ssl_.get()) == TLS1_3_VERSION ? shard_.counters.handshakesTls13 : shard_.counters.handshakesTls12);
      if (SSL_session_reused(ssl_.get())) bump(shard_.counters.resumed);
      context_.reset();  // the SSL holds its SSL_CTX; the snapshot was needed for SNI only
      // BoringSSL holds TLS 1.3 session tickets back until the server's first write; a zero-byte
      // write releases them now (in the same batch as any answer below), so that a client that
      // sends nothing before leaving can still resume later.
      static const char kNothing = 0;
      SSL_write(ssl_.get(), &kNothing, 0);
      ERR_clear_error();
    }
    deliver();
    sendPending();
  }

  // Decrypts into the handler's buffer while it has room and wants bytes.
  void deliver() {
    if (delivering_) return;
    delivering_ = true;
    while (!failed_ && !closingSoon_ && !paused_ && !below_.closing()) {
      std::span<char> space = inner_->readSpace();
      if (space.empty()) {  // the handler is full: the rest waits in the SSL, and so does the socket
        starved_ = true;
        below_.pauseReading();
        break;
      }
      int r = SSL_read(ssl_.get(), space.data(), static_cast<int>(std::min<size_t>(space.size(), INT_MAX)));
      if (r > 0) {
        inner_->onRead(static_cast<size_t>(r));
        continue;
      }
      int e = SSL_get_error(ssl_.get(), r);  // before any SSL_write (DEPS.md §2)
      if (e == SSL_ERROR_WANT_READ) {
        readDry_ = true;  // what is left in the read BIO is part of a record: the socket must bring the rest
        if (eofPending_) {
          eofPending_ = false;
          inner_->onEof();
        }
        break;
      }
      if (e == SSL_ERROR_ZERO_RETURN) {  // close_notify: the client is done sending
        inner_->onEof();
        break;
      }
      fail(shard_.counters.errorsAfterHandshake);  // a bad record, or a renegotiation attempt
      break;
    }
    delivering_ = false;
  }

  // Seals everything the handler appended, then sends it with whatever else SSL wrote.
  void encrypt() {
    size_t at = 0;
    while (at < plain_.size()) {
      int r = SSL_write(ssl_.get(), plain_.data() + at, static_cast<int>(std::min<size_t>(plain_.size() - at, INT_MAX)));
      if (r <= 0) return fail(shard_.counters.errorsAfterHandshake);
      at += static_cast<size_t>(r);
    }
    plain_.clear();
    sendPending();
  }

  // Moves what SSL wrote (handshake messages, records, alerts) to the stream, in one write.
  void sendPending() {
    size_t n = BIO_pending(wbio_);
    if (n == 0 || below_.closing()) return;
    std::string& o = below_.out();
    size_t at = o.size();
    o.resize(at + n);
    int got = BIO_read(wbio_, o.data() + at, static_cast<int>(n));
    o.resize(at + static_cast<size_t>(std::max(got, 0)));
    below_.flush();
  }

  // A TLS failure: the alert BoringSSL prepared (if any) goes out, then the connection closes.
  void fail(std::atomic<uint64_t>& counter) {
    if (failed_) return;
    failed_ = true;
    bump(counter);
    std::string why = takeSslError();
    core::logDebug(established_ ? "tls: connection error" : "tls: handshake failed",
                   {{"reason", why}, {"peer", below_.peer().toString()}});
    sendPending();
    below_.closeAfterFlush();
  }

  net::Transport& below_;
  ShardTls& shard_;
  std::shared_ptr<const Context> context_;  // until the handshake is done (SNI reads it)
  bssl::UniquePtr<SSL> ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;
  std::unique_ptr<net::StreamHandler> inner_;
  std::string plain_;  // the handler's output, not yet sealed
  bool established_ = false;
  bool received_ = false;     // a byte arrived
  bool failed_ = false;       // a TLS error: closing, nothing more is read or sealed
  bool closingSoon_ = false;  // close() or closeAfterFlush() was asked for
  bool paused_ = false;       // the handler paused reading
  bool starved_ = false;      // the handler had no room; reading waits for its resumeReading
  bool delivering_ = false;   // deliver() is on the stack
  bool eofPending_ = false;   // the client left; told after the bytes before it
  bool readDry_ = false;      // SSL_read wanted more since the last bytes arrived
  bool wakePending_ = false;  // our own wakeSoon
  bool innerWake_ = false;    // the handler's wakeSoon
};

}  // namespace

net::HandlerFactory transportFactory(net::HandlerFactory inner, ShardTls& shard) {
  return [inner = std::move(inner), &shard](net::Transport& below) -> std::unique_ptr<net::StreamHandler> {
    return std::make_unique<TlsTransport>(below, shard, inner);
  };
}

}  // namespace handoff::tls
