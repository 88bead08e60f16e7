// The inside of ClusterClient, shared by cluster_client.cc (requests: routing, redirects,
// deadlines, completion) and cluster_nodes.cc (connections, backoff, the slot map).
//
// Life of a request: command() makes a Request and dispatches it to the node owning its slot.
// It is then in one of these states, and also on the deadline list (ordered by deadline: every
// request gets the same deadline length, so appending keeps the order) until it completes:
//   kQueued     waiting in a node's queue for its connection (never written)
//   kRetryWait  waiting in retryQueue_ after TRYAGAIN / CLUSTERDOWN (never written)
//   kInFlight   handed to hiredis: its outcome is unknown until a reply comes
//   kFailing    failed before being written; completes on the next loop turn (soon_)
//   kDone       callback taken; the Request is freed as soon as no container holds it
// Queues drop completed entries lazily, so a Request is freed only when neither hiredis
// (inHiredis) nor a queue (queued) still points at it.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/store/redis/cluster_client.h"
#include "link.h"

namespace handoff::store::redis {

class ClusterClient::Impl final : public Link::Owner {
 public:
  Impl(uv_loop_t* loop, ClusterOptions options);
  ~Impl();

  void start();
  // `script`: eval()'s text for the EVAL fallback, owned by the request (`owned`) or by the
  // caller for longer than the request lives (`borrowed`); neither for other commands.
  void command(std::string_view routingKey, std::span<const std::string_view> argv, Callback cb,
               std::string owned, const std::string* borrowed = nullptr, bool planned = false);
  bool healthy() const;
  ClusterStats stats() const;
  void close();
  bool closed() const { return closing_ && openHandles_ == 0; }

  // Link::Owner
  void linkReady(Link& link) override;
  void linkDown(Link& link) override;
  void linkReply(Link& link, void* token, Reply* reply) override;

 private:
  struct Node;

  enum class State : uint8_t { kQueued, kRetryWait, kInFlight, kFailing, kDone };

  struct Request {
    Request* prev = nullptr;  // deadline list
    Request* next = nullptr;
    bool linked = false;
    uint64_t deadline = 0;
    uint64_t retryAt = 0;
    uint16_t slot = 0;
    uint8_t redirects = 0;
    State state = State::kQueued;
    Failure failure = Failure::kUnavailable;
    bool inHiredis = false;
    bool queued = false;       // held by a node queue, retryQueue_ or soon_
    bool asking = false;       // send ASKING first (one ASK redirect)
    bool evalFallback = false;  // EVALSHA already replaced by EVAL
    bool planned = false;      // a Script that plans first: waits out a migration (Script::planned)
    Node* target = nullptr;    // fixed node (CLUSTER SLOTS), else routed by slot
    Node* sentTo = nullptr;
    uint64_t sentGeneration = 0;
    std::string blob;          // the arguments back to back
    std::vector<size_t> lens;
    std::string scriptOwned;   // eval(): the script text for the EVAL fallback, when copied
    const std::string* script = nullptr;  // that text (scriptOwned or the caller's Script)
    Callback cb;
  };

  enum class NodeState : uint8_t { kDown, kConnecting, kReady };

  struct Node : Link {
    Node(Impl& impl, uv_loop_t* loop, std::string host, uint16_t port)
        : Link(impl, loop, std::move(host), port), owner(impl) {}
    Impl& owner;
    uint16_t index = 0;        // in nodes_
    NodeState state = NodeState::kDown;
    bool seed = false;
    bool everReady = false;
    uint32_t backoffMs = 0;
    uint64_t retryAt = 0;      // no connection attempt before this (loop time)
    uint32_t slotCount = 0;
    uv_timer_t timer;          // connect timeout while kConnecting, reconnect while kDown
    std::deque<Request*> queue;
  };

  // cluster_client.cc
  Request* newRequest(std::span<const std::string_view> argv, Callback cb);
  static void packArgs(std::span<const std::string_view> argv, std::string* blob, std::vector<size_t>* lens);
  void dispatch(Request* r);
  void sendTo(Node* n, Request* r);
  void transmit(Node* n, Request* r);
  void complete(Request* r, CommandResult result);
  void failSoon(Request* r, Failure f);
  void maybeFree(Request* r);
  void unlinkDeadline(Request* r);
  void armDeadlineTimer();
  void onDeadlineTimer();
  void onSoonTimer();
  void onRetryTimer();
  void handleError(Node* from, Request* r, Reply& reply);
  bool followRedirect(Node* from, Request* r, const Reply& reply, bool ask);
  void retryLater(Request* r);

  // cluster_nodes.cc
  Node* nodeFor(std::string_view host, uint16_t port);
  Node* nodeForAddress(Node* from, std::string_view address);
  bool connectNode(Node* n);
  void nodeFailed(Node* n);
  void flushQueue(Node* n);
  void failQueue(Node* n);
  void onNodeTimer(Node* n);
  bool wanted(const Node* n) const;
  void setOwner(uint16_t slot, Node* n);
  void requestRefresh();
  void startRefresh();
  Node* pickRefreshNode(uint64_t* wakeAt);
  void onSlots(Node* asked, CommandResult& result);
  void onRefreshTimer();
  uint32_t jitter(uint32_t ms);
  void initTimer(uv_timer_t* t, void* data);
  void closeTimer(uv_timer_t* t);

  uint64_t now() const { return uv_now(loop_); }
  // uv_timer_start(&timer, on<&Impl::method>, ...) for the client's own timers (data = this).
  template <void (Impl::*Method)()>
  static void on(uv_timer_t* t) {
    (static_cast<Impl*>(t->data)->*Method)();
  }
  static void onNodeTimerCallback(uv_timer_t* t) {
    auto* node = static_cast<Node*>(t->data);
    node->owner.onNodeTimer(node);
  }

  uv_loop_t* loop_;
  ClusterOptions options_;
  bool started_ = false;
  bool closing_ = false;
  int openHandles_ = 0;

  std::vector<std::unique_ptr<Node>> nodes_;
  static constexpr uint16_t kNoNode = 0xffff;
  std::vector<uint16_t> slotOwner_;  // index into nodes_, or kNoNode
  std::vector<uint16_t> nodeIndexScratch_;
  bool mapLoaded_ = false;
  uint64_t lastRefreshOk_ = 0;
  uint64_t lastRefreshStart_ = 0;
  bool refreshInFlight_ = false;
  bool refreshWanted_ = false;
  size_t refreshCursor_ = 0;

  Request* head_ = nullptr;  // deadline list: earliest first
  Request* tail_ = nullptr;
  std::deque<Request*> retryQueue_;
  std::deque<Request*> soon_;
  std::vector<const char*> argvScratch_;

  uv_timer_t deadlineTimer_;
  uv_timer_t retryTimer_;
  uv_timer_t soonTimer_;
  uv_timer_t refreshTimer_;
  std::minstd_rand rng_;

  struct Counters {
    std::atomic<uint64_t> commands{0}, moved{0}, ask{0}, retries{0}, timeouts{0}, connectionLost{0},
        unavailable{0}, connects{0}, reconnects{0}, refreshes{0};
  } counters_;
};

}  // namespace handoff::store::redis
