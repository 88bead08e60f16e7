// Requests: routing by slot, redirects, deadlines and exactly-once completion. The connection
// and slot-map side is in cluster_nodes.cc.
//
// Resend rule: a request is resent only after an answer proving it did not run (MOVED, ASK,
// TRYAGAIN, CLUSTERDOWN, NOSCRIPT) or when it was never written. A timeout or a lost connection
// after writing completes it with an unknown outcome instead.
#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "cluster_impl.h"
#include "handoff/store/redis/sha1.h"
#include "handoff/store/redis/slot.h"

namespace handoff::store::redis {

std::string_view failureName(Failure f) {
  switch (f) {
    case Failure::kUnavailable: return "unavailable";
    case Failure::kTimeout: return "timeout";
    case Failure::kConnectionLost: return "connection_lost";
  }
  return "unknown";
}

namespace {

bool parseAddress(std::string_view text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= text.size()) return false;
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), p);
  if (ec != std::errc() || end != text.data() + text.size() || p == 0 || p > 65535) return false;
  unsigned char buf[16];
  std::string hs(h);
  if (inet_pton(AF_INET, hs.c_str(), buf) != 1 && inet_pton(AF_INET6, hs.c_str(), buf) != 1) return false;
  *host = std::move(hs);
  *port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace

// ── The public face ─────────────────────────────────────────────────────────────────────────

core::Result<std::unique_ptr<ClusterClient>> ClusterClient::create(uv_loop_t* loop, ClusterOptions options) {
  using core::Errc;
  using core::Error;
  if (loop == nullptr) return Error(Errc::kInvalidArgument, "redis: no loop");
  if (options.seeds.empty()) return Error(Errc::kInvalidArgument, "redis: no seed nodes");
  for (const auto& s : options.seeds) {
    std::string host;
    uint16_t port = 0;
    if (!parseAddress(s, &host, &port)) {
      return Error(Errc::kInvalidArgument, "redis: seed '" + s + "' is not a numeric ip:port");
    }
  }
  if (options.deadlineMs == 0 || options.connectTimeoutMs == 0 || options.backoffMinMs == 0 ||
      options.backoffMaxMs < options.backoffMinMs || options.refreshIntervalMs == 0 ||
      options.maxRedirects > 100 || options.maxQueuedPerNode == 0) {
    return Error(Errc::kInvalidArgument, "redis: a timeout, backoff or limit option is out of range");
  }
  return std::unique_ptr<ClusterClient>(new ClusterClient(std::make_unique<Impl>(loop, std::move(options))));
}

ClusterClient::ClusterClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClusterClient::~ClusterClient() {
  if (!impl_->closed()) {
    std::fprintf(stderr, "redis: ClusterClient destroyed before close() and its handles closed\n");
    std::abort();
  }
}

void ClusterClient::start() { impl_->start(); }

void ClusterClient::command(std::string_view routingKey, std::span<const std::string_view> argv, Callback cb) {
  impl_->command(routingKey, argv, std::move(cb), {});
}

void ClusterClient::eval(std::string_view script, std::span<const std::string_view> keys,
                         std::span<const std::string_view> args, Callback cb) {
  std::string sha = sha1Hex(script);
  std::string numKeys = std::to_string(keys.size());
  std::vector<std::string_view> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha);
  argv.push_back(numKeys);
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  impl_->command(keys.empty() ? std::string_view() : keys[0], argv, std::move(cb), std::string(script));
}

Script::Script(std::string source, bool plansFirst) : text(std::move(source)), sha(sha1Hex(text)), planned(plansFirst) {}

void ClusterClient::eval(const Script& script, std::span<const std::string_view> keys,
                         std::span<const std::string_view> args, Callback cb) {
  std::string numKeys = std::to_string(keys.size());
  std::vector<std::string_view> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(script.sha);
  argv.push_back(numKeys);
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  impl_->command(keys.empty() ? std::string_view() : keys[0], argv, std::move(cb), {}, &script.text,
                 script.planned);
}

bool ClusterClient::healthy() const { return impl_->healthy(); }
ClusterStats ClusterClient::stats() const { return impl_->stats(); }
void ClusterClient::close() { impl_->close(); }
bool ClusterClient::closed() const { return impl_->closed(); }

