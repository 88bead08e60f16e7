// The PROXY protocol at the start of a connection: trust check, header, then the real handler.
#include "handoff/net/proxy_handler.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "handoff/core/log.h"
#include "handoff/net/proxy_protocol.h"
#include "handoff/net/refusal.h"

namespace handoff::net {
namespace {

void bump(std::atomic<uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

// What every connection of one listener shares; the factory holds it, each reader a reference
// count (connections never outlive their server, but this keeps that out of the contract).
struct Shared {
  HandlerFactory inner;
  const TrustedProxies& trusted;
  uint64_t timeoutMs;
  ProxyProtocolCounters& counters;
};

// Reads the header into a small buffer of its own, then forwards every callback to the handler
// it creates. Until then nothing is written, so onWritten has nobody to tell.
class ProxyHeaderReader final : public StreamHandler {
 public:
  ProxyHeaderReader(Transport& stream, std::shared_ptr<const Shared> shared)
      : stream_(stream), shared_(std::move(shared)) {
    auto ip = IpBytes::parse(stream_.peer().normalized().ip());
    if (!ip || !shared_->trusted.contains(*ip)) {
      reject(shared_->counters.untrustedPeer, "untrusted peer");
      return;
    }
    buf_ = std::make_unique<char[]>(kProxyMaxHeaderBytes);
    stream_.armTimer(shared_->timeoutMs);
  }

  std::span<char> readSpace() override {
    if (inner_) return inner_->readSpace();
    if (!buf_) return {};
    return {buf_.get() + filled_, kProxyMaxHeaderBytes - filled_};
  }

  void onRead(size_t n) override {
    if (inner_) return inner_->onRead(n);
    filled_ += n;
    ProxyHeader h = parseProxyHeader({buf_.get(), filled_});
    switch (h.status) {
      case ProxyHeader::Status::kNeedMore: return;  // the parser keeps the header within the buffer
      case ProxyHeader::Status::kError: return reject(shared_->counters.malformed, h.error);
      case ProxyHeader::Status::kDone: return begin(h);
    }
  }

  void onEof() override {
    if (inner_) return inner_->onEof();
    // A bare connect-and-close (a TCP health check) is not a malformed header; half of one is.
    if (filled_ > 0) return reject(shared_->counters.malformed, "connection closed inside the header");
    stream_.close();
  }

  void onWritten() override {
    if (inner_) inner_->onWritten();
  }

  void onTimeout() override {
    if (inner_) return inner_->onTimeout();
    reject(shared_->counters.timeout, "no complete header in time");
  }

  void onDrain() override {
    if (inner_) return inner_->onDrain();
    stream_.close();  // nothing in flight yet
  }

  void onWake() override {
    if (inner_) inner_->onWake();
  }

 private:
  void reject(std::atomic<uint64_t>& counter, std::string_view why) {
    bump(counter);
    core::logDebug("proxy protocol: connection closed", {{"reason", why}, {"peer", stream_.peer().toString()}});
    buf_.reset();
    stream_.close();
  }

  // The header is complete: the peer becomes its source, the real handler takes the connection
  // and, as its first read, whatever followed the header.
  void begin(const ProxyHeader& h) {
    if (h.source) stream_.setPeer(*h.source);
    stream_.disarmTimer();  // the inner handler arms its own timeouts
    // The per-IP connection cap counts the client the header named, not the proxy. Over it, the
    // refusal takes the connection (and throws away what followed the header).
    inner_ = stream_.admitPeer() ? shared_->inner(stream_) : refusalHandler(stream_, true);
    size_t at = h.consumed;
    while (at < filled_ && !stream_.closing()) {
      std::span<char> space = inner_->readSpace();
      if (space.empty()) {  // a broken contract (see the header), not the peer's doing
        core::logError("proxy protocol: the connection's handler has no room for the bytes after the header");
        stream_.close();
        break;
      }
      size_t k = std::min(space.size(), filled_ - at);
      std::memcpy(space.data(), buf_.get() + at, k);
      at += k;
      inner_->onRead(k);
    }
    buf_.reset();
  }

  Transport& stream_;
  std::shared_ptr<const Shared> shared_;
  std::unique_ptr<StreamHandler> inner_;
  std::unique_ptr<char[]> buf_;  // the header's bytes; released once it is parsed
  size_t filled_ = 0;
};

}  // namespace

HandlerFactory proxyProtocolFactory(HandlerFactory inner, const TrustedProxies& trusted,
                                               uint64_t timeoutMs, ProxyProtocolCounters& counters) {
  auto shared = std::make_shared<const Shared>(Shared{std::move(inner), trusted, timeoutMs, counters});
  return [shared](Transport& s) -> std::unique_ptr<StreamHandler> {
    return std::make_unique<ProxyHeaderReader>(s, shared);
  };
}

}  // namespace handoff::net
