// Nodes and the slot map: connections with backoff, CLUSTER SLOTS refreshes, close().
//
// A node is kDown (no connection; no attempt before retryAt), kConnecting (connect plus the
// handshake PING, bounded by connectTimeoutMs) or kReady. Commands for a node that is backing
// off fail at once with kUnavailable (fail closed); commands for a connecting node wait in its
// bounded queue and are written once the handshake is answered.
#include <algorithm>
#include <charconv>
#include <utility>

#include "cluster_impl.h"
#include "handoff/store/redis/slot.h"

namespace handoff::store::redis {

ClusterClient::Impl::Impl(uv_loop_t* loop, ClusterOptions options)
    : loop_(loop), options_(std::move(options)), slotOwner_(kSlotCount, kNoNode),
      rng_(static_cast<uint32_t>(uv_hrtime() ^ reinterpret_cast<uintptr_t>(this))) {
  initTimer(&deadlineTimer_, this);
  initTimer(&retryTimer_, this);
  initTimer(&soonTimer_, this);
  initTimer(&refreshTimer_, this);
  for (const auto& s : options_.seeds) {
    size_t colon = s.rfind(':');
    std::string_view host(s.data(), colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    std::from_chars(s.data() + colon + 1, s.data() + s.size(), port);  // checked by create()
    if (Node* n = nodeFor(host, static_cast<uint16_t>(port))) n->seed = true;
  }
}

ClusterClient::Impl::~Impl() {
  // After close() and the loop's close callbacks nothing is left; a request still listed here
  // was waiting for a hiredis free that the loop never got to run.
  while (head_ != nullptr) {
    Request* r = head_;
    unlinkDeadline(r);
    delete r;
  }
}

void ClusterClient::Impl::initTimer(uv_timer_t* t, void* data) {
  uv_timer_init(loop_, t);
  t->data = data;
  ++openHandles_;
}

void ClusterClient::Impl::closeTimer(uv_timer_t* t) {
  uv_timer_stop(t);
  t->data = this;
  uv_close(reinterpret_cast<uv_handle_t*>(t),
           [](uv_handle_t* h) { --static_cast<Impl*>(h->data)->openHandles_; });
}

uint32_t ClusterClient::Impl::jitter(uint32_t ms) {
  // "Equal jitter": half fixed, half random, so that shards do not reconnect in lockstep.
  uint32_t half = ms / 2;
  return half + (half == 0 ? 0 : static_cast<uint32_t>(rng_() % (half + 1)));
}

void ClusterClient::Impl::start() {
  if (started_ || closing_) return;
  started_ = true;
  uv_update_time(loop_);
  requestRefresh();
}

bool ClusterClient::Impl::healthy() const {
  if (!mapLoaded_ || closing_) return false;
  if (now() - lastRefreshOk_ > 3ull * options_.refreshIntervalMs) return false;
  uint32_t covered = 0;
  for (const auto& n : nodes_) {
    if (n->state == NodeState::kReady) covered += n->slotCount;
  }
  return covered == kSlotCount;
}

ClusterStats ClusterClient::Impl::stats() const {
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return ClusterStats{get(counters_.commands), get(counters_.moved), get(counters_.ask),
                      get(counters_.retries), get(counters_.timeouts), get(counters_.connectionLost),
                      get(counters_.unavailable), get(counters_.connects), get(counters_.reconnects),
                      get(counters_.refreshes)};
}

// ── Nodes ───────────────────────────────────────────────────────────────────────────────────

ClusterClient::Impl::Node* ClusterClient::Impl::nodeFor(std::string_view host, uint16_t port) {
  for (auto& n : nodes_) {
    if (n->port() == port && n->host() == host) return n.get();
  }
  if (nodes_.size() >= kNoNode || closing_) return nullptr;
  auto node = std::make_unique<Node>(*this, loop_, std::string(host), port);
  node->index = static_cast<uint16_t>(nodes_.size());
  node->backoffMs = options_.backoffMinMs;
  initTimer(&node->timer, node.get());
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

// An address from MOVED/ASK: "host:port", where an empty host means the node that answered.
ClusterClient::Impl::Node* ClusterClient::Impl::nodeForAddress(Node* from, std::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return nullptr;
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = from->host();
  unsigned port = 0;
  auto [end, ec] = std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
  if (ec != std::errc() || end != address.data() + address.size() || port == 0 || port > 65535) return nullptr;
  return nodeFor(host, static_cast<uint16_t>(port));
}

bool ClusterClient::Impl::wanted(const Node* n) const {
  return n->slotCount > 0 || !n->queue.empty() || (n->seed && !mapLoaded_);
}

bool ClusterClient::Impl::connectNode(Node* n) {
  if (closing_) return false;
  counters_.connects.fetch_add(1, std::memory_order_relaxed);
  if (n->everReady) counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
  if (!n->open()) {
    nodeFailed(n);
    return false;
  }
  n->state = NodeState::kConnecting;
  uv_timer_start(&n->timer, onNodeTimerCallback, options_.connectTimeoutMs, 0);
  return true;
}

void ClusterClient::Impl::nodeFailed(Node* n) {
  n->state = NodeState::kDown;
  if (!closing_) {
    uint32_t delay = jitter(n->backoffMs);
    n->retryAt = now() + delay;
    n->backoffMs = std::min(options_.backoffMaxMs, n->backoffMs * 2);
    uv_timer_start(&n->timer, onNodeTimerCallback, delay, 0);
    requestRefresh();  // the map may have changed (a failover) or the node may be gone
  }
  failQueue(n);
}

void ClusterClient::Impl::onNodeTimer(Node* n) {
  if (closing_) return;
  if (n->state == NodeState::kConnecting) {
    // Connect or handshake took too long (a stopped node still completes TCP handshakes). Only
    // the PING was written: the queued commands never were.
    n->drop();
    nodeFailed(n);
    return;
  }
  if (n->state == NodeState::kDown && wanted(n)) connectNode(n);
}

void ClusterClient::Impl::linkReady(Link& link) {
  auto* n = static_cast<Node*>(&link);
  if (closing_) return;
  n->state = NodeState::kReady;
  n->everReady = true;
  n->backoffMs = options_.backoffMinMs;
  n->retryAt = 0;
  uv_timer_stop(&n->timer);
  flushQueue(n);
  if (refreshWanted_ && !refreshInFlight_) requestRefresh();
}

void ClusterClient::Impl::linkDown(Link& link) {
  auto* n = static_cast<Node*>(&link);
  nodeFailed(n);
}

void ClusterClient::Impl::flushQueue(Node* n) {
  while (!n->queue.empty() && n->state == NodeState::kReady && !closing_) {
    Request* r = n->queue.front();
    n->queue.pop_front();
    r->queued = false;
    if (r->state == State::kQueued) {
      transmit(n, r);
    } else {
      maybeFree(r);
    }
  }
}

void ClusterClient::Impl::failQueue(Node* n) {
  std::deque<Request*> q;
  q.swap(n->queue);  // callbacks may queue new commands on this node
  for (Request* r : q) {
    r->queued = false;
    if (r->state == State::kQueued) {
      complete(r, Failure::kUnavailable);
    } else {
      maybeFree(r);
    }
  }
}

// ── The slot map ────────────────────────────────────────────────────────────────────────────

void ClusterClient::Impl::setOwner(uint16_t slot, Node* n) {
  uint16_t old = slotOwner_[slot];
  if (old != kNoNode) --nodes_[old]->slotCount;
  slotOwner_[slot] = n->index;
  ++n->slotCount;
}

void ClusterClient::Impl::requestRefresh() {
  if (closing_ || !started_) return;
  refreshWanted_ = true;
  if (refreshInFlight_) return;  // onSlots looks at refreshWanted_
  uint64_t t = now();
  uint64_t earliest = lastRefreshStart_ + options_.refreshMinIntervalMs;
  if (lastRefreshStart_ != 0 && t < earliest) {
    uv_timer_start(&refreshTimer_, on<&Impl::onRefreshTimer>, earliest - t, 0);
    return;
  }
  startRefresh();
}

void ClusterClient::Impl::onRefreshTimer() {
  if (closing_) return;
  refreshWanted_ = true;
  if (!refreshInFlight_) startRefresh();
}

ClusterClient::Impl::Node* ClusterClient::Impl::pickRefreshNode(uint64_t* wakeAt) {
  size_t count = nodes_.size();
  for (size_t i = 0; i < count; ++i) {  // a ready node, in turn
    size_t idx = (refreshCursor_ + i) % count;
    if (nodes_[idx]->state == NodeState::kReady) {
      refreshCursor_ = idx + 1;
      return nodes_[idx].get();
    }
  }
  for (auto& n : nodes_) {
    if (n->state == NodeState::kConnecting) return n.get();
  }
  uint64_t t = now();
  *wakeAt = 0;
  for (size_t i = 0; i < count; ++i) {  // a known node that is not backing off
    size_t idx = (refreshCursor_ + i) % count;
    Node* n = nodes_[idx].get();
    if (!n->seed && n->slotCount == 0) continue;
    if (n->retryAt <= t) {
      refreshCursor_ = idx + 1;
      return n;
    }
    if (*wakeAt == 0 || n->retryAt < *wakeAt) *wakeAt = n->retryAt;
  }
  return nullptr;
}

void ClusterClient::Impl::startRefresh() {
  uint64_t wakeAt = 0;
  Node* n = pickRefreshNode(&wakeAt);
  uint64_t t = now();
  if (n == nullptr) {
    uint64_t wait = wakeAt > t ? wakeAt - t : options_.refreshMinIntervalMs;
    uv_timer_start(&refreshTimer_, on<&Impl::onRefreshTimer>, std::max<uint64_t>(wait, 1), 0);
    return;
  }
  refreshWanted_ = false;
  refreshInFlight_ = true;
  lastRefreshStart_ = t == 0 ? 1 : t;
  counters_.refreshes.fetch_add(1, std::memory_order_relaxed);
  static constexpr std::string_view kArgv[] = {"CLUSTER", "SLOTS"};
  Request* r = newRequest(kArgv, [this, n](CommandResult& result) { onSlots(n, result); });
  r->target = n;
  dispatch(r);
}

// CLUSTER SLOTS: [[start, end, [host, port, id, ...], replica...], ...]. Masters only.
void ClusterClient::Impl::onSlots(Node* asked, CommandResult& result) {
  refreshInFlight_ = false;
  if (closing_) return;
  if (!result.ok() || !result.reply().isArray()) {
    refreshWanted_ = true;
    uv_timer_start(&refreshTimer_, on<&Impl::onRefreshTimer>, options_.refreshMinIntervalMs, 0);
    return;
  }
  std::vector<uint16_t> owners(kSlotCount, kNoNode);
  for (const Reply& range : result.reply().elements) {
    if (!range.isArray() || range.elements.size() < 3) continue;
    const Reply& lo = range.elements[0];
    const Reply& hi = range.elements[1];
    const Reply& master = range.elements[2];
    if (!lo.isInteger() || !hi.isInteger() || !master.isArray() || master.elements.size() < 2) continue;
    if (lo.integer < 0 || hi.integer >= kSlotCount || lo.integer > hi.integer) continue;
    const Reply& host = master.elements[0];
    const Reply& port = master.elements[1];
    if (!port.isInteger() || port.integer <= 0 || port.integer > 65535) continue;
    // An empty or "?" endpoint means: the node this reply came from.
    std::string_view h = host.str;
    if (h.empty() || h == "?") h = asked->host();
    Node* n = nodeFor(h, static_cast<uint16_t>(port.integer));
    if (n == nullptr) continue;
    std::fill(owners.begin() + lo.integer, owners.begin() + hi.integer + 1, n->index);
  }
  slotOwner_.swap(owners);
  for (auto& n : nodes_) n->slotCount = 0;
  for (uint16_t idx : slotOwner_) {
    if (idx != kNoNode) ++nodes_[idx]->slotCount;
  }
  mapLoaded_ = true;
  lastRefreshOk_ = now();
  // Connect to every master now rather than on its first command, so that healthy() can hold.
  for (size_t i = 0; i < nodes_.size() && !closing_; ++i) {
    Node* n = nodes_[i].get();
    if (n->slotCount > 0 && n->state == NodeState::kDown && n->retryAt <= now()) connectNode(n);
  }
  if (closing_) return;
  uv_timer_start(&refreshTimer_, on<&Impl::onRefreshTimer>,
                 refreshWanted_ ? options_.refreshMinIntervalMs : options_.refreshIntervalMs, 0);
}

// ── close() ─────────────────────────────────────────────────────────────────────────────────

void ClusterClient::Impl::close() {
  if (closing_) return;
  closing_ = true;
  closeTimer(&deadlineTimer_);
  closeTimer(&retryTimer_);
  closeTimer(&soonTimer_);
  closeTimer(&refreshTimer_);
  for (auto& n : nodes_) closeTimer(&n->timer);
  // Dropping a connection completes its written commands with kConnectionLost (at once, or
  // when the hiredis callback we may be inside returns).
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node* n = nodes_[i].get();
    n->drop();
    n->state = NodeState::kDown;
    failQueue(n);
  }
  std::deque<Request*> retry;
  retry.swap(retryQueue_);
  for (Request* r : retry) {
    r->queued = false;
    if (r->state == State::kRetryWait) {
      complete(r, Failure::kUnavailable);
    } else {
      maybeFree(r);
    }
  }
  std::deque<Request*> soon;
  soon.swap(soon_);
  for (Request* r : soon) {
    r->queued = false;
    if (r->state == State::kFailing) {
      complete(r, r->failure);
    } else {
      maybeFree(r);
    }
  }
}

}  // namespace handoff::store::redis