// ── Requests ────────────────────────────────────────────────────────────────────────────────

void ClusterClient::Impl::command(std::string_view routingKey, std::span<const std::string_view> argv,
                                  Callback cb, std::string owned, const std::string* borrowed, bool planned) {
  counters_.commands.fetch_add(1, std::memory_order_relaxed);
  if (closing_ || argv.empty()) {
    counters_.unavailable.fetch_add(1, std::memory_order_relaxed);
    CommandResult failed(Failure::kUnavailable);
    cb(failed);
    return;
  }
  // The loop's cached time may be a whole blocking step old when called outside a callback.
  uv_update_time(loop_);
  Request* r = newRequest(argv, std::move(cb));
  r->slot = slotOf(routingKey);
  r->planned = planned;
  r->scriptOwned = std::move(owned);
  r->script = borrowed != nullptr ? borrowed : r->scriptOwned.empty() ? nullptr : &r->scriptOwned;
  dispatch(r);
}

ClusterClient::Impl::Request* ClusterClient::Impl::newRequest(std::span<const std::string_view> argv, Callback cb) {
  auto* r = new Request;
  packArgs(argv, &r->blob, &r->lens);
  r->cb = std::move(cb);
  r->deadline = now() + options_.deadlineMs;
  // Appending keeps the list ordered: every request gets the same deadline length.
  r->prev = tail_;
  if (tail_ != nullptr) {
    tail_->next = r;
  } else {
    head_ = r;
  }
  tail_ = r;
  r->linked = true;
  if (head_ == r) armDeadlineTimer();
  return r;
}

void ClusterClient::Impl::packArgs(std::span<const std::string_view> argv, std::string* blob,
                                   std::vector<size_t>* lens) {
  size_t total = 0;
  for (auto a : argv) total += a.size();
  blob->clear();
  blob->reserve(total);
  lens->clear();
  for (auto a : argv) {
    blob->append(a.data(), a.size());
    lens->push_back(a.size());
  }
}

void ClusterClient::Impl::dispatch(Request* r) {
  if (closing_) {
    complete(r, Failure::kUnavailable);
    return;
  }
  Node* n = r->target;
  if (n == nullptr) {
    uint16_t idx = slotOwner_[r->slot];
    if (idx == kNoNode) {
      requestRefresh();
      failSoon(r, Failure::kUnavailable);
      return;
    }
    n = nodes_[idx].get();
  }
  sendTo(n, r);
}

void ClusterClient::Impl::sendTo(Node* n, Request* r) {
  if (n->state == NodeState::kReady) {
    transmit(n, r);
    return;
  }
  if (n->state == NodeState::kDown) {
    // Backing off after a failure: fail fast (closed) rather than wait.
    if (now() < n->retryAt || !connectNode(n)) {
      failSoon(r, Failure::kUnavailable);
      return;
    }
  }
  if (n->queue.size() >= options_.maxQueuedPerNode) {
    failSoon(r, Failure::kUnavailable);
    return;
  }
  r->state = State::kQueued;
  r->queued = true;
  n->queue.push_back(r);
}

void ClusterClient::Impl::transmit(Node* n, Request* r) {
  argvScratch_.clear();
  size_t off = 0;
  for (size_t len : r->lens) {
    argvScratch_.push_back(r->blob.data() + off);
    off += len;
  }
  bool asking = r->asking;
  r->asking = false;
  if ((asking && !n->sendAsking()) ||
      !n->send(r, static_cast<int>(r->lens.size()), argvScratch_.data(), r->lens.data())) {
    // hiredis refused (the connection is going down): nothing of this command was written.
    // An ASKING already queued is harmless: the connection it sits on is ending.
    failSoon(r, Failure::kUnavailable);
    return;
  }
  r->state = State::kInFlight;
  r->inHiredis = true;
  r->sentTo = n;
  r->sentGeneration = n->generation();
}

void ClusterClient::Impl::unlinkDeadline(Request* r) {
  if (!r->linked) return;
  if (r->prev != nullptr) {
    r->prev->next = r->next;
  } else {
    head_ = r->next;
  }
  if (r->next != nullptr) {
    r->next->prev = r->prev;
  } else {
    tail_ = r->prev;
  }
  r->prev = r->next = nullptr;
  r->linked = false;
}

void ClusterClient::Impl::maybeFree(Request* r) {
  if (r->state == State::kDone && !r->inHiredis && !r->queued) delete r;
}

void ClusterClient::Impl::complete(Request* r, CommandResult result) {
  if (!result.ok()) {
    switch (result.failure()) {
      case Failure::kUnavailable: counters_.unavailable.fetch_add(1, std::memory_order_relaxed); break;
      case Failure::kTimeout: counters_.timeouts.fetch_add(1, std::memory_order_relaxed); break;
      case Failure::kConnectionLost: counters_.connectionLost.fetch_add(1, std::memory_order_relaxed); break;
    }
  }
  unlinkDeadline(r);
  r->state = State::kDone;
  Callback cb = std::move(r->cb);
  // Freed before the callback runs: whatever the callback does (close(), new commands), this
  // request is no longer reachable.
  maybeFree(r);
  cb(result);
}

void ClusterClient::Impl::failSoon(Request* r, Failure f) {
  if (closing_) {
    complete(r, f);
    return;
  }
  unlinkDeadline(r);
  r->state = State::kFailing;
  r->failure = f;
  r->queued = true;
  soon_.push_back(r);
  if (soon_.size() == 1) uv_timer_start(&soonTimer_, on<&Impl::onSoonTimer>, 0, 0);
}

void ClusterClient::Impl::onSoonTimer() {
  // Only what is queued now: callbacks may queue more, for the next turn.
  size_t n = soon_.size();
  for (size_t i = 0; i < n && !soon_.empty(); ++i) {
    Request* r = soon_.front();
    soon_.pop_front();
    r->queued = false;
    if (r->state == State::kFailing) {
      complete(r, r->failure);
    } else {
      maybeFree(r);
    }
  }
  if (!soon_.empty() && !closing_) {
    uv_timer_start(&soonTimer_, on<&Impl::onSoonTimer>, 0, 0);
  }
}

void ClusterClient::Impl::armDeadlineTimer() {
  if (closing_ || head_ == nullptr) return;
  uint64_t t = now();
  uint64_t wait = head_->deadline > t ? head_->deadline - t : 0;
  uv_timer_start(&deadlineTimer_, on<&Impl::onDeadlineTimer>, wait, 0);
}

void ClusterClient::Impl::onDeadlineTimer() {
  uint64_t t = now();
  while (head_ != nullptr && head_->deadline <= t && !closing_) {
    Request* r = head_;
    if (r->state == State::kInFlight) {
      // Written, no answer in time: outcome unknown. The connection is sick (a stopped or
      // overloaded node): drop it so that it reconnects with backoff. Its other pending
      // commands then end with kConnectionLost. Complete this one first so that it reports the
      // timeout, not the drop.
      Node* n = r->sentTo;
      uint64_t gen = r->sentGeneration;
      unlinkDeadline(r);
      r->state = State::kDone;
      Callback cb = std::move(r->cb);
      counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
      // Still held by hiredis: the drop below (or a late reply) hands it back and frees it.
      maybeFree(r);
      if (n != nullptr && n->isOpen() && n->generation() == gen) {
        n->drop();
        nodeFailed(n);
      }
      CommandResult result(Failure::kTimeout);
      cb(result);
    } else {
      // Never written (waiting for a connection or a retry): certainly not executed.
      complete(r, Failure::kUnavailable);
    }
  }
  armDeadlineTimer();
}

void ClusterClient::Impl::retryLater(Request* r) {
  uint64_t at = now() + options_.retryDelayMs;
  if (at >= r->deadline || closing_) {
    complete(r, Failure::kUnavailable);
    return;
  }
  counters_.retries.fetch_add(1, std::memory_order_relaxed);
  r->state = State::kRetryWait;
  r->retryAt = at;
  r->queued = true;
  retryQueue_.push_back(r);
  if (retryQueue_.size() == 1) {
    uv_timer_start(&retryTimer_, on<&Impl::onRetryTimer>, options_.retryDelayMs, 0);
  }
}

void ClusterClient::Impl::onRetryTimer() {
  uint64_t t = now();
  while (!retryQueue_.empty() && !closing_) {
    Request* r = retryQueue_.front();
    if (r->state == State::kRetryWait && r->retryAt > t) {
      uv_timer_start(&retryTimer_, on<&Impl::onRetryTimer>, r->retryAt - t, 0);
      return;
    }
    retryQueue_.pop_front();
    r->queued = false;
    if (r->state == State::kRetryWait) {
      dispatch(r);
    } else {
      maybeFree(r);
    }
  }
}

// ── Replies ─────────────────────────────────────────────────────────────────────────────────

void ClusterClient::Impl::linkReply(Link& link, void* token, Reply* reply) {
  auto* r = static_cast<Request*>(token);
  r->inHiredis = false;
  r->sentTo = nullptr;
  if (r->state != State::kInFlight) {  // already completed (timed out, closed)
    maybeFree(r);
    return;
  }
  if (reply == nullptr) {
    complete(r, Failure::kConnectionLost);
    return;
  }
  if (reply->isError()) {
    handleError(static_cast<Node*>(&link), r, *reply);
    return;
  }
  complete(r, std::move(*reply));
}

void ClusterClient::Impl::handleError(Node* from, Request* r, Reply& reply) {
  if (r->target == nullptr) {
    if (reply.errorIs("MOVED")) {
      if (followRedirect(from, r, reply, false)) return;
    } else if (reply.errorIs("ASK") && r->planned) {
      // A planned script's slot is being migrated and its first key has left: it waits for the
      // end of the migration (MOVED) rather than run on the target, where the keys it would
      // read may not have arrived yet. Not executed.
      retryLater(r);
      return;
    } else if (reply.errorIs("ASK")) {
      if (followRedirect(from, r, reply, true)) return;
    } else if (r->planned && reply.isError() && reply.str.find("non local key") != std::string::npos) {
      // A planned script touched a key that has left for the slot's new owner: its planning
      // pass failed before it wrote anything (scripts.cc). Not executed; again after a while.
      retryLater(r);
      return;
    } else if (reply.errorIs("TRYAGAIN") || reply.errorIs("CLUSTERDOWN")) {
      // Not executed: a multi-key command during a migration, or the cluster without quorum.
      if (reply.errorIs("CLUSTERDOWN")) requestRefresh();
      retryLater(r);
      return;
    } else if (reply.errorIs("NOSCRIPT") && r->script != nullptr && !r->evalFallback) {
      // Not executed: the node does not know the script. EVAL carries the text (and caches it).
      r->evalFallback = true;
      std::vector<std::string_view> argv;
      size_t off = 0;
      for (size_t len : r->lens) {
        argv.emplace_back(r->blob.data() + off, len);
        off += len;
      }
      argv[0] = "EVAL";
      argv[1] = *r->script;
      std::string blob;
      std::vector<size_t> lens;
      packArgs(argv, &blob, &lens);
      r->blob = std::move(blob);
      r->lens = std::move(lens);
      counters_.retries.fetch_add(1, std::memory_order_relaxed);
      dispatch(r);
      return;
    }
  }
  complete(r, std::move(reply));
}

// "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>". The command was not executed.
bool ClusterClient::Impl::followRedirect(Node* from, Request* r, const Reply& reply, bool ask) {
  std::string_view text = reply.str;
  size_t sp1 = text.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : text.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  unsigned slot = 0;
  auto [end, ec] = std::from_chars(text.data() + sp1 + 1, text.data() + sp2, slot);
  if (ec != std::errc() || end != text.data() + sp2 || slot >= kSlotCount) return false;
  Node* to = nodeForAddress(from, text.substr(sp2 + 1));
  if (to == nullptr) return false;  // an address we cannot use: hand the error to the caller
  if (++r->redirects > options_.maxRedirects) {
    complete(r, Failure::kUnavailable);
    return true;
  }
  if (ask) {
    // Only this command, only once: the slot still belongs to its owner in the map.
    counters_.ask.fetch_add(1, std::memory_order_relaxed);
    r->asking = true;
    sendTo(to, r);
    return true;
  }
  counters_.moved.fetch_add(1, std::memory_order_relaxed);
  setOwner(static_cast<uint16_t>(slot), to);
  requestRefresh();  // one slot moved is a hint that more did
  dispatch(r);
  return true;
}

}  // namespace handoff::store::redis
